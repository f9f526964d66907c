"""The poll's own writers (news/bulk.py) store exactly what the ORM would."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from newsstand.ingest.models import Feed, Source
from newsstand.news.bulk import MAX_PARAMETERS, insert_values, update_row
from newsstand.news.models import Article, ArticleLink, ExtractionStatus

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 3, 1, 12, 30, 15, 250000, tzinfo=UTC)


def test_inserted_rows_read_back_as_the_orm_wrote_them():
    source = Source.objects.create(name="Bulk")
    paris = timezone(timedelta(hours=1))
    rows = [dict(source_id=source.pk, url=f"https://bulk.example/{n}", title=f"Title {n} — «ü»",
                 published_at=WHEN + timedelta(minutes=n), updated_at=None, first_seen_at=WHEN.astimezone(paris),
                 text="body", word_count=n, extraction_status=ExtractionStatus.FEED_ONLY) for n in range(3)]
    reference = Article.objects.create(source=source, url="https://bulk.example/orm", title="Title 0 — «ü»",
                                       published_at=WHEN, first_seen_at=WHEN.astimezone(paris), text="body",
                                       extraction_status=ExtractionStatus.FEED_ONLY)
    ids = insert_values(Article, rows)
    assert len({*ids, reference.pk}) == 4
    stored = Article.objects.get(pk=ids[0])
    assert stored.published_at == WHEN and stored.first_seen_at == WHEN and stored.updated_at is None
    assert stored.title == "Title 0 — «ü»" and stored.word_count == 0
    assert stored.extraction_status == ExtractionStatus.FEED_ONLY
    # Dates sort and filter like the ORM's own rows (same stored form).
    assert list(Article.objects.filter(published_at__lte=WHEN + timedelta(minutes=1)).order_by("pk")
                .values_list("url", flat=True)) == ["https://bulk.example/orm", "https://bulk.example/0",
                                                     "https://bulk.example/1"]
    insert_values(ArticleLink, [{"url_key": row["url"], "article_id": pk} for row, pk in zip(rows, ids)])
    assert ArticleLink.objects.get(url_key="https://bulk.example/2").article_id == ids[2]


def test_more_rows_than_one_statement_takes():
    source = Source.objects.create(name="Many")
    rows = [dict(source_id=source.pk, url=f"https://many.example/{n}", title=str(n), published_at=WHEN)
            for n in range(MAX_PARAMETERS // 10)]
    ids = insert_values(Article, rows)
    assert Article.objects.filter(source=source).count() == len(rows)
    assert sorted(Article.objects.filter(source=source).values_list("pk", flat=True)) == sorted(ids)
    assert Article.objects.get(pk=ids[-1]).title == str(len(rows) - 1)


def test_update_row_writes_only_the_named_fields():
    source = Source.objects.create(name="Upd")
    feed = Feed.objects.create(url="https://upd.example/feed", source=source, title="Before")
    feed.title, feed.etag, feed.next_poll_at = "After", '"v2"', WHEN
    feed.last_warning = "not saved"
    update_row(feed, ["title", "etag", "next_poll_at"])
    stored = Feed.objects.get(pk=feed.pk)
    assert (stored.title, stored.etag, stored.next_poll_at, stored.last_warning) == ("After", '"v2"', WHEN, "")


def test_inserted_values_take_the_model_defaults_for_what_they_leave_out():
    source = Source.objects.create(name="Values")
    ids = insert_values(Article, [{"source_id": source.pk, "url": f"https://values.example/{n}", "title": f"V{n}",
                                   "published_at": WHEN} for n in range(3)])
    reference = Article.objects.create(source=source, url="https://values.example/orm", title="V", published_at=WHEN)
    assert len(ids) == 3 and ids == sorted(ids) and reference.pk not in ids
    stored = Article.objects.get(pk=ids[1])
    assert (stored.title, stored.url, stored.published_at) == ("V1", "https://values.example/1", WHEN)
    assert abs(stored.first_seen_at - reference.first_seen_at) < timedelta(minutes=1)  # a callable default
    skip = {"id", "url", "title", "first_seen_at"}
    assert {f.attname: getattr(stored, f.attname) for f in Article._meta.concrete_fields if f.attname not in skip} == \
        {f.attname: getattr(reference, f.attname) for f in Article._meta.concrete_fields if f.attname not in skip}


def test_a_value_for_no_column_is_an_error_not_dropped():
    source = Source.objects.create(name="Typo")
    with pytest.raises(ValueError, match="titel"):
        insert_values(Article, [{"source_id": source.pk, "url": "https://typo.example/", "titel": "x",
                                 "published_at": WHEN}])
    assert not Article.objects.filter(source=source).exists()
