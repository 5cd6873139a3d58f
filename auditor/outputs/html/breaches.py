"""The breach panel: each possible breach with its own reason, the people behind it and its clocks.

With a breach register in the result the rows are its breaches that are not closed (contained
ones included, with the time left on each clock); without one, the open breach findings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from auditor.breach.register import time_left
from auditor.encryption import Encryption
from auditor.outputs.places import Places
from auditor.people import count_people, describe, people_of

PAGE_CAP = 200  # rows the panel lists before pointing at the findings table


def breach_reason(encryption: str | None, keys_beside: Iterable[str] = ()) -> str:
    """Why an exposed recording is not secured, in the officer's words (the HHS safe harbor's terms)."""
    how = Encryption.parse(encryption)
    keys = [str(k) for k in keys_beside]
    if how.of_content:
        beside = f" ({', '.join(keys)})" if keys else ""
        return f"encrypted ({how.method}), but key material lies beside it{beside}"
    if how.scheme == "volume":
        return f"encrypted at rest only ({how.method}): the system decrypts it for anyone who can read it"
    if how.by_server:
        return f"server-side encryption only ({how}): S3 decrypts it for anyone allowed to read it"
    if how.scheme == "none":
        return "not encrypted"
    return "encryption could not be established"


def breach_panel(result: dict[str, Any], active: Iterable[dict[str, Any]], places: Places) -> dict[str, Any]:
    recordings = {str(r.get("location")): r for r in result.get("recordings", [])}
    register = result.get("breach_register")
    if register:
        rows = [_register_row(b, recordings, places) for b in register.get("breaches") or []]
    else:
        rows = [_finding_row(f, recordings, places) for f in active if f.get("category") == "breach"]
    rows.sort(key=lambda r: (str(r["gdpr"] or ""), str(r["location"])))
    exposed = sum(1 for r in rows if r["exposed"])
    people = count_people(r["people"] for r in rows)
    return {
        "count": len(rows),
        "rows": rows[:PAGE_CAP],
        "earliest": _earliest(rows),
        "reasons": Counter(r["reason"] for r in rows).most_common(),
        "people": people,
        "people_text": describe(people),
        "register": (
            {
                "file": register.get("file"),
                "as_of": register.get("as_of"),
                "exposed": exposed,
                "contained": len(rows) - exposed,
            }
            if register
            else None
        ),
    }


def _keys_beside(recording: dict[str, Any] | None) -> list[str]:
    facts = (recording or {}).get("facts") or {}
    return [str(k) for k in facts.get("keys_beside") or []]


def _finding_row(f: dict[str, Any], recordings: dict[str, dict[str, Any]], places: Places) -> dict[str, Any]:
    ev = f.get("evidence") or {}
    recording = recordings.get(str(f.get("location")))
    people = people_of(recording, [f["client"]] if f.get("client") else [])
    return {
        "location": f.get("location"),
        "group": places.group(f.get("location", "")),
        "people": people,
        "people_text": ", ".join(people) if people else "unknown individual (not attributed)",
        "severity": f.get("severity"),
        "status": f.get("status"),
        "message": f.get("message"),
        "reason": breach_reason(
            ev.get("encryption") or (recording or {}).get("encryption"), _keys_beside(recording)
        ),
        "exposures": ev.get("exposures") or [],
        "exposed": True,
        "discovered_at": ev.get("discovered_at"),
        "hipaa": ev.get("hipaa_notification_deadline"),
        "gdpr": ev.get("gdpr_notification_deadline"),
        "fingerprint": f.get("fingerprint"),
        "id": None,  # register-only columns
        "gdpr_left": None,
        "hipaa_left": None,
    }


def _register_row(b: dict[str, Any], recordings: dict[str, dict[str, Any]], places: Places) -> dict[str, Any]:
    clocks = b.get("clocks") or {}
    recording = recordings.get(str(b.get("location")))
    people = people_of(recording, b.get("clients") or [])
    encryption = (recording or {}).get("encryption") or (b.get("recording") or {}).get("encryption")
    return {
        "location": b.get("location"),
        "group": places.group(b.get("location", "")),
        "people": people,
        "people_text": ", ".join(people) if people else "unknown individual (not attributed)",
        "status": b.get("status"),
        "exposed": bool(b.get("exposed")),
        "id": b.get("id"),
        "reason": breach_reason(encryption, _keys_beside(recording)),
        "exposures": b.get("exposures") or [],
        "discovered_at": b.get("first_discovered"),
        "hipaa": clocks.get("hipaa_deadline"),
        "gdpr": clocks.get("gdpr_deadline"),
        "hipaa_left": time_left(int(clocks.get("hipaa_seconds_left", 0))),
        "gdpr_left": time_left(int(clocks.get("gdpr_seconds_left", 0))),
    }


def _earliest(rows: list[dict[str, Any]]) -> dict[str, str | None]:
    return {
        key: min((str(r[key]) for r in rows if r[key]), default=None)
        for key in ("discovered_at", "hipaa", "gdpr")
    }
