"""Template helpers whose fast paths must say exactly what the plain version says."""

from __future__ import annotations

from hypothesis import given, settings as hsettings, strategies as st

from newsstand.web import images
from newsstand.web.templatetags.reader import excerpt, picture


def plain_excerpt(text, length=220):
    """The definition: whitespace collapsed over the whole text, cut at a word boundary."""
    text = " ".join((text or "").split())
    if len(text) <= length:
        return text
    return text[:length].rsplit(" ", 1)[0].rstrip(",;:-") + "…"


@hsettings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab ,;:-\n\t\u00a0é"), max_size=1200), st.integers(min_value=1, max_value=300))
def test_excerpt_reads_only_the_opening_yet_says_the_same(text, length):
    assert excerpt(text, length) == plain_excerpt(text, length)


def test_excerpt_of_a_text_opening_with_much_whitespace():
    text = " " * 5000 + "Words after a long gap. " * 50
    assert excerpt(text, 40) == plain_excerpt(text, 40)


def test_picture_markup():
    html = picture("https://daily.example/a.jpg", "(min-width: 40rem) 8rem, 6rem", "thumb", largest=360, default=240)
    pic = images.picture("https://daily.example/a.jpg", "(min-width: 40rem) 8rem, 6rem", largest=360, default=240)
    assert html == (f'<img class="thumb" src="{pic.src}" srcset="{pic.srcset}" sizes="(min-width: 40rem) 8rem, 6rem" '
                    'alt="" loading="lazy" decoding="async">')
    eager = picture("https://daily.example/a.jpg", "100vw", lazy=False)
    assert eager.startswith("<img src=") and "loading" not in eager
    assert picture("", "100vw") == ""
    assert '"x&quot;&gt;"' in picture("https://daily.example/a.jpg", "100vw", 'x">')  # attributes escaped
