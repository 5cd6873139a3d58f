"""retention-exceeded: a recording kept longer than its purpose allows."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.models import Artifact
from auditor.rules.base import Hit, Rule, RuleContext
from auditor.rules.helpers import legal_hold_in_force, recording_day


def retention_limit(artifact: Artifact, ctx: RuleContext) -> tuple[int | None, str]:
    """The limit in days (None = no limit) and where it came from."""
    retention = ctx.config.retention
    purpose = artifact.attribution.purpose
    if purpose is not None and purpose in retention.by_purpose:
        return retention.by_purpose[purpose], f"retention.by_purpose.{purpose}"
    if purpose is None and ctx.registry is not None and artifact.attribution.client:
        record = ctx.registry.get(artifact.attribution.client)
        purposes = {p for c in record.consents for p in c.purposes} if record else set()
        if len(purposes) == 1:
            (only,) = purposes
            if only in retention.by_purpose:
                return retention.by_purpose[
                    only
                ], f"retention.by_purpose.{only} (the client's only consented purpose)"
    return retention.default_days, "retention.default_days"


def evaluate(artifact: Artifact, ctx: RuleContext) -> Iterator[Hit]:
    day = recording_day(artifact)
    if day is None:
        return
    limit, basis = retention_limit(artifact, ctx)
    age = (ctx.as_of - day).days
    if limit is None or age <= limit or legal_hold_in_force(artifact):
        return
    yield Hit(
        f"Recording is {age} days old; its retention limit is {limit} days ({basis}).",
        {
            "age_days": age,
            "limit_days": limit,
            "basis": basis,
            "recorded_on": day.isoformat(),
            "recorded_at_source": artifact.recorded_at_source,
            "purpose": artifact.attribution.purpose,
            "days_over": age - limit,
            "legal_hold": artifact.legal_hold.to_dict() if artifact.legal_hold else None,
        },
    )


RULE = Rule(
    id="retention-exceeded",
    category="over-retained",
    severity="medium",
    title="Recording kept past its retention limit",
    summary="age on the `--as-of` day exceeds the limit for its purpose",
    description=(
        "Recordings must be deleted once their purpose is served (GDPR Art 5(1)(e); HIPAA 164.310(d)(2); APA 6.02; "
        "ACA B.6.h). The limit comes from retention.by_purpose for the recording's purpose, else the purpose of the "
        "client's only consent, else retention.default_days. A legal hold in force suppresses the finding."
    ),
    remediation=(
        "Delete the recording and all copies securely (NIST SP 800-88: include backups, sync history and S3 noncurrent "
        "versions), or record a legal hold with its reason and end date if it must be kept."
    ),
    evaluate=evaluate,
)
