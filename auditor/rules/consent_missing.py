"""consent-missing: No consent on record."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.consent.assess import Status
from auditor.models import Artifact
from auditor.rules.base import Hit, Rule, RuleContext
from auditor.rules.helpers import status_hit


def evaluate(artifact: Artifact, ctx: RuleContext) -> Iterator[Hit]:
    yield from status_hit(
        artifact, ctx, Status.NO_RECORD, "No recording consent on record for client {client} ({detail})."
    )


RULE = Rule(
    id="consent-missing",
    category="unconsented",
    requires_registry=True,
    severity="high",
    title="No consent on record",
    summary="the client (or the named consent id) has no consent on record",
    description="The recording is attributed to a client, but the consent registry holds no consent for that client (or not the consent id the recording names). Consent cannot be demonstrated.",
    remediation="Find the signed consent and add it to the registry. Without one, the recording was made without demonstrable consent: stop using it and follow your policy for deleting it.",
    evaluate=evaluate,
)
