"""JUnit XML from real scans, read the way its consumers read it.

- Validated with lxml against the two schemas CI tools follow (tests/vendor): the Jenkins xunit
  plugin's junit-10.xsd and Ant's JUnit.xsd.
- Counted as GitLab counts: lib/gitlab/ci/parsers/test/junit.rb (gitlabhq/gitlabhq) gives a case
  the status `failed` if it has a <failure>, else `error` if it has an <error>, else `skipped` if it
  has a <skipped>, else `success`; the suite's count attributes are not read.
- Counted as Jenkins counts: hudson.tasks.junit.CaseResult (jenkinsci/junit-plugin) marks a case
  skipped if it has a <skipped>; otherwise failed if it has an <error> or a <failure> (both are
  "failed"), else passed. Failed cases make the build unstable.
- Read by junitparser, the library behind the publish-unit-test-result GitHub Action: its
  per-case results and the suite's counts, as it reads them and as it recomputes them.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import junitparser
import pytest
from lxml import etree

from auditor.outputs.junit import to_junit
from tests.conftest import place, run_cli
from tests.conftest_s3 import S3World, moto_url, s3world

__all__ = ["moto_url", "s3world"]  # fixtures used by this module

VENDOR = Path(__file__).parent / "vendor"
SCHEMAS = {"jenkins xunit junit-10": VENDOR / "jenkins-xunit-junit-10.xsd", "ant": VENDOR / "ant-junit.xsd"}


def gitlab_statuses(xml: bytes) -> dict[tuple[str, str], str]:
    """(suite, case) -> GitLab's status, as junit.rb decides it."""
    statuses = {}
    for suite in ET.fromstring(xml).iter("testsuite"):
        for case in suite.findall("testcase"):
            children = {child.tag for child in case}
            status = next(
                (
                    s
                    for tag, s in (("failure", "failed"), ("error", "error"), ("skipped", "skipped"))
                    if tag in children
                ),
                "success",
            )
            statuses[(suite.get("name", ""), case.get("name", ""))] = status
    return statuses


def jenkins_counts(xml: bytes) -> Counter[str]:
    """Jenkins' pass/fail/skip counts, as CaseResult decides them."""
    counts: Counter[str] = Counter()
    for case in ET.fromstring(xml).iter("testcase"):
        if case.find("skipped") is not None:
            counts["skipped"] += 1
        elif case.find("error") is not None or case.find("failure") is not None:
            counts["failed"] += 1
        else:
            counts["passed"] += 1
    return counts


def schema_errors(xml: bytes) -> dict[str, list[str]]:
    errors = {}
    for name, path in SCHEMAS.items():
        schema = etree.XMLSchema(etree.parse(str(path)))
        schema.validate(etree.fromstring(xml))
        errors[name] = [f"{e.line}: {e.message}" for e in schema.error_log]
    return errors


@pytest.fixture
def audit(tmp_path: Path, s3world: S3World) -> dict[str, Any]:
    """A local practice and a bucket, scanned without a consent registry; JSON kept for re-renders."""
    root = tmp_path / "practice"
    place(root, "C-1001_2026-11-10.wav", "session.wav")  # unencrypted: high
    place(root, "C-1002_2023-01-05.m4a.gpg", "session.m4a.gpg")  # encrypted but kept too long: medium
    s3world.bucket("riverside")
    s3world.put("riverside", "C-1003_2026-11-02.m4a.gpg", "session.m4a.gpg")
    (tmp_path / "auditor.yaml").write_text(
        "version: 1\nattribution:\n  patterns: ['(?P<client>C-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})']\n"
    )
    out = tmp_path / "r.json"
    res = run_cli(
        "scan", "-q", root, "s3://riverside", "--endpoint-url", s3world.url, "--config", tmp_path / "auditor.yaml",
        "--as-of", "2026-11-22", "-o", out, "-o", tmp_path / "r.xml",
    )  # fmt: skip
    return {"tmp": tmp_path, "root": root, "json": out, "xml": tmp_path / "r.xml", "code": res.exit_code}


def _render(audit: dict[str, Any], *args: str) -> tuple[bytes, int]:
    out = audit["tmp"] / "again.xml"
    res = run_cli("report", "-q", audit["json"], "-o", out, *args)
    assert res.exit_code in (0, 1), res.output
    return out.read_bytes(), res.exit_code


def test_valid_against_the_jenkins_and_the_ant_schemas(audit: dict[str, Any]) -> None:
    assert schema_errors(audit["xml"].read_bytes()) == {name: [] for name in SCHEMAS}
    root = ET.parse(audit["xml"]).getroot()
    for suite in root.iter("testsuite"):
        assert suite.get("time") is not None and len(suite.get("timestamp", "")) == len("2026-11-22T00:00:00")
        assert all(case.get("time") is not None for case in suite.iter("testcase"))


