"""Every feed of two public conformance corpora through parse_feed.

feedparser's corpus (2,106 feeds plus one JSON Feed) and gofeed's testdata (552 inputs,
most with the expected parse as JSON). The tar files are read in place, never extracted.
One test per dataset loops and collects failures, which keeps the run to a few seconds.
"""

from __future__ import annotations

import ast
import gzip
import json
import re
import tarfile
from pathlib import Path

import pytest

from newsstand.ingest.feedparse import FeedParseError, ParsedFeed, parse_feed, plain_text

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
FEEDPARSER = DATASETS / "feedparser-tests"
GOFEED = DATASETS / "gofeed-testdata"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"dataset not present at {path} (it lives beside the repository, in shared/datasets)")
    return path


def read_index(folder: Path) -> list[dict]:
    with gzip.open(need(folder / "index.jsonl.gz"), "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def read_tar(path: Path) -> dict[str, bytes]:
    with tarfile.open(need(path)) as archive:
        return {m.name.removeprefix("./"): archive.extractfile(m).read() for m in archive if m.isfile()}


def run(content: bytes, url: str, headers: dict[str, str] | None = None) -> ParsedFeed | FeedParseError:
    """A ParsedFeed or a FeedParseError; anything else propagates and is recorded as a crash."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    try:
        return parse_feed(content, headers.get("content-location", url), media_type=headers.get("content-type", ""))
    except FeedParseError as error:
        return error


def check_outcome(name: str, outcome: ParsedFeed | FeedParseError, failures: list[str]) -> None:
    if isinstance(outcome, FeedParseError):
        if not outcome.message.strip():
            failures.append(f"{name}: FeedParseError with an empty message")
        return
    for warning in outcome.warnings:
        if "was skipped because it could not be read" in warning:  # our own bug, not the feed's
            failures.append(f"{name}: {warning}")


# ---------------------------------------------------------------- feedparser's corpus

SIMPLE_EXPECT = re.compile(
    r"^(?:not bozo and )?(entries\[0\]\['title'\]|feed\['title'\]|entries\[0\]\['link'\]|feed\['link'\])"
    r" == (u?'[^']*')$"
)


def expected_text_matches(got: str, expected: str) -> bool:
    # feedparser's expectations keep (sanitized) markup; ours is plain text by contract, so
    # the expectation is reduced to plain text first, read as HTML or as literal text.
    return got in (plain_text(expected, is_html=True), plain_text(expected))


def test_feedparser_corpus():
    index = {row["path"]: row for row in read_index(FEEDPARSER)}
    files = read_tar(FEEDPARSER / "feedparser-test-feeds.tar.gz")
    failures: list[str] = []
    parsed = checked = agreed = 0
    for name, content in sorted(files.items()):
        row = index.get(name, {})
        try:
            outcome = run(content, "http://example.com/feed.xml", row.get("http_headers"))
        except Exception as exc:
            failures.append(f"{name}: crashed with {type(exc).__name__}: {exc}")
            continue
        check_outcome(name, outcome, failures)
        parsed += isinstance(outcome, ParsedFeed)
        simple = SIMPLE_EXPECT.match(row.get("expect") or "")
        if simple and isinstance(outcome, ParsedFeed):
            checked += 1
            agreed += _agrees(outcome, simple.group(1), ast.literal_eval(simple.group(2).lstrip("u")))
    assert failures == []
    print(f"feedparser corpus: {parsed}/{len(files)} parsed; simple expectations {agreed}/{checked} agree")
    assert len(files) == 2107
    # Measured: 2,098 of 2,107 parse. The 9 errors are 7 CDF channels without items (a dead
    # Microsoft format feedparser leaves unversioned), one lone comment and one "<rss></rss".
    assert parsed >= 2090, parsed
    # Measured: 420 of 422 simple title/link expectations agree (markup reduced to plain
    # text first). The two misses are http_*_link_base_docuri, which expect the URL that
    # feedparser's test server was fetched from; here the document URL is another.
    assert checked >= 400 and agreed / checked >= 0.98, (agreed, checked)


def _agrees(feed: ParsedFeed, field: str, expected: str) -> bool:
    if field.startswith("entries"):
        if not feed.entries:
            return False
        entry = feed.entries[0]
        return expected_text_matches(entry.title, expected) if "title" in field else entry.link == expected
    return expected_text_matches(feed.title, expected) if "title" in field else feed.home_url == expected


# ---------------------------------------------------------------- gofeed's testdata

# gofeed's "universal" inputs test format detection; they carry no JSON gold, so it is here.
GOFEED_FORMATS = {
    "parser/universal/atom03_feed.xml": "atom03",
    "parser/universal/atom10_feed.xml": "atom10",
    "parser/universal/rdf_feed.xml": "rss10",
    "parser/universal/rss_feed.xml": "rss20",
    "parser/universal/rss_feed_bom.xml": "rss20",
    "parser/universal/rss_feed_leading_spaces.xml": "rss20",
    "parser/universal/json10_feed.json": "json10",
    "parser/universal/json11_feed.json": "json11",
    "parser/universal/empty_feed.xml": None,  # zero bytes
    "parser/universal/unknown_feed.xml": None,  # <note>, not a feed
    "parser/universal/invalid.json": None,
    "parser/json/invalid/invalid.json": None,
}


def test_gofeed_testdata():
    index = read_index(GOFEED)
    files = read_tar(GOFEED / "gofeed-testdata.tar.gz")
    failures: list[str] = []
    outcomes = {}
    for row in index:
        name = row["input"]
        try:
            outcomes[name] = run(files[name], "http://example.com/feed")
        except Exception as exc:
            failures.append(f"{name}: crashed with {type(exc).__name__}: {exc}")
            continue
        check_outcome(name, outcomes[name], failures)
    assert failures == []
    assert len(outcomes) == 552

    for name, expected_format in GOFEED_FORMATS.items():
        outcome = outcomes[name]
        got = outcome.format if isinstance(outcome, ParsedFeed) else None
        assert got == expected_format, f"{name}: {got!r}"

    counts, titles = _gofeed_agreement(index, files, outcomes)
    print(f"gofeed RSS/Atom agreement: item counts {counts[0]}/{counts[1]}, titles {titles[0]}/{titles[1]}")
    # Measured: 523/527 item counts and 47/47 titles. The four misses are all cases where
    # gofeed expects zero items and we raise FeedParseError instead: three are malformed XML
    # that gofeed's forgiving tokenizer reads and expat rejects with nothing recovered (a
    # mismatched </subtitle>, </langauge>), one an RSS 0.90 document with no channel at all.
    assert counts[0] / counts[1] >= 0.98
    assert titles[1] >= 40 and titles[0] / titles[1] >= 0.95


def _gofeed_agreement(index, files, outcomes) -> tuple[tuple[int, int], tuple[int, int]]:
    """(agreeing, compared) for item counts and for item titles over the plain RSS/Atom pairs."""
    count_ok = count_all = title_ok = title_all = 0
    for row in index:
        if row["group"] not in ("parser/rss", "parser/atom", "translator/rss", "translator/atom"):
            continue
        if not row["expected_output"]:
            continue
        expected = json.loads(files[row["expected_output"]])
        items = expected.get("items") or expected.get("entries") or []
        outcome = outcomes[row["input"]]
        count_all += 1
        if not isinstance(outcome, ParsedFeed):
            continue  # an error is a disagreement, even where gofeed expects zero items
        entries = outcome.entries
        count_ok += len(entries) == len(items)
        for item, entry in zip(items, entries):
            if "title" in item:
                title_all += 1
                title_ok += expected_text_matches(entry.title, item["title"])
    return (count_ok, count_all), (title_ok, title_all)


def test_gofeed_json_feeds_match_their_gold():
    index = read_index(GOFEED)
    files = read_tar(GOFEED / "gofeed-testdata.tar.gz")
    compared = 0
    for row in index:
        if row["group"] not in ("parser/json", "translator/json") or not row["expected_output"]:
            continue
        expected = json.loads(files[row["expected_output"]])
        feed = parse_feed(files[row["input"]], "https://sample-json-feed.com/feed.json")
        version = expected.get("version") or expected.get("feedVersion")
        assert feed.format == {"1.0": "json10", "1.1": "json11"}[version]
        assert len(feed.entries) == len(expected.get("items") or [])
        for item, entry in zip(expected.get("items") or [], feed.entries):
            assert entry.title == item.get("title", "")
            assert entry.guid == item.get("id", item.get("guid"))  # parser vs translator naming
        compared += 1
    assert compared >= 5
