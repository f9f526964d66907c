import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsstand.ingest.urlnorm import canonical_url, same_article_url

CASES = {
    # scheme and host
    "http and https agree": ("http://example.com/a", "https://example.com/a"),
    "host is lower-cased": ("https://EXAMPLE.Com/a", "https://example.com/a"),
    "scheme is lower-cased": ("HTTPS://example.com/a", "https://example.com/a"),
    "www. is dropped": ("https://www.example.com/a", "https://example.com/a"),
    "m. is dropped": ("https://m.example.com/a", "https://example.com/a"),
    "amp. is dropped": ("https://amp.example.com/a", "https://example.com/a"),
    "stacked prefixes": ("https://www.m.example.com/a", "https://example.com/a"),
    "prefix kept when it is the domain": ("https://m.com/a", "https://m.com/a"),
    "trailing dot on host": ("https://example.com./a", "https://example.com/a"),
    "IDNA host": ("https://bücher.de/a", "https://xn--bcher-kva.de/a"),
    "credentials dropped": ("https://user:pw@example.com/a", "https://example.com/a"),
    # ports
    "port 80 dropped": ("http://example.com:80/a", "https://example.com/a"),
    "port 443 dropped": ("https://example.com:443/a", "https://example.com/a"),
    "other port kept": ("https://example.com:8080/a", "https://example.com:8080/a"),
    # fragment
    "fragment dropped": ("https://example.com/a#comments", "https://example.com/a"),
    "hashbang kept": ("https://example.com/#!/post/1", "https://example.com/#!/post/1"),
    # tracking parameters
    "utm_* dropped": (
        "https://example.com/a?utm_source=rss&utm_medium=feed&utm_campaign=x",
        "https://example.com/a",
    ),
    "click ids dropped": (
        "https://example.com/a?fbclid=1&gclid=2&dclid=3&msclkid=4&yclid=5&igshid=6",
        "https://example.com/a",
    ),
    "mailchimp, ref, misc dropped": (
        "https://example.com/a?mc_cid=1&mc_eid=2&ref=tw&ref_src=twsrc&cmpid=3&ito=4&_ga=5"
        "&ocid=6&smid=7&sr_share=8&CMP=9&at_medium=10&at_campaign=11&spm=12",
        "https://example.com/a",
    ),
    "tracking keys match any case": ("https://example.com/a?UTM_Source=x&Fbclid=y", "https://example.com/a"),
    "real params kept and sorted": (
        "https://example.com/a?page=2&id=7&utm_source=x", "https://example.com/a?id=7&page=2"
    ),
    "blank values kept": ("https://example.com/a?b=&a", "https://example.com/a?a&b="),
    "empty query pieces dropped": ("https://example.com/a?&&id=1&", "https://example.com/a?id=1"),
    # AMP
    "trailing /amp": ("https://example.com/news/story/amp", "https://example.com/news/story"),
    "trailing /amp/": ("https://example.com/news/story/amp/", "https://example.com/news/story"),
    "leading /amp/": ("https://example.com/amp/news/story", "https://example.com/news/story"),
    "?amp": ("https://example.com/news/story?amp", "https://example.com/news/story"),
    "amp=1": ("https://example.com/news/story?amp=1", "https://example.com/news/story"),
    "outputType=amp": ("https://example.com/news/story?outputType=amp", "https://example.com/news/story"),
    ".amp.html": ("https://example.com/news/story.amp.html", "https://example.com/news/story.html"),
    "amp inside a word is kept": ("https://example.com/camp/ample", "https://example.com/camp/ample"),
    "amp=other value kept": ("https://example.com/a?amp=article", "https://example.com/a?amp=article"),
    # paths
    "trailing slash dropped": ("https://example.com/a/b/", "https://example.com/a/b"),
    "root keeps its slash": ("https://example.com", "https://example.com/"),
    "root with slash": ("https://example.com/", "https://example.com/"),
    "duplicate slashes collapsed": ("https://example.com//a///b", "https://example.com/a/b"),
    "dot segments resolved": ("https://example.com/a/./b/../c", "https://example.com/a/c"),
    "unreserved escapes decoded": ("https://example.com/%7Euser/%41bc", "https://example.com/~user/Abc"),
    "other escapes upper-cased": ("https://example.com/a%2fb%c3%a9", "https://example.com/a%2Fb%C3%A9"),
    "raw non-ASCII encoded": ("https://example.com/café", "https://example.com/caf%C3%A9"),
    "raw space encoded": ("https://example.com/a b", "https://example.com/a%20b"),
    "lone percent encoded": ("https://example.com/100%", "https://example.com/100%25"),
    "path case kept": ("https://example.com/News/Story", "https://example.com/News/Story"),
    # lenient input
    "surrounding spaces": ("  https://example.com/a  ", "https://example.com/a"),
    "scheme-relative": ("//example.com/a", "https://example.com/a"),
    "no scheme": ("www.example.com/a?utm_source=x", "https://example.com/a"),
    "non-web scheme untouched": ("mailto:desk@example.com", "mailto:desk@example.com"),
}


@pytest.mark.parametrize(("url", "expected"), CASES.values(), ids=CASES.keys())
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


def test_the_same_article_through_many_doors():
    doors = [
        "http://www.example.com/world/story-123/?utm_source=rss&utm_medium=feed#top",
        "https://example.com/world/story-123",
        "https://m.example.com/world/story-123/amp/",
        "https://amp.example.com/amp/world/story-123?amp=1&fbclid=abc",
        "HTTPS://EXAMPLE.COM:443//world/story-123",
    ]
    assert len({canonical_url(door) for door in doors}) == 1
    assert same_article_url(doors[0], doors[-1])
    assert not same_article_url(doors[0], "https://example.com/world/story-124")


@pytest.mark.parametrize(
    "junk",
    ["", " ", "not a url", "http://", "https://[::1", "http://exa mple.com/ a", "://", "http://:80",
     "http://example.com:99999999/", "\x00\ufffd", "javascript:alert(1)", "http://" + "a." * 200,
     "http://xn--/", "http://☃.net/", "http://[::1]:8080/a/"],  # fmt: skip
)
def test_junk_never_raises(junk):
    result = canonical_url(junk)
    assert isinstance(result, str)
    assert canonical_url(result) == result


url_parts = st.sampled_from(
    ["http://", "https://", "HTTP://", "//", "", "www.", "m.", "amp.", "example.com", "EXAMPLE.org",
     "bücher.de", ":80", ":443", ":8080", "/", "//", "/amp", "/amp/", "/a", "/b.amp.html", "/..",
     "/.", "?", "&", "=", "utm_source=x", "amp=1", "amp", "outputType=amp", "id=7", "a=%7e",
     "%2f", "%", "#", "#!", "frag", " ", "é", "@", "[::1]", "user:pw@"]  # fmt: skip
)
url_like = st.lists(st.one_of(url_parts, st.text(max_size=4)), max_size=14).map("".join)


@settings(max_examples=500, deadline=None)
@given(url_like)
def test_idempotent(url):
    once = canonical_url(url)
    assert canonical_url(once) == once


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_never_raises_and_is_idempotent(text):
    once = canonical_url(text)
    assert isinstance(once, str)
    assert canonical_url(once) == once
