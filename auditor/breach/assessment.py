"""The assessment pack: what HIPAA 164.402(2), 164.404(c) and GDPR Art 33(3) ask an officer to
put on paper, pre-filled from the register and the access evidence, the rest marked to fill in.

Every value the tool fills says where it comes from (`basis`); every value it cannot know is a
`ToFill`, shown in the pack as a blank for the officer, never guessed. The pack quotes the
SHA-256 of every log file the evidence read, so it can be verified against the logs later.
"""

from __future__ import annotations

import os
import wave
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from auditor import __version__
from auditor.breach.register import Breach, BreachRegister, iso, parse_time
from auditor.rules.breach import GDPR_NOTICE, HIPAA_NOTICE

PACK_VERSION = 1
HHS_THRESHOLD = 500  # 164.408(b): 500 or more individuals, HHS at the time of the individual notices
NAMES_SHOWN = 50  # identities of requesters and clients listed in full; the counts are complete

# Who could reach the recording, by exposure kind: the "unauthorised person" when no log says more.
REACH = {
    "public-acl": "anyone on the internet (a public ACL grant)",
    "public-policy": "anyone on the internet (a public bucket policy)",
    "authenticated-users-acl": "any AWS customer (an AuthenticatedUsers ACL grant)",
    "object-acl": "whoever the object's ACL grants",
    "sync-folder": "the cloud-sync provider, and anyone the synced folder is shared with",
    "web-root": "anyone who can reach the web server",
    "network-share": "the users of the network share",
    "world-readable": "the other accounts on the machine",
    "group-readable": "the members of a broad group",
}


@dataclass(frozen=True)
class ToFill:
    """A blank for the officer: what to write, and why the tool cannot."""

    what: str

    def to_dict(self) -> dict[str, Any]:
        return {"to_fill": self.what}


def _filled(value: Any, basis: str) -> dict[str, Any]:
    return {"value": value, "basis": basis}


def _fill(what: str) -> dict[str, Any]:
    return ToFill(what).to_dict()


def build_pack(
    register: BreachRegister,
    breaches: Sequence[Breach],
    *,
    organisation: str | None,
    who: str,
    now: datetime,
) -> dict[str, Any]:
    """The pack for these breaches (one incident: the officer chooses which belong together)."""
    evidence = {b.id: register.latest_evidence(b.id) for b in breaches}
    trails = {b.id: [e.to_dict() for e in register.events(b.id)] for b in breaches}
    discovered = min(parse_time(b.first_discovered) for b in breaches)
    clients = sorted({c for b in breaches for c in b.clients})
    unattributed = [b for b in breaches if not b.clients]
    most = len(clients) + len(unattributed)
    recordings = [_recording(b, evidence[b.id], now) for b in breaches]
    pack: dict[str, Any] = {
        "pack_version": PACK_VERSION,
        "tool": {"name": "recording-auditor", "version": __version__},
        "generated": iso(now),
        "generated_by": who,
        "organisation": organisation,
        "register": {"file": str(register.path), "schema_version": register.schema_version},
        "breach_ids": [b.id for b in breaches],
        "dates": _dates(breaches, discovered, now),
        "affected": {
            "clients": clients[:NAMES_SHOWN],
            "clients_count": len(clients),
            "unknown_individuals": {
                "recordings": len(unattributed),
                "note": "recordings the attribution could not tie to a client: each may concern one or more "
                "individuals not counted above",
            },
            "individuals_at_least": len(clients) + (1 if unattributed else 0),
            "individuals_at_most": most if not unattributed else None,
            "basis": "attribution (file names, sidecars, metadata) of each exposed recording",
        },
        "hipaa_164_402_2": _four_factors(breaches, recordings, evidence),
        "hipaa_164_404_c": _notice_contents(breaches, recordings, discovered),
        "hipaa_164_408": _hhs(len(clients), len(unattributed), discovered),
        "gdpr_33_3": _gdpr(breaches, recordings, clients, unattributed, discovered, now),
        "recordings": recordings,
        "evidence_files": _files(evidence),
        "evidence_missing": None
        if any(evidence.values())
        else _fill(
            "no log file was read: run `auditor breach evidence` (server access logs, CloudTrail, audit logs), or "
            "record why none exist"
        ),
        "audit_trail": trails,
    }
    pack["to_fill"] = sorted(_blanks(pack))
    return pack


