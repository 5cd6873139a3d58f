"""consent-session-unconfirmed: consent must be reconfirmed each session, and this session was not."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.consent.assess import Status
from auditor.models import Artifact
from auditor.rules.base import Hit, Rule, RuleContext
from auditor.rules.helpers import assess_client, consent_evidence, recording_day


def evaluate(artifact: Artifact, ctx: RuleContext) -> Iterator[Hit]:
    a = assess_client(artifact, ctx)
    day = recording_day(artifact)
    if (
        a is None
        or a.status is not Status.OK
        or a.consent is None
        or not a.consent.per_session
        or ctx.registry is None
    ):
        return
    record = ctx.registry.get(a.person)
    answer = record.sessions.get(day) if record and day else None
    if answer == "confirmed":
        return
    evidence = consent_evidence(a, artifact)
    evidence["session_answer"] = answer
    if answer == "declined":
        message = f"Client {a.person} declined recording for the session of {day}, yet it was recorded."
    else:
        message = f"Consent for client {a.person} must be reconfirmed each session; no confirmation is recorded for {day}."
    yield Hit(message, evidence)


RULE = Rule(
    id="consent-session-unconfirmed",
    category="unconsented",
    requires_registry=True,
    severity="high",
    title="Session recording not confirmed",
    summary="`per_session` consent, and that day's session is declined or not confirmed",
    description=(
        "The client's consent is per session (per_session: true): each session must be confirmed in the registry "
        "before it is recorded. This session was declined, or has no confirmation."
    ),
    remediation=(
        "If the client confirmed verbally, record the confirmation in the registry (sessions: - date, recording: "
        "confirmed). If the client declined, delete the recording securely."
    ),
    evaluate=evaluate,
)
