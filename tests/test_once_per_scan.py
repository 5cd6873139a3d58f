"""Work a scan does once, not once per recording (issue 16): the summary, the breach clocks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from auditor import contract, publish, result
from auditor.rules import breach
from tests.conftest import place, run_cli


def test_a_scan_summarises_once_after_suppressions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def counted(findings: list[dict[str, Any]], *args: Any) -> dict[str, Any]:
        calls.append(len(findings))
        return contract.summarise(findings, *args)

    monkeypatch.setattr(result, "summarise", counted)
    monkeypatch.setattr(publish, "summarise", counted)
    place(tmp_path / "practice", "Clinic/session.m4a", "session.m4a")
    place(tmp_path / "practice", "Clinic/waiting-room/music.m4a", "session.m4a")
    (tmp_path / "ignore.yaml").write_text(
        "version: 1\nsuppressions:\n  - location: '**/waiting-room/*'\n    not_a_session_recording: true\n"
        "    reason: the waiting room's music\n    expires: 2099-01-01\n"
    )
    res = run_cli("scan", tmp_path / "practice", "--ignore", tmp_path / "ignore.yaml", "-o",
                  tmp_path / "r.json", "--fail-on", "none", "-q")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert len(calls) == 1
    data = json.loads((tmp_path / "r.json").read_text())
    assert list(data).index("summary") == list(data).index("rules") + 1  # in its place
    assert data["summary"] == contract.summarise(data["findings"], data["recordings"])
    assert data["summary"]["recordings"] == 1 and data["summary"]["not_session_recordings"] == 1


def test_the_breach_clock_is_formatted_once_per_discovery_time() -> None:
    breach._clock.cache_clear()
    now = datetime(2026, 11, 22, 5, 11, 7, tzinfo=UTC)
    evidences = [breach.clock_evidence(now) for _ in range(1000)]
    assert breach._clock.cache_info().misses == 1
    evidences[0]["discovered_at"] = "changed"  # each caller gets its own dict
    assert breach.clock_evidence(now) == {
        "discovered_at": "2026-11-22T05:11:07+00:00",
        "hipaa_notification_deadline": "2027-01-21T05:11:07+00:00",
        "gdpr_notification_deadline": "2026-11-25T05:11:07+00:00",
    }
    assert breach.stamp(now) == "2026-11-22 05:11 UTC"


def test_the_same_instant_in_another_zone_prints_as_itself() -> None:
    """Equal datetimes in other zones compare (and hash) equal but print differently."""
    utc = datetime(2026, 11, 22, 5, 11, tzinfo=UTC)
    plus_one = utc.astimezone(timezone(timedelta(hours=1)))
    assert utc == plus_one
    assert breach.clock_evidence(utc)["discovered_at"] == "2026-11-22T05:11:00+00:00"
    assert breach.clock_evidence(plus_one)["discovered_at"] == "2026-11-22T06:11:00+01:00"
    assert breach.stamp(plus_one) == "2026-11-22 06:11 UTC"  # as before: the wall time, labelled UTC
    assert breach.clock_evidence(utc.replace(tzinfo=None))["discovered_at"] == "2026-11-22T05:11:00"


def test_a_scan_holds_each_artifact_only_while_it_is_judged(tmp_path: Path) -> None:
    """keep=False (what `auditor scan` asks, its ResultParts keeping the dicts): the result's own
    lists stay empty and no artifact outlives its judgement, so a million-file scan does not hold
    every recording twice."""
    import gc
    import weakref
    from datetime import date

    from auditor import engine
    from auditor.inputs import load_inputs
    from auditor.result import ResultParts
    from auditor.sources.base import SourceOptions

    for n in range(3):
        place(tmp_path / "practice", f"Clinic/session-{n}.m4a", "session.m4a", mode=0o644)
    config, registry, ruleset = load_inputs(None, None, ())
    parts, seen = ResultParts(), []

    def judged(artifact: Any, findings: list[Any]) -> None:
        seen.append(weakref.ref(artifact))
        parts.add(artifact, findings)

    scanned = engine.run_scan(
        [str(tmp_path / "practice")], config=config, ruleset=ruleset, registry=registry,
        as_of=date(2026, 12, 1), options=SourceOptions(jobs=1), on_judged=judged, keep=False,
    )  # fmt: skip
    gc.collect()
    assert len(seen) == 3 and all(ref() is None for ref in seen)
    assert scanned.findings == [] and scanned.recordings == []
    assert len(parts.recordings) == 3 and parts.findings
    kept = engine.run_scan(
        [str(tmp_path / "practice")], config=config, ruleset=ruleset, registry=registry,
        as_of=date(2026, 12, 1), options=SourceOptions(jobs=1),
    )  # fmt: skip
    assert len(kept.recordings) == 3 and len(kept.findings) == len(parts.findings)


def test_the_rules_that_apply_are_worked_out_once_per_kind_and_source() -> None:
    from datetime import date

    from auditor import engine
    from auditor.inputs import load_inputs

    config, registry, ruleset = load_inputs(None, None, ())
    bound = engine.bind_rules(ruleset.active, as_of=date(2026, 12, 1), now=datetime.now(UTC),
                              config=config, registry=registry)  # fmt: skip
    assert isinstance(bound, engine.BoundRules) and len(bound) > 5
    for kind in ("recording", "bucket", "other"):
        for source in ("local", "s3", "vault"):
            naive = [b for b in bound if kind in b.active.rule.applies_to
                     and not (b.active.rule.sources and source not in b.active.rule.sources)]  # fmt: skip
            assert bound.applicable(kind, source) == naive
            assert bound.applicable(kind, source) is bound.applicable(kind, source)  # once
    assert bound.applicable("recording", "local") and bound.applicable("bucket", "s3")
    assert bound.applicable("recording", "s3") != bound.applicable("recording", "local")


def test_a_parsed_encryption_is_shared_and_the_same_as_parsing_it() -> None:
    from auditor.encryption import Encryption

    for text in (
        "none",
        "unknown",
        "content:openpgp",
        "volume:luks",
        "sse:aws:kms",
        "sse:",
        "none:x",
        "",
        "x",
    ):
        assert Encryption.parse(text) == Encryption._parse(text)
        assert Encryption.parse(text) is Encryption.parse(text)
    assert Encryption.parse(None) == Encryption("unknown")
    assert Encryption.parse("sse:aws:kms").with_kms and str(Encryption.parse("volume:luks")) == "volume:luks"
