"""The JSON result validates against the shipped schema, on a real scan of the demo practice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import orjson

from auditor.resources import schema_path
from tests.conftest import REPO


def test_demo_practice_result_matches_schema_and_tells_the_story(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "HTML report:" in res.stdout
    result = json.loads((tmp_path / "report.json").read_text())
    schema = json.loads(schema_path("result").read_text())
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(result)

    rules = {f["rule"] for f in result["findings"]}
    # The sample practice shows every category and the breach panel.
    assert {"recording-unencrypted", "recording-in-sync-folder", "breach-unsecured-exposure"} <= rules
    assert {"consent-withdrawn-kept", "consent-session-unconfirmed", "consent-purpose-not-covered"} <= rules
    assert {"consent-participant-missing", "consent-unattributed", "retention-exceeded"} <= rules
    held = [r for r in result["recordings"] if r["legal_hold"]]
    assert len(held) == 1 and held[0]["legal_hold"]["in_force"]
    assert not any(Path(r["location"]).name == "ringtone.mp3" for r in result["recordings"])
    assert any(Path(r["location"]).name == "backup-0042.dat" for r in result["recordings"])
    assert result["summary"]["compliant_recordings"] >= 2
    assert (tmp_path / "report.html").stat().st_size > 0


def test_streamed_json_round_trips_slices_and_odd_strings() -> None:
    from datetime import UTC, datetime

    from auditor.contract import iter_json, json_sha256

    findings = [{"rule": "r", "location": f"/p/{i}", "evidence": {"n": i}} for i in range(5000)]
    data = {
        "schema_version": 1,
        "findings": findings,  # longer than one slice: encoded in pieces and joined
        "when": datetime(2026, 11, 22, 5, 0, tzinfo=UTC),
        "odd": "caf\udce9",  # a lone surrogate (undecodable name) that orjson refuses
    }
    raw = b"".join(iter_json(data))
    back = orjson.loads(raw)  # strict: the surrogate is written in the lossless form (docs/limits.md)
    assert back["findings"] == findings
    assert back["when"] == "2026-11-22T05:00:00+00:00"
    assert back["odd"] == "caf\\xe9"
    assert data["odd"] == "caf\udce9"  # the caller's dict is left as it was
    assert raw.endswith(b"}\n")
    import hashlib

    assert json_sha256(data) == hashlib.sha256(raw).hexdigest()


def test_result_built_while_scanning_equals_the_one_built_after(tmp_path: Path) -> None:
    """`auditor scan` builds the result's dicts as artifacts are judged; they must be exactly the
    dicts built from the finished scan, in the same order."""
    import importlib.util
    from datetime import date

    from auditor.engine import run_scan
    from auditor.inputs import load_inputs
    from auditor.result import ResultParts, result_to_dict
    from auditor.sources.base import SourceOptions

    spec = importlib.util.spec_from_file_location("demo", REPO / "scripts" / "demo.py")
    assert spec is not None and spec.loader is not None
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    practice = tmp_path / "practice"
    demo.build_practice(practice)
    config, registry, ruleset = load_inputs(demo.write_policy(tmp_path, practice), None, ())
    parts = ResultParts()
    result = run_scan(
        [str(practice)],
        config=config,
        ruleset=ruleset,
        registry=registry,
        as_of=date(2026, 11, 22),
        options=SourceOptions(),
        on_judged=parts.add,
    )
    assert len(parts.findings) > 10 and len(parts.recordings) == len(result.recordings)
    assert result_to_dict(result, parts) == result_to_dict(result)
