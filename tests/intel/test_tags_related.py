"""Hashtags (entities + keyphrases, normalized, merged, counted), trending tags, and related
articles with their reasons."""

from datetime import timedelta

import pytest

from newsstand.intel.entities import camel, extract_entities
from newsstand.intel.pipeline import process_intel
from newsstand.intel.tags import TagCandidate, tag_candidates
from newsstand.intel.tagstore import store_tags
from newsstand.intel.trending import trending_tags
from newsstand.news.models import Article, ArticleTag, RelatedArticle, Tag
from tests.intel.conftest import BASE
from tests.intel.stories_text import BRIDGE, UNRELATED

pytestmark = pytest.mark.django_db

COOPER = ("Yvette Cooper orders National Crime Agency review of grooming gangs",
          "The Home Secretary, Yvette Cooper, has asked the National Crime Agency (NCA) to review historic "
          "cases of grooming gangs. Ms Cooper said on Monday that victims in Rochdale and Oldham had been "
          "failed by child protection services. The NCA will report in the spring. In Rochdale, police said "
          "they welcomed the review of grooming gangs.")


@pytest.mark.parametrize("phrase, expected", [
    ("National Crime Agency", "NationalCrimeAgency"), ("Yvette Cooper", "YvetteCooper"),
    ("U.S.", "US"), ("McDonald's", "McDonaldS"), ("bank of england", "BankOfEngland"), ("Zürich", "Zurich"),
])
def test_camel_case_names(phrase, expected):
    assert camel(phrase) == expected


def test_entities_are_verified_and_variants_merged():
    entities = {e.slug: e for e in extract_entities(*COOPER)}
    assert {"yvettecooper", "nationalcrimeagency", "rochdale"} <= set(entities)
    assert "cooper" not in entities and "nca" not in entities  # merged into the full names
    assert entities["yvettecooper"].kind == "person" and entities["nationalcrimeagency"].kind == "org"
    assert "monday" not in entities and "home" not in entities


def test_a_full_name_with_middle_names_is_the_same_person():
    entities = {e.slug: e for e in extract_entities(
        "Mathematician Richard Guy dies aged 103",
        "Richard Kenneth Guy, a British mathematician, died on Monday. Guy wrote about number theory "
        "and games. Richard Guy taught at the University of Calgary for decades.")}
    assert "richardguy" in entities and entities["richardguy"].kind == "person"
    assert "richardkennethguy" not in entities and "guy" not in entities
    assert entities["richardguy"].mentions == 3


def test_title_case_headlines_do_not_invent_entities():
    names = {e.name for e in extract_entities("Glenn Beck Rips Progressivism At Conference",
                                              "Glenn Beck spoke on Saturday. Beck said progressivism was a cancer.")}
    assert names == {"GlennBeck"}


def test_short_forms_labels_and_the_outlet_are_not_tags_of_their_own():
    body = ("WN: What did the government there say about it when you asked them yesterday?\n"
            "Officials said that the US would respond to the request within a few weeks, and that the "
            "United States was committed to the deal, a spokesperson told Wikinews.\n"
            "Image: A photo of the protest outside the building, seen from across the street.\n"
            "Later the UK said it agreed, and ministers in the United Kingdom called for calm as talks "
            "continued for several hours, Wikinews learned.\n"
            "WN: And what happens next for the people who live there?\n"
            "((WN)) And when will the WN team hear back from them?")
    entities = {e.slug: e for e in extract_entities("Talks continue", body)}
    assert entities["unitedstates"].kind == "place" and entities["unitedstates"].mentions == 2
    assert entities["unitedkingdom"].name == "UnitedKingdom" and entities["unitedkingdom"].kind == "place"
    assert not {"us", "uk", "wn", "image"} & set(entities)
    tags = {t.slug for t in tag_candidates("Talks continue", body, outlet="Wikinews")}
    assert "unitedstates" in tags and "wikinews" not in tags and "image" not in tags and "photo" not in tags
    assert "wikinews" in {t.slug for t in tag_candidates("Talks continue", body)}  # another outlet's article


def test_tags_are_entities_first_then_topics():
    tags = tag_candidates(*COOPER)
    assert [t.name for t in tags[:2]] == ["NationalCrimeAgency", "YvetteCooper"]
    assert any(t.kind == "topic" for t in tags)
    assert tag_candidates("", "") == []


def test_spelling_variants_share_one_tag_and_counts_stay_exact(make_article):
    one, two = make_article("a", "a"), make_article("b", "b")
    store_tags(one.pk, [TagCandidate("tariffs", "Tariffs", "topic", 1.0)])
    store_tags(two.pk, [TagCandidate("tariff", "Tariff", "topic", 1.0)])
    assert Tag.objects.get().article_count == 2
    store_tags(two.pk, [TagCandidate("tariff", "Tariff", "topic", 1.0)])  # re-run: no double count
    assert Tag.objects.get().article_count == 2
    store_tags(one.pk, [])
    assert Tag.objects.get().article_count == 1


def test_trending_is_what_rose_today_against_its_baseline(make_article):
    now = BASE + timedelta(days=10)
    storm, everyday = Tag.objects.create(slug="storm", name="Storm"), Tag.objects.create(slug="uk", name="UK")
    for day in range(1, 8):  # #UK every day of the week before
        for n in range(3):
            ArticleTag.objects.create(article=make_article(f"uk {day} {n}", "x", published=now - timedelta(days=day)),
                                      tag=everyday)
    for n in range(4):
        article = make_article(f"storm {n}", "x", published=now - timedelta(hours=n + 1))
        ArticleTag.objects.create(article=article, tag=storm)
        ArticleTag.objects.create(article=article, tag=everyday)
    ranked = trending_tags(now)
    assert [t.tag.name for t in ranked][:2] == ["Storm", "UK"]
    assert ranked[0].recent == 4 and ranked[0].lift > ranked[1].lift


def test_related_are_other_outlets_same_story_first_then_same_topic(make_article):
    bridge = [make_article(t, b, source=f"Outlet {i}", hours=i) for i, (t, b) in enumerate(BRIDGE)]
    same_outlet = make_article(BRIDGE[2][0], BRIDGE[2][1] + " Updated later.", source="Outlet 0", hours=3)
    topic = make_article("Storm Darragh: Met Office warns of more gales in Wales next week",
                         "The Met Office said Storm Darragh would be followed by more wind in Wales next week, "
                         "with a yellow warning for Cardiff and the coast. Storm Darragh has already cut power "
                         "to thousands of homes.", source="Weather Desk", hours=30 * 24)
    football = make_article(*UNRELATED[1], source="Sport", hours=1)
    process_intel([a.pk for a in bridge + [same_outlet, topic, football]])
    rows = list(RelatedArticle.objects.filter(article=bridge[0]).order_by("rank"))
    assert [r.related_id for r in rows[:2]] == sorted([bridge[1].pk, bridge[2].pk],
                                                      key=lambda pk: [r.related_id for r in rows].index(pk))
    assert all(r.reason == "same story" for r in rows[:2])
    assert same_outlet.pk not in {r.related_id for r in rows} and football.pk not in {r.related_id for r in rows}
    topical = [r for r in rows if r.related_id == topic.pk]
    if Article.objects.get(pk=topic.pk).story_id != bridge[0].story_id:
        assert topical and topical[0].reason.startswith("also about #")
    # The later article also appears in the earlier ones' lists (refreshed at ingest).
    assert RelatedArticle.objects.filter(article=bridge[1], related=bridge[0]).exists()
