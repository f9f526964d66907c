"""Reader pages render from stored data: the article page with every section that has
data (and none that has not), home with top stories and sections, source, tag and story
pages with cursor pagination."""

import re

import pytest

from newsstand.news.models import Story
from newsstand.web import images, pagecache
from tests.web import builders as b

pytestmark = pytest.mark.django_db


def page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


@pytest.fixture
def world():
    paper = b.source("Daily Example", favicon_url="https://daily.example/favicon.ico",
                     attribution="From Daily Example, CC BY 4.0", license_url="https://license.example/by/4.0/")
    wire = b.source("Wire Service")
    lead = b.article(paper, "Bridge reopens after repairs", minutes_ago=29, byline="Ann Writer",
                     image_url="https://daily.example/bridge.jpg",
                     text="The bridge reopened on Monday.\n\nTraffic resumed at noon.")
    other = b.article(wire, "City bridge open again", minutes_ago=42, text="Engineers signed off the bridge.")
    reprint = b.article(wire, "Bridge reopens after repairs", minutes_ago=20, duplicate_of=lead)
    return {"paper": paper, "wire": wire, "lead": lead, "other": other, "reprint": reprint}


def test_article_page_core(client, world):
    lead = world["lead"]
    html = page(client, f"/articles/{lead.pk}")
    assert html.count("<h1") == 1 and "Bridge reopens after repairs</h1>" in html
    assert '<link rel="canonical" href="https://' in html and f'href="{lead.url}"' in html
    assert "By Ann Writer" in html
    assert re.search(r'<time datetime="2026-11-20T11:31:00\+00:00" title="20 November 2026, 11:31 UTC" data-reltime>', html)
    assert "<p>The bridge reopened on Monday.</p>" in html  # the sanitized body, as stored
    assert "From Daily Example, CC BY 4.0" in html and 'rel="license noopener"' in html
    assert f'href="/sources/{world["paper"].pk}"' in html and "Daily Example</a>" in html


def test_article_page_lead_image_and_favicon_go_through_the_proxy(client, world):
    html = page(client, f"/articles/{world['lead'].pk}")
    lead_img = re.search(r'<img class="lead-image" src="([^"]+)" srcset="([^"]+)" sizes="([^"]+)"', html)
    assert lead_img, "lead image with srcset/sizes"
    assert lead_img.group(1).startswith("/img/")
    widths = re.findall(r" (\d+)w", lead_img.group(2))
    assert len(widths) >= 3 and all(int(w) in images.proxy().IMAGE_WIDTHS for w in widths)
    assert "bridge.jpg" not in html and "daily.example/favicon" not in html  # never hotlinked
    assert 'class="source-icon" src="/img/' in html


def test_without_the_proxy_no_image_and_no_placeholder(client, world, monkeypatch):
    monkeypatch.setattr(images, "proxy", lambda: None)
    html = page(client, f"/articles/{world['lead'].pk}")
    assert "<img" not in html


def test_later_sections_absent_without_data(client, world):
    html = page(client, f"/articles/{world['other'].pk}")
    for heading in ("Hashtags", "Related articles", "Headline history", "Also published by", "Full coverage",
                    "Comments", "AI"):
        assert heading not in html, heading


def test_later_sections_render_from_data(client, world):
    lead, other = world["lead"], world["other"]
    b.tag("BridgeRepairs", [lead])
    b.relate(lead, [other], reason="same story")
    b.retitle(lead, ["Bridge to reopen soon"])
    story = b.story([lead, other])
    html = page(client, f"/articles/{lead.pk}")
    assert 'href="/tags/bridgerepairs">#BridgeRepairs</a>' in html
    related = html.split('id="related-title"')[1]
    assert "City bridge open again" in related and "Wire Service" in related and "same story" in related
    assert "Engineers signed off the bridge." in related  # an excerpt
    assert "<q>Bridge to reopen soon</q>" in html
    also = html.split('id="also-title"')[1].split("</section>")[0]
    assert f'href="/articles/{world["reprint"].pk}">Wire Service</a>' in also
    assert f'href="/stories/{story.pk}">Full coverage: 2 outlets' in html
    reprint_html = page(client, f"/articles/{world['reprint'].pk}")
    assert f'First published by <a href="/articles/{lead.pk}">Daily Example</a>' in reprint_html


def test_related_articles_that_are_not_readable_are_left_out(client, world):
    pending = b.article(world["wire"], "Still fetching", extraction_status="pending")
    b.relate(world["lead"], [pending])
    assert "Related articles" not in page(client, f"/articles/{world['lead'].pk}")


def test_home_latest_hides_reprints_and_links_sources(client, world):
    html = page(client, "/")
    latest = html.split('id="latest-title"')[1]
    assert f'/articles/{world["lead"].pk}"' in latest and f'/articles/{world["reprint"].pk}"' not in latest
    assert "Top stories" not in html  # no stories yet: no empty section
    assert 'id="src-' in html  # per-source sections from the publishers seen


