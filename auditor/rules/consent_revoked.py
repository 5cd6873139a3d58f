"""consent-not-in-force: Recorded after consent was withdrawn."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.consent.assess import Status
from auditor.models import Artifact
from auditor.rules.base import Hit, Rule, RuleContext
from auditor.rules.helpers import status_hit


def evaluate(artifact: Artifact, ctx: RuleContext) -> Iterator[Hit]:
    yield from status_hit(
        artifact,
        ctx,
        Status.NOT_IN_FORCE,
        "Recorded on {day}, but client {client} had withdrawn consent on {revoked}.",
    )


RULE = Rule(
    id="consent-not-in-force",
    category="unconsented",
    requires_registry=True,
    severity="high",
    title="Recorded after consent was withdrawn",
    summary="consent was revoked on or before the recording date",
    description="The client revoked consent on or before the recording date, so no consent was in force when the session was recorded.",
    remediation="Delete the recording securely and tell the clinician that the client withdrew consent; check the scheduling workflow so withdrawn clients are not recorded.",
    evaluate=evaluate,
)
