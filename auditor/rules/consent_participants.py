"""consent-participant-missing: a couple, family or group session where a participant lacks consent."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.consent.assess import Status, assess
from auditor.models import Artifact
from auditor.rules.base import Hit, Rule, RuleContext
from auditor.rules.helpers import consent_evidence, recording_day


def evaluate(artifact: Artifact, ctx: RuleContext) -> Iterator[Hit]:
    day = recording_day(artifact)
    if ctx.registry is None or day is None:
        return
    att = artifact.attribution
    for person in dict.fromkeys(att.participants):  # ordered, without duplicates
        if person == att.client:
            continue
        a = assess(ctx.registry, person, day, att.purpose)
        if a.status is Status.OK:
            continue
        yield Hit(
            f"Participant {person} has no consent in force for this recording ({a.status.value.replace('-', ' ')}).",
            {**consent_evidence(a, artifact), "participant": person, "status": a.status.value},
            discriminator=person,
        )


RULE = Rule(
    id="consent-participant-missing",
    category="unconsented",
    requires_registry=True,
    severity="high",
    title="Participant without consent",
    summary="a listed participant (couple, family, group) has no consent in force",
    description=(
        "Every person recorded must consent (APA 4.03; all-party consent laws such as California Penal Code 632). "
        "The recording lists participants, and at least one has no consent in force for it."
    ),
    remediation=(
        "Obtain and record the participant's consent for this purpose; otherwise the recording cannot be kept or "
        "used. For minors, record the guardian's consent under the minor's id."
    ),
    evaluate=evaluate,
)
