"""The CI examples in docs/ run as written, night after night against a real S3 server: the GitHub
Actions workflow's shell steps (the upload it makes must pass GitHub's published rules) and the
GitLab job's script (its JUnit, read as GitLab reads it, must fail what the gate fails)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO, place
from tests.conftest_s3 import S3World, moto_url, s3world
from tests.github_sarif import upload_problems
from tests.test_junit import gitlab_statuses  # GitLab's reading of the cases (junit.rb)

__all__ = ["moto_url", "s3world"]  # fixtures used by this module

WORKFLOW = REPO / "docs" / "examples" / "github-actions.yml"


def _steps() -> dict[str, dict[str, Any]]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    (job,) = workflow["jobs"].values()
    return {step.get("name", step.get("uses", "")): step for step in job["steps"]}


def _run_step(step: dict[str, Any], cwd: Path, env: dict[str, str], practice: Path) -> int:
    script = step["run"].replace("/srv/therapy", str(practice))
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env, timeout=300).returncode


def test_the_github_actions_workflow_runs_and_its_upload_would_be_accepted(
    tmp_path: Path, s3world: S3World
) -> None:
    steps = _steps()
    upload = steps["Upload SARIF"]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["with"]["category"]  # the category is upload-sarif's: the SARIF must not set its own
    work = tmp_path / "checkout"
    work.mkdir()
    (work / "auditor.yaml").write_text(
        "version: 1\nattribution:\n  patterns: ['(?P<client>C-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})']\n"
    )
    practice = tmp_path / "practice"
    place(practice, "C-1001_2026-11-10.m4a.gpg", "session.m4a.gpg")
    s3world.bucket("riverside-recordings")
    s3world.put("riverside-recordings", "C-1002_2026-11-02.wav", "session.wav")
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "AWS_ENDPOINT_URL_S3": s3world.url,
        "AUDITOR_REDACTION_KEY": "a-long-enough-redaction-key",
        "GITHUB_OUTPUT": str(tmp_path / "github_output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "step_summary.md"),
    }
    codes = []
    for night in (1, 2):
        if night == 2:  # a new plaintext recording appears: the second night fails on it alone
            place(practice, "C-1003_2026-11-20.wav", "session.wav")
            shutil.rmtree(work / "out")
        (tmp_path / "github_output").write_text("")
        assert _run_step(steps["Scan"], work, env, practice) == 0  # the step records the code, never fails
        code = int((tmp_path / "github_output").read_text().strip().removeprefix("code="))
        assert _run_step(steps["Redacted SARIF and summary"], work, env, practice) == 0
        raw = (work / "out" / "audit.sarif").read_bytes()
        assert upload_problems(raw) == []
        sarif = json.loads(raw)
        assert "automationDetails" not in sarif["runs"][0]
        assert "C-100" not in json.dumps(sarif["runs"][0]["results"])  # names and client ids are redacted
        assert _run_step(steps["Save the result as tomorrow's baseline"], work, env, practice) == 0
        codes.append(code)
    assert codes == [1, 1]  # night 1: everything is new; night 2: only the new recording
    second = json.loads((work / "out" / "audit.json").read_text())
    new = {f["location"] for f in second["findings"] if f.get("status") == "new"}
    assert new == {str(practice / "C-1003_2026-11-20.wav")}
    junit = (work / "out" / "audit.xml").read_text()
    assert junit.count("<failure") == len({f["rule"] for f in second["findings"] if f.get("status") == "new"})


def _gitlab_job() -> dict[str, Any]:
    block = (REPO / "docs" / "ci.md").read_text().split("```yaml\nrecording-audit:", 1)[1].split("```", 1)[0]
    job: dict[str, Any] = yaml.safe_load("recording-audit:" + block)["recording-audit"]
    return job


def _run_gitlab_script(job: dict[str, Any], cwd: Path, env: dict[str, str], practice: Path) -> int:
    """The job's script as GitLab's runner runs it with a bash shell: every line in one shell
    session under `set -eo pipefail`, the job failing with the first command that does. The
    package is already installed here: the `pip install` line is the only one left out."""
    lines = [line for line in job["script"] if not line.startswith("pip install")]
    script = "set -eo pipefail\n" + "\n".join(lines).replace("/srv/therapy", str(practice))
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env, timeout=300).returncode


def test_the_gitlab_job_runs_as_written_and_its_junit_fails_what_the_gate_fails(
    tmp_path: Path, s3world: S3World
) -> None:
    job = _gitlab_job()
    assert job["artifacts"]["reports"]["junit"] == "out/audit.xml"
    assert job["cache"]["paths"] == ["baseline/"]
    work = tmp_path / "checkout"
    work.mkdir()
    (work / "auditor.yaml").write_text(
        "version: 1\nattribution:\n  patterns: ['(?P<client>C-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})']\n"
    )
    practice = tmp_path / "practice"
    place(practice, "C-1001_2026-11-10.m4a.gpg", "session.m4a.gpg")
    place(practice, "C-1004_2026-11-12.wav", "session.wav")
    s3world.bucket("riverside-recordings")
    s3world.put("riverside-recordings", "C-1002_2026-11-02.m4a.gpg", "session.m4a.gpg")
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "AWS_ENDPOINT_URL_S3": s3world.url,
        "AUDITOR_REDACTION_KEY": "a-long-enough-redaction-key",
    }
    codes, failed = [], []
    for night in (1, 2, 3):
        # Night 2: nothing changed, no new finding, the job passes.
        if night == 3:  # a new plaintext recording: only it fails the job
            place(practice, "C-1003_2026-11-20.wav", "session.wav")
        shutil.rmtree(work / "out", ignore_errors=True)  # artifacts are per job; the cache stays
        codes.append(_run_gitlab_script(job, work, env, practice))
        junit = (work / "out" / "audit.xml").read_bytes()
        assert b"C-100" not in junit  # rendered with --redact: no client id in the Tests tab
        failed.append(sorted(case for (_, case), s in gitlab_statuses(junit).items() if s == "failed"))
        assert (work / "baseline" / "audit.json").exists()
    assert codes == [1, 0, 1]
    assert failed == [["recording-unencrypted"], [], ["recording-unencrypted"]]
    result = json.loads((work / "out" / "audit.json").read_text())
    assert {f["location"] for f in result["findings"] if f.get("status") == "new"} == {
        str(practice / "C-1003_2026-11-20.wav")
    }
