"""SARIF from real scans (a local tree and a bucket on a real S3 server), fed to its consumers:
Microsoft's SARIF Multitool, the OASIS schema, and the rules GitHub code scanning publishes for
uploads (tests/github_sarif.py, each check citing its page)."""

from __future__ import annotations

import copy
import gzip
import json
import os
import random
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema
import pytest

from auditor.outputs.sarif import GitHubLimits, artifact_uri, encode, fit_for_github, to_sarif
from tests.conftest import place, run_cli, run_module
from tests.conftest_s3 import S3World, moto_url, s3world
from tests.github_sarif import upload_problems

__all__ = ["moto_url", "s3world"]  # fixtures used by this module

REPO = Path(__file__).resolve().parent.parent
MULTITOOL = REPO / "tests" / "node" / "node_modules" / ".bin" / "sarif-multitool"
OASIS_SCHEMA = Path(__file__).parent / "vendor" / "sarif-schema-2.1.0.json"

SEVERITY_CODE = {"critical": "c", "high": "b", "medium": "a", "low": "9", "info": "8"}


@pytest.fixture
def scanned(tmp_path: Path, s3world: S3World) -> dict[str, Any]:
    """One audit of a local practice folder and a bucket, written as JSON and SARIF."""
    root = tmp_path / "practice"
    place(root, "C-1001_2026-11-10.wav", "session.wav", mode=0o644)  # unencrypted, world-readable
    place(root, "notes/[link](x) *b* |p|.mp3", "session.mp3")
    place(root, "enc/C-1002_2026-11-01.m4a.gpg", "session.m4a.gpg")
    s3world.bucket("riverside", acl="public-read")
    s3world.put("riverside", "2026/C-1003_2026-11-02 intake.wav", "session.wav")
    (tmp_path / "auditor.yaml").write_text(
        "version: 1\nattribution:\n  patterns: ['(?P<client>C-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})']\n"
    )
    files = {ext: tmp_path / f"r.{ext}" for ext in ("json", "sarif")}
    res = run_cli(
        "scan", "-q", root, "s3://riverside", "--endpoint-url", s3world.url, "--config", tmp_path / "auditor.yaml",
        "--as-of", "2026-11-22", "--fail-on", "none", "-o", files["json"], "-o", files["sarif"], cwd=tmp_path,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    return {
        "tmp": tmp_path,
        "files": files,
        "result": json.loads(files["json"].read_text()),
        "sarif": json.loads(files["sarif"].read_text()),
        "raw": files["sarif"].read_bytes(),
    }


def multitool(path: Path, tmp_path: Path) -> list[dict[str, Any]]:
    """Microsoft's SARIF Multitool `validate`; its own findings (read from its SARIF output)."""
    out = tmp_path / f"{path.stem}.validation.sarif"
    # The npm wrapper runs the tool through a shell: the semicolon list must stay quoted.
    proc = subprocess.run(
        [str(MULTITOOL), "validate", str(path), "--level", '"Error;Warning;Note"', "-o", str(out),
         "--log", "ForceOverwrite"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.exists(), proc.stdout + proc.stderr
    run = json.loads(out.read_text())["runs"][0]
    notifications = [
        n for inv in run.get("invocations", []) for n in inv.get("toolExecutionNotifications", [])
    ]
    assert not [n for n in notifications if n.get("level") == "error"], notifications
    # A result without `level` has its rule's default level, and "warning" without one (SARIF 3.27.10).
    defaults = {
        r["id"]: (r.get("defaultConfiguration") or {}).get("level", "warning")
        for r in (run["tool"]["driver"].get("rules") or [])
    }
    return [
        dict(r, level=r.get("level") or defaults.get(r["ruleId"], "warning")) for r in run.get("results", [])
    ]


def _uri(result: dict[str, Any]) -> str:
    return str(result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])


def test_multitool_finds_no_error_and_no_warning(scanned: dict[str, Any]) -> None:
    findings = multitool(scanned["files"]["sarif"], scanned["tmp"])
    serious = [
        f"{r['ruleId']}: {r['message'].get('text', '')}"
        for r in findings
        if r.get("level") in ("error", "warning")
    ]
    assert serious == []
    # It did look: style notes remain (e.g. SARIF2016 on absolute file URIs, which GitHub needs).
    assert {r["ruleId"] for r in findings} >= {"SARIF2016"}


def test_multitool_catches_what_the_old_output_lacked(scanned: dict[str, Any]) -> None:
    """The consumer can fail: without regions and informationUri, as written before, it warns."""
    old = copy.deepcopy(scanned["sarif"])
    del old["runs"][0]["tool"]["driver"]["informationUri"]
    for result in old["runs"][0]["results"]:
        del result["locations"][0]["physicalLocation"]["region"]
    path = scanned["tmp"] / "old.sarif"
    path.write_text(json.dumps(old))
    rules = {r["ruleId"] for r in multitool(path, scanned["tmp"]) if r.get("level") == "warning"}
    assert {"SARIF2005", "SARIF2017"} <= rules


def test_valid_against_the_oasis_schema(scanned: dict[str, Any]) -> None:
    schema = json.loads(OASIS_SCHEMA.read_text())
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(scanned["sarif"]), key=str)
    assert not errors, errors[0].message


def test_github_would_accept_the_upload(scanned: dict[str, Any]) -> None:
    assert upload_problems(scanned["raw"]) == []
    # What GitHub refuses, the checks refuse: the s3:// URIs written before this change.
    old = copy.deepcopy(scanned["sarif"])
    for result in old["runs"][0]["results"]:
        location = result["locations"][0]
        if location["properties"]["location"].startswith("s3://"):
            location["physicalLocation"]["artifactLocation"]["uri"] = location["properties"]["location"]
    problems = upload_problems(json.dumps(old).encode())
    assert problems and all('SARIF URI scheme "s3" did not match' in p for p in problems)


def test_locations_regions_and_fingerprints(scanned: dict[str, Any]) -> None:
    run = scanned["sarif"]["runs"][0]
    findings = {f["fingerprint"]: f for f in scanned["result"]["findings"]}
    assert len(run["results"]) == len(findings)
    schemes = Counter()
    for item in run["results"]:
        fingerprint = item["partialFingerprints"]["recordingAuditor/v1"]
        finding = findings[fingerprint]
        assert item["partialFingerprints"]["primaryLocationLineHash"] == f"{fingerprint}:1"
        assert item["ruleId"] == finding["rule"]
        location = item["locations"][0]
        assert location["physicalLocation"]["region"]["startLine"] == 1
        assert location["properties"]["location"] == finding["location"]
        uri = _uri(item)
        if finding["location"].startswith("s3://"):
            schemes["s3"] += 1
            assert " " not in uri and unquote(uri) == "s3/" + finding["location"][len("s3://") :]
        else:
            schemes["file"] += 1
            assert " " not in uri and unquote(uri) == "file://" + finding["location"]
    assert schemes["s3"] and schemes["file"]  # both kinds were exercised
    # Most severe first, so that a display that keeps the first 5,000 keeps the worst.
    order = ["critical", "high", "medium", "low", "info"]
    ranks = [order.index(r["properties"]["severity"]) for r in run["results"]]
    assert ranks == sorted(ranks)


def test_rules_carry_help_uris_a_security_tag_and_the_tool_its_information_uri(
    scanned: dict[str, Any],
) -> None:
    driver = scanned["sarif"]["runs"][0]["tool"]["driver"]
    assert driver["informationUri"].startswith("https://")
    assert {r["id"] for r in driver["rules"]} == {r["id"] for r in scanned["result"]["rules"]}
    for rule in driver["rules"]:
        assert rule["helpUri"].startswith("https://") and "/docs/" in rule["helpUri"]
        tags = rule["properties"]["tags"]
        assert tags[0] == "security" and len(tags) <= 10 and len(set(tags)) == len(tags)
        assert 0.0 <= float(rule["properties"]["security-severity"]) <= 10.0
    assert (
        driver["rules"][0]["helpUri"]
        != next(r for r in driver["rules"] if r["id"].startswith("s3-bucket"))["helpUri"]
    )


def test_category_comes_from_the_option_or_is_absent(scanned: dict[str, Any]) -> None:
    assert "automationDetails" not in scanned["sarif"]["runs"][0]  # upload-sarif's `category` then applies
    out = scanned["tmp"] / "cat.sarif"
    res = run_cli(
        "report", scanned["files"]["json"], "-q", "--sarif-category", "nightly/file-server", "-o", out
    )
    assert res.exit_code == 0, res.output
    run = json.loads(out.read_text())["runs"][0]
    # GitHub reads id as CATEGORY/RUN-ID: the trailing slash makes the whole option the category.
    assert run["automationDetails"] == {"id": "nightly/file-server/"}
    assert upload_problems(out.read_bytes()) == []


def test_a_resolved_finding_is_never_a_live_alert(scanned: dict[str, Any]) -> None:
    result = scanned["result"]
    baseline = copy.deepcopy(result)
    gone = dict(baseline["findings"][0], fingerprint="f" * 32, severity="critical", location="/srv/old.wav")
    baseline["findings"].append(gone)  # fixed since: resolved now
    newcomer = baseline["findings"].pop(1)  # appeared since: new now
    (scanned["tmp"] / "baseline.json").write_text(json.dumps(baseline))
    out = scanned["tmp"] / "b.sarif"
    res = run_cli(
        "report", scanned["files"]["json"], "-q", "--baseline", scanned["tmp"] / "baseline.json", "-o", out,
        "-o", scanned["tmp"] / "b.json", "--fail-on", "critical", "--new-only",
    )  # fmt: skip
    with_states = json.loads((scanned["tmp"] / "b.json").read_text())
    assert [f["status"] for f in with_states["findings"]].count("resolved") == 1
    run = json.loads(out.read_text())["runs"][0]
    fingerprints = {r["partialFingerprints"]["recordingAuditor/v1"]: r for r in run["results"]}
    assert gone["fingerprint"] not in fingerprints  # GitHub closes an alert absent from the upload
    assert run["properties"]["resolvedSinceBaseline"] == 1
    assert fingerprints[newcomer["fingerprint"]]["baselineState"] == "new"
    assert {r["baselineState"] for r in run["results"]} == {"new", "unchanged"}
    assert res.exit_code == (
        1 if newcomer["severity"] == "critical" else 0
    )  # the resolved critical never fails


def test_suppressed_findings_keep_their_place_and_every_result_says_so(scanned: dict[str, Any]) -> None:
    target = scanned["result"]["findings"][0]
    ignore = scanned["tmp"] / "ignore.yaml"
    ignore.write_text(
        f"version: 1\nsuppressions:\n  - fingerprint: {target['fingerprint']}\n    reason: assessed RA-12\n"
    )
    out = scanned["tmp"] / "s.sarif"
    assert run_cli("report", scanned["files"]["json"], "-q", "--ignore", ignore, "-o", out).exit_code == 0
    results = json.loads(out.read_text())["runs"][0]["results"]
    # SARIF 3.27.23: in a run, either every result has `suppressions` or none has.
    assert all("suppressions" in r for r in results)
    (suppressed,) = [r for r in results if r["suppressions"]]
    assert suppressed["partialFingerprints"]["recordingAuditor/v1"] == target["fingerprint"]
    assert suppressed["suppressions"][0]["justification"] == "assessed RA-12"
    assert results[-1] is suppressed  # open findings first


def _big_result(template: dict[str, Any], counts: dict[str, int]) -> dict[str, Any]:
    big = copy.deepcopy(template)
    model = template["findings"][0]
    big["findings"] = []
    for severity, n in counts.items():
        for i in range(n):
            big["findings"].append(
                dict(
                    model,
                    severity=severity,
                    location=f"/srv/therapy/{severity}/C-{i:05d}_2026-11-10.wav",
                    fingerprint=f"{SEVERITY_CODE[severity]}{i:031x}",  # 32 hex digits, as the result schema says
                )
            )
    random.Random(14).shuffle(big["findings"])  # as a scan finds them: in no particular order
    return big


@pytest.mark.slow
def test_thirty_thousand_findings_are_capped_by_severity_with_a_warning(scanned: dict[str, Any]) -> None:
    counts = {"critical": 4_000, "high": 12_000, "medium": 10_000, "low": 4_000}
    big = _big_result(scanned["result"], counts)
    source = scanned["tmp"] / "big.json"
    source.write_text(json.dumps(big))
    out = scanned["tmp"] / "big.sarif"
    res = run_module("report", source, "-o", out, "-o", scanned["tmp"] / "big.md")
    assert res.returncode == 0, res.stderr
    warnings = [line for line in res.stderr.splitlines() if "warning" in line]
    assert warnings == [
        f"auditor: warning: {out}: 5,000 finding(s) left out (1,000 medium, 4,000 low): GitHub code scanning "
        "accepts at most 25,000 results per run; the most severe were kept, and the JSON result has them all"
    ]
    assert f"wrote {out}" in res.stdout  # the other outputs and the summary are not affected
    raw = out.read_bytes()
    assert upload_problems(raw) == []
    run = json.loads(raw)["runs"][0]
    kept = Counter(r["properties"]["severity"] for r in run["results"])
    assert kept == {"critical": 4_000, "high": 12_000, "medium": 9_000}
    assert run["properties"]["omittedResults"] == 5_000
    notice = run["invocations"][0]["toolExecutionNotifications"][0]
    assert notice["level"] == "warning" and "5,000 finding(s) left out" in notice["message"]["text"]
    assert [r for r in multitool(out, scanned["tmp"]) if r.get("level") == "error"] == []


def test_the_compressed_size_limit_shrinks_the_file_by_severity(scanned: dict[str, Any]) -> None:
    big = _big_result(scanned["result"], {"critical": 300, "medium": 300})
    whole, omitted = fit_for_github(big)
    assert omitted.total == 0
    criticals_only = encode(to_sarif(big, keep=300)[0])
    limit = (
        len(gzip.compress(whole, compresslevel=6)) + len(gzip.compress(criticals_only, compresslevel=6))
    ) // 2
    data, omitted = fit_for_github(big, limits=GitHubLimits(gzip_bytes=limit))
    assert len(gzip.compress(data, compresslevel=6)) <= limit
    kept = Counter(r["properties"]["severity"] for r in json.loads(data)["runs"][0]["results"])
    assert kept["critical"] == 300 and 0 < kept["medium"] < 300  # the least severe go first
    assert omitted.total == 300 - kept["medium"] and "gzip-compressed" in omitted.reason
    # As far as it must and no further: one more result would not have fitted (to within 0.5%).
    one_more = encode(to_sarif(big, keep=sum(kept.values()) + 3)[0])
    assert len(gzip.compress(one_more, compresslevel=6)) > limit


def test_artifact_uris() -> None:
    assert artifact_uri("/srv/a b/c#d.wav") == "file:///srv/a%20b/c%23d.wav"
    assert artifact_uri(os.fsdecode(b"/srv/caf\xe9.wav")) == "file:///srv/caf%E9.wav"  # not UTF-8: its byte
    assert artifact_uri("s3://bucket") == "s3/bucket"
    assert artifact_uri("s3://b/key with space/a%b.m4a") == "s3/b/key%20with%20space/a%25b.m4a"
    assert artifact_uri("notes:1/x.wav") == "./notes:1/x.wav"  # not read as a scheme
    log, _ = to_sarif({"findings": [], "rules": []})
    assert log["runs"][0]["results"] == []
