"""The command line's conventions, run as a real process where streams and exit codes matter:
exit 1 only for findings, checks before the scan, write failures on a real full filesystem,
reports on stdout, --quiet, which config was used, and how numbers look."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from auditor.cli import main
from tests.conftest import place, run_cli, run_module

SEVERITY_CODE = {"critical": "c", "high": "b", "medium": "a", "low": "9", "info": "8"}


def _practice(tmp_path: Path) -> Path:
    root = tmp_path / "practice"
    place(root, "C-1001_2026-11-10.wav", "session.wav")  # unencrypted: high
    return root


def _only_line(stderr: str) -> str:
    """The one line an error takes (beside the note on the config used, said before the scan)."""
    lines = [
        line for line in stderr.splitlines() if line.strip() and not line.startswith("auditor: config: ")
    ]
    assert len(lines) == 1, stderr
    return lines[0]


# --- exit 1 means findings and nothing else -------------------------------------------------


def test_an_unexpected_exception_exits_70_with_one_line_and_a_saved_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    scan_module = importlib.import_module("auditor.cli.scan")  # subcommands load on first use

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("the bug")

    monkeypatch.setattr(scan_module, "run_scan", broken)
    monkeypatch.setenv("AUDITOR_CRASH_DIR", str(tmp_path))
    monkeypatch.setattr("sys.argv", ["auditor", "scan", "-q", str(_practice(tmp_path))])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 70  # never 1 ("findings"), never 2 (the user's mistake)
    err = capsys.readouterr().err
    line = _only_line(err)
    assert line.startswith("auditor: internal error: ZeroDivisionError: the bug; the full traceback is in ")
    (saved,) = tmp_path.glob("auditor-crash-*.txt")
    assert str(saved) in line and "Traceback" not in err
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600  # a traceback can quote paths
    text = saved.read_text()
    assert "Traceback (most recent call last)" in text and "ZeroDivisionError: the bug" in text
    assert "auditor scan -q" in text and "recording-auditor" in text


@pytest.mark.parametrize(
    "stop",
    [
        SystemExit("a plugin: cannot reach the vault"),
        click.ClickException("a plugin: cannot reach the vault"),
    ],
    ids=["sys.exit(message)", "click.ClickException"],
)
def test_a_message_exit_from_code_we_call_is_an_error_never_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stop: BaseException
) -> None:
    """sys.exit("...") is 1 for Python and a bare ClickException is 1 for click; a plugin (or our own
    code) stopping that way must not read as "findings" in CI."""
    scan_module = importlib.import_module("auditor.cli.scan")

    def stops(*args: object, **kwargs: object) -> None:
        raise stop

    monkeypatch.setattr(scan_module, "run_scan", stops)
    monkeypatch.setattr("sys.argv", ["auditor", "scan", "-q", str(_practice(tmp_path))])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    assert "a plugin: cannot reach the vault" in capsys.readouterr().err


def test_an_unknown_url_scheme_is_a_usage_error_before_the_scan(tmp_path: Path) -> None:
    res = run_module("scan", "ftp://server/recordings", "-o", tmp_path / "r.json")
    assert res.returncode == 2
    assert _only_line(res.stderr) == (
        "auditor: error: ftp://server/recordings: no source handles ftp:// targets (installed: local paths, s3://)"
    )
    assert not (tmp_path / "r.json").exists()


def test_a_missing_local_target_is_checked_before_anything_is_written(tmp_path: Path) -> None:
    res = run_module("scan", _practice(tmp_path), tmp_path / "nope", "-o", tmp_path / "r.json")
    assert res.returncode == 2
    assert _only_line(res.stderr) == f"auditor: error: {tmp_path / 'nope'}: no such file or folder"
    assert not (tmp_path / "r.json").exists()


# --- outputs checked before the scan ---------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("no/such/dir/x.html", "{out}: folder {parent} does not exist"),
        (
            "report",
            "{out}: no extension to choose the format by: use one of .csv, .html, .json, .md, .sarif, .xml",
        ),
        ("report.docx", "{out}: no output format for '.docx' (known: .csv, .html, .json, .md, .sarif, .xml)"),
        ("a-folder", "{out}: is a folder: give a file name"),
    ],
)
def test_every_output_is_checked_before_the_scan_with_one_line(
    tmp_path: Path, output: str, expected: str
) -> None:
    (tmp_path / "a-folder").mkdir()
    out = tmp_path / output
    first = tmp_path / "first.json"
    res = run_module("scan", _practice(tmp_path), "-o", first, "-o", out)
    assert res.returncode == 2
    assert _only_line(res.stderr) == "auditor: error: " + expected.format(out=out, parent=out.parent)
    assert not first.exists()  # nothing scanned, nothing written
    assert res.stdout == ""


def test_the_same_output_twice_and_stdout_without_a_format_are_usage_errors(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    res = run_module("scan", _practice(tmp_path), "-o", out, "-o", out)
    assert res.returncode == 2 and _only_line(res.stderr) == f"auditor: error: {out}: given twice with -o"
    res = run_module("scan", _practice(tmp_path), "-o", "-")
    assert res.returncode == 2
    assert _only_line(res.stderr) == (
        "auditor: error: -o -: say which format goes to stdout with --format (csv, html, json, md, sarif, xml)"
    )
    res = run_module("scan", _practice(tmp_path), "--format", "pdf")
    assert res.returncode == 2
    assert "no output format 'pdf'" in _only_line(res.stderr)


def test_a_broken_template_is_an_input_error_before_the_scan(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "report.html.j2").write_text(
        '{% extends "builtin/report.html.j2" %}\n{% block head_extra %}{% if %}\n'
    )
    out = tmp_path / "r.html"
    res = run_module(
        "scan", _practice(tmp_path), "--template", templates, "-o", tmp_path / "r.json", "-o", out
    )
    assert res.returncode == 2
    assert _only_line(res.stderr) == (
        f"auditor: error: {templates / 'report.html.j2'}:2: template syntax error: "
        "Expected an expression, got 'end of statement block'"
    )
    assert not (tmp_path / "r.json").exists()


def test_a_template_that_fails_while_rendering_is_an_input_error_too(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "report.html.j2").write_text(
        '{% extends "builtin/report.html.j2" %}\n{% block head_extra %}\n{{ no_such_value.x }}{% endblock %}\n'
    )
    out = tmp_path / "r.html"
    res = run_module("scan", _practice(tmp_path), "--template", templates, "-o", out)
    assert res.returncode == 2
    assert _only_line(res.stderr) == (
        f"auditor: error: {templates / 'report.html.j2'}:3: template error: 'no_such_value' is undefined"
    )
    assert list(tmp_path.glob("*.html")) == [] and list(tmp_path.glob(".*tmp")) == []


# --- writing fails anyway ------------------------------------------------------------------


@contextlib.contextmanager
def tmpfs(path: Path, size: str, *options: str) -> Iterator[Path]:
    """A real small filesystem: tmpfs needs root (CAP_SYS_ADMIN), as the CI containers have."""
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join((f"size={size}", *options)), "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_full_disk_exits_2_names_what_was_written_and_leaves_no_partial_file(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "full", "256k") as full:
        free = os.statvfs(full).f_bavail * os.statvfs(full).f_frsize
        (full / "filler").write_bytes(b"\0" * (free - 64 * 1024))  # 64 KiB left: the JSON fits, the HTML not
        out_json, out_html, out_sarif = full / "r.json", full / "r.html", full / "r.sarif"
        res = run_module("scan", _practice(tmp_path), "-o", out_json, "-o", out_html, "-o", out_sarif)
        assert res.returncode == 2, res.stderr
        assert _only_line(res.stderr) == (
            f"auditor: error: {out_html}: could not write it: No space left on device "
            f"(written: {out_json}; not written: {out_html}, {out_sarif})"
        )
        assert sorted(p.name for p in full.iterdir()) == ["filler", "r.json"]  # no partial, no temporary file
        assert json.loads(out_json.read_text())["summary"]["recordings"] == 1  # and that one is whole


def test_a_read_only_folder_is_refused_before_the_scan(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "64k", "ro") as ro:
        res = run_module("scan", _practice(tmp_path), "-o", ro / "r.json")
        assert res.returncode == 2
        assert _only_line(res.stderr) == f"auditor: error: {ro / 'r.json'}: folder {ro} is not writable"


def test_a_folder_that_vanishes_during_the_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scan_module = importlib.import_module("auditor.cli.scan")  # subcommands load on first use
    real_scan = scan_module.run_scan
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    def scan_then_lose_the_folder(*args: object, **kwargs: object) -> object:
        result = real_scan(*args, **kwargs)
        out_dir.rmdir()  # e.g. a cleanup job, or an unmounted share
        return result

    monkeypatch.setattr(scan_module, "run_scan", scan_then_lose_the_folder)
    first = tmp_path / "r.json"
    res = run_cli("scan", "-q", _practice(tmp_path), "-o", first, "-o", out_dir / "r.html")
    assert res.exit_code == 2
    assert res.stderr.strip() == (
        f"auditor: error: {out_dir / 'r.html'}: could not write it: folder {out_dir} no longer exists "
        f"(written: {first}; not written: {out_dir / 'r.html'})"
    )
    assert first.exists()


def _with_stdout(stdout: int | Path, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m auditor ARGS` with stdout on `stdout`: a pipe's write end whose reader is already
    gone, or a file such as /dev/full (every write ENOSPC)."""
    if isinstance(stdout, Path):
        with stdout.open("w") as out:
            return _with_stdout(out.fileno(), *args, cwd=cwd)
    cmd = [sys.executable, "-m", "auditor", *map(str, args)]
    return subprocess.run(cmd, cwd=cwd, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120)


