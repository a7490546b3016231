"""An index of rules by their literal tests, in front of the compiled matchers. Pure.

Each rule is filed under one test it cannot match without: an `equals`/`in` value of a
field (found by one dict lookup), or a three-character piece of a `contains` needle (found
by looking up each three characters of the subject's field: a needle inside the text puts
every piece of it inside the text). The piece chosen is the one fewest other needles share,
so a thousand `contains` rules do not pile up under `err`. A rule with no such test (only
regexes, or needles under three characters) is tried for every subject. The index only
narrows who is tried: every candidate still runs its whole compiled match, in file order,
so the outcome is the linear scan's.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from remediator.payloads import Subject
from remediator.payloads.fields import TEXT_FIELDS
from remediator.rules.model import Condition, Match

EXCEPTION = "exception_type"
TAG = "tag:"
GRAM = 3

Tests = list[tuple[str, Condition]]
"""(field, condition) of a rule: a text field, `exception_type`, or `tag:<key>`."""


def _tests(match: Match, unknown: frozenset[str] = frozenset()) -> Tests:
    found: Tests = [(name, c) for name in TEXT_FIELDS if (c := getattr(match, name)) and name not in unknown]
    if match.exception_type and EXCEPTION not in unknown:
        found.append((EXCEPTION, match.exception_type))
    if "tags" not in unknown:
        found.extend((f"{TAG}{key}", c) for key, c in match.tags.items())
    return found


def _grams(text: str) -> Iterator[str]:
    return (text[i : i + GRAM] for i in range(len(text) - GRAM + 1))


@dataclass(frozen=True)
class RuleIndex:
    """Rule positions (in file order) by the literal test each is filed under."""

    always: frozenset[int]
    exact: dict[tuple[str, str], tuple[int, ...]]
    grams: dict[tuple[str, str], tuple[int, ...]]
    gram_fields: frozenset[str]
    """The fields some rule is filed under by a piece of a needle (only these are scanned)."""

    @classmethod
    def build(cls, matches: Iterable[Match], unknown: frozenset[str] = frozenset()) -> RuleIndex:
        """Index the matches of the enabled rules, given in file order; tests on the
        `unknown` fields (not known before a lookup) are not filed under."""
        tests = [_tests(m, unknown) for m in matches]
        pieces: Counter[tuple[str, str]] = Counter(
            (field, g)
            for rule in tests
            for field, c in rule
            if c.contains is not None
            for g in set(_grams(c.contains))
        )
        always: set[int] = set()
        exact: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
        grams: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
        for position, rule in enumerate(tests):
            literal = next((t for t in rule if t[1].equals is not None or t[1].in_ is not None), None)
            if literal is not None:
                field, c = literal
                for value in (c.equals,) if c.equals is not None else c.in_ or ():
                    exact[(field, value)].append(position)
                continue
            needles = [(f, c.contains) for f, c in rule if c.contains is not None and len(c.contains) >= GRAM]
            if needles:
                field, needle = needles[0]
                piece = min(set(_grams(needle)), key=lambda g: (pieces[(field, g)], g))
                grams[(field, piece)].append(position)
                continue
            always.add(position)
        return cls(
            always=frozenset(always),
            exact={k: tuple(v) for k, v in exact.items()},
            grams={k: tuple(v) for k, v in grams.items()},
            gram_fields=frozenset(f for f, _ in grams),
        )

    def candidates(self, subject: Subject) -> list[int]:
        """The positions of the rules that may match, in file order."""
        found = set(self.always)
        for field, values in _values(subject):
            for value in values:
                hit = self.exact.get((field, value))
                if hit:
                    found.update(hit)
                if field in self.gram_fields:
                    for piece in _grams(value):
                        hit = self.grams.get((field, piece))
                        if hit:
                            found.update(hit)
        return sorted(found)


def _values(subject: Subject) -> Iterator[tuple[str, tuple[str, ...]]]:
    for name in TEXT_FIELDS:
        yield name, (getattr(subject, name) or "",)
    yield EXCEPTION, subject.exception_types
    for key, value in subject.tags.items():
        yield f"{TAG}{key}", (value,)
