"""Near-duplicates: copies point at the earliest original, verified by exact Jaccard."""


import pytest

from newsstand.intel.neardup import THRESHOLD, fingerprint, is_near_duplicate
from newsstand.intel.pipeline import process_intel
from newsstand.intel.text import jaccard
from newsstand.news.models import Article, HeadlineChange
from tests.intel.stories_text import BRIDGE

pytestmark = pytest.mark.django_db

WIRE = ("LONDON (Reuters) - Britain's Severn Bridge was closed on Tuesday after Storm Darragh brought winds of "
        "up to 90mph to south Wales, the road operator said, and drivers were sent on a long diversion over "
        "the Prince of Wales Bridge. The Met Office issued an amber warning covering Wales and south-west "
        "England and said gusts could reach 100mph on exposed coasts. Trees fell across roads in Cardiff and "
        "Newport, rail services were cancelled between Bristol and Swansea, and more than 20,000 homes lost "
        "power overnight, the network operator said. Ferry crossings to Ireland were also suspended.")


def lightly_edited(text: str) -> str:
    """What a syndicating site does: its own dateline and credit, a couple of words changed."""
    edited = text.replace("LONDON (Reuters) - ", "").replace("road operator", "motorway operator")
    return edited.replace("were also suspended", "have also been suspended") + " Reporting by Reuters staff."


def test_light_edits_pass_and_a_different_article_on_the_same_story_does_not():
    original, copy = fingerprint(WIRE), fingerprint(lightly_edited(WIRE))
    other = fingerprint(BRIDGE[0][1] + " " + BRIDGE[1][1])
    assert is_near_duplicate(original, copy)
    assert jaccard(original.shingles, copy.shingles) >= THRESHOLD
    assert not is_near_duplicate(original, other)


def test_short_and_empty_texts_are_never_duplicates():
    assert not fingerprint("").usable
    assert not fingerprint("Breaking news").usable
    assert not is_near_duplicate(fingerprint("Breaking news"), fingerprint("Breaking news"))


def test_copies_point_at_the_earliest_and_arrival_order_does_not_matter(make_article):
    late_copy = make_article("Severn Bridge closed by storm", lightly_edited(WIRE), source="Echo", hours=3)
    process_intel([late_copy.pk])
    original = make_article("Storm shuts Severn Bridge", WIRE, source="Reuters", hours=0)
    second_copy = make_article("Severn Bridge shut", WIRE + " Updated.", source="Gazette", hours=5)
    process_intel([original.pk, second_copy.pk])
    by_id = {a.pk: a for a in Article.objects.all()}
    assert by_id[original.pk].duplicate_of_id is None
    assert by_id[late_copy.pk].duplicate_of_id == original.pk
    assert by_id[second_copy.pk].duplicate_of_id == original.pk
    assert len({a.story_id for a in by_id.values()}) == 1
    assert {a.pk for a in by_id[original.pk].duplicates.all()} == {late_copy.pk, second_copy.pk}


def test_a_retitled_republication_is_one_article_with_its_headline_history(make_article):
    first = make_article("Bridge closed", WIRE, source="Reuters")
    process_intel([first.pk])
    again = make_article("Severn Bridge closed as Storm Darragh hits Wales", WIRE, source="Reuters", hours=1)
    process_intel([again.pk])
    first.refresh_from_db()
    again.refresh_from_db()
    assert again.duplicate_of_id == first.pk
    assert first.title == "Severn Bridge closed as Storm Darragh hits Wales"
    assert list(HeadlineChange.objects.filter(article=first).values_list("title", flat=True)) == ["Bridge closed"]


def test_different_articles_on_one_story_are_not_duplicates(make_article):
    articles = [make_article(t, b, source=f"S{i}", hours=i) for i, (t, b) in enumerate(BRIDGE)]
    process_intel([a.pk for a in articles])
    assert not Article.objects.filter(duplicate_of__isnull=False).exists()
    assert Article.objects.values("story").distinct().count() == 1
