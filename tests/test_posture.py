"""Posture that does not lie: the four states of a control, from real scans, and the names of controls.

A control passes only when its rules judged something and found nothing open; rules that could
not run (no consent registry) leave it not evaluated; rules with nothing to judge (S3 rules on a
local scan) leave it not applicable.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.controls import CONTROLS_FILE, control_name, frameworks
from auditor.posture import framework_posture, rule_states
from auditor.rules.registry import builtin_pack_paths, discover_rules
from tests.conftest import REPO, place, run_cli


def _scan(tmp_path: Path, *extra: str) -> dict[str, Any]:
    root = tmp_path / "practice"
    place(root, "C-1001_2026-11-10.m4a", "session.m4a")  # unencrypted: fails the encryption controls
    out = tmp_path / "r.json"
    res = run_cli(
        "scan", "-q", root, "--as-of", "2026-11-22", "--fail-on", "none", "-o", out, *extra, cwd=tmp_path
    )
    assert res.exit_code == 0, res.output
    return json.loads(out.read_text(encoding="utf-8"))


def _controls(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["control"]: c for fw in framework_posture(result) for c in fw["controls"]}


def test_local_scan_without_registry_passes_nothing_it_did_not_check(tmp_path: Path) -> None:
    result = _scan(tmp_path)
    controls = _controls(result)
    states = rule_states(result)
    # S3-only rules judged nothing on a local disk: their controls are not applicable, not passed.
    assert states["s3-bucket-tls-not-enforced"].state == "not-applicable"
    assert states["s3-object-public"].state == "not-applicable"
    tls = controls["HIPAA 164.312(e)(2)(ii)"]
    assert tls["state"] == "not-applicable" and "no S3 bucket" in tls["why"]
    assert controls["HIPAA 164.312(b)"]["state"] == "not-applicable"
    # Consent rules could not run without a registry: their controls are not evaluated.
    assert states["consent-missing"].state == "not-evaluated"
    revoked = controls["HIPAA 164.508(b)(5)"]
    assert revoked["state"] == "not-evaluated" and "no consent registry" in revoked["why"]
    # What was judged and found wrong fails; with counts of recordings.
    encryption = controls["HIPAA 164.312(a)(2)(iv)"]
    assert encryption["state"] == "failing" and encryption["failed"] == 1 and encryption["evaluated"] == 1
    assert encryption["name"] == "Encryption and decryption"
    # Nothing is called passing unless its rules ran on something.
    for control in controls.values():
        if control["state"] == "passing":
            assert all(states[r].state != "not-evaluated" for r in control["rules"])
            assert any(states[r].state == "evaluated" for r in control["rules"])


def test_a_registry_lets_consent_controls_pass(tmp_path: Path) -> None:
    (tmp_path / "consent.yaml").write_text(
        "version: 1\nclients:\n  - id: C-1001\n    consents: [{granted: 2026-01-01, purposes: [therapy]}]\n"
    )
    (tmp_path / "auditor.yaml").write_text(
        "version: 1\nconsent_registry: consent.yaml\n"
        "attribution:\n  patterns: ['(?P<client>C-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})']\n"
    )
    result = _scan(tmp_path, "--config", str(tmp_path / "auditor.yaml"))
    controls = _controls(result)
    assert controls["HIPAA 164.508(b)(5)"]["state"] == "passing"
    assert controls["HIPAA 164.508(b)(5)"]["evaluated"] == 1


def test_a_rule_that_failed_leaves_its_controls_not_evaluated() -> None:
    result = {
        "consent_registry": "consent.yaml",
        "rules": [
            {"id": "a", "controls": ["GDPR Art 32"], "applies_to": ["recording"], "sources": []},
            {
                "id": "b",
                "controls": ["GDPR Art 32", "GDPR Art 25"],
                "applies_to": ["recording"],
                "sources": [],
            },
        ],
        "recordings": [{"kind": "recording", "source": "local", "location": "/p/x.wav"}],
        "findings": [],
        "coverage": {
            "skipped": [{"location": "/p/x.wav", "reason": "rule-error", "detail": "b: TypeError: boom"}]
        },
    }
    controls = _controls(result)
    assert controls["GDPR Art 32"]["state"] == "not-evaluated"
    assert controls["GDPR Art 32"]["why"] == "b: failed on 1 place"
    assert controls["GDPR Art 25"]["state"] == "not-evaluated"
    # A finding fails the control whatever else could not run; a suppressed one does not.
    result["findings"] = [
        {"rule": "a", "location": "/p/x.wav", "controls": ["GDPR Art 32"], "severity": "high"},
        {"rule": "b", "location": "/p/x.wav", "controls": ["GDPR Art 25"], "suppressed": {"reason": "ok"}},
    ]
    controls = _controls(result)
    assert controls["GDPR Art 32"]["state"] == "failing" and controls["GDPR Art 32"]["failed"] == 1
    assert controls["GDPR Art 25"]["state"] == "not-evaluated" and controls["GDPR Art 25"]["suppressed"] == 1


def test_framework_counts_add_up_and_no_state_is_invented(tmp_path: Path) -> None:
    result = _scan(tmp_path)
    for fw in framework_posture(result):
        assert sum(fw["counts"].values()) == len(fw["controls"])
        assert fw["failed"] == fw["counts"]["failing"]
        assert {c["state"] for c in fw["controls"]} <= {
            "failing",
            "passing",
            "not-evaluated",
            "not-applicable",
        }


# --- the names -----------------------------------------------------------------------------------


def _cited_controls() -> set[str]:
    cited: set[str] = set()
    for path in builtin_pack_paths():
        pack = yaml.safe_load(path.read_text(encoding="utf-8"))
        for settings in (pack.get("rules") or {}).values():
            cited.update((settings or {}).get("controls") or [])
    found = discover_rules()
    assert not found.errors
    for candidates in found.candidates.values():
        for rule, _plugin in candidates:
            cited.update(rule.controls)
    return cited


def test_every_control_the_built_in_rules_cite_has_an_exact_name() -> None:
    missing = sorted(c for c in _cited_controls() if not control_name(c).exact)
    assert missing == []


def test_the_names_file_cites_a_source_for_every_framework() -> None:
    data = yaml.safe_load(CONTROLS_FILE.read_text(encoding="utf-8"))
    assert data["version"] == 1
    for key, framework in frameworks().items():
        assert framework.source and framework.url.startswith("https://"), key
        assert framework.sections, key
    # Every framework of the regulatory map has its names here.
    mapped = (REPO / "docs" / "compliance-officers.md").read_text(encoding="utf-8")
    for prefix in ("HIPAA", "GDPR", "APA", "ACA"):
        assert prefix in frameworks() and prefix in mapped


@pytest.mark.parametrize(
    ("control", "name", "exact"),
    [
        ("HIPAA 164.312(a)(2)(iv)", "Encryption and decryption", True),
        ("GDPR Art 17(1)(b)", "Right to erasure ('right to be forgotten')", False),  # the enclosing article
        ("ACA B.6.c", "Permission to record", True),
        ("ACME 1.2", None, False),  # an unknown framework: shown by its number alone
    ],
)
def test_control_names_fall_back_to_the_enclosing_section(
    control: str, name: str | None, exact: bool
) -> None:
    found = control_name(control)
    assert found.name == name and found.exact is exact


def test_report_shows_each_control_with_its_name_and_never_all_under_failing(tmp_path: Path) -> None:
    result = _scan(tmp_path)
    out = tmp_path / "r.html"
    assert run_cli("report", tmp_path / "r.json", "-o", out, cwd=tmp_path).exit_code in (0, 1)
    html = out.read_text(encoding="utf-8")
    posture = html.split('id="posture"', 1)[1].split("</section>", 1)[0]
    assert "Encryption and decryption" in posture
    assert not re.search(r">\s*all \d", posture)
    assert "not applicable" in posture and "not evaluated" in posture
    assert result["rules"]