def _dates(breaches: Sequence[Breach], discovered: datetime, now: datetime) -> dict[str, Any]:
    earliest = min(breaches, key=lambda b: parse_time(b.exposure_start))
    since = [parse_time(b.exists_since) for b in breaches if b.exists_since]
    exposed = [b for b in breaches if b.exposed]
    contained = [parse_time(b.contained_at) for b in breaches if b.contained_at]
    began: dict[str, Any]
    if earliest.exposure_start_basis != "discovery":
        began = _filled(
            earliest.exposure_start,
            f"the first read by someone outside, in the {earliest.exposure_start_basis}",
        )
    else:
        began = {
            **_fill(
                "the date the exposure began, if the practice can establish it (when the folder was shared, the "
                "bucket made public...); the logs read show no earlier access"
            ),
            "no_later_than": iso(discovered),
            "possibly_since": iso(min(since)) if since else None,
        }
    return {
        "breach_began": began,
        "discovered": _filled(iso(discovered), "the breach register's first_discovered (set once)"),
        "contained": _filled(iso(max(contained)), "the audit that saw the exposure gone")
        if not exposed and contained
        else {"value": None, "still_exposed": len(exposed), "basis": "the last audit saw them exposed"},
        "hipaa_individual_notice_due": iso(discovered + HIPAA_NOTICE),
        "gdpr_authority_notice_due": iso(discovered + GDPR_NOTICE),
        "gdpr_overdue": now > discovered + GDPR_NOTICE,
    }


