"""One home for rule metadata (issue 12 §3): the packs hold severities and controls, the rule
modules their text and typed parameters, and the officers' table is generated from both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, place, run_cli
from tests.test_plugins import auditor, make_dist

BUILTIN_PACKS = [REPO / "rules" / "core.yaml", REPO / "rules" / "s3.yaml"]


def pack_controls() -> dict[str, list[str]]:
    controls: dict[str, list[str]] = {}
    for path in BUILTIN_PACKS:
        for rid, entry in yaml.safe_load(path.read_text())["rules"].items():
            controls[rid] = list((entry or {}).get("controls") or [])
    return controls


def test_the_committed_table_is_the_generated_one(tmp_path: Path) -> None:
    res = run_cli("rules", "--format", "markdown", cwd=tmp_path)  # no auditor.yaml here: the built-in packs
    assert res.exit_code == 0, res.output
    docs = (REPO / "docs" / "compliance-officers.md").read_text(encoding="utf-8")
    start = docs.index("| rule | category | severity | fires when | controls |")
    end = docs.index("<!-- end of generated table -->")
    assert docs[start:end] == res.output, "run `auditor rules --format markdown` and paste it into the docs"


def test_no_rule_module_names_a_control() -> None:
    """The pack is the one home: a control written in a rule module could drift from it."""
    from auditor.rules.registry import discover_rules

    builtin = {
        rid: rule
        for rid, [(rule, plugin)] in discover_rules().candidates.items()
        if plugin.distribution == "recording-auditor"
    }
    assert len(builtin) >= 20
    assert {rid: rule.controls for rid, rule in builtin.items() if rule.controls} == {}
    assert {rid for rid, rule in builtin.items() if not rule.summary} == set()
    # ... and every one of them has its controls in a built-in pack.
    assert {rid for rid in builtin if not pack_controls().get(rid)} == set()


def _readable_practice(tmp_path: Path) -> Path:
    practice = tmp_path / "practice"
    place(practice, "C-1001_2026-01-05.wav", "session.wav", mode=0o644)  # world-readable, unencrypted
    return practice


def test_findings_carry_the_packs_controls(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    res = run_cli("scan", "-q", _readable_practice(tmp_path), "-o", out, "--fail-on", "none", cwd=tmp_path)
    assert res.exit_code == 0, res.output
    result = json.loads(out.read_text())
    expected = pack_controls()
    seen = {f["rule"] for f in result["findings"]}
    assert {"recording-unencrypted", "consent-unattributed"} <= seen
    for finding in result["findings"]:
        assert finding["controls"] == expected[finding["rule"]], finding["rule"]
    for rule in result["rules"]:
        assert rule["controls"] == expected[rule["id"]], rule["id"]


def test_a_packs_controls_and_severity_win(tmp_path: Path) -> None:
    pack = tmp_path / "ours.yaml"
    pack.write_text(
        "pack: ours\nversion: '1'\nrules:\n"
        "  recording-unencrypted:\n    severity: critical\n    controls: ['HIPAA 164.312(a)(2)(iv)', 'STATE 1798.81.5']\n"
    )
    out = tmp_path / "r.json"
    res = run_cli(
        "scan",
        "-q",
        _readable_practice(tmp_path),
        "--rules",
        pack,
        "-o",
        out,
        "--fail-on",
        "none",
        cwd=tmp_path,
    )
    assert res.exit_code == 0, res.output
    [finding] = [f for f in json.loads(out.read_text())["findings"] if f["rule"] == "recording-unencrypted"]
    assert (finding["severity"], finding["controls"]) == (
        "critical",
        ["HIPAA 164.312(a)(2)(iv)", "STATE 1798.81.5"],
    )
    listed = json.loads(run_cli("rules", "--json", "--rules", pack, cwd=tmp_path).output)
    [rule] = [r for r in listed["rules"] if r["id"] == "recording-unencrypted"]
    assert (rule["pack"], rule["controls"]) == ("ours", ["HIPAA 164.312(a)(2)(iv)", "STATE 1798.81.5"])
    table = run_cli("rules", "--format", "markdown", "--rules", pack, cwd=tmp_path).output
    assert "| `recording-unencrypted` | unencrypted | critical |" in table and "STATE 1798.81.5" in table


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            "{encrypted_severity: very low}",
            "must be one of 'critical', 'high', 'medium', 'low', 'info' (got 'very low')",
        ),
        ("{encrypted_severity: 3}", "must be text (got 3)"),
        (
            "{encrypted_sevrity: low}",
            "unknown parameter 'encrypted_sevrity' (rule recording-readable-by-others takes encrypted_severity)",
        ),
    ],
)
def test_pack_params_are_checked_when_the_pack_loads(tmp_path: Path, params: str, message: str) -> None:
    pack = tmp_path / "ours.yaml"
    pack.write_text(
        f"pack: ours\nversion: '1'\nrules:\n  recording-readable-by-others:\n    params: {params}\n"
    )
    res = run_cli(
        "scan", "-q", _readable_practice(tmp_path), "--rules", pack, "-o", tmp_path / "r.json", cwd=tmp_path
    )
    assert res.exit_code == 2
    key = "encrypted_sevrity" if "unknown" in message else "encrypted_severity"
    assert (
        res.output.strip()
        == f"auditor: error: {pack}:5: rules.recording-readable-by-others.params.{key}: {message}"
    )
    assert not (tmp_path / "r.json").exists()


def test_a_boolean_parameter_takes_no_string(tmp_path: Path) -> None:
    pack = tmp_path / "ours.yaml"
    pack.write_text(
        "pack: ours\nversion: '1'\nrules:\n  s3-bucket-tls-not-enforced:\n    params:\n      only_with_recordings: 'no'\n"
    )
    res = run_cli("rules", "--rules", pack, cwd=tmp_path)
    assert res.exit_code == 2
    assert (
        f"{pack}:6: rules.s3-bucket-tls-not-enforced.params.only_with_recordings: must be true or false (got 'no')"
        in res.output
    )


def test_a_plugin_rules_typed_parameter_is_checked_before_the_scan(tmp_path: Path) -> None:
    """The issue's case: `max_bytes: "one megabyte"` was three rule-error gaps at run time."""
    site = tmp_path / "site"
    make_dist(site, "size-rules", "1.0", {"auditor.rules": {"big-file": "size_rules:RULE"}})
    (site / "size_rules.py").write_text(
        "from auditor.rules.base import Hit, Param, Rule\n\n"
        "def evaluate(artifact, ctx):\n"
        "    if artifact.size > ctx.params['max_bytes']:\n"
        "        yield Hit('big')\n\n"
        "RULE = Rule(id='big-file', category='hygiene', severity='low', title='Big', remediation='-',\n"
        "            evaluate=evaluate, params={'max_bytes': Param(1_000_000, kind=int, minimum=1)})\n"
    )
    pack = tmp_path / "sizes.yaml"
    pack.write_text(
        "pack: sizes\nversion: '1'\nrules:\n  big-file:\n    params:\n      max_bytes: one megabyte\n"
    )
    practice = _readable_practice(tmp_path)
    res = auditor(site, "scan", "-q", practice, "--rules", pack, "-o", tmp_path / "r.json", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip() == (
        f"auditor: error: {pack}:6: rules.big-file.params.max_bytes: must be an integer (got 'one megabyte')"
    )
    pack.write_text("pack: sizes\nversion: '1'\nrules:\n  big-file:\n    params:\n      max_bytes: 0\n")
    res = auditor(site, "scan", "-q", practice, "--rules", pack, "-o", tmp_path / "r.json", cwd=tmp_path)
    assert res.returncode == 2 and "max_bytes: must be 1 or more (got 0)" in res.stderr
    pack.write_text("pack: sizes\nversion: '1'\nrules:\n  big-file:\n    params:\n      max_bytes: 1000\n")
    res = auditor(
        site,
        "scan",
        "-q",
        practice,
        "--rules",
        pack,
        "-o",
        tmp_path / "r.json",
        "--fail-on",
        "none",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    result = json.loads((tmp_path / "r.json").read_text())
    assert [f["rule"] for f in result["findings"]].count("big-file") == 1
    assert not [g for g in result["coverage"]["skipped"] if g["reason"] == "rule-error"]
