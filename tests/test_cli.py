"""End-to-end CLI behaviour: exit codes, input errors, outputs, --as-of, rules listing."""

from __future__ import annotations

import importlib
import json
import os
import stat
from pathlib import Path

import pytest

from auditor.cli import main
from tests.conftest import place, run_cli, run_module


def _practice(tmp_path: Path) -> Path:
    root = tmp_path / "practice"
    place(root, "C-1001_2026-11-10_supervision.m4a.gpg", "session.m4a.gpg")  # encrypted, private
    return root


def _config(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "consent.yaml").write_text(
        "version: 1\nclients:\n  - id: C-1001\n    consents:\n      - {granted: 2026-01-01, purposes: [supervision]}\n"
    )
    cfg = tmp_path / "auditor.yaml"
    cfg.write_text(
        "version: 1\nconsent_registry: consent.yaml\nattribution:\n"
        "  patterns: ['(?P<client>C-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})_(?P<purpose>[a-z]+)']\n" + extra
    )
    return cfg


def test_python_dash_m_and_version() -> None:
    res = run_module("--version")
    assert res.returncode == 0
    assert "recording-auditor" in res.stdout


def test_clean_practice_exits_0_and_writes_json(tmp_path: Path) -> None:
    root = _practice(tmp_path)
    out = tmp_path / "r.json"
    res = run_cli("scan", root, "--config", _config(tmp_path), "--as-of", "2026-11-20", "-o", out)
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert data["findings"] == []
    assert data["summary"]["compliant_recordings"] == 1
    assert data["as_of"] == "2026-11-20"
    assert data["coverage"]["complete"] is True
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # results carry PHI
    assert "1 recordings, 1 compliant" in res.output


def test_findings_at_or_above_fail_on_exit_1(tmp_path: Path) -> None:
    root = _practice(tmp_path)
    place(root, "C-1001_2026-11-11_supervision.wav", "session.wav")  # plaintext: unencrypted (high)
    cfg = _config(tmp_path)
    assert run_cli("scan", "-q", root, "--config", cfg, "--as-of", "2026-11-20").exit_code == 1
    assert (
        run_cli(
            "scan", "-q", root, "--config", cfg, "--as-of", "2026-11-20", "--fail-on", "critical"
        ).exit_code
        == 0
    )
    assert (
        run_cli("scan", "-q", root, "--config", cfg, "--as-of", "2026-11-20", "--fail-on", "none").exit_code
        == 0
    )


def test_as_of_makes_audits_reproducible(tmp_path: Path) -> None:
    root = _practice(tmp_path)
    cfg = _config(tmp_path, "retention: {by_purpose: {supervision: 30}}\n")
    early = run_cli("scan", "-q", root, "--config", cfg, "--as-of", "2026-12-10", "-o", tmp_path / "a.json")
    late = run_cli("scan", "-q", root, "--config", cfg, "--as-of", "2026-12-11", "-o", tmp_path / "b.json")
    a = json.loads((tmp_path / "a.json").read_text())
    b = json.loads((tmp_path / "b.json").read_text())
    assert early.exit_code == 0 and [f["rule"] for f in a["findings"]] == []
    assert [f["rule"] for f in b["findings"]] == ["retention-exceeded"]  # 31 days > 30
    assert late.exit_code == 0  # medium is below the default --fail-on high


def test_config_error_exits_2_names_file_line_key_and_writes_nothing(tmp_path: Path) -> None:
    root = _practice(tmp_path)
    cfg = tmp_path / "auditor.yaml"
    cfg.write_text("version: 1\nretention:\n  default_days: 90\n  by_purpse: {supervision: 30}\n")
    out = tmp_path / "r.json"
    res = run_module("scan", root, "--config", cfg, "-o", out)
    assert res.returncode == 2
    assert f"{cfg}:4" in res.stderr
    assert "by_purpse" in res.stderr and "by_purpose" in res.stderr  # did-you-mean
    assert not out.exists()  # no partial report that looks complete


