"""Every reader page in a real Chromium at a phone and a desktop width: no console errors,
proxied images that actually load, search, "load more", localized times and the keyboard
shortcuts. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import pytest

from tests.browser.conftest import DESKTOP, PHONE
from tests.web import builders as b

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"phone": PHONE, "desktop": DESKTOP}
TEXT = ("Ministers announced on Monday that the harbour bridge would reopen after two years of repairs.\n\n"
        "Engineers said the new deck was tested with loaded lorries over the weekend, and that traffic "
        "could return at noon. Local traders welcomed the news after a long and difficult period.\n\n"
        "The council said the total cost stayed within the budget agreed in 2024.")


def build_world(images):
    paper = b.source("Harbour Gazette", favicon_url=images.url("/favicon.png"),
                     attribution="From the Harbour Gazette, CC BY 4.0", license_url="https://creativecommons.org/licenses/by/4.0/")
    wire, third = b.source("Coastal Wire"), b.source("Evening Ledger")
    lead = b.article(paper, "Harbour bridge reopens after two years of repairs", byline="Ann Writer",
                     image_url=images.url("/lead.jpg"), text=TEXT, now=_now())
    other = b.article(wire, "Traffic returns to the harbour bridge", image_url=images.url("/other.jpg"),
                      minutes_ago=42, text="Cars crossed the bridge at noon for the first time since repairs began.", now=_now())
    ledger = b.article(third, "Bridge repairs came in on budget, council says", minutes_ago=95,
                       text="The council published the final accounts for the bridge repairs.", now=_now())
    filler = [b.article(s, f"Other news item {i}", minutes_ago=120 + i * 30, now=_now(),
                        text=f"A report on an unrelated matter, number {i}.")
              for i, s in enumerate([paper, wire, third] * 9)]
    story = b.story([lead, other, ledger], headline="Harbour bridge reopens")
    b.tag("HarbourBridge", [lead, other, ledger])
    b.tag("Council", [ledger, lead])
    b.relate(lead, [other, ledger], reason="same story")
    return {"paper": paper, "lead": lead, "story": story, "filler": filler}


def _now():
    from django.utils import timezone

    return timezone.now()


def pages(world):
    return {
        "home": "/",
        "article": f"/articles/{world['lead'].pk}",
        "source": f"/sources/{world['paper'].pk}",
        "tag": "/tags/harbourbridge",
        "story": f"/stories/{world['story'].pk}",
        "search": "/search?q=bridge",
        "not-found": "/articles/999999",
    }


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_renders_without_console_errors(open_tab, image_host, width):
    world = build_world(image_host)
    tab = open_tab(viewport=WIDTHS[width])
    for name, path in pages(world).items():
        response = tab.go(path)
        assert response.status == (404 if name == "not-found" else 200), name
        if name == "not-found":
            tab.errors = [e for e in tab.errors if "404" not in e]  # the document's own status
        # Scroll through so lazy images load, then check every image decoded.
        tab.page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        tab.page.wait_for_load_state("networkidle")
        broken = tab.page.evaluate(
            "[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
        assert broken == [], (name, broken)
        overflow = tab.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        wide = tab.page.evaluate("""[...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
        if overflow > 0:
            tab.shot(f"overflow-{name}-{WIDTHS[width]['width']}")
        assert overflow <= 0, (name, "horizontal scroll", overflow, wide)
        tab.page.evaluate("window.scrollTo(0, 0)")
        tab.shot(f"{name}-{WIDTHS[width]['width']}")
        assert tab.errors == [], (name, tab.errors)


def test_article_page_shows_proxied_images(open_tab, image_host):
    world = build_world(image_host)
    tab = open_tab()
    tab.go(f"/articles/{world['lead'].pk}")
    lead = tab.page.locator("img.lead-image")
    assert lead.get_attribute("src").startswith("/img/")
    assert lead.evaluate("i => i.naturalWidth") > 0
    assert lead.evaluate("i => i.currentSrc").startswith(tab.base_url + "/img/")
    assert image_host.hits("/lead.jpg"), "the proxy fetched the original"
    assert tab.page.locator(".related-card img").first.evaluate("i => i.naturalWidth") > 0


def test_dark_mode(open_tab, image_host):
    world = build_world(image_host)
    tab = open_tab(viewport=PHONE, color_scheme="dark")
    for name in ("home", "article"):
        tab.go(pages(world)[name])
        background = tab.page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(20, 20, 20)"
        tab.shot(f"{name}-{PHONE['width']}-dark")
    assert tab.errors == []


def test_search_from_the_header(open_tab, image_host):
    build_world(image_host)
    tab = open_tab(viewport=PHONE)
    tab.go("/")
    tab.page.fill("#site-q", "council budget")
    tab.page.press("#site-q", "Enter")
    tab.page.wait_for_load_state("networkidle")
    assert "/search?q=council+budget" in tab.page.url
    titles = tab.page.locator(".results .headline").all_inner_texts()
    assert titles[0] == "Bridge repairs came in on budget, council says"  # both words in its title
    assert tab.page.locator(".results mark").count() >= 2
    tab.page.select_option("#source", label="Coastal Wire")
    tab.page.click(".search-form button[type=submit]")
    tab.page.wait_for_load_state("networkidle")
    assert "Nothing matches" in tab.page.inner_text("main")
    tab.shot("search-empty-390")
    assert tab.errors == []


def test_keyboard_shortcuts(open_tab, image_host):
    build_world(image_host)
    tab = open_tab()
    tab.go("/")
    page = tab.page
    headlines = page.locator("[data-item] a.headline")
    focused = "document.activeElement && document.activeElement.getAttribute('href')"
    page.keyboard.press("j")
    assert page.evaluate(focused) == headlines.nth(0).get_attribute("href")
    page.keyboard.press("j")
    assert page.evaluate(focused) == headlines.nth(1).get_attribute("href")
    page.keyboard.press("k")
    assert page.evaluate(focused) == headlines.nth(0).get_attribute("href")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "site-q"
    page.keyboard.type("j")  # typing in the box is text, not a shortcut
    assert page.input_value("#site-q") == "j"
    page.keyboard.press("Escape")
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("?")
    assert page.locator("#shortcuts").is_visible()
    tab.shot("help-overlay-1280")
    page.keyboard.press("Escape")
    assert not page.locator("#shortcuts").is_visible()
    assert tab.errors == []


def test_load_more_appends_in_place_and_works_without_js(open_tab, image_host):
    build_world(image_host)
    tab = open_tab(viewport=PHONE)
    tab.go("/")
    items = tab.page.locator("#latest > li")
    assert items.count() == 20
    start_url = tab.page.url
    tab.page.click("a[data-load-more]")
    tab.page.wait_for_function("document.querySelectorAll('#latest > li').length > 20")
    assert items.count() == 30 and tab.page.url == start_url
    assert tab.page.locator("a[data-load-more]").count() == 0
    assert tab.page.evaluate("document.activeElement.closest('#latest > li') !== null")  # focus moved on
    assert tab.errors == []

    no_js = open_tab(viewport=PHONE, java_script_enabled=False)
    no_js.go("/")
    no_js.page.click("a[data-load-more]")
    no_js.page.wait_for_load_state("load")
    assert "cursor=" in no_js.page.url and no_js.page.locator("#latest > li").count() == 10


def test_relative_times_follow_the_browser_locale(open_tab, image_host):
    world = build_world(image_host)
    tab = open_tab(locale="de-DE", timezone_id="Europe/Berlin")
    tab.go(f"/articles/{world['lead'].pk}")
    time = tab.page.locator("article time").first
    assert time.inner_text().startswith("vor ") or time.inner_text() in ("jetzt", "gerade eben")
    assert "Uhr" in time.get_attribute("title") or ":" in time.get_attribute("title")
    assert tab.errors == []
