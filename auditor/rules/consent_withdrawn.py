"""consent-withdrawn-kept: consent was withdrawn after the recording, and the recording is still kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from auditor.consent.assess import Status
from auditor.models import Artifact
from auditor.rules.base import Hit, Rule, RuleContext
from auditor.rules.helpers import assess_client, consent_evidence, legal_hold_in_force


def evaluate(artifact: Artifact, ctx: RuleContext) -> Iterator[Hit]:
    a = assess_client(artifact, ctx)
    if a is None or a.status is not Status.OK or a.consent is None or a.consent.revoked is None:
        return
    # Withdrawal is not retroactive (the recording was lawful), but GDPR Art 17 wants erasure without undue
    # delay, answered within a month (Art 12(3)): the grace period. A legal hold is the Art 17(3)(e) exception.
    # Counted back from as_of, so a withdrawal near year 9999 cannot overflow the date arithmetic.
    overdue = (ctx.as_of - a.consent.revoked).days - ctx.config.consent.withdrawal_grace_days
    if overdue <= 0 or legal_hold_in_force(artifact):
        return
    deadline = ctx.as_of - timedelta(days=overdue)
    evidence = consent_evidence(a, artifact)
    evidence["erase_by"] = deadline.isoformat()
    evidence["days_overdue"] = overdue
    yield Hit(
        f"Client {a.person} withdrew consent on {a.consent.revoked}; the recording should have been erased by "
        f"{deadline} and is still stored ({overdue} days overdue).",
        evidence,
    )


RULE = Rule(
    id="consent-withdrawn-kept",
    category="unconsented",
    requires_registry=True,
    severity="high",
    title="Consent withdrawn, recording still kept",
    summary="consent revoked after the recording, and the recording still stored past `consent.withdrawal_grace_days` (default 30)",
    description=(
        "The client withdrew consent after the session was recorded. The recording was lawful when made, but must be "
        "erased within consent.withdrawal_grace_days of the withdrawal (GDPR Art 17(1)(b) with 12(3)), unless a legal "
        "hold applies. Under HIPAA and PHIPA withdrawal is not retroactive; the posture is scored per framework."
    ),
    remediation=(
        "Erase the recording and every copy (backups, sync history, S3 noncurrent versions) and record the erasure. "
        "If it must be kept for legal claims, record a legal hold in the consent registry."
    ),
    evaluate=evaluate,
)