def test_the_schemas_can_fail(audit: dict[str, Any]) -> None:
    """What JUnit was written as before (attributes on testsuites, output inside a case, a
    timestamp with a zone) is what the Ant schema refuses."""
    root = ET.parse(audit["xml"]).getroot()
    root.set("tests", "3")
    suite = root.find("testsuite")
    assert suite is not None
    suite.set("timestamp", "2026-11-22T10:00:00+00:00")
    ET.SubElement(suite.find("testcase"), "system-out").text = "x"  # type: ignore[arg-type]
    errors = schema_errors(ET.tostring(root))
    assert errors["jenkins xunit junit-10"] == []
    assert len(errors["ant"]) >= 3


def test_failures_follow_the_gate_as_gitlab_and_jenkins_count_them(audit: dict[str, Any]) -> None:
    result = json.loads(audit["json"].read_text())
    high = {f["rule"] for f in result["findings"] if f["severity"] in ("critical", "high")}
    medium_only = {f["rule"] for f in result["findings"]} - high
    assert high and medium_only  # both sides of the gate are exercised
    xml = audit["xml"].read_bytes()
    statuses = gitlab_statuses(xml)
    local = str(audit["root"])
    failed = {case for (suite, case), s in statuses.items() if s == "failed"}
    assert failed == high
    assert audit["code"] == 1  # the exit code agrees: something fails the gate
    local_medium = {f["rule"] for f in result["findings"] if f["location"].startswith(local)} & medium_only
    assert local_medium == {"retention-exceeded"}
    assert statuses[(local, "retention-exceeded")] == "success"  # listed, not failed
    suite = next(s for s in ET.fromstring(xml).iter("testsuite") if s.get("name") == local)
    assert "below --fail-on high" in (suite.findtext("system-out") or "")
    # The same result re-rendered under --fail-on critical fails nothing, and exits 0.
    xml, code = _render(audit, "--fail-on", "critical")
    assert code == 0 and "failed" not in gitlab_statuses(xml).values()
    # ... and with --fail-on medium the retention finding (and the medium bucket findings) fail too.
    medium = {f["rule"] for f in result["findings"] if f["severity"] == "medium"}
    assert "retention-exceeded" in medium
    xml, code = _render(audit, "--fail-on", "medium")
    assert code == 1
    assert {c for (_, c), s in gitlab_statuses(xml).items() if s == "failed"} == high | medium
    # `report` without --fail-on gates nothing, and its JUnit fails nothing.
    xml, code = _render(audit)
    assert code == 0 and "failed" not in gitlab_statuses(xml).values()


def test_rules_that_did_not_run_are_skipped_with_the_reason(audit: dict[str, Any]) -> None:
    root = ET.parse(audit["xml"]).getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    local, bucket = suites[str(audit["root"])], suites["s3://riverside"]

    def skipped(suite: ET.Element) -> dict[str, str]:
        return {
            c.get("name", ""): c.find("skipped").get("message", "")  # type: ignore[union-attr]
            for c in suite.iter("testcase")
            if c.find("skipped") is not None
        }

    on_local, on_bucket = skipped(local), skipped(bucket)
    assert on_local["consent-missing"].startswith("not evaluated: no consent registry")
    assert on_local["s3-object-public"] == "applies to s3:// targets only"
    assert on_local["s3-bucket-tls-not-enforced"] == "applies to s3:// targets only"
    assert on_bucket["recording-in-sync-folder"] == "applies to local folders and files only"
    assert "consent-missing" in on_bucket
    assert "s3-object-public" not in on_bucket and "recording-unencrypted" not in on_local  # they ran
    for suite in (local, bucket):  # the counts agree with the cases
        cases = list(suite.iter("testcase"))
        assert int(suite.get("skipped", -1)) == sum(c.find("skipped") is not None for c in cases)
        assert int(suite.get("tests", -1)) == len(cases)


def test_coverage_gaps_are_an_error_on_the_coverage_case(audit: dict[str, Any]) -> None:
    xml = audit["xml"].read_bytes()
    statuses = gitlab_statuses(xml)
    assert statuses[(str(audit["root"]), "coverage")] == "error"  # no consent registry: incomplete
    root = ET.fromstring(xml)
    error = next(c for c in root.iter("testcase") if c.get("name") == "coverage").find("error")
    assert error is not None and error.get("message", "").startswith(
        "incomplete audit: 1 gap(s) (consent-not-checked 1)"
    )
    counts = jenkins_counts(xml)
    failures = sum(s == "failed" for s in statuses.values())
    errors = sum(s == "error" for s in statuses.values())
    assert counts["failed"] == failures + errors  # Jenkins: the incomplete audit makes the build unstable
    assert counts["skipped"] == sum(s == "skipped" for s in statuses.values())
    # With a registry, the audit is complete and the coverage case passes.
    registry = audit["tmp"] / "consent.yaml"
    registry.write_text("version: 1\nclients: []\n")
    out = audit["tmp"] / "full.xml"
    run_cli(
        "scan",
        "-q",
        audit["root"],
        "--consent",
        registry,
        "--config",
        audit["tmp"] / "auditor.yaml",
        "-o",
        out,
    )
    assert gitlab_statuses(out.read_bytes())[(str(audit["root"]), "coverage")] == "success"


