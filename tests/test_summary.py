"""The result's summary (auditor/contract.py summarise), counted in one pass over the findings, must
give what the plain definition of each count gives, on any mix of findings and recordings."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.contract import summarise
from auditor.models import SEVERITIES
from auditor.people import people_affected, people_of

LOCATIONS = ["/a.wav", "/b.m4a", "/c.mp4", "/gone.wav"]  # the last one has no recording
CLIENTS = [None, "", "C-1", "C-2", "C-3"]


def _reference_people(
    findings: list[dict[str, Any]], recordings: list[dict[str, Any]], register: dict[str, Any] | None
) -> dict[str, dict[str, int]]:
    """people_affected as it was written before it was made one pass: the definition."""
    by_location = {str(r.get("location")): r for r in recordings}
    active = [f for f in findings if not f.get("suppressed") and f.get("status") != "resolved"]
    open_locations = {str(f["location"]) for f in active if str(f["location"]) in by_location}
    if register and register.get("breaches") is not None:
        groups = [
            people_of(by_location.get(str(b.get("location"))), b.get("clients") or [])
            for b in register["breaches"]
        ]
    else:
        clients_of: dict[str, list[str]] = {}
        for f in active:
            if f.get("category") == "breach":
                clients_of.setdefault(str(f["location"]), [])
                if f.get("client"):
                    clients_of[str(f["location"])].append(str(f["client"]))
        groups = [people_of(by_location.get(loc), named) for loc, named in clients_of.items()]

    def count(gs: list[list[str]]) -> dict[str, int]:
        return {
            "clients": len({i for g in gs for i in g}),
            "unknown_individuals": sum(1 for g in gs if not g),
            "recordings": len(gs),
        }

    return {
        "breaches": count(groups),
        "open_findings": count([people_of(by_location[loc]) for loc in sorted(open_locations)]),
    }


finding = st.fixed_dictionaries(
    {
        "location": st.sampled_from(LOCATIONS),
        "severity": st.sampled_from(SEVERITIES),
        "category": st.sampled_from(["breach", "consent", "encryption"]),
        "client": st.sampled_from(CLIENTS),
    },
    optional={"suppressed": st.booleans(), "status": st.sampled_from(["new", "open", "resolved"])},
)
recording = st.fixed_dictionaries(
    {
        "location": st.sampled_from(LOCATIONS[:3]),
        "client": st.sampled_from(CLIENTS),
        "participants": st.lists(st.sampled_from(CLIENTS[2:]), max_size=2),
    },
    optional={"not_a_session_recording": st.booleans()},
)
register = st.none() | st.fixed_dictionaries(
    {
        "breaches": st.lists(
            st.fixed_dictionaries(
                {
                    "location": st.sampled_from(LOCATIONS),
                    "clients": st.lists(st.sampled_from(CLIENTS[2:]), max_size=2),
                }
            ),
            max_size=3,
        )
    }
)


@settings(max_examples=400, deadline=None)
@given(
    findings=st.lists(finding, max_size=12),
    recordings=st.lists(recording, max_size=4),
    breach_register=register,
)
def test_the_summary_counts_what_its_definitions_say(
    findings: list[dict[str, Any]], recordings: list[dict[str, Any]], breach_register: dict[str, Any] | None
) -> None:
    summary = summarise(findings, recordings, breach_register)
    active = [f for f in findings if not f.get("suppressed") and f.get("status") != "resolved"]
    sessions = [r for r in recordings if not r.get("not_a_session_recording")]
    flagged = {f["location"] for f in active}
    severities = Counter(f["severity"] for f in active)
    assert summary["findings"] == len(active)
    assert summary["suppressed"] == sum(1 for f in findings if f.get("suppressed"))  # resolved or not
    assert summary["recordings"] == len(sessions)
    assert summary["not_session_recordings"] == len(recordings) - len(sessions)
    assert summary["compliant_recordings"] == sum(1 for r in sessions if r["location"] not in flagged)
    assert summary["by_severity"] == {s: severities.get(s, 0) for s in SEVERITIES}
    assert summary["by_category"] == dict(sorted(Counter(f["category"] for f in active).items()))
    reference = _reference_people(findings, recordings, breach_register)
    assert summary["people_affected"] == reference
    assert people_affected(findings, recordings, breach_register) == reference
