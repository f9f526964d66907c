"""Stories: online assignment, its fields, serialization and repair."""

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from newsstand.intel.pipeline import process_intel
from newsstand.intel.repair import repair_stories
from newsstand.intel.scoring import ArticleSignals, StoryConfig, StoryState, choose, term_weight
from newsstand.news.models import Article, Story
from tests.intel.conftest import BASE, unit
from tests.intel.stories_text import BRIDGE, REHAB_LOHAN, REHAB_REID, UNRELATED

pytestmark = pytest.mark.django_db


def test_same_event_joins_and_other_news_starts_its_own_story(make_article):
    bridge = [make_article(t, b, source=f"Outlet {i}", hours=i) for i, (t, b) in enumerate(BRIDGE)]
    others = [make_article(t, b, source="Other", hours=1) for t, b in UNRELATED]
    process_intel([a.pk for a in bridge + others])
    stories = {a.pk: a.story_id for a in Article.objects.all()}
    assert len({stories[a.pk] for a in bridge}) == 1
    assert len({stories[a.pk] for a in others} | {stories[bridge[0].pk]}) == 3
    story = Story.objects.get(pk=stories[bridge[0].pk])
    assert (story.article_count, story.source_count) == (3, 3)
    assert story.first_article_id == bridge[0].pk
    assert story.first_seen_at == bridge[0].published_at and story.last_updated_at == bridge[2].published_at
    assert story.headline in {t for t, _ in BRIDGE}
    assert story.score > Story.objects.get(pk=stories[others[0].pk]).score  # more outlets rank higher


def test_two_similar_events_stay_apart(make_article):
    """Same kind of event, different people: the hard 'similar but not the same story' case."""
    reid = make_article(*REHAB_REID, source="A")
    lohan = make_article(*REHAB_LOHAN, source="B", hours=2)
    process_intel([reid.pk, lohan.pk])
    reid.refresh_from_db()
    lohan.refresh_from_db()
    assert reid.story_id != lohan.story_id


def test_the_same_event_weeks_later_is_a_new_story(make_article):
    first = make_article(*BRIDGE[0], source="A")
    later = make_article(*BRIDGE[1], source="B", published=BASE + timedelta(days=40))
    process_intel([first.pk])
    process_intel([later.pk])
    assert Article.objects.values("story").distinct().count() == 2


def test_no_chain_of_weak_links():
    """Each article is close to the previous one, but the last has nothing to do with the
    first: comparing with the story's centre, not its nearest member, stops the chain."""
    rng = np.random.default_rng(1)
    a, b = unit(rng.normal(size=384)), unit(rng.normal(size=384))
    config = StoryConfig(entity_weight=0, lexical_share=0)
    story = StoryState(1, np.zeros(384, dtype=np.float32))
    joined = 0
    for step in range(11):
        vector = unit((1 - step / 10) * a + (step / 10) * b)
        article = ArticleSignals(step, BASE, vector, {}, frozenset(), words=100)
        if step == 0 or choose(article, [story], config):
            story.add(article)
            joined += 1
        else:
            break
    # The chain stops before the articles that share almost nothing with the first (steps 9
    # and 10, cosine < 0.15 with it) although each is as close to its predecessor as the rest.
    assert 1 < joined <= 9
    assert float(story.anchor @ unit(0.1 * a + 0.9 * b)) < 0.2


def test_bad_inputs_do_not_break_the_pipeline(make_article):
    empty = make_article("", "")
    word = make_article("Breaking", "Breaking")
    french = make_article("Le gouvernement annonce une réforme des retraites",
                          "Le Premier ministre Michel Barnier a annoncé mardi une réforme des retraites. Michel "
                          "Barnier veut agir vite, a-t-il dit devant l'Assemblée nationale à Paris.", language="fr")
    huge = make_article("Budget statement in full", " ".join(
        f"The chancellor said spending on item {i % 97} would rise." for i in range(12500)))
    assert len(huge.text.split()) >= 100_000
    outcome = process_intel([empty.pk, word.pk, french.pk, huge.pk])
    assert outcome["embedded"] == 3  # nothing to embed in an empty article
    for article in Article.objects.exclude(pk=empty.pk):
        assert article.story_id is not None and article.embedding is not None
    assert Article.objects.get(pk=empty.pk).story_id is None
    assert {t.name for t in Article.objects.get(pk=french.pk).tags.all()} >= {"MichelBarnier"}


