"""Small helpers shared by built-in rules (dates, exposure kinds, consent lookup)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from auditor.consent.assess import Assessment, Status, assess
from auditor.models import SEVERITIES, Artifact, Exposure
from auditor.rules.base import Hit, Param, RuleContext

# The parameters several rules share, typed: packs' values are checked against them at load.
ENCRYPTED_SEVERITY = Param(
    "low", choices=SEVERITIES, help="severity of the finding when the recording's content is encrypted"
)
ONLY_WITH_RECORDINGS = Param(True, help="judge a bucket only when it holds recordings")


def recording_day(artifact: Artifact) -> date | None:
    return artifact.recorded_at.date() if artifact.recorded_at else None


def exposures_of(artifact: Artifact, kinds: Iterable[str]) -> list[Exposure]:
    wanted = set(kinds)
    return [e for e in artifact.exposures if e.kind in wanted]


def reaches_other_people(exposure: Exposure) -> bool:
    """Whether an exposure discloses the recording to someone besides its owner. World-readable on a
    machine with no other human account reaches nobody yet (see localfs/accounts.py); an unknown
    account list keeps the presumption that it does."""
    if exposure.kind == "world-readable":
        return exposure.evidence.get("other_accounts_count") != 0
    return True


def names_only(exposure: Exposure) -> bool:
    """An exposure that lets others list the object's name (its S3 key) but not read its content:
    a bucket ACL READ grant, or a policy that grants s3:ListBucket alone (evidence access ["list"])."""
    return list(exposure.evidence.get("access") or ()) == ["list"]


def key_kept_apart(artifact: Artifact) -> bool:
    """HHS safe harbor needs the key kept apart from the data: no key material beside the file."""
    return artifact.content_encrypted and not artifact.facts.get("keys_beside")


def legal_hold_in_force(artifact: Artifact) -> bool:
    return artifact.legal_hold is not None and artifact.legal_hold.in_force


def assess_client(artifact: Artifact, ctx: RuleContext) -> Assessment | None:
    """The consent assessment for the recording's own client, or None when it cannot be made."""
    day = recording_day(artifact)
    client = artifact.attribution.client
    if ctx.registry is None or client is None or day is None:
        return None
    return assess(ctx.registry, client, day, artifact.attribution.purpose, artifact.attribution.consent_id)


def consent_evidence(a: Assessment, artifact: Artifact) -> dict[str, object]:
    c = a.consent
    day = recording_day(artifact)
    return {
        "client": a.person,
        "recorded_on": day.isoformat() if day else None,
        "recorded_at_source": artifact.recorded_at_source,
        "purpose": artifact.attribution.purpose,
        "consent": None
        if c is None
        else {
            "id": c.id,
            "granted": c.granted.isoformat(),
            "purposes": list(c.purposes),
            "per_session": c.per_session,
            "expires": c.expires.isoformat() if c.expires else None,
            "revoked": c.revoked.isoformat() if c.revoked else None,
        },
    }


def exposure_hits(artifact: Artifact, ctx: RuleContext, kinds: Iterable[str]) -> list[Hit]:
    """One hit per matching exposure. Encrypted recordings are still exposed, at a lower severity,
    and the message says whether the HIPAA safe harbor applies (content encrypted, key kept apart)."""
    hits = []
    for exposure in exposures_of(artifact, kinds):
        evidence = {"exposure": exposure.kind, "detail": exposure.detail, **exposure.evidence}
        severity = None
        message = f"Recording is exposed: {exposure.detail}."
        if artifact.content_encrypted:
            severity = str(ctx.params.get("encrypted_severity", "low"))
            safe = key_kept_apart(artifact)
            evidence["safe_harbor"] = safe
            if safe:
                message += (
                    " Its content is encrypted and no key lies beside it: the encryption safe harbor applies."
                )
            else:
                evidence["keys_beside"] = artifact.facts.get("keys_beside")
                severity = None  # a key beside the file voids the protection
                message += " Its content is encrypted, but key material lies in the same folder."
        elif artifact.encrypted:
            evidence["encryption"] = artifact.encryption
            layer = "Server-side encryption" if artifact.encryption_kind.by_server else "Volume encryption"
            message += (
                f" {layer} ({artifact.encryption}) does not protect it: the system decrypts for every reader."
            )
        hits.append(Hit(message, evidence, severity=severity, discriminator=exposure.kind))
    return hits


def status_hit(artifact: Artifact, ctx: RuleContext, status: Status, message: str) -> list[Hit]:
    """A hit when the client's consent assessment has `status`; `message` may use {client}, {day},
    {granted}, {expires}, {revoked}, {purpose}, {detail}."""
    a = assess_client(artifact, ctx)
    if a is None or a.status is not status:
        return []
    c = a.consent
    fields = {
        "client": a.person,
        "day": recording_day(artifact),
        "granted": c.granted if c else None,
        "expires": c.expires if c else None,
        "revoked": c.revoked if c else None,
        "purpose": artifact.attribution.purpose,
        "detail": a.detail,
    }
    return [Hit(message.format(**fields), consent_evidence(a, artifact))]


def bucket_in_scope(artifact: Artifact, ctx: RuleContext) -> bool:
    """S3 bucket hygiene rules judge a bucket that holds recordings under the scanned prefix, or
    every scanned bucket when the rule's `only_with_recordings` parameter is false."""
    if not ctx.params.get("only_with_recordings", True):
        return True
    return bool(artifact.facts.get("recordings"))