@contextlib.contextmanager
def _closed_pipe() -> Iterator[int]:
    """A pipe whose reader closed it before the command printed anything (`auditor rules | true`)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        yield write_end
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "command", [["rules"], ["rules", "--json"], ["plugins"], ["--help"], ["--version"], ["scan", "--help"]]
)
def test_a_reader_that_goes_away_is_not_findings(tmp_path: Path, command: list[str]) -> None:
    """click turns an EPIPE into exit 1, which CI reads as findings: it is 141 (128 + SIGPIPE), quietly."""
    with _closed_pipe() as stdout:
        res = _with_stdout(stdout, *command, cwd=tmp_path)
    assert (res.returncode, res.stderr) == (141, "")


@pytest.mark.parametrize("command", [["rules"], ["rules", "--json"], ["plugins"], ["--help"], ["--version"]])
def test_an_answer_stdout_cannot_take_is_an_output_error(tmp_path: Path, command: list[str]) -> None:
    """`auditor rules > /dev/full` (every write ENOSPC) was exit 70, "a bug, attach the traceback":
    a full disk is the environment's, an output error (2) in one line, and never 1."""
    res = _with_stdout(Path("/dev/full"), *command, cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert (
        _only_line(res.stderr)
        == "auditor: error: stdout: could not write the answer: No space left on device"
    )


def test_the_summary_to_a_closed_pipe_leaves_the_gate_its_say(tmp_path: Path) -> None:
    root = _practice(tmp_path)
    for fail_on, expected in (("high", 1), ("none", 0)):
        out = tmp_path / f"{fail_on}.json"
        with _closed_pipe() as stdout:
            res = _with_stdout(stdout, "scan", root, "-o", out, "--fail-on", fail_on, cwd=tmp_path)
        assert res.returncode == expected, res.stderr
        assert [line for line in res.stderr.splitlines() if not line.startswith("auditor: config: ")] == []
        assert json.loads(out.read_text())["summary"]["recordings"] == 1


def test_a_summary_that_cannot_be_written_is_an_output_error(tmp_path: Path) -> None:
    root = _practice(tmp_path)
    out_json, out_sarif = tmp_path / "r.json", tmp_path / "r.sarif"
    res = _with_stdout(Path("/dev/full"), "scan", root, "-o", out_json, "-o", out_sarif, cwd=tmp_path)
    assert res.returncode == 2
    assert _only_line(res.stderr) == (
        "auditor: error: stdout: could not write the summary: No space left on device "
        f"(the reports were written: {out_json}, {out_sarif})"
    )
    assert json.loads(out_json.read_text())["summary"]["recordings"] == 1


# --- reports on stdout, the summary, --quiet -----------------------------------------------


def test_format_writes_the_report_to_stdout_and_the_summary_to_stderr(tmp_path: Path) -> None:
    root = _practice(tmp_path)
    res = run_module("scan", root, "--format", "json", "--fail-on", "none", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    result = json.loads(res.stdout)  # stdout is the report and nothing else
    assert result["summary"]["recordings"] == 1
    assert "findings: 2 (2 high)" in res.stderr and "recording-auditor" in res.stderr
    # `-o -` says the same; files can be written beside it, and a pipe's reader sees SARIF only.
    out = tmp_path / "r.json"
    res = run_module(
        "scan", root, "-o", out, "--format", "sarif", "-o", "-", "--fail-on", "none", cwd=tmp_path
    )
    assert json.loads(res.stdout)["version"] == "2.1.0"
    assert f"wrote {out}" in res.stderr and out.exists()
    # The exit code still gates.
    assert run_module("scan", root, "--format", "csv", cwd=tmp_path).returncode == 1


def test_the_summary_goes_to_stdout_when_no_report_does(tmp_path: Path) -> None:
    res = run_module(
        "scan", _practice(tmp_path), "-o", tmp_path / "r.json", "--fail-on", "none", cwd=tmp_path
    )
    assert res.stdout.splitlines()[1] == "findings: 2 (2 high)"
    assert res.stderr.splitlines() == [
        "auditor: config: none (no ./auditor.yaml); ignore file: none (no ./.auditor-ignore.yaml)"
    ]


def test_quiet_prints_nothing_but_errors(tmp_path: Path) -> None:
    res = run_module("scan", "-q", _practice(tmp_path), "-o", tmp_path / "r.json", cwd=tmp_path)
    assert res.returncode == 1  # findings: the exit code says so, the terminal stays silent
    assert (res.stdout, res.stderr) == ("", "")
    res = run_module("report", "-q", tmp_path / "r.json", "-o", tmp_path / "r.md", cwd=tmp_path)
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")
    res = run_module("scan", "-q", tmp_path / "gone", cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.startswith("auditor: error: ")


# --- which config and ignore file ---------------------------------------------------------


def test_config_and_ignore_file_found_in_the_working_directory_are_named(tmp_path: Path) -> None:
    root = _practice(tmp_path)
    (tmp_path / "auditor.yaml").write_text("version: 1\n")
    (tmp_path / ".auditor-ignore.yaml").write_text("version: 1\nsuppressions: []\n")
    res = run_module("scan", root, "--fail-on", "none", cwd=tmp_path)
    assert res.stderr.splitlines() == [
        "auditor: config: ./auditor.yaml (found in the working directory); "
        "ignore file: ./.auditor-ignore.yaml (found in the working directory)"
    ]
    res = run_module("scan", root, "--config", tmp_path / "auditor.yaml", "--fail-on", "none", cwd=root)
    assert res.stderr.splitlines() == [
        f"auditor: config: {tmp_path / 'auditor.yaml'}; ignore file: none (no ./.auditor-ignore.yaml)"
    ]


def test_files_inside_the_scanned_tree_never_configure_the_audit(tmp_path: Path) -> None:
    """Anyone who can write into the audited tree could otherwise switch rules off or suppress
    findings (docs/config.md): unlike checkov, the scanned directory is not searched."""
    root = _practice(tmp_path)
    (root / "auditor.yaml").write_text("version: 1\nrules:\n  disable: [recording-unencrypted]\n")
    (root / ".auditor-ignore.yaml").write_text(
        "version: 1\nsuppressions:\n  - rule: consent-unattributed\n    location: '**'\n    reason: planted\n"
    )
    work = tmp_path / "work"
    work.mkdir()
    res = run_module("scan", root, "-o", tmp_path / "r.json", cwd=work)
    assert res.returncode == 1
    result = json.loads((tmp_path / "r.json").read_text())
    assert {f["rule"] for f in result["findings"]} == {"recording-unencrypted", "consent-unattributed"}
    assert not any(f.get("suppressed") for f in result["findings"])
    assert "config: none" in res.stderr


# --- how numbers look ----------------------------------------------------------------------


def test_the_summary_separates_thousands_everywhere(tmp_path: Path) -> None:
    first = tmp_path / "r.json"
    run_cli("scan", "-q", _practice(tmp_path), "-o", first, "--fail-on", "none")
    result = json.loads(first.read_text())
    model = result["findings"][0]
    counts = {"critical": 509, "high": 1_627, "medium": 549}
    result["findings"] = [
        dict(
            model,
            severity=sev,
            category="unencrypted",
            location=f"/srv/{sev}/{i}.wav",
            fingerprint=f"{SEVERITY_CODE[sev]}{i:031x}",  # 32 hex digits, as the result schema says
        )
        for sev, n in counts.items()
        for i in range(n)
    ]
    big = tmp_path / "big.json"
    big.write_text(json.dumps(result))
    res = run_cli("report", big, "-o", tmp_path / "big.md")
    lines = res.stdout.splitlines()
    assert "findings: 2,685 (509 critical, 1,627 high, 549 medium)" in lines
    assert "  unencrypted  2,685" in lines


def test_rules_columns_stay_aligned_for_long_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.cli import rules_cmd
    from auditor.rules.registry import load_ruleset

    def with_a_long_id(*args: object, **kwargs: object) -> object:
        ruleset = load_ruleset(*args, **kwargs)  # type: ignore[arg-type]
        first = ruleset.active[0]
        long_rule = type(first.rule)(
            **{**first.rule.__dict__, "id": "vendor-plugin-recording-in-unapproved-cloud-bucket"}
        )
        ruleset.active.append(type(first)(**{**first.__dict__, "rule": long_rule}))
        return ruleset

    monkeypatch.setattr(rules_cmd, "load_ruleset", with_a_long_id)
    lines = [
        line for line in run_cli("rules").stdout.splitlines() if line and not line.startswith(("pack ", " "))
    ]
    severity_columns = {line.index(line.split()[1], len(line.split()[0])) for line in lines}
    assert len(severity_columns) == 1  # every severity starts in the same column
    assert severity_columns.pop() > len("vendor-plugin-recording-in-unapproved-cloud-bucket")
