"""Consent and retention semantics on real recordings, around every date boundary.

Each case builds a tiny practice: real media files named by the attribution pattern
(C-<id>_<date>_<purpose>.m4a), a consent registry, and a config; then runs `auditor scan`.
"""

from __future__ import annotations

import textwrap
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import place, scan_json

AS_OF = date(2026, 11, 22)
D = timedelta(days=1)


def audit(
    tmp_path: Path,
    recordings: dict[str, str],
    registry: str,
    *,
    as_of: date = AS_OF,
    config_extra: str = "",
    sidecars: dict[str, str] | None = None,
) -> dict[str, Any]:
    practice = tmp_path / "practice"
    for rel, fixture in recordings.items():
        place(practice, rel, fixture)
    for rel, text in (sidecars or {}).items():
        (practice / rel).write_text(textwrap.dedent(text))
    (tmp_path / "consent.yaml").write_text(textwrap.dedent(registry))
    (tmp_path / "auditor.yaml").write_text(
        textwrap.dedent(
            r"""
            version: 1
            consent_registry: consent.yaml
            retention:
              default_days: 365
              by_purpose: {supervision: 30, training: 180, legal: null}
            attribution:
              patterns: ['(?P<client>C-\d+)_(?P<date>\d{4}-\d{2}-\d{2})(?:_(?P<purpose>[a-z]+))?']
            """
        )
        + textwrap.dedent(config_extra)
    )
    return scan_json(
        tmp_path,
        practice,
        "--config",
        tmp_path / "auditor.yaml",
        "--as-of",
        as_of.isoformat(),
        "--fail-on",
        "none",
    )


def fired(result: dict[str, Any], name: str) -> set[str]:
    return {f["rule"] for f in result["findings"] if Path(f["location"]).name == name}


def registry_one(consent: str, sessions: str = "", extra: str = "") -> str:
    return f"""
    version: 1
    clients:
      - id: C-1001
        consents:
          - {consent}
        {sessions}
        {extra}
    """


CONSENT_RULES = {
    "consent-unattributed",
    "consent-missing",
    "consent-not-yet-given",
    "consent-expired",
    "consent-not-in-force",
    "consent-withdrawn-kept",
    "consent-session-unconfirmed",
    "consent-purpose-not-covered",
    "consent-participant-missing",
}


def consent_fired(result: dict[str, Any], name: str) -> set[str]:
    return fired(result, name) & CONSENT_RULES


GRANTED = date(2026, 11, 10)


@pytest.mark.parametrize(
    ("recorded", "expected"),
    [(GRANTED - D, {"consent-not-yet-given"}), (GRANTED, set()), (GRANTED + D, set())],
)
def test_consent_must_come_before_recording(tmp_path: Path, recorded: date, expected: set[str]) -> None:
    name = f"C-1001_{recorded}_supervision.m4a"
    result = audit(
        tmp_path, {name: "session.m4a"}, registry_one(f"{{granted: {GRANTED}, purposes: [supervision]}}")
    )
    assert consent_fired(result, name) == expected


EXPIRES = date(2026, 11, 10)


@pytest.mark.parametrize(
    ("recorded", "expected"),
    [(EXPIRES - D, set()), (EXPIRES, set()), (EXPIRES + D, {"consent-expired"})],
)
def test_expired_consent(tmp_path: Path, recorded: date, expected: set[str]) -> None:
    name = f"C-1001_{recorded}_supervision.m4a"
    reg = registry_one(f"{{granted: 2026-01-01, expires: {EXPIRES}, purposes: [supervision]}}")
    assert consent_fired(audit(tmp_path, {name: "session.m4a"}, reg), name) == expected


REVOKED = date(2026, 11, 10)


