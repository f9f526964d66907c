"""Pure text helpers shared by the stages: what an article says, in the forms each stage
compares (model input, word shingles, content words)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# How much of an article the model sees: all-MiniLM-L6-v2 truncates at 256 word pieces, so
# the title, the lead and the start of the body are all that can matter.
EMBED_MAX_WORDS = 180
LEAD_WORDS = 60

WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)

# Function words that carry no story identity (English; other languages simply keep theirs,
# which only makes their lexical overlap a little noisier).
STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has
have having he her here hers herself him himself his how i if in into is it its itself just me more
most my myself no nor not now of off on once only or other our ours ourselves out over own same she
should so some such than that the their theirs them themselves then there these they this those
through to too under until up very was we were what when where which while who whom why will with
would you your yours yourself yourselves said says say told tells new news one two three first last
year years day days week weeks time times people mr mrs ms dr according per cent percent may might
must shall like get got make made many much well even back still way since yet however although
monday tuesday wednesday thursday friday saturday sunday today yesterday tomorrow
""".split())


@dataclass(frozen=True)
class ArticleText:
    """The parts of an article the stages read; built from a model row or a dataset record."""

    title: str
    body: str

    @property
    def lead(self) -> str:
        return " ".join(self.body.split()[:LEAD_WORDS])


def clean(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text or "")).strip()


def embedding_input(article: ArticleText) -> str:
    """Title, then the start of the body (whose first words are the lead). A body that
    repeats the title (many extractors keep the h1) does not spend the budget twice."""
    title = clean(article.title)
    body_words = clean(article.body).split()
    n = len(title.split())
    if title and words(" ".join(body_words[:n])) == words(title):
        body_words = body_words[n:]
    budget = max(0, EMBED_MAX_WORDS - len(title.split()))
    body = " ".join(body_words[:budget])
    if title and body:
        return f"{title}. {body}"
    return title or body


def words(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in WORD_RE.findall(text or "")]


def shingles(text: str, size: int = 3) -> set[str]:
    """Word n-grams: robust to reflowed whitespace and markup, sensitive to real edits."""
    tokens = words(text)
    if len(tokens) < size:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i:i + size]) for i in range(len(tokens) - size + 1)}


def content_words(text: str) -> set[str]:
    return {w for w in words(text) if len(w) > 2 and w not in STOPWORDS and not w.isdigit()}


def jaccard(a: set, b: set) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