def test_a_burst_of_a_thousand_copies_is_one_story_with_one_original(make_article, embedder):
    import time

    wire = BRIDGE[0][1] + " Reporting by wire staff; editing by the desk."
    variants = [wire, wire.replace("Tuesday", "Tuesday morning"), wire + " More to follow."]
    vectors = embedder.encode(variants)  # the model runs once per distinct text, as a cache would
    articles = []
    for i in range(1000):
        article = make_article(BRIDGE[0][0], variants[i % 3], source=f"Site {i % 50}", hours=i / 100)
        article.embedding = vectors[i % 3].tobytes()
        articles.append(article)
    Article.objects.bulk_update(articles, ["embedding"])
    start = time.perf_counter()
    process_intel([a.pk for a in articles], with_related=False)
    elapsed = time.perf_counter() - start
    assert Article.objects.values("story").distinct().count() == 1
    assert Article.objects.filter(duplicate_of__isnull=True).count() == 1
    assert Article.objects.get(duplicate_of__isnull=True).pk == articles[0].pk
    story = Story.objects.get()
    assert (story.article_count, story.source_count) == (1000, 50)
    assert elapsed < 60, elapsed


def test_repair_merges_a_split_story_and_moves_a_drifted_article(make_article):
    first = make_article(*BRIDGE[0], source="A")
    second = make_article(*BRIDGE[1], source="B", hours=1)
    third = make_article(*BRIDGE[2], source="C", hours=2)
    stray = make_article(*UNRELATED[1], source="D", hours=2)
    process_intel([first.pk])
    # Split by hand: as if the online step had been too strict.
    with_own_story = StoryConfig(threshold=5, headline_threshold=5)
    process_intel([second.pk], config=with_own_story)
    process_intel([third.pk, stray.pk])
    assert Article.objects.filter(pk__in=[first.pk, second.pk, third.pk]).values("story").distinct().count() == 2
    # Drift by hand: the football report put into the bridge story.
    Article.objects.filter(pk=stray.pk).update(story=Article.objects.get(pk=first.pk).story_id)
    from newsstand.intel.stories import refresh_story

    refresh_story(Article.objects.get(pk=first.pk).story_id)
    report = repair_stories(now=BASE + timedelta(hours=3))
    assert report.merged >= 1 and report.split >= 1
    stories = dict(Article.objects.values_list("pk", "story_id"))
    assert stories[first.pk] == stories[second.pk] == stories[third.pk] != stories[stray.pk]
    assert Story.objects.get(pk=stories[first.pk]).article_count == 3


def test_word_profile_weighs_repeated_words_and_adds_and_removes_exactly():
    """The profile sums each member's sublinear term frequency; removing a member and merging
    two stories (repair) keep the sums exact."""
    one = ArticleSignals(1, BASE, None, {}, frozenset({"lohan", "rehab"}), words=100,
                         term_tf={"lohan": 4, "rehab": 1})
    two = ArticleSignals(2, BASE, None, {}, frozenset({"lohan", "court"}), words=100,
                         term_tf={"lohan": 1, "court": 2})
    story = StoryState(1, np.zeros(384, dtype=np.float32))
    story.add(one)
    story.add(two)
    assert story.terms["lohan"] == pytest.approx(term_weight(one, "lohan") + 1.0)
    assert term_weight(one, "lohan") > term_weight(one, "rehab") == 1.0
    other = StoryState(2, np.zeros(384, dtype=np.float32))
    other.add(two)
    story.absorb(other)
    assert story.count == 3 and story.terms["court"] == pytest.approx(2 * term_weight(two, "court"))
    story.remove(two)
    story.remove(two)
    assert story.terms == pytest.approx({"lohan": term_weight(one, "lohan"), "rehab": 1.0})
    assert story.count == 1


def test_a_young_story_asks_for_more_than_a_grown_one():
    """Whole-topic merges (two events of the same kind) start while a story has one or two
    members: the bar is higher then, and back to the threshold from three members."""
    rng = np.random.default_rng(3)
    a, b = unit(rng.normal(size=384)), unit(rng.normal(size=384))
    near = unit(0.93 * a + 0.37 * b)  # cosine ≈ 0.93 with a
    strict = StoryConfig(entity_weight=0, lexical_share=0, headline_lexical_share=0, time_weight=0,
                         threshold=float(near @ a) - 0.01, young_margin=0.05)
    story = StoryState(1, np.zeros(384, dtype=np.float32))
    story.add(ArticleSignals(1, BASE, a, {}, frozenset(), words=100))
    probe = ArticleSignals(9, BASE, near, {}, frozenset(), words=100)
    assert choose(probe, [story], strict) is None  # one member: threshold + margin
    for i in range(2, 4):
        story.add(ArticleSignals(i, BASE, a, {}, frozenset(), words=100))
    assert choose(probe, [story], strict) is not None  # three members: the threshold itself
    headline = ArticleSignals(10, BASE, near, {}, frozenset(), words=5)
    young = StoryState(2, a.copy(), 1, anchor=a)
    assert choose(headline, [young], replace(strict, headline_threshold=strict.threshold)) is not None
