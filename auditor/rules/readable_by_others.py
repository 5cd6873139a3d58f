"""recording-readable-by-others: recording readable by other local users."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import replace

from auditor.models import Artifact
from auditor.rules.base import Hit, Rule, RuleContext
from auditor.rules.helpers import ENCRYPTED_SEVERITY, exposure_hits

KINDS = (
    "world-readable",
    "group-readable",
)


def evaluate(artifact: Artifact, ctx: RuleContext) -> Iterator[Hit]:
    for hit in exposure_hits(artifact, ctx, KINDS):
        yield (
            replace(hit, message=f"{hit.message} {_who_else(hit)}")
            if hit.discriminator == "world-readable"
            else hit
        )


def _who_else(hit: Hit) -> str:
    """Who besides the owner the world-readable bit reaches: it decides whether this is a breach."""
    return _who_else_text(
        hit.evidence.get("other_accounts_count"), tuple(hit.evidence.get("other_accounts") or ())
    )


# The machine's accounts are the same for every recording of a scan: the sentence is made once.
@functools.lru_cache(maxsize=64)
def _who_else_text(count: int | None, named: tuple[str, ...]) -> str:
    if count is None:
        return "The accounts on this machine could not be listed, so other people are presumed to reach it."
    if count == 0:
        return (
            "No other human account exists on this machine, so nobody else can open it today: not a breach, "
            "but it becomes one as soon as another account is added."
        )
    more = f" and {count - len(named)} more" if count > len(named) else ""
    return f"{count} other account{'s' if count != 1 else ''} can open it: {', '.join(named)}{more}."


RULE = Rule(
    id="recording-readable-by-others",
    category="exposed",
    severity="high",
    title="Recording readable by other local users",
    summary="world-readable along a traversable path, or readable through a group listed in `exposure.broad_groups` (also on a single-user machine, where it is no breach)",
    description="Other local accounts can read the file: it is world-readable with every parent folder traversable, or group-readable through a group the config lists as too broad. World-readable on a machine with no other human account is still reported (high), but is a breach only once another account exists.",
    remediation="Remove the access: `chmod o-rwx,g-rwx FILE` (and tighten the parent folders). Keep recordings in a folder only the clinician's account can open.",
    params={"encrypted_severity": ENCRYPTED_SEVERITY},
    evaluate=evaluate,
    sources=frozenset({"local"}),
)
