"""The source seam (issue 12 §2): every target is resolved and checked before anything is
scanned, and each source gets its own settings (its config section, checked against the schema
it supplies, with its declared command-line options on top), never another source's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.sources.local.source import LocalSource
from tests.conftest import place, run_cli
from tests.conftest_s3 import S3World, fake_aws_env, moto_url, s3world

__all__ = ["moto_url", "s3world"]  # fixtures used by this module


@pytest.fixture
def local_scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The local targets whose walk started."""
    started: list[str] = []
    real = LocalSource.scan

    def recording_scan(self: LocalSource, target: str, coverage):  # type: ignore[no-untyped-def]
        started.append(target)
        return real(self, target, coverage)

    monkeypatch.setattr(LocalSource, "scan", recording_scan)
    return started


def test_an_s3_target_without_credentials_stops_the_scan_before_the_local_walk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_scans: list[str]
) -> None:
    fake_aws_env(monkeypatch, tmp_path, credentials=False)
    practice = tmp_path / "practice"
    place(practice, "session.wav", "session.wav")
    out = tmp_path / "r.json"
    res = run_cli("scan", "-q", practice, "s3://clinic", "-o", out)
    assert res.exit_code == 2, res.output
    [line] = res.output.strip().splitlines()
    assert line.startswith("auditor: error: s3://clinic: no AWS credentials found")
    assert local_scans == []  # the local tree was never walked
    assert not out.exists()


def test_a_missing_local_target_after_a_good_one_is_refused_first(
    tmp_path: Path, local_scans: list[str]
) -> None:
    practice = tmp_path / "practice"
    place(practice, "session.wav", "session.wav")
    res = run_cli("scan", "-q", practice, tmp_path / "nowhere", "-o", tmp_path / "r.json")
    assert res.exit_code == 2
    assert res.output.strip() == f"auditor: error: {tmp_path / 'nowhere'}: no such file or folder"
    assert local_scans == []


def test_a_malformed_s3_target_is_refused_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_scans: list[str]
) -> None:
    fake_aws_env(monkeypatch, tmp_path)
    practice = tmp_path / "practice"
    place(practice, "session.wav", "session.wav")
    res = run_cli("scan", "-q", practice, "s3:/clinic", "-o", tmp_path / "r.json")  # no scheme: a path
    assert res.exit_code == 2 and "s3:/clinic: no such file or folder" in res.output
    assert local_scans == []


def test_source_sections_are_checked_against_each_sources_schema(tmp_path: Path) -> None:
    config = tmp_path / "auditor.yaml"
    config.write_text(
        "version: 1\n"
        "sources:\n"
        "  s3:\n"
        "    endpoint_url: 9000\n"  # line 4: not text
        "    regoin: eu-west-1\n"  # line 5: a typo
        "    role_arns: [not-an-arn]\n"  # line 6
        "  file: {jobs: 3}\n"  # line 7: the local source takes no settings
        "  gcs: {project: x}\n"  # line 8: nothing serves gcs://
    )
    res = run_cli("scan", "-q", tmp_path, "--config", config)
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert lines[0].startswith(f"auditor: error: {config}:4: sources.s3.endpoint_url: must be a string")
    assert f"{config}:5: sources.s3.regoin: unknown key 'regoin' (did you mean 'region'?)" in lines[1]
    assert lines[2].startswith(f"{config}:6: sources.s3.role_arns[0]: must match the pattern")
    assert lines[3] == f"{config}:7: sources.file.jobs: unknown key 'jobs'"
    assert lines[4] == f"{config}:8: sources.gcs: unknown key 'gcs' (expected one of: file, s3)"
    assert len(lines) == 5


def test_the_config_section_reaches_the_source_and_the_command_line_wins(
    tmp_path: Path, s3world: S3World
) -> None:
    s3world.bucket("clinic")
    s3world.put("clinic", "C-1001/session.wav", "session.wav")
    config = tmp_path / "auditor.yaml"
    config.write_text(f"version: 1\nsources:\n  s3:\n    endpoint_url: {s3world.url}\n")
    out = tmp_path / "r.json"
    res = run_cli("scan", "-q", "s3://clinic", "--config", config, "-o", out, "--fail-on", "none")
    assert res.exit_code == 0, res.output
    assert [r["location"] for r in json.loads(out.read_text())["recordings"]] == [
        "s3://clinic/C-1001/session.wav"
    ]

    # A dead endpoint in the file, the live one on the command line: the command line wins.
    config.write_text("version: 1\nsources:\n  s3:\n    endpoint_url: http://127.0.0.1:9\n")
    res = run_cli(
        "scan", "-q", "s3://clinic", "--config", config, "--endpoint-url", s3world.url, "-o", out,
        "--fail-on", "none",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    # ... and without it, the file's setting is the one used.
    res = run_cli("scan", "-q", "s3://clinic", "--config", config, "-o", out)
    assert res.exit_code == 2 and "cannot reach S3" in res.output


def test_sources_receive_only_their_own_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.sources.local import source as local_module

    seen: list[object] = []
    real_init = local_module.LocalSource.__init__

    def spy(self, config, options, settings=None):  # type: ignore[no-untyped-def]
        seen.append(settings)
        real_init(self, config, options, settings)

    monkeypatch.setattr(local_module.LocalSource, "__init__", spy)
    place(tmp_path / "practice", "session.wav", "session.wav")
    res = run_cli(
        "scan", "-q", tmp_path / "practice", "--profile", "p", "--region", "r", "-o", tmp_path / "r.json",
        "--fail-on", "none",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert seen == [{}]  # the S3 options given went to no other source


def test_redaction_hides_what_the_artifact_declares_even_outside_the_target() -> None:
    """A plugin source whose locations do not start with its target (an archive member): the
    names to hide come from each artifact's relpath, by contract, not from the target prefix."""
    from auditor.redact import Redactor

    location = "archive:///srv/backup.tar!C-1001 Smith/intake/session.wav"
    result = {
        "targets": ["archive:///srv/backup.tar"],
        "recordings": [
            {
                "location": location,
                "relpath": "C-1001 Smith/intake/session.wav",
                "target": "archive:///srv/backup.tar",
                "client": "C-1001",
            }
        ],
        "findings": [
            {"rule": "recording-unencrypted", "location": location, "message": f"{location} is plain"}
        ],
        "coverage": {
            "skipped": [{"location": "archive:///srv/backup.tar!C-1001 Smith/notes", "reason": "x"}]
        },
    }
    Redactor(b"a key of sixteen+ chars").redact(result)
    text = json.dumps(result)
    assert "Smith" not in text and "intake" not in text and "session" not in text
    shown = result["recordings"][0]["location"]
    assert shown.startswith("archive:///srv/backup.tar!n-") and shown.endswith(".wav")
    assert result["findings"][0]["location"] == shown
    assert result["coverage"]["skipped"][0]["location"].startswith("archive:///srv/backup.tar!n-")
