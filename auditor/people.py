"""Who is affected: the distinct clients behind a set of recordings, plus those nobody can name.

Counted from attribution: a recording's client and its participants (couple, family and group
sessions). A recording that could not be attributed stands for at least one person nobody can
name: it counts as one "unknown individual". The counts are made before `--redact` replaces the
ids (publish.prepare summarises first), and pseudonyms are one to one, so a redacted report
shows the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

BREACH_CATEGORY = "breach"


def people_of(recording: Mapping[str, Any] | None, fallback: Iterable[str] = ()) -> list[str]:
    """The client ids a recording is about (client first, then participants); `fallback` when it names none."""
    ids: list[str] = []
    if recording is not None:
        for person in (recording.get("client"), *(recording.get("participants") or [])):
            if person and str(person) not in ids:
                ids.append(str(person))
    if not ids:
        ids = [str(p) for p in fallback if p]
    return ids


def count_people(groups: Iterable[list[str]]) -> dict[str, int]:
    """{"clients": distinct ids, "unknown_individuals": groups with no id, "recordings": groups}."""
    clients: set[str] = set()
    unknown = total = 0
    for ids in groups:
        total += 1
        if ids:
            clients.update(ids)
        else:
            unknown += 1
    return {"clients": len(clients), "unknown_individuals": unknown, "recordings": total}


def people_affected(
    findings: list[dict[str, Any]],
    recordings: list[dict[str, Any]],
    breach_register: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, int]]:
    """People behind the breaches (the register's not-closed ones when there is a register, else the
    open breach findings) and behind every recording with an open finding."""
    active = [f for f in findings if not f.get("suppressed") and f.get("status") != "resolved"]
    return people_affected_by(
        {f["location"] for f in active},
        [f for f in active if f.get("category") == BREACH_CATEGORY],
        {str(r.get("location")): r for r in recordings},
        breach_register,
    )


def people_affected_by(
    open_locations: Iterable[Any],
    open_breaches: Iterable[Mapping[str, Any]],
    by_location: Mapping[str, Mapping[str, Any]],
    breach_register: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, int]]:
    """people_affected() given the locations of its open findings (neither suppressed nor
    resolved), those of the breach category, and the recordings by location: for a summary that
    has sorted the findings out already (a million-file scan has tens of thousands)."""
    if not (breach_register and breach_register.get("breaches") is not None):
        clients_of: dict[str, list[str]] = {}
        for f in open_breaches:
            named = clients_of.setdefault(str(f["location"]), [])
            if f.get("client"):
                named.append(str(f["client"]))
        breach_groups = [people_of(by_location.get(loc), named) for loc, named in clients_of.items()]
    else:
        breach_groups = [
            people_of(by_location.get(str(b.get("location"))), b.get("clients") or [])
            for b in breach_register.get("breaches") or []
        ]
    # Counts: the order the locations are taken in does not matter.
    recorded = {str(loc) for loc in open_locations} & by_location.keys()
    return {
        "breaches": count_people(breach_groups),
        "open_findings": count_people(people_of(by_location[loc]) for loc in recorded),
    }


def describe(counts: Mapping[str, int]) -> str:
    """'3 clients and 1 unknown individual', '1 client', 'no one identified'."""
    parts = []
    if counts.get("clients"):
        n = counts["clients"]
        parts.append(f"{n:,} client{'s' if n != 1 else ''}")
    if counts.get("unknown_individuals"):
        n = counts["unknown_individuals"]
        parts.append(f"{n:,} unknown individual{'s' if n != 1 else ''}")
    return " and ".join(parts) or "no one"
