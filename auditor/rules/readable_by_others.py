"""recording-readable-by-others: recording readable by other local users."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.models import Artifact
from auditor.rules.base import Hit, Rule, RuleContext
from auditor.rules.helpers import exposure_hits

KINDS = (
    "world-readable",
    "group-readable",
)


def evaluate(artifact: Artifact, ctx: RuleContext) -> Iterator[Hit]:
    yield from exposure_hits(artifact, ctx, KINDS)


RULE = Rule(
    id="recording-readable-by-others",
    category="exposed",
    severity="high",
    title="Recording readable by other local users",
    description="Other local accounts can read the file: it is world-readable with every parent folder traversable, or group-readable through a group the config lists as too broad.",
    remediation="Remove the access: `chmod o-rwx,g-rwx FILE` (and tighten the parent folders). Keep recordings in a folder only the clinician's account can open.",
    controls=(
        "HIPAA 164.312(a)(1)",
        "HIPAA 164.312(e)(1)",
        "GDPR Art 25",
        "GDPR Art 32",
        "APA 6.02",
        "ACA B.6.b",
    ),
    params={"encrypted_severity": "low"},
    evaluate=evaluate,
)
