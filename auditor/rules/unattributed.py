"""consent-unattributed: a recording that cannot be tied to a client, so consent cannot be shown."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.models import Artifact
from auditor.rules.base import Hit, Rule, RuleContext


def evaluate(artifact: Artifact, ctx: RuleContext) -> Iterator[Hit]:
    if artifact.attribution.client:
        return
    yield Hit(
        "Recording cannot be attributed to a client: no sidecar, metadata or path pattern names one, so consent "
        "cannot be demonstrated.",
        {
            "tried": list(artifact.attribution.tried),
            "relpath": artifact.relpath,
        },
    )


RULE = Rule(
    id="consent-unattributed",
    category="unconsented",
    severity="high",
    title="Unattributed recording",
    summary="the recording cannot be tied to a client",
    description=(
        "The controller must be able to demonstrate consent (GDPR Art 7(1)). A recording that cannot be tied to a "
        "client and session cannot be checked against the consent registry, or found when a client withdraws."
    ),
    remediation=(
        "Name recordings by a pattern listed in attribution.patterns (e.g. C-1001_2026-11-10.m4a), or put a sidecar "
        "<file>.meta.yaml beside it with client, session_date and purpose; in S3, set object metadata."
    ),
    evaluate=evaluate,
)