@pytest.mark.parametrize(
    ("recorded", "expected"),
    [(REVOKED - D, set()), (REVOKED, {"consent-not-in-force"}), (REVOKED + D, {"consent-not-in-force"})],
)
def test_revoked_consent_not_in_force(tmp_path: Path, recorded: date, expected: set[str]) -> None:
    name = f"C-1001_{recorded}_supervision.m4a"
    reg = registry_one(f"{{granted: 2026-01-01, revoked: {REVOKED}, purposes: [supervision]}}")
    # as of the revocation day itself: the grace period has not run out for the earlier recording
    result = audit(tmp_path, {name: "session.m4a"}, reg, as_of=REVOKED + D)
    assert consent_fired(result, name) == expected


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (REVOKED + timedelta(days=29), set()),
        (REVOKED + timedelta(days=30), set()),
        (REVOKED + timedelta(days=31), {"consent-withdrawn-kept"}),
    ],
)
def test_withdrawn_recording_kept_past_grace(tmp_path: Path, as_of: date, expected: set[str]) -> None:
    name = f"C-1001_{REVOKED - timedelta(days=5)}_supervision.m4a"
    reg = registry_one(f"{{granted: 2026-01-01, revoked: {REVOKED}, purposes: [supervision]}}")
    result = audit(
        tmp_path,
        {name: "session.m4a"},
        reg,
        as_of=as_of,
        config_extra="consent: {withdrawal_grace_days: 30}\n",
    )
    assert consent_fired(result, name) == expected
    if expected:
        (finding,) = [f for f in result["findings"] if f["rule"] == "consent-withdrawn-kept"]
        assert finding["evidence"]["erase_by"] == str(REVOKED + timedelta(days=30))


def test_withdrawn_but_under_legal_hold_is_not_flagged(tmp_path: Path) -> None:
    name = f"C-1001_{REVOKED - timedelta(days=5)}_legal.m4a"
    reg = registry_one(
        f"{{granted: 2026-01-01, revoked: {REVOKED}, purposes: [legal]}}",
        extra="legal_hold: {until: 2027-06-30, reason: records subpoena}",
    )
    result = audit(tmp_path, {name: "session.m4a"}, reg, as_of=REVOKED + timedelta(days=60))
    assert consent_fired(result, name) == set()
    (rec,) = result["recordings"]
    assert rec["legal_hold"] == {
        "client": "C-1001",
        "until": "2027-06-30",
        "reason": "records subpoena",
        "in_force": True,
    }


SESSION = date(2026, 11, 10)


@pytest.mark.parametrize(
    ("sessions", "expected"),
    [
        (f"sessions: [{{date: {SESSION}, recording: confirmed}}]", set()),
        (f"sessions: [{{date: {SESSION}, recording: declined}}]", {"consent-session-unconfirmed"}),
        (f"sessions: [{{date: {SESSION - D}, recording: confirmed}}]", {"consent-session-unconfirmed"}),
        ("", {"consent-session-unconfirmed"}),
    ],
)
def test_per_session_confirmation(tmp_path: Path, sessions: str, expected: set[str]) -> None:
    name = f"C-1001_{SESSION}_supervision.m4a"
    reg = registry_one("{granted: 2026-01-01, purposes: [supervision], per_session: true}", sessions=sessions)
    assert consent_fired(audit(tmp_path, {name: "session.m4a"}, reg), name) == expected


def test_session_confirmation_not_needed_without_per_session(tmp_path: Path) -> None:
    name = f"C-1001_{SESSION}_supervision.m4a"
    reg = registry_one("{granted: 2026-01-01, purposes: [supervision]}")
    assert consent_fired(audit(tmp_path, {name: "session.m4a"}, reg), name) == set()


def test_purpose_must_be_covered(tmp_path: Path) -> None:
    ok = "C-1001_2026-11-10_supervision.m4a"
    bad = "C-1001_2026-11-11_training.m4a"
    reg = registry_one("{granted: 2026-01-01, purposes: [supervision]}")
    result = audit(tmp_path, {ok: "session.m4a", bad: "session.m4a"}, reg)
    assert consent_fired(result, ok) == set()
    assert consent_fired(result, bad) == {"consent-purpose-not-covered"}


