"""OPML import and export: round trips, folders, hostile XML."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsstand.ingest.opml import OpmlOutline, build_opml, parse_opml

NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

NESTED = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>My feeds</title></head>
  <body>
    <outline text="Loose Blog" type="rss" xmlUrl=" https://loose.example.com/feed " htmlUrl="https://loose.example.com/"/>
    <outline text="Tech" title="Tech">
      <outline text="Gadgets   Daily" xmlUrl="https://gadgets.example.com/rss"/>
      <outline title="Only a title attribute" xmlurl="https://lowercase.example.com/atom.xml"/>
      <outline text="Deeper">
        <outline text="Deep feed" xmlUrl="https://deep.example.com/feed"/>
      </outline>
      <outline text="A folder-ish link with no feed" htmlUrl="https://nofeed.example.com/"/>
    </outline>
    <outline text="News">
      <outline text="World" xmlUrl="https://world.example.com/feed.xml" htmlUrl="https://world.example.com"/>
    </outline>
    <outline text="Categorised by attribute" xmlUrl="https://cat.example.com/feed" category="/Science/Space,/Other"/>
  </body>
</opml>
"""


def test_nested_folders_are_flattened_in_document_order():
    assert parse_opml(NESTED) == [
        OpmlOutline("https://loose.example.com/feed", "Loose Blog", "https://loose.example.com/", None),
        OpmlOutline("https://gadgets.example.com/rss", "Gadgets Daily", None, "Tech"),
        OpmlOutline("https://lowercase.example.com/atom.xml", "Only a title attribute", None, "Tech"),
        OpmlOutline("https://deep.example.com/feed", "Deep feed", None, "Deeper"),  # nearest folder
        OpmlOutline("https://world.example.com/feed.xml", "World", "https://world.example.com", "News"),
        OpmlOutline("https://cat.example.com/feed", "Categorised by attribute", None, "Space"),
    ]


def test_round_trip():
    outlines = [
        OpmlOutline("https://a.example.com/feed", "A & B <News>", "https://a.example.com/", None),
        OpmlOutline("https://b.example.com/rss?x=1&y=2", "Bé \u201cquoted\u201d", None, "Tech & Science"),
        OpmlOutline("https://c.example.com/atom.xml", "", None, "Tech & Science"),
        OpmlOutline("https://d.example.com/feed.json", "D", "https://d.example.com/", "World"),
    ]
    data = build_opml(outlines, title="Exported")
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert b'<opml version="2.0">' in data and b"<title>Exported</title>" in data
    assert parse_opml(data) == outlines


def test_export_groups_categories_into_folders():
    data = build_opml(
        [
            OpmlOutline("https://1.example.com/f", "One", None, "X"),
            OpmlOutline("https://2.example.com/f", "Two", None, None),
            OpmlOutline("https://3.example.com/f", "Three", None, "X"),
        ]
    )
    assert data.count(b'<outline text="X" title="X">') == 1
    assert [o.category for o in parse_opml(data)] == [None, "X", "X"]  # loose feeds come first


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.builds(
            OpmlOutline,
            xml_url=st.from_regex(r"https://[a-z]{1,10}\.example\.com/[a-z0-9/]{0,12}", fullmatch=True),
            title=st.text(max_size=30).map(lambda t: " ".join(t.split())),
            html_url=st.none() | st.just("https://home.example.com/"),
            category=st.none() | st.sampled_from(["Tech", "News & Views", "Ünïcode"]),
        ),
        max_size=8,
    )
)
def test_round_trip_property(outlines):
    data = build_opml(outlines)
    parsed = parse_opml(data)
    # Export groups by category, so compare sorted; titles lose only XML-illegal characters.
    def key(items, clean=lambda title: title):
        return sorted((o.category or "", o.xml_url, o.html_url or "", clean(o.title)) for o in items)

    assert key(parsed) == key(outlines, clean=lambda title: " ".join(NOT_XML.sub("", title).split()))


def test_xxe_is_not_expanded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    document = f"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY xxe SYSTEM "file://{secret}"> <!ENTITY passwd SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><head><title>&xxe;</title></head>
<body><outline text="t">&passwd;<outline text="Feed &#38; co" xmlUrl="https://x.example.com/feed"/></outline></body>
</opml>""".encode()
    outlines = parse_opml(document)
    assert outlines == [OpmlOutline("https://x.example.com/feed", "Feed & co", None, "t")]
    assert "TOP-SECRET" not in repr(outlines) and "root:" not in repr(outlines)


def test_xxe_in_an_attribute_is_refused():
    document = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY passwd SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><body><outline text="&passwd;" xmlUrl="https://x.example.com/feed"/></body></opml>"""
    with pytest.raises(ValueError, match="not well-formed XML"):
        parse_opml(document)


def test_billion_laughs_is_refused():
    entities = '<!ENTITY l0 "lollollollollollollollollollol">' + "".join(
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)
    )
    document = f'<?xml version="1.0"?><!DOCTYPE opml [{entities}]><opml><body><outline text="&l9;" xmlUrl="https://x/"/></body></opml>'
    with pytest.raises(ValueError):
        parse_opml(document.encode())


@pytest.mark.parametrize(
    "document, words",
    [
        (b"", "empty"),
        (b"<opml><body><outline text='x' xmlUrl='https://x/'></body>", "not well-formed XML"),
        (b"<rss version='2.0'><channel/></rss>", "not an OPML file"),
        (b"<opml version='2.0'><head/></opml>", "no <body>"),
        (b"\x00\x01\x02", "not well-formed XML"),
    ],
)
def test_malformed_is_a_value_error_in_plain_words(document, words):
    with pytest.raises(ValueError, match=words):
        parse_opml(document)


def test_blank_lines_before_the_xml_declaration_are_tolerated():
    document = b"\n\n  <?xml version='1.0'?><opml version='2.0'><body><outline text='A' xmlUrl='https://a/'/></body></opml>"
    assert parse_opml(document) == [OpmlOutline("https://a/", "A", None, None)]


def test_outlines_without_xml_url_are_skipped():
    document = b"<opml version='2.0'><body><outline text='Just a link' htmlUrl='https://x/'/></body></opml>"
    assert parse_opml(document) == []
