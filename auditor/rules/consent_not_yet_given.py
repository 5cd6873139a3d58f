"""consent-not-yet-given: Consent given only after the recording."""

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
        Status.NOT_YET_GIVEN,
        "Recorded on {day}, but client {client} only granted consent on {granted}.",
    )


RULE = Rule(
    id="consent-not-yet-given",
    category="unconsented",
    requires_registry=True,
    severity="high",
    title="Consent given only after the recording",
    summary="consent was granted after the recording date",
    description="Consent must come before the recording. The only consent on record for this purpose was granted after the recording date.",
    remediation="Consent cannot be made retroactive. Stop using the recording and delete it securely, unless a legal hold applies; review how the session came to be recorded early.",
    evaluate=evaluate,
)