def test_unattributed_and_unknown_client(tmp_path: Path) -> None:
    result = audit(
        tmp_path,
        {"mystery.m4a": "session.m4a", "C-2002_2026-11-10_supervision.m4a": "session.m4a"},
        registry_one("{granted: 2026-01-01, purposes: [supervision]}"),
    )
    assert consent_fired(result, "mystery.m4a") == {"consent-unattributed"}
    assert consent_fired(result, "C-2002_2026-11-10_supervision.m4a") == {"consent-missing"}


def test_every_participant_needs_consent(tmp_path: Path) -> None:
    reg = """
    version: 1
    clients:
      - id: C-1001
        consents: [{granted: 2026-01-01, purposes: [supervision]}]
      - id: C-1002
        consents: [{granted: 2026-11-11, purposes: [supervision]}]
      - id: C-1003
        consents: [{granted: 2026-01-01, purposes: [supervision]}]
    """
    sidecar = """
    client: C-1001
    session_date: 2026-11-10
    purpose: supervision
    participants: [C-1001, C-1002, C-1003]
    """
    result = audit(tmp_path, {"couple.wav": "session.wav"}, reg, sidecars={"couple.wav.meta.yaml": sidecar})
    assert consent_fired(result, "couple.wav") == {"consent-participant-missing"}
    (finding,) = [f for f in result["findings"] if f["rule"] == "consent-participant-missing"]
    assert finding["evidence"]["participant"] == "C-1002"
    assert finding["evidence"]["status"] == "not-yet-given"


# -- retention ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("age", "expected"), [(29, False), (30, False), (31, True)])
def test_retention_by_purpose_boundary(tmp_path: Path, age: int, expected: bool) -> None:
    name = f"C-1001_{AS_OF - timedelta(days=age)}_supervision.m4a"
    reg = registry_one("{granted: 2025-01-01, purposes: [supervision, training]}")
    result = audit(tmp_path, {name: "session.m4a"}, reg)
    assert ("retention-exceeded" in fired(result, name)) is expected


def test_retention_uses_single_consented_purpose_when_unknown(tmp_path: Path) -> None:
    name = f"C-1001_{AS_OF - timedelta(days=40)}.m4a"  # no purpose in the name
    reg = registry_one("{granted: 2025-01-01, purposes: [supervision]}")
    result = audit(tmp_path, {name: "session.m4a"}, reg)
    (finding,) = [f for f in result["findings"] if f["rule"] == "retention-exceeded"]
    assert finding["evidence"]["limit_days"] == 30
    assert "only consented purpose" in finding["evidence"]["basis"]


def test_retention_default_and_no_limit(tmp_path: Path) -> None:
    old_training = (
        f"C-1001_{AS_OF - timedelta(days=366)}_research.m4a"  # purpose not in by_purpose: default 365
    )
    legal = f"C-1001_{AS_OF - timedelta(days=3000)}_legal.m4a"  # legal: null = no limit
    reg = registry_one("{granted: 2010-01-01, purposes: [research, legal]}")
    result = audit(tmp_path, {old_training: "session.m4a", legal: "session.m4a"}, reg)
    assert "retention-exceeded" in fired(result, old_training)
    assert "retention-exceeded" not in fired(result, legal)


@pytest.mark.parametrize(("hold_until", "flagged"), [(AS_OF - D, True), (AS_OF, False), (AS_OF + D, False)])
def test_legal_hold_suppresses_retention_until_it_expires(
    tmp_path: Path, hold_until: date, flagged: bool
) -> None:
    name = f"C-1001_{AS_OF - timedelta(days=100)}_supervision.m4a"
    reg = registry_one(
        "{granted: 2025-01-01, purposes: [supervision]}",
        extra=f"legal_hold: {{until: {hold_until}, reason: records subpoena}}",
    )
    result = audit(tmp_path, {name: "session.m4a"}, reg)
    assert ("retention-exceeded" in fired(result, name)) is flagged
    (rec,) = result["recordings"]
    assert rec["legal_hold"]["in_force"] is (not flagged)
    assert rec["legal_hold"]["reason"] == "records subpoena"


