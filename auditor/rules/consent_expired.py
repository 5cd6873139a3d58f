"""consent-expired: Recorded after consent expired."""

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
        Status.EXPIRED,
        "Recorded on {day}, after client {client}'s consent expired on {expires}.",
    )


RULE = Rule(
    id="consent-expired",
    category="unconsented",
    requires_registry=True,
    severity="high",
    title="Recorded after consent expired",
    summary="consent expired before the recording date",
    description="The consent for this purpose had expired before the recording date.",
    remediation="Renew consent before recording again; stop using this recording and delete it unless a legal hold applies.",
    evaluate=evaluate,
)
