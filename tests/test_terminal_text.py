"""No escape sequence or control character from a name, a key or an argument reaches the terminal raw.

`\\x1b]0;pwned\\x07` retitles a terminal and `\\x1b[2J` clears it. Every message the CLI prints
goes through auditor.textsafe.for_terminal, so they show as text. Run as real processes: the
stream encodings and click's own error display are part of what is tested.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import place, run_module

OSC_TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"


def assert_no_raw_control(text: str) -> None:
    raw = [c for c in text if (ord(c) < 0x20 and c not in "\n") or 0x7F <= ord(c) <= 0x9F]
    assert raw == [], repr(text)


def test_a_config_key_with_an_osc_sequence_is_shown_escaped(tmp_path: Path) -> None:
    config = tmp_path / "auditor.yaml"
    config.write_text('version: 1\n"\\e]0;pwned\\a": 1\n')  # YAML's \e is ESC, \a is BEL
    result = run_module("scan", "-q", "--config", config, tmp_path)
    assert result.returncode == 2
    assert_no_raw_control(result.stderr)
    assert f"{config}:2: \\x1b]0;pwned\\x07: unknown key" in result.stderr


def test_a_missing_target_named_with_escapes_is_shown_escaped(tmp_path: Path) -> None:
    result = run_module("scan", "-q", tmp_path / f"x{CLEAR}")
    assert result.returncode == 2
    assert_no_raw_control(result.stderr)
    assert "x\\x1b[2J" in result.stderr


def test_an_output_error_is_shown_escaped_on_one_line(tmp_path: Path) -> None:
    result = run_module("scan", tmp_path, "-o", tmp_path / f"x.{CLEAR}")
    assert result.returncode == 2
    assert_no_raw_control(result.stderr)
    assert result.stderr.startswith("auditor: error: ") and result.stderr.count("\n") == 1
    assert "x.\\x1b[2J: no output format for '.\\x1b[2j'" in result.stderr


def test_a_usage_error_is_shown_escaped_through_clicks_own_layout(tmp_path: Path) -> None:
    result = run_module("scan", tmp_path, "--fail-on", f"high{CLEAR}")
    assert result.returncode == 2
    assert_no_raw_control(result.stderr)
    assert "Usage: auditor scan" in result.stderr
    assert "high\\x1b[2J" in result.stderr


def test_the_wrote_line_shows_an_output_name_escaped(tmp_path: Path) -> None:
    place(tmp_path / "tree", "s.wav", "session.wav")
    out = tmp_path / f"r{CLEAR}{OSC_TITLE}.json"
    result = run_module("scan", "--fail-on", "none", tmp_path / "tree", "-o", out)
    assert result.returncode == 0, result.stderr
    assert out.is_file()
    assert_no_raw_control(result.stdout)
    assert "wrote " + str(tmp_path) + "/r\\x1b[2J\\x1b]0;pwned\\x07.json" in result.stdout


def test_a_name_that_is_not_utf8_is_shown_in_the_one_representation(tmp_path: Path) -> None:
    missing = os.fsencode(tmp_path) + b"/conf\xff\x1b.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "auditor", "scan", "-q", b"--config", missing, os.fsencode(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert_no_raw_control(result.stderr)
    assert "conf\\xff\\x1b.yaml: config file not found" in result.stderr


def test_breach_json_on_a_terminal_is_the_same_json_with_nothing_raw(tmp_path: Path) -> None:
    """`auditor breach list/show --json` goes through textsafe.json_for_terminal: a location holding
    an ANSI sequence, a C1 CSI, a bidi override and a zero-width space prints as JSON escapes, and
    reads back as exactly the same text."""
    from auditor.breach.register import BreachRegister, Sighting

    location = f"/p/{OSC_TITLE}{CLEAR}C-1\x9b2J\u202egnp.wav\u200b"
    exposure = {"kind": "world-readable", "detail": "mode 0644: any local user can read it"}
    with BreachRegister(tmp_path / "state") as register:
        register.seen_exposed(
            Sighting(location=location, source="local", exposures=[exposure], clients=["C-1"]),
            at=datetime.now(UTC),
            who="scan",
        )
    for args in (("list",), ("show", "1")):
        done = run_module("breach", *args, "--json", "--state", tmp_path / "state")
        assert done.returncode == 0, done.stderr
        assert_no_raw_control(done.stdout)
        assert not {"\u202e", "\u200b"} & set(done.stdout)
        shown = json.loads(done.stdout)
        assert (shown[0] if args == ("list",) else shown)["location"] == location


def test_status_json_on_a_terminal_is_the_same_json_with_nothing_raw(tmp_path: Path) -> None:
    """`auditor status --json` of a daemon watching a folder whose name holds a C1 CSI, a bidi
    override and a zero-width space: JSON escapes on the terminal, the same name read back."""
    from tests.test_watch_helpers import wait_for

    tree = tmp_path / "tree\x9b2J\u202e\u200b"
    tree.mkdir()
    (tmp_path / "auditor.yaml").write_text("version: 1\n")
    state = tmp_path / "state"
    command = [
        sys.executable,
        "-m",
        "auditor",
        "watch",
        str(tree),
        "--config",
        str(tmp_path / "auditor.yaml"),
    ]
    command += ["--state-dir", str(state), "--events", str(tmp_path / "events.jsonl"), "--no-syslog"]
    daemon = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        shown: list[str] = []

        def healthy() -> bool:
            done = run_module("status", "--state-dir", state, "--json")
            shown[:] = [done.stdout]
            return done.returncode == 0

        wait_for(healthy, timeout=40, what="a healthy daemon")
        assert_no_raw_control(shown[0])
        assert not {"\u202e", "\u200b"} & set(shown[0])
        assert str(tree) in json.dumps(json.loads(shown[0]), ensure_ascii=False)
    finally:
        daemon.terminate()
        daemon.wait(20)