def test_new_only_fails_only_new_findings_and_suppressed_never_fail(audit: dict[str, Any]) -> None:
    result = json.loads(audit["json"].read_text())
    unencrypted = next(f for f in result["findings"] if f["rule"] == "recording-unencrypted")
    baseline = dict(result, findings=[f for f in result["findings"] if f is not unencrypted])
    baseline_path = audit["tmp"] / "baseline.json"
    baseline_path.write_text(json.dumps(result))  # everything seen before: nothing is new
    xml, code = _render(audit, "--baseline", str(baseline_path), "--new-only", "--fail-on", "high")
    assert code == 0 and "failed" not in gitlab_statuses(xml).values()
    assert "not new since the baseline (--new-only)" in xml.decode()
    baseline_path.write_text(json.dumps(baseline))  # the unencrypted finding is new
    xml, code = _render(audit, "--baseline", str(baseline_path), "--new-only", "--fail-on", "high")
    assert code == 1
    assert {c for (_, c), s in gitlab_statuses(xml).items() if s == "failed"} == {"recording-unencrypted"}
    ignore = audit["tmp"] / "ignore.yaml"
    ignore.write_text(
        f"version: 1\nsuppressions:\n  - fingerprint: {unencrypted['fingerprint']}\n    reason: assessed RA-12\n"
    )
    xml, code = _render(audit, "--ignore", str(ignore), "--fail-on", "high")
    assert gitlab_statuses(xml)[(str(audit["root"]), "recording-unencrypted")] == "success"
    assert "suppressed: assessed RA-12" in xml.decode()


def _junitparser_view(path: Path) -> tuple[dict[tuple[str, str], str], list[tuple[int, int, int, int]]]:
    """(suite, case) -> junitparser's verdict, and each suite's (tests, failures, errors, skipped)
    as written; the counts are compared with the ones junitparser recomputes from the cases."""
    verdicts = {}
    counts = []
    for suite in junitparser.JUnitXml.fromfile(str(path)):
        for case in suite:
            kinds = {type(r).__name__ for r in case.result}
            verdict = next((k.lower() for k in ("Failure", "Error", "Skipped") if k in kinds), "passed")
            assert case.is_passed == (verdict == "passed")
            verdicts[(suite.name, case.name)] = verdict
        counts.append((suite.tests, suite.failures, suite.errors, suite.skipped))
    return verdicts, counts


def test_junitparser_reads_what_the_gate_decided(audit: dict[str, Any]) -> None:
    """The real library (publish-unit-test-result-action reads JUnit through it): the failures are
    exactly the rules failing the gate, the skipped ones are skipped, the coverage case is an error,
    and the counts on each suite are the ones the library recomputes from its cases."""
    result = json.loads(audit["json"].read_text())
    high = {f["rule"] for f in result["findings"] if f["severity"] in ("critical", "high")}
    verdicts, written = _junitparser_view(audit["xml"])
    assert {case for (_, case), v in verdicts.items() if v == "failure"} == high
    assert verdicts[(str(audit["root"]), "coverage")] == "error"
    assert verdicts[(str(audit["root"]), "retention-exceeded")] == "passed"  # medium: below the gate
    assert verdicts[(str(audit["root"]), "s3-object-public")] == "skipped"
    assert verdicts == {
        k: {"failed": "failure", "success": "passed"}.get(v, v)
        for k, v in gitlab_statuses(audit["xml"].read_bytes()).items()
    }
    xml = junitparser.JUnitXml.fromfile(str(audit["xml"]))
    for suite in xml:
        suite.update_statistics()
    recounted = audit["tmp"] / "recounted.xml"
    xml.write(str(recounted))
    assert _junitparser_view(recounted)[1] == written


def test_control_characters_and_lone_surrogates_are_escaped(audit: dict[str, Any]) -> None:
    result = json.loads(audit["json"].read_text())
    result["findings"][0]["location"] += "\x1b\x00\udcff"
    xml = ET.tostring(to_junit(result))
    ET.fromstring(xml)  # well-formed
    assert b"\\x1b\\x00\\xff" in xml  # the control characters, and the byte 0xff in the lossless form
    assert schema_errors(xml) == {name: [] for name in SCHEMAS}