def _recording(breach: Breach, evidence: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    facts = breach.recording
    found = (evidence or {}).get("findings") or {}
    return {
        "breach_id": breach.id,
        "location": breach.location,
        "status": breach.status,
        "first_discovered": breach.first_discovered,
        "exposure_window": breach.to_dict(now)["exposure_window"],
        "exposures": breach.exposures,
        "clients": breach.clients,
        "media": facts.get("media"),
        "format": facts.get("format"),
        "size": facts.get("size"),
        "recorded_at": facts.get("recorded_at"),
        "duration_seconds": _duration(breach),
        "identifiers_in_name": _identifiers(breach),
        "read_by_others": (evidence or {}).get("verdict") or "unknown",
        "evidence": {
            "run_at": (evidence or {}).get("at"),
            "reasons": found.get("reasons", ["no access evidence was read: run `auditor breach evidence`"]),
            "counts": found.get("counts", []),
            "requester_classes": found.get("requester_classes", []),
            "hours_without_records": found.get("hours_without_records"),
            "missing_hours": found.get("missing_hours", []),
        }
        if evidence
        else {"run_at": None, "reasons": ["no access evidence was read: run `auditor breach evidence`"]},
        "accesses": found.get("accesses", [])[:NAMES_SHOWN],
    }


def _duration(breach: Breach) -> float | None:
    """A WAV's length from its header (a few bytes), when the file is still here; else unknown."""
    if breach.source != "local" or breach.recording.get("format") not in ("wav",):
        return None
    try:
        with wave.open(_readonly(breach.location), "rb") as audio:
            return round(audio.getnframes() / audio.getframerate(), 1)
    except (OSError, EOFError, wave.Error, ZeroDivisionError):
        return None


def _readonly(path: str) -> Any:
    flags = os.O_RDONLY | getattr(os, "O_NOATIME", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError:  # O_NOATIME needs the file's owner: without it, read as usual
        fd = os.open(path, flags & ~getattr(os, "O_NOATIME", 0))
    return os.fdopen(fd, "rb")


def _identifiers(breach: Breach) -> list[str]:
    source = breach.recording.get("attribution_source")
    found = []
    if source == "pattern":
        found.append("the client id and the session date are in the file or folder name")
    elif source in ("sidecar", "metadata"):
        found.append(f"the client is named in the recording's {source}")
    if not breach.clients:
        found.append("no client could be tied to it from its name or metadata")
    return found


def _four_factors(
    breaches: Sequence[Breach], recordings: list[dict[str, Any]], evidence: dict[int, dict[str, Any] | None]
) -> dict[str, Any]:
    media = Counter(str(r["media"] or "unknown") for r in recordings)
    formats = Counter(str(r["format"] or "unknown") for r in recordings)
    durations = [r["duration_seconds"] for r in recordings if r["duration_seconds"] is not None]
    kinds = _exposure_kinds(breaches)
    verdicts = Counter(r["read_by_others"] for r in recordings)
    classes = sorted({c for r in recordings for c in r["evidence"].get("requester_classes", [])})
    outside = sorted(
        {
            f"{a['requester']}: {a['who']}" + (f" from {a['remote_ip']}" if a.get("remote_ip") else "")
            for r in recordings
            for a in r["accesses"]
            if a["requester"] != "internal"
        }
    )
    acquired = (
        "yes" if verdicts.get("yes") else ("no" if verdicts.get("no") == len(recordings) else "unknown")
    )
    exposed = [b for b in breaches if b.exposed]
    return {
        "factor_1_nature_and_extent": {
            "recordings": len(recordings),
            "media": dict(media),
            "formats": dict(formats),
            "total_bytes": sum(r["size"] or 0 for r in recordings),
            "duration_seconds": {
                "known_for": len(durations),
                "total": round(sum(durations), 1) if durations else None,
                "note": "read from WAV headers still on disk; other formats are not measured",
            },
            "identifiers": sorted({i for r in recordings for i in r["identifiers_in_name"]}),
            "basis": "the scan's facts about each recording (format by content, attribution)",
            "content": _fill(
                "what the sessions contain (diagnoses, third parties, minors), how easily the individuals can be "
                "identified from the recordings themselves: the tool never listens to them"
            ),
        },
        "factor_2_unauthorised_person": {
            "who_could_reach_it": [REACH.get(k, k) for k in kinds],
            "requester_classes_seen": classes,
            "outside_requesters": outside[:NAMES_SHOWN],
            "outside_requesters_count": len(outside),
            "basis": "the exposure paths; the access evidence, where read",
            "assessment": _fill(
                "whether the persons who obtained or could obtain it are bound to protect it (another covered "
                "entity, the practice's own staff) or not"
            ),
        },
        "factor_3_acquired_or_viewed": {
            "answer": acquired,
            "per_recording": dict(verdicts),
            "basis": "auditor breach evidence: a read counts only when content was transferred; hours without "
            "log records, logging off or unreadable lines leave it unknown, never 'no'",
            "evidence_runs": sum(1 for e in evidence.values() if e),
        },
        "factor_4_mitigation": {
            "contained": not exposed,
            "still_exposed": [b.location for b in exposed],
            "containment": [
                {"breach_id": b.id, "at": b.contained_at, "how": b.contained_how}
                for b in breaches
                if b.contained_at
            ],
            "basis": "the audits that saw the exposure gone",
            "further_measures": _fill(
                "other mitigation: assurances or deletion obtained from recipients, copies removed from the sync "
                "provider's version history and trash, credentials rotated"
            ),
        },
        "conclusion": _fill(
            "the officer's conclusion: a low probability that the PHI has been compromised (document why; the "
            "breach is then not reportable), or notification"
        ),
        "recorded_outcomes": {b.id: b.outcome for b in breaches},
    }


def _exposure_kinds(breaches: Sequence[Breach]) -> list[str]:
    return sorted({str(e["kind"]) for b in breaches for e in b.exposures if e.get("kind")})


def _notice_contents(
    breaches: Sequence[Breach], recordings: list[dict[str, Any]], discovered: datetime
) -> dict[str, Any]:
    kinds = _exposure_kinds(breaches)
    media = sorted({str(r["media"]) for r in recordings if r["media"]})
    began = min(parse_time(b.exposure_start) for b in breaches)
    description = (
        f"{len(recordings)} recording(s) of therapy sessions ({', '.join(media) or 'media'}) were stored where "
        f"{'; '.join(REACH.get(k, k) for k in kinds)} could reach them, without encryption. Discovered on "
        f"{discovered:%Y-%m-%d}."
    )
    return {
        "a_description": _filled(description, "the register"),
        "a_date_of_breach": _filled(iso(began), "the earliest evidence of exposure")
        if any(b.exposure_start_basis != "discovery" for b in breaches)
        else _fill("the date of the breach, if known (the logs read show none before the discovery)"),
        "a_date_of_discovery": _filled(iso(discovered), "the breach register"),
        "b_types_of_phi": _filled(
            sorted(
                {"audio or video of therapy sessions"}
                | {i for r in recordings for i in r["identifiers_in_name"]}
            ),
            "the recordings' facts",
        ),
        "c_steps_individuals_should_take": _fill("what the individuals should do to protect themselves"),
        "d_what_the_practice_is_doing": {
            "done": [
                f"breach {b.id}: contained {b.contained_at} ({b.contained_how})"
                for b in breaches
                if b.contained_at
            ],
            "more": _fill("the investigation, the mitigation and what prevents it happening again"),
        },
        "e_contact_procedures": _fill("a toll-free number, an email address, a web site or a postal address"),
    }


def _hhs(clients: int, unattributed: int, discovered: datetime) -> dict[str, Any]:
    rule: str | dict[str, Any]
    if clients >= HHS_THRESHOLD:
        rule = "500 or more individuals: notify HHS at the same time as the individuals (164.408(b))"
    elif clients + unattributed >= HHS_THRESHOLD:
        rule = _fill(
            f"{clients} known individuals, and {unattributed} unattributed recordings that may reach 500: count them "
            "(500 or more: HHS with the individual notices; fewer: the annual log)"
        )
    else:
        rule = (
            "fewer than 500 individuals: log the breach and report it to HHS within 60 days after the end of "
            f"{discovered.year} (164.408(c))"
        )
    return {
        "rule": rule,
        "media_notice": _fill("164.406: media notice if more than 500 residents of a state"),
    }


def _gdpr(
    breaches: Sequence[Breach],
    recordings: list[dict[str, Any]],
    clients: list[str],
    unattributed: list[Breach],
    discovered: datetime,
    now: datetime,
) -> dict[str, Any]:
    media = Counter(str(r["media"] or "unknown") for r in recordings)
    items: dict[str, Any] = {
        "a_nature_of_the_breach": _filled(
            "a confidentiality breach: recordings of therapy sessions (health data, GDPR Art 9) exposed without "
            "encryption",
            "the register",
        ),
        "a_categories_of_data_subjects": {
            "value": ["clients of the practice"]
            + (["other participants in the sessions"] if recordings else []),
            "confirm": _fill(
                "other categories (family members, minors, third parties named in the sessions)"
            ),
        },
        "a_approximate_number_of_data_subjects": {
            "known_clients": len(clients),
            "unattributed_recordings": len(unattributed),
            "basis": "attribution of each recording; unattributed recordings are unknown individuals",
        },
        "a_categories_of_records": _filled(dict(media), "the recordings' media"),
        "a_approximate_number_of_records": _filled(len(recordings), "the register"),
        "b_contact": _fill(
            "the name and contact details of the data protection officer or another contact point"
        ),
        "c_likely_consequences": _fill(
            "the likely consequences for the individuals (e.g. disclosure of mental-health information, "
            "distress, discrimination), weighing the access evidence"
        ),
        "d_measures_taken_or_proposed": {
            "taken": [
                f"breach {b.id}: contained {b.contained_at} ({b.contained_how})"
                for b in breaches
                if b.contained_at
            ],
            "proposed": _fill("the measures proposed to address the breach and mitigate its effects"),
        },
        "due": iso(discovered + GDPR_NOTICE),
    }
    if now > discovered + GDPR_NOTICE and not all(b.outcome == "reported" for b in breaches):
        items["reasons_for_delay"] = _fill(
            "Art 33(1): past 72 hours, the notification gives the reasons for the delay"
        )
    return items


def _files(evidence: dict[int, dict[str, Any] | None]) -> list[dict[str, Any]]:
    files: dict[str, dict[str, Any]] = {}
    for breach_id, run in evidence.items():
        for entry in (run or {}).get("files", []):
            kept = files.setdefault(entry["file"], {**entry, "breach_ids": []})
            kept["breach_ids"].append(breach_id)
    return [files[name] for name in sorted(files)]


def _blanks(value: Any, path: str = "") -> Iterable[str]:
    if isinstance(value, dict):
        if set(value) >= {"to_fill"}:
            yield path
        for key, item in value.items():
            if key != "to_fill":
                yield from _blanks(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _blanks(item, f"{path}[{index}]")
