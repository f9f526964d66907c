"""Bad input never reaches a 500: unknown ids are a 404 page, malformed parameters and
cursors a 400 page that names the problem; cursors are checked strictly."""

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st

from newsstand.news.queries import InvalidQuery, coverage_rank, decode_cursor, encode_cursor
from newsstand.news.models import Story
from tests.web import builders as b


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(timezone.utc)),
       st.integers(min_value=1, max_value=2**63 - 1))
def test_cursor_round_trips(when, pk):
    assert decode_cursor(encode_cursor(when, pk)) == (when, pk)


@given(st.text(max_size=40))
def test_any_text_either_decodes_or_is_invalid(text):
    try:
        when, pk = decode_cursor(text)
    except InvalidQuery:
        return
    assert pk > 0 and when.tzinfo is not None


def test_coverage_rank_prefers_wide_recent_coverage():
    now = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)

    def story(pk, outlets, hours_ago):
        return Story(pk=pk, headline=str(pk), source_count=outlets, article_count=outlets,
                     first_seen_at=now, last_updated_at=now - timedelta(hours=hours_ago))

    wide_old, narrow_new, wide_new = story(1, 8, 72), story(2, 1, 0), story(3, 5, 1)
    assert [s.pk for s in coverage_rank([wide_old, narrow_new, wide_new], now)] == [3, 2, 1]


@pytest.mark.django_db
@pytest.mark.parametrize("url", [
    "/?cursor=garbage", "/?cursor=AAAAAAAAAAAAAAAAAAAAAA", "/?cursor=" + "A" * 500, "/?cursor=%00",
    "/sources/{source}?cursor=x", "/tags/t?cursor=x", "/stories/{story}?cursor=x", "/search?q=a&cursor=o1",
])
def test_malformed_cursor_is_a_400_page(client, url):
    item = b.article(b.source())
    b.tag("t", [item])
    story = b.story([item])
    response = client.get(url.format(source=item.source_id, story=story.pk))
    assert response.status_code == 400, url
    html = response.content.decode()
    assert "could not be read" in html and "cursor" in html.lower()


@pytest.mark.django_db
@pytest.mark.parametrize("url", [
    "/articles/0", "/articles/99999999999", "/stories/5", "/sources/0", "/sources/unknown-outlet",
    "/tags/none", "/articles/abc", "/stories/-1",
])
def test_unknown_ids_are_a_404_page(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


@pytest.mark.django_db
def test_valid_cursor_past_the_end_is_an_empty_page_not_an_error(client):
    b.article(b.source())
    cursor = encode_cursor(datetime(1990, 1, 1, tzinfo=timezone.utc), 1)
    response = client.get(f"/?cursor={cursor}")
    assert response.status_code == 200 and "No older articles" in response.content.decode()


def test_500_page_renders_without_a_request_or_database():
    """Django renders 500.html with no context when something is already broken: it must
    need nothing but static files."""
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "Something went wrong" in html and "<h1>" in html and "{%" not in html