def test_home_top_stories_by_score_then_coverage(client, world):
    paper, wire = world["paper"], world["wire"]
    third = b.source("Third Paper")
    small = b.story([b.article(paper, "Small local story", minutes_ago=5)])
    big = b.story([b.article(s, f"Big story take {i}", minutes_ago=60 + i) for i, s in enumerate([paper, wire, third])],
                  headline="Big story everybody covers")
    html = page(client, "/")
    top = html.split('id="top-title"')[1].split("</section>")[0]
    assert top.index("Big story everybody covers") < top.index("Small local story")
    assert "3 articles from 3 outlets" in top and "Third Paper" in top
    Story.objects.filter(pk=small.pk).update(score=5.0)
    Story.objects.filter(pk=big.pk).update(score=1.0)
    # Intel rescores stories in a worker; pages show new scores when their cached copy
    # expires (newsstand.web.pagecache), which this test does not wait for.
    pagecache.clear()
    top = page(client, "/").split('id="top-title"')[1].split("</section>")[0]
    assert top.index("Small local story") < top.index("Big story everybody covers")


def test_home_tag_sections(client, world):
    b.tag("Infrastructure", [world["lead"], world["other"]])
    html = page(client, "/")
    section = html.split('<h2 id="tag-')[1].split("</section>")[0]
    assert "#Infrastructure" in section and "City bridge open again" in section


def test_cursor_pagination_walks_every_article_once(client):
    src = b.source()
    made = b.many(src, 47)
    seen, url = [], "/"
    while url:
        html = page(client, url)
        latest = html.split('id="latest-title"')[1].split("</section>")[0]
        seen += [int(pk) for pk in re.findall(r'class="headline" href="/articles/(\d+)"', latest)]
        more = re.search(r'<a href="(\?cursor=[^"]+)" rel="next" data-load-more="latest">', html)
        url = "/" + more.group(1).replace("&amp;", "&") if more else None
    assert seen == [a.pk for a in made]  # newest first, none repeated or skipped


def test_source_page_by_id_and_slug(client, world):
    paper = world["paper"]
    by_id = page(client, f"/sources/{paper.pk}")
    assert "<h1>" in by_id and "Daily Example</h1>" in by_id
    assert "Bridge reopens after repairs" in by_id and "City bridge open again" not in by_id
    assert f'href="/sources/{paper.pk}/feed.rss"' in by_id and "CC BY 4.0" in by_id
    assert page(client, "/sources/daily-example") == by_id
    page(client, "/sources/no-such-paper", 404)
    page(client, "/sources/999999", 404)


def test_source_page_paginates(client):
    src = b.source()
    made = b.many(src, 25)
    html = page(client, f"/sources/{src.pk}")
    assert len(re.findall(r'class="card" data-item', html)) == 20
    nxt = re.search(r'href="\?cursor=([^"]+)" rel="next"', html).group(1)
    rest = page(client, f"/sources/{src.pk}?cursor={nxt}")
    assert re.findall(r'href="/articles/(\d+)"', rest) == [str(a.pk) for a in made[20:]]
    assert 'rel="next"' not in rest


def test_tag_page(client, world):
    b.tag("Bridges", [world["lead"], world["other"]], kind="topic")
    html = page(client, "/tags/bridges")
    assert "#Bridges</h1>" in html and "City bridge open again" in html and "2 articles" in html
    page(client, "/tags/unknown", 404)


def test_story_page_lists_every_outlets_article_newest_first(client, world):
    story = b.story([world["lead"], world["other"], world["reprint"]], headline="The bridge story")
    html = page(client, f"/stories/{story.pk}")
    assert "The bridge story</h1>" in html and "3 articles from 2 outlets" in html
    order = [int(pk) for pk in re.findall(r'class="headline" href="/articles/(\d+)"', html)]
    assert order == [world["reprint"].pk, world["lead"].pk, world["other"].pk]
    page(client, "/stories/424242", 404)


def test_unknown_pages_use_the_404_template(client):
    html = page(client, "/articles/999999", 404)
    assert "Page not found" in html and "front page" in html
    assert "Page not found" in page(client, "/no/such/page", 404)


def test_pages_are_semantic(client, world):
    b.tag("Bridges", [world["lead"]])
    story = b.story([world["lead"], world["other"]])
    for url in ["/", f"/articles/{world['lead'].pk}", f"/sources/{world['paper'].pk}", "/tags/bridges",
                f"/stories/{story.pk}", "/search?q=bridge", "/search"]:
        html = page(client, url)
        assert html.count("<h1") == 1, url
        assert "<header" in html and '<main id="main"' in html and "<footer" in html, url
        assert 'role="search"' in html, url
        assert all('alt="' in tag for tag in re.findall(r"<img [^>]*>", html)), url
        levels = [int(n) for n in re.findall(r"<h([1-6])", html)]
        assert all(b_ - a <= 1 for a, b_ in zip(levels, levels[1:])), (url, levels)  # no skipped level


def test_post_is_refused(client, world):
    assert client.post("/").status_code == 405


def test_single_publisher_gets_no_repeating_source_section(client):
    b.many(b.source("Only Outlet"), 5)
    html = page(client, "/")
    assert 'id="src-' not in html and "with-aside" not in html