# -- recording date ------------------------------------------------------------------------------


def test_embedded_date_wins_over_fresh_mtime(tmp_path: Path) -> None:
    # session-dated.mp4 carries creation_time 2023-05-14 in its mvhd box; the copy has today's mtime.
    result = audit(tmp_path, {"copied.mp4": "session-dated.mp4"}, "version: 1\nclients: []\n")
    (rec,) = result["recordings"]
    assert rec["recorded_at_source"] == "container"
    assert rec["recorded_at"].startswith("2023-05-14")
    assert "retention-exceeded" in fired(result, "copied.mp4")  # 2023 is well past 365 days


def test_session_date_from_attribution_wins_over_embedded(tmp_path: Path) -> None:
    result = audit(
        tmp_path,
        {f"C-1001_{AS_OF - timedelta(days=2)}_supervision.mp4": "session-dated.mp4"},
        registry_one("{granted: 2025-01-01, purposes: [supervision]}"),
    )
    (rec,) = result["recordings"]
    assert rec["recorded_at_source"] == "attribution"
    assert rec["embedded_created"].startswith("2023-05-14")
    assert rec["recorded_at"].startswith(str(AS_OF - timedelta(days=2)))


def test_sidecar_wins_over_pattern(tmp_path: Path) -> None:
    result = audit(
        tmp_path,
        {"C-1001_2026-11-10_supervision.m4a": "session.m4a"},
        registry_one("{granted: 2025-01-01, purposes: [supervision, training]}"),
        sidecars={
            "C-1001_2026-11-10_supervision.m4a.meta.json": '{"client": "C-1001", "purpose": "training"}'
        },
    )
    (rec,) = result["recordings"]
    assert rec["attribution_source"] == "sidecar"
    assert rec["purpose"] == "training"
    assert rec["session_date"] == "2026-11-10"  # filled from the pattern


# -- breach ------------------------------------------------------------------------------------


def test_exposed_unencrypted_recording_is_a_breach_with_deadlines(tmp_path: Path) -> None:
    result = audit(
        tmp_path, {"Dropbox/C-1001_2026-11-20_supervision.m4a": "session.m4a"}, "version: 1\nclients: []\n"
    )
    (breach,) = [f for f in result["findings"] if f["rule"] == "breach-unsecured-exposure"]
    assert breach["severity"] == "critical"
    assert "HIPAA 164.402" in breach["controls"]
    assert "GDPR Art 33" in breach["controls"]
    ev = breach["evidence"]
    from datetime import datetime

    found = datetime.fromisoformat(ev["discovered_at"])
    assert datetime.fromisoformat(ev["hipaa_notification_deadline"]) - found == timedelta(days=60)
    assert datetime.fromisoformat(ev["gdpr_notification_deadline"]) - found == timedelta(hours=72)


def test_exposed_encrypted_recording_falls_under_safe_harbor(tmp_path: Path) -> None:
    result = audit(tmp_path, {"Dropbox/x.m4a.gpg": "session.m4a.gpg"}, "version: 1\nclients: []\n")
    rules = fired(result, "x.m4a.gpg")
    assert "breach-unsecured-exposure" not in rules
    (exposed,) = [f for f in result["findings"] if f["rule"] == "recording-in-sync-folder"]
    assert exposed["severity"] == "low"
    assert exposed["evidence"]["safe_harbor"] is True
    assert "safe harbor applies" in exposed["message"]


def test_key_beside_encrypted_recording_voids_safe_harbor(tmp_path: Path) -> None:
    result = audit(
        tmp_path,
        {"Dropbox/x.wav.age": "session.wav.age", "Dropbox/age-identity.txt": "age-identity.txt"},
        "version: 1\nclients: []\n",
    )
    assert "breach-unsecured-exposure" in fired(result, "x.wav.age")
    (exposed,) = [f for f in result["findings"] if f["rule"] == "recording-in-sync-folder"]
    assert exposed["severity"] == "high"
    assert exposed["evidence"]["keys_beside"] == ["age-identity.txt"]
