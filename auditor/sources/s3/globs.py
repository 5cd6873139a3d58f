"""IAM's wildcard patterns (`*` any run of characters, `?` one character) as sets of strings.

Policy elements name sets of actions or ARNs: `Action`, `Resource`, and their negations
`NotAction`/`NotResource` (everything except the listed patterns). Deciding whether a Deny covers
an Allow means comparing such sets, pattern against pattern, not string against string: a Deny
on `NotResource B/public/*` does not cover an Allow on `B/*`, because `B/public/x` is in the
Allow and outside the Deny. Each pattern is a small automaton; running all the sets of a
question side by side over every string (grouped into the characters the patterns name, plus
"any other") tells which combinations of membership some string can have.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

# Stands for every character no pattern of the question names (a private-use code point).
_OTHER = "\ue000"
# States explored per question before giving up: patterns written to blow the search up (a policy
# is at most 20 KiB) must not stall the scan. Callers then take the answer that assumes exposure.
MAX_STATES = 5_000


class TooComplex(ValueError):
    """The patterns of one question are too many or too tangled to compare within MAX_STATES."""


# A pattern writes a literal "*" or "?" (IAM's ${*} and ${?}) as these private-use characters.
LITERAL_STAR = "\ue001"
LITERAL_QUESTION = "\ue002"
_LITERALS = {LITERAL_STAR: "*", LITERAL_QUESTION: "?"}


@lru_cache(maxsize=4096)
def _tokens(pattern: str) -> tuple[str, ...]:
    """Each position: a literal character, or "*" / "?" as wildcards (kept as 2-char markers)."""
    return tuple("\0*" if c == "*" else "\0?" if c == "?" else _LITERALS.get(c, c) for c in pattern)


def _closure(tokens: tuple[str, ...], positions: Iterable[int]) -> frozenset[int]:
    """Positions reachable without consuming a character: a `*` may match nothing."""
    seen = set(positions)
    stack = list(seen)
    while stack:
        i = stack.pop()
        if i < len(tokens) and tokens[i] == "\0*" and i + 1 not in seen:
            seen.add(i + 1)
            stack.append(i + 1)
    return frozenset(seen)


@lru_cache(maxsize=65536)
def _step(tokens: tuple[str, ...], positions: frozenset[int], char: str) -> frozenset[int]:
    after = []
    for i in positions:
        if i >= len(tokens):
            continue
        token = tokens[i]
        if token == "\0*":
            after.append(i)
        elif token == "\0?" or token == char:
            after.append(i + 1)
    return _closure(tokens, after)


@dataclass(frozen=True)
class PatternSet:
    """The strings matched by any of `patterns`, or (negated) by none of them.

    An empty non-negated set matches nothing; an empty negated set matches everything."""

    patterns: tuple[str, ...]
    negated: bool = False
    case_sensitive: bool = True

    @classmethod
    def of(cls, patterns: Sequence[str], *, negated: bool = False, case_sensitive: bool = True) -> PatternSet:
        folded = tuple(p if case_sensitive else p.lower() for p in patterns)
        return cls(folded, negated, case_sensitive)

    def matches(self, value: str) -> bool:
        value = value if self.case_sensitive else value.lower()
        hit = any(_accepts(_tokens(p), value) for p in self.patterns)
        return hit != self.negated

    def describe(self) -> list[str] | dict[str, list[str]]:
        return {"Not": list(self.patterns)} if self.negated else list(self.patterns)


def _accepts(tokens: tuple[str, ...], value: str) -> bool:
    positions = _closure(tokens, [0])
    for char in value:
        positions = _step(tokens, positions, char)
        if not positions:
            return False
    return len(tokens) in positions


def memberships(sets: Sequence[PatternSet]) -> set[tuple[bool, ...]]:
    """Every combination (in `sets`, not in `sets`) that some string actually has.

    E.g. for [Allow, Deny] the result contains (True, False) exactly when some string is in
    the Allow's set and outside the Deny's. The sets of one question must agree on case."""
    found: set[tuple[bool, ...]] = set()

    def collect(membership: tuple[bool, ...]) -> bool:
        found.add(membership)
        return False  # keep walking: every combination is wanted

    _search(sets, collect, lambda _: False)
    return found


def exists(inside: Sequence[PatternSet], outside: Sequence[PatternSet] = ()) -> bool:
    """Is some string in every set of `inside` and in none of `outside`?"""
    sets = [*inside, *outside]
    n = len(inside)

    def wanted(membership: tuple[bool, ...]) -> bool:
        return all(membership[:n]) and not any(membership[n:])

    def hopeless(alive: tuple[bool, ...]) -> bool:
        # A set with no pattern left alive keeps its membership for every longer string:
        # a plain `inside` set is then missed for good, a negated `outside` set is hit for good.
        return any(not a and s.negated == (i >= n) for i, (a, s) in enumerate(zip(alive, sets, strict=True)))

    return _search(sets, wanted, hopeless)


def _search(
    sets: Sequence[PatternSet],
    wanted: Callable[[tuple[bool, ...]], bool],
    hopeless: Callable[[tuple[bool, ...]], bool],
) -> bool:
    """Walk every string (by classes of characters) through all the sets' patterns at once; True
    as soon as one has a membership `wanted` accepts. `hopeless` prunes, given which sets still
    have a pattern alive."""
    if not sets:
        return wanted(())
    folding = {s.case_sensitive for s in sets}
    if len(folding) != 1:
        raise ValueError("pattern sets of one question must agree on case sensitivity")
    patterns = [(i, _tokens(p)) for i, s in enumerate(sets) for p in s.patterns]
    alphabet = sorted({t for _, toks in patterns for t in toks if not t.startswith("\0")} | {_OTHER})
    start = tuple(_closure(toks, [0]) for _, toks in patterns)
    seen = {start}
    stack = [start]
    while stack:
        state = stack.pop()
        if wanted(_membership(sets, patterns, state)):
            return True
        alive = [False] * len(sets)
        for (owner, _), positions in zip(patterns, state, strict=True):
            alive[owner] = alive[owner] or bool(positions)
        if hopeless(tuple(alive)):
            continue
        for char in alphabet:
            nxt = tuple(_step(toks, pos, char) for (_, toks), pos in zip(patterns, state, strict=True))
            if nxt not in seen:
                if len(seen) >= MAX_STATES:
                    raise TooComplex(f"more than {MAX_STATES} states comparing {len(patterns)} patterns")
                seen.add(nxt)
                stack.append(nxt)
    return False


def _membership(
    sets: Sequence[PatternSet],
    patterns: Sequence[tuple[int, tuple[str, ...]]],
    state: tuple[frozenset[int], ...],
) -> tuple[bool, ...]:
    hit = [False] * len(sets)
    for (owner, toks), positions in zip(patterns, state, strict=True):
        if len(toks) in positions:
            hit[owner] = True
    return tuple(h != s.negated for h, s in zip(hit, sets, strict=True))


def within(small: PatternSet, big: PatternSet) -> bool:
    """Every string of `small` is in `big`."""
    return not exists([small], [big])


def overlaps(a: PatternSet, b: PatternSet) -> bool:
    return exists([a, b])
