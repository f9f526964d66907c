"""Hashtags: an article's named entities first (what it is about), then YAKE keyphrases for
the topic (what kind of news it is), normalized to CamelCase and merged across variants."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from newsstand.intel.entities import Entity, camel, extract_entities, slugify
from newsstand.intel.text import STOPWORDS, clean

log = logging.getLogger(__name__)

KEYPHRASE_WORDS = 1500   # YAKE is quadratic-ish in places; the start of an article names its topic
MAX_ENTITY_TAGS = 5
MAX_TOPIC_TAGS = 3
YAKE_LANGUAGES = {"en", "pt", "es", "fr", "de", "it", "nl", "da", "fi", "sv", "no", "pl", "ru", "tr", "cz", "el"}


@dataclass(frozen=True)
class TagCandidate:
    slug: str
    name: str
    kind: str
    score: float  # higher is more central to the article


_extractors: dict[str, object] = {}
_extractors_lock = threading.Lock()


def _extractor(language: str, top: int):
    import yake  # imported on first use: the web process never needs it

    key = f"{language}:{top}"
    with _extractors_lock:
        if key not in _extractors:
            _extractors[key] = yake.KeywordExtractor(lan=language, n=2, dedup_lim=0.7, top=top)
        return _extractors[key]


def yake_keyphrases(title: str, body: str, language: str = "en", top: int = 10) -> list[tuple[str, float]]:
    """Plain YAKE over the title and the start of the body: (phrase, score), best (lowest) first."""
    body = " ".join((body or "").split()[:KEYPHRASE_WORDS])
    text = clean(body if len(body.split()) >= 30 else f"{title}. {body}")
    if len(text.split()) < 3:
        return []
    lang = (language or "en")[:2].lower()
    try:
        return list(_extractor(lang if lang in YAKE_LANGUAGES else "en", top).extract_keywords(text))
    except Exception:  # YAKE chokes on some degenerate inputs; tags are optional
        log.exception("yake failed on %d words", len(text.split()))
        return []


# Words of a page's furniture (captions, credits, embeds) that keyphrase scoring finds frequent.
PAGE_WORDS = {"image", "images", "photo", "photos", "picture", "video", "file", "caption", "credit", "credits"}
NOT_TOPIC_WORDS = STOPWORDS | PAGE_WORDS


def tag_candidates(title: str, body: str, language: str = "en",
                   entities: list[Entity] | None = None, outlet: str = "") -> list[TagCandidate]:
    """`outlet`: the publisher's name, never a tag of its own articles (its reporters "told
    Wikinews", its captions credit it: that says who wrote, not what about)."""
    if entities is None:
        entities = extract_entities(title, body)
    own = slugify(outlet) if outlet else None
    entities = [e for e in entities if e.slug != own]
    chosen: dict[str, TagCandidate] = {}
    top_weight = max((e.weight for e in entities), default=1)
    for entity in entities[:MAX_ENTITY_TAGS]:
        chosen[entity.slug] = TagCandidate(entity.slug, entity.name, entity.kind, float(1 + entity.weight / top_weight))
    entity_words = {w for e in entities for w in slugify_words(e.name)}
    topics = 0
    for phrase, score in yake_keyphrases(title, body, language):
        words = phrase.split()
        if topics >= MAX_TOPIC_TAGS:
            break
        if any(w.lower() in NOT_TOPIC_WORDS or len(w) < 3 or w.isdigit() for w in words):
            continue
        if any(w[:1].isupper() for w in words) or {w.lower() for w in words} & entity_words:
            continue  # capitalized phrases are names, and names come from the entity finder
        slug = slugify(phrase)
        if len(slug) < 3 or slug in chosen:
            continue
        if any(slug in other or other in slug for other in chosen):
            continue
        chosen[slug] = TagCandidate(slug, camel(phrase.title()), "topic", float(max(0.1, 1 - min(score, 0.9))))
        topics += 1
    return sorted(chosen.values(), key=lambda c: -c.score)


def slugify_words(name: str) -> set[str]:
    import re

    return {w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)}


def variant_keys(slug: str) -> list[str]:
    """Spellings that name the same tag: plural and singular."""
    keys = [slug]
    if slug.endswith("ies") and len(slug) > 5:
        keys.append(slug[:-3] + "y")
    elif slug.endswith("s") and not slug.endswith("ss") and len(slug) > 4:
        keys.append(slug[:-1])
    else:
        keys.append(slug + "s")
    return keys


__all__ = ["TagCandidate", "tag_candidates", "yake_keyphrases", "variant_keys", "slugify", "camel"]
