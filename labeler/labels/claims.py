"""Facts in a label or summary that the topic's documents do not support.

A small model asked to summarise forty articles about the Olympics writes "the 2016 Olympics in
Rio" when the articles are from 2004: the year and the city are its own. A reader cannot tell an
invented detail from a real one, so every number, year, date and proper name in an answer must
occur in the topic's documents or keywords (case-insensitively); one that does not is a claim the
labeler asks about again, and removes if the model insists.

What counts as a claim:
- numbers, with or without a currency sign or unit ("$50", "3 days", "2.5%"): the number must
  occur; years 1000-2099 are numbers too, named as years;
- month-day dates ("March 5", "5th of March", "Jan. 12"): the same month and day must occur;
- proper names: in a summary, runs of capitalised words that do not start a sentence ("the
  Academy Awards", "in Birmingham"); in a label, which is Title Case throughout, only words a
  Title Case does not explain (acronyms such as "NHL", inner capitals such as "iPhone", letters
  mixed with digits such as "4G"). Every word of a name must occur in the documents.
Words of the prompt's own instructions and of the user's corpus description are never claims.

Pure functions on strings: no model, no files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_FULL = "|".join(m for m in MONTHS if len(m) > 4 or m in ("may", "june", "july"))
_ABBREVIATED = "|".join(m for m in MONTHS if len(m) <= 4 and m not in ("may", "june", "july"))
_MONTH = rf"(?:(?:{_FULL})|(?:{_ABBREVIATED})\.?)"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_DATE = re.compile(
    rf"\b(?P<m1>{_MONTH})\s+(?P<d1>{_DAY})\b|\b(?P<d2>{_DAY})\s+(?:of\s+)?(?P<m2>{_MONTH})(?!\w)",
    re.IGNORECASE,
)
# A number: digits with thousands or decimal separators, an optional currency sign before and an
# optional unit after (kept in the claim's text, not needed for support).
_NUMBER = re.compile(
    r"(?<![\w.,])[$€£¥]?\s?(?P<n>\d+(?:[.,]\d+)*)(?:\s?(?:%|percent|[kKmM]\b|bn\b|million\b|"
    r"billion\b|thousand\b))?"
)
_YEAR = re.compile(r"^(?:1\d{3}|20\d{2})$")
_WORD = re.compile(r"[^\W_][\w'’-]*")
# Letters and digits in one word ("4G", "MP3", "B2B"): a code, checked like a name.
_CODE = re.compile(r"^(?=.*\d)(?=.*[^\W\d_])[\w-]+$")
# Words that join the parts of one name ("Bank of America", "Leonardo da Vinci").
CONNECTORS = {"of", "the", "de", "da", "del", "van", "von", "and", "&", "for", "la", "le", "du"}
_SENTENCE_END = re.compile(r"[.!?:;]['\"’”)]*$")


@dataclass(frozen=True)
class Claim:
    """One checkable fact: its kind (number, year, date, name), its text as written, and where."""

    kind: str
    text: str
    start: int
    end: int
    key: tuple = ()  # what must occur in the documents: numbers, (month, day), or words

    def describe(self) -> str:
        return f'the {self.kind} "{self.text}"'


def _number_forms(digits: str) -> set[str]:
    """ "1,000", "1.000" and "1000" are one number; "2,5" and "2.5" too; "2.5" and "25" are not."""
    forms = {digits}
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", digits):
        forms.add(re.sub(r"[.,]", "", digits))  # thousands separators
    if re.fullmatch(r"\d+,\d+", digits):
        forms.add(digits.replace(",", "."))  # a decimal comma
    return {f.lstrip("0") or "0" for f in forms}


def _date_key(match: re.Match) -> tuple[int, int]:
    month = (match.group("m1") or match.group("m2")).rstrip(".").lower()
    day = re.match(r"\d+", match.group("d1") or match.group("d2")).group()
    return MONTHS[month], int(day)


def _capitalised(word: str) -> bool:
    return word[:1].isupper()


def _title_case_oddity(word: str) -> bool:
    """A word in a Title Case label that Title Case alone does not explain."""
    letters = [c for c in word if c.isalpha()]
    if len(letters) >= 2 and all(c.isupper() for c in letters):
        return True  # an acronym: NHL, ATM
    if any(c.isupper() for c in word[1:]) and any(c.islower() for c in word):
        return "-" not in word or any(p[1:] != p[1:].lower() for p in word.split("-"))  # iPhone
    return bool(_CODE.match(word))


def find_claims(text: str, title_case: bool = False, ignore: Iterable[str] = ()) -> list[Claim]:
    """Every number, date and name in `text`, in order. `title_case` for labels (see module doc);
    `ignore`: lower-cased words never taken for names (the prompt's own instructions)."""
    ignored = {w.lower() for w in ignore}
    claims: list[Claim] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    for m in _DATE.finditer(text):
        claims.append(Claim("date", m.group(), m.start(), m.end(), _date_key(m)))
        taken.append((m.start(), m.end()))
    for m in _NUMBER.finditer(text):
        start, end = m.start(), m.end()
        if not free(start, end):
            continue
        following = text[end : end + 1]
        if following.isalpha():
            continue  # part of a word such as "4G": a code, checked as a name below
        unit = re.match(r"-[^\W\d_]+", text[end:])
        if unit:  # "3-day": the number with its unit
            end += unit.end()
        digits = m.group("n")
        kind = "year" if _YEAR.match(digits) else "number"
        forms = tuple(sorted(_number_forms(digits)))
        claims.append(Claim(kind, text[start:end].strip(), start, end, forms))
        taken.append((start, end))
    claims += _names(text, title_case, ignored, free)
    return sorted(claims, key=lambda c: c.start)


def _names(text: str, title_case: bool, ignored: set[str], free) -> list[Claim]:
    words = list(_WORD.finditer(text))
    claims: list[Claim] = []
    run: list[re.Match] = []

    def close() -> None:
        while run and run[-1].group().lower() in CONNECTORS:
            run.pop()
        if run:
            key = tuple(w.group().lower() for w in run if w.group().lower() not in CONNECTORS)
            start, end = run[0].start(), run[-1].end()
            claims.append(Claim("name", text[start:end], start, end, key))
        run.clear()

    for m in words:
        word = m.group()
        lower = word.lower().rstrip("'’")
        if _CODE.match(word) and not re.search(r"\d-[^\W\d_]", word):
            if free(m.start(), m.end()) and lower not in ignored:
                close()
                claims.append(Claim("name", word, m.start(), m.end(), (lower,)))
            continue
        if word[:1].isdigit() or not free(m.start(), m.end()):
            close()
            continue
        if title_case:
            is_name = _title_case_oddity(word)
        else:
            before = text[: m.start()].rstrip()
            starts_sentence = not before or bool(_SENTENCE_END.search(before))
            starts_sentence = starts_sentence or before.endswith(('"', "“", "(", "'"))
            is_name = _capitalised(word) and not starts_sentence and word != "I"
        if is_name and lower not in ignored and lower.split("'")[0] not in ignored:
            gap = text[run[-1].end() : m.start()] if run else " "
            if run and gap.strip():
                close()
            run.append(m)
        elif run and lower in CONNECTORS and text[run[-1].end() : m.start()] == " ":
            run.append(m)
        else:
            close()
    close()
    return claims


# ---------------------------------------------------------------------------------- support
class Evidence:
    """What a topic's documents and keywords contain, for looking claims up: words, numbers and
    month-day dates, all lower-cased. Built once per topic, and only when an answer has a claim."""

    def __init__(self, texts: Iterable[str]):
        self.words: set[str] = set()
        self.numbers: set[str] = set()
        self.dates: set[tuple[int, int]] = set()
        for text in texts:
            text = str(text)
            self.words.update(w.lower().strip("'’-") for w in _WORD.findall(text))
            for m in re.finditer(r"\d+(?:[.,]\d+)*", text):
                self.numbers.update(_number_forms(m.group()))
            self.dates.update(_date_key(m) for m in _DATE.finditer(text))

    def has_word(self, word: str) -> bool:
        word = word.lower().strip("'’-")
        stem = re.sub(r"['’]s$", "", word)
        forms = {word, stem, stem.rstrip("s"), stem + "s", stem + "es"}
        if stem.endswith("ies"):
            forms.add(stem[:-3] + "y")
        return bool(forms & self.words) or (
            "-" in stem and all(p in self.words for p in stem.split("-") if p)
        )

    def supports(self, claim: Claim) -> bool:
        if claim.kind in ("number", "year"):
            return bool(set(claim.key) & self.numbers)
        if claim.kind == "date":
            return claim.key in self.dates
        return all(self.has_word(w) for w in claim.key)


def unsupported(claims: list[Claim], evidence: Evidence) -> list[Claim]:
    return [c for c in claims if not evidence.supports(c)]


# ---------------------------------------------------------------------------------- removal
_PREPOSITIONS = (
    r"(?:in|at|on|from|during|since|until|of|for|by|to|with|near|about|around|before|after)"
)
_LEAD = re.compile(rf"(?:,\s*)?\b{_PREPOSITIONS}\s+(?:the\s+|a\s+|an\s+)?$", re.IGNORECASE)
_TAIL = re.compile(r"^(?:['’]s\b)?")


_QUALIFIER = re.compile(
    r"\b(?:the|a|an|its|their|his|her|our|this|that|these|those)\s+$", re.IGNORECASE
)
_SENTENCES = re.compile(r"\S.*?(?:[.!?]+['\"’”)]*(?=\s+|$)|$)", re.DOTALL)


def remove_claims(text: str, claims: list[Claim], title_case: bool = False) -> str:
    """`text` without these claims, still readable, never half a sentence.

    In a label, the claim's words go. In a summary, a claim goes alone only where it can be
    lifted out of its sentence whole: with the preposition that tied it to the sentence ("in
    Birmingham", "on March 5"), as a qualifier of a noun ("the 2016 Olympics" → "the
    Olympics"), or in brackets. Any other claim (a subject, an object: "Smith won the cup")
    takes its whole sentence with it; a sentence left with under three words goes too, while
    another remains. When no sentence is left the answer is "" (the caller asks again)."""
    spans = _merge_spans(text, claims)
    if not spans:
        return text
    if title_case:
        return _tidy(_lift(text, spans, True))
    kept = []
    for match in _SENTENCES.finditer(text):
        start, end = match.span()
        inside = [(a - start, b - start) for a, b in spans if start <= a < end]
        sentence = match.group()
        if not inside:
            kept.append(sentence)
        elif all(_detachable(sentence, a, b) for a, b in inside):
            kept.append(_lift(sentence, inside, False))
        # else: the claim is the sentence's own subject or object: the sentence goes
    out = _tidy(" ".join(k.strip() for k in kept if k.strip()))
    # A sentence left with under three words says nothing: drop it when another remains.
    sentences = [s.strip() for s in re.findall(r"[^.!?]+(?:[.!?]+|$)", out) if s.strip()]
    long_enough = [s for s in sentences if len(s.split()) >= 3]
    if long_enough and len(long_enough) < len(sentences):
        out = " ".join(long_enough)
    return out if long_enough else ""


def _ends_phrase(after: str):
    return re.match(rf"^\s*(?:[,.;:!?)]|$|and\b|or\b|but\b|{_PREPOSITIONS}\b)", after)


def _detachable(sentence: str, start: int, end: int) -> bool:
    """Whether the claim at sentence[start:end] leaves a whole sentence when lifted out."""
    before, after = sentence[:start], sentence[end:]
    after = after[_TAIL.match(after).end() :]
    if _LEAD.search(before) and _ends_phrase(after):
        return True  # "... held in Birmingham." / "(since 2019)"
    if _QUALIFIER.search(before) and re.match(r"^\s+[^\W\d_]", after):
        return True  # "the 2016 Olympics": a qualifier of the noun after it
    return bool(re.search(r"\(\s*$", before) and re.match(r"^\s*\)", after))


def _lift(text: str, spans: list[tuple[int, int]], title_case: bool) -> str:
    out = text
    for start, end in reversed(spans):
        before, after = out[:start], out[end:]
        after = after[_TAIL.match(after).end() :]
        lead = _LEAD.search(before)
        if lead and _ends_phrase(after) and not title_case:
            before = before[: lead.start()]
        out = before + after
    return out


def _merge_spans(text: str, claims: list[Claim]) -> list[tuple[int, int]]:
    """Claim spans, with neighbours joined by spaces or a comma ("March 5, 2004") made one."""
    spans: list[list[int]] = []
    for c in sorted(claims, key=lambda c: c.start):
        if spans and re.fullmatch(r"[\s,]*", text[spans[-1][1] : c.start]):
            spans[-1][1] = max(spans[-1][1], c.end)
        else:
            spans.append([c.start, c.end])
    return [(a, b) for a, b in spans]


def _tidy(text: str) -> str:
    text = re.sub(r"\(\s*[,;]?\s*\)", "", text)
    text = re.sub(r"\s+([,.;:!?)])", r"\1", text)
    text = re.sub(r"([,;:])\s*(?=[,.;:!?])", "", text)
    text = re.sub(r"\(\s+", "(", text)
    text = re.sub(r"\b(the|a|an)\s+(?=[,.;:!?]|$)", "", text, flags=re.IGNORECASE)
    text = re.sub(r"\s{2,}", " ", text).strip(" ,;:-").lstrip(".!? ")
    text = re.sub(r"\ban(?=\s+[b-df-hj-np-tv-z])", "a", text)
    text = re.sub(r"\ba(?=\s+[aeio])", "an", text)
    return text[:1].upper() + text[1:] if text else text
