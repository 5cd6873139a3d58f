"""breach-unsecured-exposure: an exposed recording that is not protected by content encryption.

HHS's safe harbor covers PHI encrypted so that it is unusable to unauthorised readers, with the
key kept apart. Volume encryption and S3 server-side encryption do not help once a reader can
reach the file, because the system decrypts for them. The clocks run from discovery.

An S3 exposure that lets strangers only list names (not read content) discloses the object's key.
When the key itself names the client or the session date (key attribution succeeded, fact
`key_attribution`), those names are PHI: a breach of the names, not of the content. A list-only
exposure whose keys identify no one stays an exposure finding.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import datetime, timedelta, tzinfo
from typing import Any

from auditor.models import Artifact, Exposure
from auditor.rules.base import Hit, Rule, RuleContext
from auditor.rules.helpers import key_kept_apart, names_only, reaches_other_people

HIPAA_NOTICE = timedelta(days=60)  # 164.404: individuals, without unreasonable delay and within 60 days
GDPR_NOTICE = timedelta(hours=72)  # Art 33: the supervisory authority, within 72 hours


def clock_evidence(discovered: datetime) -> dict[str, str]:
    """The discovery time and the two notification deadlines that run from it."""
    at, hipaa, gdpr = _clock(discovered, discovered.tzinfo)
    return {"discovered_at": at, "hipaa_notification_deadline": hipaa, "gdpr_notification_deadline": gdpr}


def stamp(discovered: datetime) -> str:
    """The discovery time as the message prints it (`2026-11-22 05:11 UTC`)."""
    return _stamp(discovered, discovered.tzinfo)


# A scan discovers every breach at one time (RuleContext.now): formatting it once, not once per
# exposed recording, saves ~10 us per finding. tzinfo is in the key because equal instants in
# other zones are equal datetimes that print differently.
@functools.lru_cache(maxsize=64)
def _clock(discovered: datetime, _zone: tzinfo | None) -> tuple[str, str, str]:
    return (
        discovered.isoformat(),
        (discovered + HIPAA_NOTICE).isoformat(),
        (discovered + GDPR_NOTICE).isoformat(),
    )


@functools.lru_cache(maxsize=64)
def _stamp(discovered: datetime, _zone: tzinfo | None) -> str:
    return f"{discovered:%Y-%m-%d %H:%M} UTC"


def restamp(finding: dict[str, Any], discovered: datetime) -> None:
    """Move a breach finding's clock (evidence and message) to an earlier known discovery: a rescan,
    a baseline or the breach register must never restart the law's clock."""
    evidence = finding.setdefault("evidence", {})
    try:
        before = datetime.fromisoformat(str(evidence.get("discovered_at")))
    except ValueError:
        before = None
    if before is not None and "message" in finding:
        finding["message"] = finding["message"].replace(stamp(before), stamp(discovered))
    evidence.update(clock_evidence(discovered))


def evaluate(artifact: Artifact, ctx: RuleContext) -> Iterator[Hit]:
    # World-readable with no other human account on the machine discloses nothing yet: that is
    # recording-readable-by-others alone, until a second account appears.
    reaching = [e for e in artifact.exposures if reaches_other_people(e)]
    content = [e for e in reaching if not names_only(e)]
    if not content or key_kept_apart(artifact):
        yield from _names_breach(artifact, ctx, reaching)
        return
    discovered = ctx.now
    evidence = {
        "breach_of": "content",
        "exposures": [{"kind": e.kind, "detail": e.detail} for e in content],
        "encryption": artifact.encryption,
        "safe_harbor": False,
        **clock_evidence(discovered),
    }
    why = (
        "key material lies beside the encrypted file"
        if artifact.content_encrypted
        else f"its content is not encrypted (at rest: {artifact.encryption})"
    )
    yield Hit(
        f"Unsecured PHI exposure: the recording is reachable by others and {why}. Presumed a breach unless a "
        f"risk assessment shows a low probability of compromise. Notify per HIPAA within 60 days and GDPR within "
        f"72 hours of discovery ({stamp(discovered)}).",
        evidence,
    )


def _names_breach(artifact: Artifact, ctx: RuleContext, reaching: list[Exposure]) -> Iterator[Hit]:
    listing = [e for e in reaching if "list" in (e.evidence.get("access") or ())]
    identifies = artifact.facts.get("key_attribution")
    if not listing or not identifies:
        return
    discovered = ctx.now
    what = " and ".join(k.replace("_", " ") for k in ("client", "session_date") if identifies.get(k))
    yield Hit(
        f"Unsecured PHI exposure of the name: anyone can list this recording's key, and the key carries the "
        f"{what}. This is a breach of the names, not of the content (strangers cannot read the recording). "
        f"Presumed a breach unless a risk assessment shows a low probability of compromise. Notify per HIPAA "
        f"within 60 days and GDPR within 72 hours of discovery ({discovered:%Y-%m-%d %H:%M} UTC).",
        {
            "breach_of": "names",
            "exposures": [{"kind": e.kind, "detail": e.detail} for e in listing],
            "key_identifies": sorted(k for k in ("client", "session_date") if identifies.get(k)),
            "discovered_at": discovered.isoformat(),
            "hipaa_notification_deadline": (discovered + HIPAA_NOTICE).isoformat(),
            "gdpr_notification_deadline": (discovered + GDPR_NOTICE).isoformat(),
        },
        discriminator="names",
    )


RULE = Rule(
    id="breach-unsecured-exposure",
    category="breach",
    severity="critical",
    title="Unsecured recording exposed: breach assessment required",
    summary="exposed and not content-encrypted with the key kept apart",
    description=(
        "A recording that other people can reach (world-readable on a machine where another human account exists, "
        "group-readable by a broad group, cloud-synced, web root or share, public bucket) and that is not "
        "content-encrypted with the key kept apart is unsecured PHI. HIPAA presumes a breach "
        "(164.402) and GDPR requires notice to the authority within 72 hours (Art 33)."
    ),
    remediation=(
        "Contain first: remove the exposure. Then preserve logs, run the four-factor risk assessment of 164.402(2), "
        "and involve your privacy officer: notify individuals within 60 days of discovery (164.404) and the "
        "supervisory authority within 72 hours (GDPR Art 33) unless the assessment shows a low probability of "
        "compromise."
    ),
    evaluate=evaluate,
)
