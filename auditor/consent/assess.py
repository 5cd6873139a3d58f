"""Consent semantics: was a person's consent in force for this recording, and if not, exactly why.

One assessment serves all the `unconsented` rules, so they cannot disagree with each other;
each rule just reports the status it owns. Dates are whole days: consent granted on the day of
the session covers it; consent that expires on the day still covers it; consent revoked on the
day does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from auditor.consent.registry import Consent, ConsentRegistry


class Status(StrEnum):
    OK = "ok"
    NO_RECORD = "no-consent-record"
    NOT_YET_GIVEN = "not-yet-given"
    EXPIRED = "expired"
    NOT_IN_FORCE = "revoked"  # revoked on or before the recording date
    PURPOSE_NOT_COVERED = "purpose-not-covered"


@dataclass(frozen=True)
class Assessment:
    """What the registry says of one person in one recording: the status and the consent behind it."""

    person: str
    status: Status
    consent: Consent | None = None  # the consent that decided it (in force, or the nearest miss)
    detail: str = ""


def _state_on(consent: Consent, day: date) -> Status:
    if consent.granted > day:
        return Status.NOT_YET_GIVEN
    if consent.revoked is not None and consent.revoked <= day:
        return Status.NOT_IN_FORCE
    if consent.expires is not None and consent.expires < day:
        return Status.EXPIRED
    return Status.OK


# When no consent is in force, report the most telling reason: a revocation outranks an
# expiry, which outranks consent that only came later.
_MISS_ORDER = (Status.NOT_IN_FORCE, Status.EXPIRED, Status.NOT_YET_GIVEN)


def assess(
    registry: ConsentRegistry,
    person: str,
    day: date,
    purpose: str | None,
    consent_id: str | None = None,
) -> Assessment:
    record = registry.get(person)
    if record is None or not record.consents:
        return Assessment(person, Status.NO_RECORD, detail=f"no consent on record for {person}")
    consents = list(record.consents)
    if consent_id is not None:
        consents = [c for c in consents if c.id == consent_id]
        if not consents:
            return Assessment(person, Status.NO_RECORD, detail=f"consent {consent_id} is not in the registry")
    if purpose is not None:
        matching = [c for c in consents if purpose in c.purposes]
        if not matching:
            given = sorted({p for c in consents for p in c.purposes})
            return Assessment(
                person,
                Status.PURPOSE_NOT_COVERED,
                consents[0],
                f"purpose {purpose!r} not among consented purposes {given}",
            )
        consents = matching
    states = [(c, _state_on(c, day)) for c in consents]
    in_force = [c for c, s in states if s is Status.OK]
    if in_force:
        # Prefer a consent that was never revoked, then the latest granted.
        best = sorted(in_force, key=lambda c: (c.revoked is None, c.granted))[-1]
        return Assessment(person, Status.OK, best)
    for wanted in _MISS_ORDER:
        for consent, state in states:
            if state is wanted:
                return Assessment(person, wanted, consent)
    raise AssertionError("unreachable: every state is either OK or a miss")  # pragma: no cover
