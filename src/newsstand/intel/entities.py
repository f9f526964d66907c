"""Named entities without a model: capitalized word sequences, kept only when the text itself
vouches for them (named more than once, or in the headline, and never a word the text also
writes in lower case), merged across variants (titles, possessives, a surname standing for
the full name, an acronym introduced in brackets)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from newsstand.intel.text import STOPWORDS, strip_accents

MAX_WORDS = 20000
TOKEN_RE = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ][\w'’\-\.&]*|[.,!?;:()\"“”]")
CONNECTORS = {"of", "for", "de", "del", "la", "von", "van", "der", "on"}
PERSON_TITLES = {"mr", "mrs", "ms", "miss", "dr", "sir", "dame", "lord", "lady", "president", "senator",
                 "sen", "rep", "governor", "gov", "minister", "secretary", "chancellor", "judge", "justice",
                 "prince", "princess", "king", "queen", "pope", "professor", "prof", "gen", "general",
                 "captain", "detective", "officer", "mayor", "chairman", "ceo", "actress", "actor",
                 "singer", "star", "coach", "rev", "father", "saint", "st"}
ORG_WORDS = {"agency", "ministry", "department", "council", "party", "bank", "university", "inc", "corp",
             "company", "association", "police", "court", "committee", "union", "commission", "office",
             "service", "group", "board", "foundation", "institute", "organization", "organisation",
             "league", "club", "fc", "news", "times", "post", "network", "airlines", "airways", "motors",
             "house", "senate", "congress", "parliament", "government", "army", "navy", "force", "fund",
             "authority", "conference", "corporation", "ltd", "plc", "llc", "school", "hospital", "church", "federation"}
PLACE_PREPOSITIONS = {"in", "at", "from", "near", "across", "to"}
CALENDAR = {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
            "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
            "sunday", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
# Capitalized function words of other languages, which start sentences and headlines.
FOREIGN_FUNCTION_WORDS = {"le", "la", "les", "el", "los", "las", "der", "die", "das", "il", "lo", "gli",
                          "un", "une", "des", "du", "ein", "eine", "una", "uno", "het", "een", "en", "et",
                          "y", "und", "o", "ou", "pour", "para", "por", "dans", "mit", "im", "au", "aux"}
SENTENCE_END = {".", "!", "?", ":", ";", '"', "“", "”", "("}
# Short forms that news writes interchangeably with the full name: one hashtag for both
# (slug of the short form → full name), and what those names are (two capitalized words
# would otherwise pass for a person).
ALIASES = {"us": "United States", "usa": "United States", "uk": "United Kingdom", "eu": "European Union",
           "un": "United Nations"}
ALIAS_KINDS = {"unitedstates": "place", "unitedkingdom": "place", "europeanunion": "org", "unitednations": "org"}


@dataclass(frozen=True)
class Entity:
    slug: str       # merge key: lower-case letters and digits
    name: str       # CamelCase display, e.g. NationalCrimeAgency
    kind: str       # person | org | place | topic (the Tag.Kind values)
    mentions: int
    in_title: bool

    @property
    def weight(self) -> float:
        return self.mentions + (3 if self.in_title else 0)


def slugify(phrase: str) -> str:
    return re.sub(r"[^a-z0-9]", "", strip_accents(phrase).lower())


def camel(phrase: str) -> str:
    """"National Crime Agency" → NationalCrimeAgency; "U.S." → US; keeps inner capitals (McDonald)."""
    parts = re.findall(r"[^\W_]+", strip_accents(phrase))
    return "".join(p if p.isupper() or not p[:1].islower() else p[:1].upper() + p[1:] for p in parts)


def _clean_word(token: str) -> str:
    token = re.sub(r"['’]s$", "", token)
    return token.strip(".-'’")


def _is_cap(token: str) -> bool:
    if ("'" in token or "’" in token) and not re.match(r"^[A-Z]['’][A-Z]", token):
        return False  # "I'm", "Don't" (but O'Brien is a name)
    return token[:1].isupper() and any(c.isalpha() for c in token)


def _headline_like(paragraph: str) -> bool:
    """A line in Title Case (a repeated headline, a subheading, a caption credit): its
    capitals say nothing about names."""
    words = re.findall(r"[A-Za-z][\w'’-]*", paragraph)
    if len(words) < 4:
        return False
    capitalized = sum(1 for w in words if w[:1].isupper() or w.lower() in CONNECTORS | {"a", "an", "the", "to", "in", "at", "with"})
    return capitalized / len(words) >= 0.75 and len(words) <= 25


def _spans(text: str):
    """(words, starts_sentence, previous word) for each capitalized run in the text; a run
    that opens a sentence and ends in a colon, or sits in double brackets, is a label ("NG:",
    "Image:", "((WN))" in interviews and captions), not a mention, and is left out."""
    tokens = TOKEN_RE.findall(text)
    run: list[str] = []
    start_index = 0
    for index, token in enumerate(tokens + ["."]):
        word = _clean_word(token)
        if word and _is_cap(word) and token not in SENTENCE_END:
            if not run:
                start_index = index
            run.append(word)
            if token.endswith(".") and len(word) > 3:  # "Reid." closes the sentence
                yield from _emit(run, tokens, start_index)
                run = []
            continue
        if run and word.lower() in CONNECTORS and index + 1 < len(tokens) and _is_cap(_clean_word(tokens[index + 1])):
            run.append(word.lower())
            continue
        if run:
            yield from _emit(run, tokens, start_index)
            run = []


def _emit(run, tokens, start_index):
    while run and run[-1].islower():
        run = run[:-1]
    if not run:
        return
    previous = tokens[start_index - 1] if start_index > 0 else "."
    # "gangs." carries its full stop inside the token; "Mr." and initials do not end a sentence.
    ends = previous in SENTENCE_END or (previous.endswith(".") and len(previous) > 3
                                        and _clean_word(previous).lower() not in PERSON_TITLES)
    following = tokens[start_index + len(run)] if start_index + len(run) < len(tokens) else "."
    double_bracketed = following == ")" and start_index >= 2 and tokens[start_index - 2] == "("
    if ends and (following == ":" or double_bracketed) and len(run) <= 2:
        return  # a speaker or caption label: "NG: ...", "Image: ...", Wikinews' "((WN)) ..."
    yield run, ends, _clean_word(previous).lower()


def extract_entities(title: str, body: str, limit: int = 8) -> list[Entity]:
    paragraphs = [p for p in (body or "").split("\n") if p.strip() and not _headline_like(p)]
    body = " ".join(" ".join(paragraphs).split()[:MAX_WORDS])
    lower_words = {w.lower() for w in re.findall(r"\b[a-z][a-z'’\-]+\b", body + " " + (title or ""))}
    counts: Counter[str] = Counter()
    names: dict[str, str] = {}
    kinds: dict[str, str] = {}
    titled: set[str] = set()
    title_runs: list[list[str]] = []
    for source, text in (("body", body), ("title", title or "")):
        for run, sentence_start, previous in _spans(text):
            if run[0].lower() in PERSON_TITLES and len(run) > 1:
                run = run[1:]
                kinds_hint = "person"
            elif previous in PERSON_TITLES:
                kinds_hint = "person"
            elif previous in PLACE_PREPOSITIONS and len(run) == 1:
                kinds_hint = "place"
            else:
                kinds_hint = ""
            while run and run[0].lower() in STOPWORDS | CONNECTORS | FOREIGN_FUNCTION_WORDS:
                run = run[1:]  # "In Rochdale", "The NCA", "But Cooper" at a sentence start
            if not run:
                continue
            phrase = " ".join(run)
            key = slugify(phrase)
            if source == "title" and body.strip():
                # Headlines are often in Title Case ("Glenn Beck Rips Progressivism"): only
                # names the body vouches for count, wherever they sit inside the run.
                title_runs.append(run)
                continue
            first = run[0].lower()
            if len(key) < 2 or key in CALENDAR or all(w.lower() in STOPWORDS | CALENDAR for w in run):
                continue
            if len(run) == 1 and (first in lower_words or (sentence_start and source == "body"
                                                           and first in STOPWORDS)):
                continue  # an ordinary word that happens to start a sentence or a headline
            if len(run) == 1 and source == "title" and not run[0].isupper() and first in lower_words:
                continue
            counts[key] += 1
            names.setdefault(key, phrase)
            if kinds_hint and key not in kinds:
                kinds[key] = kinds_hint
            if source == "title":
                titled.add(key)
    for run in title_runs:
        run_key = slugify(" ".join(run))
        run_words = {slugify(w) for w in run}
        for key in list(counts):
            surname = slugify(names[key].split()[-1])
            if (key in run_key and any(slugify(" ".join(run[i:j])) == key
                                       for i in range(len(run)) for j in range(i + 1, len(run) + 1))) \
                    or (len(names[key].split()) > 1 and surname in run_words and len(surname) > 2):
                titled.add(key)  # "Beck" in the headline names the "Glenn Beck" of the body
    _merge_aliases(counts, names, kinds, titled)
    _merge_short_forms(counts, names, kinds, titled)
    entities = []
    for key, mentions in counts.items():
        if mentions < 2 and key not in titled:
            continue  # named once, in passing: not what the article is about
        entities.append(Entity(key, camel(names[key]), _kind(names[key], kinds.get(key, "")), mentions,
                               key in titled))
    entities.sort(key=lambda e: (-e.weight, e.slug))
    return entities[:limit]


def _merge_aliases(counts: Counter, names: dict, kinds: dict, titled: set) -> None:
    """"Cooper" after "Yvette Cooper", "NCA" after "National Crime Agency", "Richard Kenneth
    Guy" and "Richard Guy": one entity each."""
    for key in list(counts):
        words = names[key].split()
        if len(words) != 2 or _has_org_word(names[key]):
            continue
        # The full name with middle names folds into first + last, the form most reports use
        # (so the hashtag is the same across articles that give the middle name and those that don't).
        fuller = [k for k in counts if k != key and len(names[k].split()) > 2 and not _has_org_word(names[k])
                  and names[k].split()[0] == words[0] and names[k].split()[-1] == words[-1]]
        for longer in fuller:
            counts[key] += counts.pop(longer)
            if longer in titled:
                titled.add(key)
            kinds[key] = kinds.get(key) or kinds.get(longer) or "person"
    multi = [k for k in counts if len(names[k].split()) > 1]
    for key in list(counts):
        words = names[key].split()
        if len(words) != 1:
            continue
        target = None
        first_name_of = [full for full in multi if names[full].split()[0] == words[0]
                         and len(names[full].split()) == 2 and not _has_org_word(names[full])]
        if len(first_name_of) == 1:
            target = first_name_of[0]  # "Glenn" after "Glenn Beck"
        for full in multi:
            full_words = names[full].split()
            if full_words[-1] == words[0] and (kinds.get(full) == "person" or len(full_words) == 2):
                target = full if target is None or counts[full] > counts[target] else target
            elif words[0].isupper() and len(words[0]) >= 2 and "".join(w[0] for w in full_words
                                                                      if w[:1].isupper()) == words[0]:
                target = full
        if target:
            counts[target] += counts.pop(key)
            if key in titled:
                titled.add(target)
            if kinds.get(key) == "person" or (len(names[target].split()) == 2 and target not in kinds
                                              and not _has_org_word(names[target])):
                kinds[target] = kinds.get(target) or "person"


def _merge_short_forms(counts: Counter, names: dict, kinds: dict, titled: set) -> None:
    """"US" and "United States": one entity, under the full name."""
    for key in list(counts):
        if key not in ALIASES:
            continue
        full_name = ALIASES[key]
        full = slugify(full_name)
        counts[full] += counts.pop(key)
        names[full] = full_name
        if key in titled:
            titled.add(full)
    for key, kind in ALIAS_KINDS.items():
        if key in counts:
            kinds[key] = kind


def _has_org_word(name: str) -> bool:
    return any(w.lower() in ORG_WORDS for w in name.split())


def _kind(name: str, hint: str) -> str:
    if _has_org_word(name) or (name.isupper() and 2 <= len(name) <= 6):
        return "org"
    return hint or "topic"
