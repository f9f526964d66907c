"""Near-duplicates: wire copies, syndicated reprints and lightly edited versions.

Candidates come from MinHash LSH over word 3-shingles (datasketch signatures, bands stored in
the database so that every worker sees the same buckets); each candidate is then verified by
the exact Jaccard similarity of the two shingle sets, so LSH only decides what to compare.
The earliest published member of a group is the original; the others point at it."""

from __future__ import annotations

import hashlib
import logging
import struct
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash

from newsstand.intel.text import jaccard, shingles, words

log = logging.getLogger(__name__)

NUM_PERM = 128
BANDS = 32          # 32 bands of 4 rows: a pair at Jaccard 0.5 becomes a candidate with p≈0.88,
ROWS = NUM_PERM // BANDS  # at 0.6 with p≈0.99, at 0.3 with p≈0.23 (then dropped by verification).
SHINGLE_SIZE = 3
# Verified threshold on exact Jaccard of 3-shingles; chosen on bench/neardup_quality.py pairs
# (light edits of a reprint stay well above it, same-story rewrites stay well below).
THRESHOLD = 0.5
# Texts this short share shingles by accident (boilerplate, one-line teasers).
MIN_WORDS = 25
# A 100k-word article is compared by its first part; reprints differ at the start or nowhere.
MAX_WORDS = 5000
MAX_VERIFY = 10


@dataclass(frozen=True)
class Fingerprint:
    shingles: frozenset[str]
    bands: tuple[int, ...]

    @property
    def usable(self) -> bool:
        return bool(self.bands)


def _hash32(data: bytes) -> int:
    return struct.unpack("<I", hashlib.blake2b(data, digest_size=4).digest())[0]


def fingerprint(text: str) -> Fingerprint:
    tokens = words(text)
    if len(tokens) < MIN_WORDS:
        return Fingerprint(frozenset(), ())
    grams = frozenset(shingles(" ".join(tokens[:MAX_WORDS]), SHINGLE_SIZE))
    signature = MinHash(num_perm=NUM_PERM, hashfunc=_hash32)
    signature.update_batch([g.encode() for g in grams])
    return Fingerprint(grams, band_keys(signature.hashvalues))


def band_keys(hashvalues: np.ndarray) -> tuple[int, ...]:
    """One signed 63-bit key per band; the band number is mixed in so equal rows in different
    bands never collide."""
    keys = []
    for band in range(BANDS):
        rows = np.asarray(hashvalues[band * ROWS:(band + 1) * ROWS], dtype="<u8").tobytes()
        digest = hashlib.blake2b(bytes([band]) + rows, digest_size=8).digest()
        keys.append(struct.unpack("<q", digest)[0] >> 1)
    return tuple(keys)


def is_near_duplicate(a: Fingerprint, b: Fingerprint, threshold: float = THRESHOLD) -> bool:
    return a.usable and b.usable and jaccard(a.shingles, b.shingles) >= threshold


@dataclass(frozen=True)
class DuplicateDecision:
    article_id: int
    original_id: int | None   # None: the article is an original
    similarity: float = 0.0
    # Copies that must now point at this article, because it turned out to be earlier.
    adopted: tuple[int, ...] = ()


# --- database edge -----------------------------------------------------------------------

def detect_duplicate(article, fp: Fingerprint) -> DuplicateDecision:
    """Find this article's original among earlier-stored articles sharing an LSH band, verify
    it, and record the bands. Run inside the caller's transaction."""
    from django.db.models import Count

    from newsstand.intel.models import MinHashBand
    from newsstand.news.models import Article

    if not fp.usable:
        return DuplicateDecision(article.pk, None)
    hits = (MinHashBand.objects.filter(key__in=fp.bands).exclude(article_id=article.pk)
            .values("article_id").annotate(n=Count("id")).order_by("-n", "article_id")[:200])
    hit_ids = [h["article_id"] for h in hits]
    roots: dict[int, int] = {}
    for pk, dup_of in Article.objects.filter(pk__in=hit_ids).values_list("pk", "duplicate_of_id"):
        root = dup_of or pk
        if root != article.pk:
            roots.setdefault(root, 0)
            roots[root] += 1
    # In a burst of a thousand copies every candidate points at one original: one check.
    best: tuple[float, int] | None = None
    ranked = sorted(roots, key=lambda r: -roots[r])[:MAX_VERIFY]
    for root_id, text in Article.objects.filter(pk__in=ranked).values_list("pk", "text"):
        similarity = jaccard(fp.shingles, fingerprint(text).shingles)
        if similarity >= THRESHOLD and (best is None or similarity > best[0]):
            best = (similarity, root_id)
    if best is None:
        # Only originals are bucketed: a copy is found through its original, so a burst of a
        # thousand copies leaves one set of buckets, and every lookup stays one verification.
        MinHashBand.objects.bulk_create([MinHashBand(key=k, article_id=article.pk) for k in set(fp.bands)],
                                        ignore_conflicts=True)
        return DuplicateDecision(article.pk, None)
    similarity, root_id = best
    root = Article.objects.only("pk", "published_at").get(pk=root_id)
    if (article.published_at, article.pk) < (root.published_at, root.pk):
        # Arrived late but published first: it becomes the original of the whole group.
        MinHashBand.objects.bulk_create([MinHashBand(key=k, article_id=article.pk) for k in set(fp.bands)],
                                        ignore_conflicts=True)
        group = tuple(Article.objects.filter(duplicate_of_id=root_id).values_list("pk", flat=True)) + (root_id,)
        return DuplicateDecision(article.pk, None, similarity, adopted=group)
    return DuplicateDecision(article.pk, root_id, similarity)


def apply_duplicate(article, decision: DuplicateDecision) -> None:
    from newsstand.news.models import Article, HeadlineChange

    if decision.adopted:
        Article.objects.filter(pk__in=decision.adopted).update(duplicate_of=article.pk)
    if decision.original_id is None:
        if article.duplicate_of_id is not None:
            Article.objects.filter(pk=article.pk).update(duplicate_of=None)
            article.duplicate_of_id = None
        return
    Article.objects.filter(pk=article.pk).update(duplicate_of=decision.original_id)
    article.duplicate_of_id = decision.original_id
    original = Article.objects.only("pk", "title", "source_id", "published_at").get(pk=decision.original_id)
    if (original.source_id == article.source_id and original.title != article.title
            and article.published_at >= original.published_at):
        # The same outlet re-published its story under a new headline: one article whose
        # headline history keeps the old title.
        HeadlineChange.objects.create(article=original, title=original.title, replaced_at=article.published_at)
        Article.objects.filter(pk=original.pk).update(title=article.title)
    log.debug("article=%s is a near-duplicate of article=%s (jaccard=%.2f)", article.pk,
             decision.original_id, decision.similarity)