def test_registry_error_exits_2_with_line(tmp_path: Path) -> None:
    root = _practice(tmp_path)
    cfg = _config(tmp_path)
    (tmp_path / "consent.yaml").write_text(
        "version: 1\nclients:\n  - id: C-1\n    consents:\n      - {granted: 2026-02-30, purposes: [x]}\n"
    )
    res = run_module("scan", root, "--config", cfg, "-o", tmp_path / "r.json")
    assert res.returncode == 2
    assert "consent.yaml:5" in res.stderr
    assert not (tmp_path / "r.json").exists()


def test_unknown_rule_in_config_is_an_error_with_line(tmp_path: Path) -> None:
    cfg = _config(tmp_path, "rules:\n  disable: [recording-unencrypted, recording-unencryptd]\n")
    res = run_module("scan", _practice(tmp_path), "--config", cfg)
    assert res.returncode == 2
    assert "recording-unencryptd" in res.stderr
    assert "did you mean 'recording-unencrypted'" in res.stderr
    assert f"{cfg}:6" in res.stderr


def test_missing_target_and_unknown_format_are_usage_errors(tmp_path: Path) -> None:
    assert run_module("scan", tmp_path / "nope").returncode == 2
    res = run_module("scan", tmp_path, "-o", tmp_path / "report.docx")
    assert res.returncode == 2
    assert ".docx" in res.stderr


def test_rules_lists_builtin_pack_and_added_pack(tmp_path: Path) -> None:
    res = run_cli("rules", "--json")
    data = json.loads(res.output)
    ids = {r["id"] for r in data["rules"]}
    assert {
        "recording-unencrypted",
        "breach-unsecured-exposure",
        "retention-exceeded",
        "consent-missing",
    } <= ids
    assert any(p["name"] == "core" for p in data["packs"])

    pack = tmp_path / "strict.yaml"
    pack.write_text(
        "pack: strict\nversion: '2'\nrules:\n  retention-exceeded:\n    severity: critical\n"
        "  recording-encryption-unknown:\n    enabled: false\n"
    )
    data = json.loads(run_cli("rules", "--json", "--rules", pack).output)
    by_id = {r["id"]: r for r in data["rules"]}
    assert by_id["retention-exceeded"]["severity"] == "critical"
    assert by_id["retention-exceeded"]["pack"] == "strict"
    assert "recording-encryption-unknown" in data["disabled"]


def test_rule_pack_with_unknown_rule_exits_2_with_line(tmp_path: Path) -> None:
    pack = tmp_path / "typo.yaml"
    pack.write_text("pack: t\nversion: '1'\nrules:\n  retention-exceded:\n    severity: low\n")
    res = run_module("rules", "--rules", pack)
    assert res.returncode == 2
    assert f"{pack}:4" in res.stderr
    assert "retention-exceeded" in res.stderr


def test_pack_severity_changes_scan_outcome(tmp_path: Path) -> None:
    root = _practice(tmp_path)
    cfg = _config(tmp_path, "retention: {by_purpose: {supervision: 1}}\n")
    pack = tmp_path / "strict.yaml"
    pack.write_text("pack: strict\nversion: '1'\nrules:\n  retention-exceeded: {severity: high}\n")
    assert run_cli("scan", "-q", root, "--config", cfg, "--as-of", "2026-12-30").exit_code == 0
    assert (
        run_cli("scan", "-q", root, "--config", cfg, "--as-of", "2026-12-30", "--rules", pack).exit_code == 1
    )


def test_report_rerenders_a_saved_result(tmp_path: Path) -> None:
    root = _practice(tmp_path)
    place(root, "C-1001_2026-11-11_supervision.wav", "session.wav")
    first = tmp_path / "first.json"
    run_cli("scan", "-q", root, "--config", _config(tmp_path), "--as-of", "2026-11-20", "-o", first)
    again = tmp_path / "again.json"
    res = run_cli("report", first, "-o", again)
    assert res.exit_code == 0  # `report` only re-renders: it gates only when asked to
    assert json.loads(again.read_text())["findings"] == json.loads(first.read_text())["findings"]
    assert run_cli("report", first, "-o", again, "--fail-on", "high").exit_code == 1  # the scan's gate
    assert run_cli("report", first, "-o", again, "--fail-on", "critical").exit_code == 0
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    res = run_module("report", bad, "-o", tmp_path / "x.json")
    assert res.returncode == 2
    assert "bad.json:1" in res.stderr


