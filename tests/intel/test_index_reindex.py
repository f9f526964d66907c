"""The vector index (exact and ANN, persistent, caught up from the database), the task hook,
`newsstand reindex` and `newsstand repair_stories`."""

from datetime import timedelta

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from newsstand.intel.index import VectorIndex
from newsstand.intel.pipeline import process_intel
from newsstand.intel.vectors import WINDOW, ArticleVectors, index_folder
from newsstand.news.models import Article, RelatedArticle, Story, Tag
from tests.intel.stories_text import BRIDGE, REHAB_LOHAN, REHAB_REID, UNRELATED

pytestmark = pytest.mark.django_db


def random_unit(n, seed=0):
    vectors = np.random.default_rng(seed).normal(size=(n, 384)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.parametrize("exact_limit", [10_000, 100])
def test_index_search_add_remove_persist(tmp_path, exact_limit):
    vectors = random_unit(300)
    index = VectorIndex(384, exact_limit=exact_limit)
    index.add(np.arange(300), vectors)
    assert index.backend == ("exact" if exact_limit > 300 else "usearch")
    assert index.search(vectors[7], 3)[0][0] == 7
    assert 7 not in [k for k, _ in index.search(vectors[7], 3, exclude=7)]
    index.remove([7])
    assert 7 not in index and len(index) == 299
    index.save(tmp_path, {"scan_from": 5})
    loaded, meta = VectorIndex.load(tmp_path)
    assert meta["scan_from"] == 5 and len(loaded) == 299 and loaded.search(vectors[8], 1)[0][0] == 8


def test_a_corrupt_index_file_is_rebuilt_from_the_database(make_article, settings):
    articles = [make_article(t, b, source=f"S{i}") for i, (t, b) in enumerate(BRIDGE)]
    process_intel([a.pk for a in articles])
    folder = index_folder()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vectors.json").write_text("{not json")
    fresh = ArticleVectors()
    assert len(fresh.index) == 0
    assert fresh.sync() == 3 and len(fresh.index) == 3
    fresh.save()
    again = ArticleVectors()
    assert len(again.index) == 3 and again.sync() == 0


def test_articles_that_leave_the_window_or_the_database_leave_the_index(make_article):
    articles = [make_article(t, b, source=f"S{i}") for i, (t, b) in enumerate(BRIDGE)]
    process_intel([a.pk for a in articles])
    index = ArticleVectors()
    assert index.sync() == 3 and len(index.index) == 3
    Article.objects.filter(pk=articles[0].pk).update(
        published_at=timezone.now() - WINDOW - timedelta(hours=1))
    articles[1].delete()
    assert index.sync() == 0 and len(index.index) == 3  # pruned once an hour, not on every sync
    assert index.prune() == 2 and list(index.index.keys()) == [articles[2].pk]
    index.save()
    assert len(ArticleVectors().index) == 1


def test_an_index_saved_in_the_old_format_is_rebuilt_from_the_database(make_article):
    articles = [make_article(t, b, source=f"S{i}") for i, (t, b) in enumerate(BRIDGE)]
    process_intel([a.pk for a in articles])
    folder = index_folder()
    folder.mkdir(parents=True, exist_ok=True)
    for name in list(folder.iterdir()):
        name.unlink()
    # Format 1: an npz (or a usearch graph) named by a vectors.json without a format.
    np.savez(folder / "vectors.npz", keys=np.array([articles[0].pk]), matrix=random_unit(1))
    (folder / "vectors.json").write_text('{"scan_from": 999999, "dims": 384}')
    fresh = ArticleVectors()
    assert len(fresh.index) == 0 and fresh.scan_from == 0
    assert fresh.sync() == 3
    fresh.save()
    assert not (folder / "vectors.npz").exists()
    again = ArticleVectors()
    assert sorted(again.index.keys().tolist()) == sorted(a.pk for a in articles) and again.sync() == 0


def test_enqueue_intel_queues_batches_after_commit(django_capture_on_commit_callbacks):
    from newsstand.intel.tasks import INTEL_BATCH, enqueue_intel

    from django_tasks_db.models import DBTaskResult

    with django_capture_on_commit_callbacks() as callbacks:
        enqueue_intel(list(range(1, INTEL_BATCH + 5)))
        assert not DBTaskResult.objects.exists()  # nothing before the commit
    assert len(callbacks) == 1
    callbacks[0]()  # after the commit: one queue row per batch, in one transaction
    queued = [r.args_kwargs["args"][0] for r in DBTaskResult.objects.order_by("enqueued_at")]
    assert sorted(map(len, queued)) == [4, INTEL_BATCH]


def test_the_task_runs_the_pipeline(make_article):
    from newsstand.intel.tasks import intel_articles_task

    article = make_article(*BRIDGE[0])
    counts = intel_articles_task.call([article.pk])
    assert counts["embedded"] == 1 and counts["stories_started"] == 1


def test_reindex_rebuilds_everything_and_repair_runs(make_article, capsys):
    articles = [make_article(t, b, source=f"S{i}", hours=i) for i, (t, b) in enumerate(BRIDGE)]
    others = [make_article(*REHAB_REID, source="A"), make_article(*REHAB_LOHAN, source="B"),
              make_article(*UNRELATED[0], source="C")]
    process_intel([a.pk for a in articles + others])
    before = dict(Article.objects.values_list("pk", "story_id"))
    Article.objects.filter(pk=articles[0].pk).update(embedding=None)
    call_command("reindex", "--no-progress")
    after = dict(Article.objects.values_list("pk", "story_id"))
    assert "Reindexed 6 articles" in capsys.readouterr().out
    assert len(set(after.values())) == len(set(before.values())) == 4  # same partition, new stories
    assert set(after.values()).isdisjoint(before.values())
    assert Story.objects.count() == 4 and Article.objects.filter(embedding__isnull=True).count() == 0
    assert RelatedArticle.objects.filter(article=articles[0]).exists()
    assert all(t.article_count == t.articles.count() for t in Tag.objects.all())
    call_command("repair_stories", "--days", "100000")
    assert "Checked" in capsys.readouterr().out
