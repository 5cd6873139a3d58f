"""consent-purpose-not-covered: Purpose not covered by consent."""

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
        Status.PURPOSE_NOT_COVERED,
        "Recording purpose {purpose!r} is not covered by client {client}'s consent ({detail}).",
    )


RULE = Rule(
    id="consent-purpose-not-covered",
    category="unconsented",
    requires_registry=True,
    severity="high",
    title="Purpose not covered by consent",
    summary="the recording's purpose is not among the consented purposes",
    description="Consent is given per purpose: consent for supervision does not cover training, research or AI analysis. The recording's purpose (from its attribution) is not among the purposes the client consented to.",
    remediation="Ask the client for consent to this purpose, or restrict the recording to the purposes consented to; otherwise delete it.",
    evaluate=evaluate,
)