def test_no_registry_is_reported_as_a_coverage_gap(tmp_path: Path) -> None:
    root = _practice(tmp_path)
    out = tmp_path / "r.json"
    (root / "locked").mkdir(mode=0o000)  # plus a real hole, when not root
    res = run_cli("scan", root, "-o", out, "--fail-on", "none")
    cov = json.loads(out.read_text())["coverage"]
    assert cov["complete"] is False
    assert cov["skipped"][0]["reason"] == "consent-not-checked"
    # The terminal says how many gaps and of which kinds, not only that there are some.
    expected = "consent-not-checked 1" + ("" if os.geteuid() == 0 else ", permission-denied 1")
    assert f"gap(s) in the audit ({expected})" in res.output
    os.chmod(root / "locked", 0o700)


def test_interrupted_scan_exits_130_not_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Exit 1 means "findings" to CI; an interrupted audit must not look like one.
    scan_module = importlib.import_module("auditor.cli.scan")  # imported on first use of `scan`

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(scan_module, "run_scan", interrupted)
    monkeypatch.setattr(
        "sys.argv", ["auditor", "scan", "-q", str(_practice(tmp_path)), "-o", str(tmp_path / "r.json")]
    )
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 130
    assert "interrupted" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()


def test_main_keeps_click_exit_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    for argv, code in ((["auditor", "--version"], 0), (["auditor", "scan"], 2), (["auditor", "nope"], 2)):
        monkeypatch.setattr("sys.argv", argv)
        with pytest.raises(SystemExit) as exit_info:
            main()
        assert exit_info.value.code == code, argv


def test_scan_collector_pause_leaves_the_collector_on_and_the_scan_objects_frozen() -> None:
    """The scan's objects are frozen on the way out, so the collector's next pass skips them,
    and the collector is on again: only a one-shot command may rely on that."""
    import gc

    from auditor.cli.common import no_cyclic_gc

    assert gc.isenabled()
    before = gc.get_freeze_count()
    try:
        with no_cyclic_gc():
            assert not gc.isenabled()
            kept = [[i] for i in range(1000)]
        assert gc.isenabled()
        assert gc.get_freeze_count() >= before + len(kept)
    finally:
        gc.unfreeze()  # other tests run in this process
        gc.enable()


@pytest.mark.parametrize(("fixture", "expected"), [("session.m4a.gpg", 0), ("session.wav", 1)])
def test_the_process_ends_fast_with_the_right_code_and_everything_flushed(
    tmp_path: Path, fixture: str, expected: int
) -> None:
    """`auditor scan` as a process skips freeing its results at exit (os._exit): the exit code,
    the whole summary on a piped stdout, and the reports must all still be there."""
    root = tmp_path / "practice"
    place(root, f"C-1001_2026-11-10_supervision.{fixture.split('.', 1)[1]}", fixture)
    out, html = tmp_path / "r.json", tmp_path / "r.html"
    cfg = _config(tmp_path)
    res = run_module("scan", root, "--config", cfg, "--as-of", "2026-11-20", "-o", out, "-o", html)
    assert res.returncode == expected, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("recording-auditor ") and lines[-2:] == [f"wrote {out}", f"wrote {html}"]
    assert json.loads(out.read_text())["summary"]["recordings"] == 1
    assert html.read_text().rstrip().endswith("</html>")
    # The same command through `auditor report` (a saved result) ends the same way.
    again = run_module("report", out, "-o", tmp_path / "again.json", "--fail-on", "high")
    assert again.returncode == expected, again.stderr
    assert again.stdout.splitlines()[-1] == f"wrote {tmp_path / 'again.json'}"


def test_results_are_kept_for_a_fast_exit_only_by_the_console_entry_point() -> None:
    from auditor.cli import process_exit

    process_exit.keep_until_exit(object())  # in-process use (tests, a library): freed as usual
    assert process_exit._kept == []
    with process_exit.keeping():  # as while main() runs a command
        kept = object()
        process_exit.keep_until_exit(kept)
    assert process_exit._kept == [kept]
    process_exit.keep_until_exit(object())  # and only then
    assert process_exit._kept == [kept]
    process_exit._kept.clear()  # this process must end as usual
    with pytest.raises(SystemExit) as exit_info:
        process_exit.exit_process(3)  # nothing kept: an ordinary exit
    assert exit_info.value.code == 3
