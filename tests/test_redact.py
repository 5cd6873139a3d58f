"""--redact: keyed pseudonyms for client ids and names, in every output format, with no leak."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from auditor.config import ReportConfig
from auditor.errors import InputError
from auditor.redact import Redactor, redaction_key
from auditor.resources import schema_path
from tests.conftest import place, run_cli

KEY = "correct horse battery staple 2026"
FORMATS = ("json", "html", "sarif", "xml", "csv", "md")
# Everything below the target that names a person, a client or a session.
SECRETS = (
    "Jane Doe",
    "Jane",
    "RIV-7781",
    "RIV-7782",
    "RIV-7783",
    "CONSENT-JD-2026",
    "RIV-7781_2026-11-10",
    "intake-notes",
    "onerror",
    "Smith family",
    "highlights",
)


def _practice(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "practice"
    place(root, "Jane Doe/RIV-7781_2026-11-10.wav", "session.wav")  # client from the name pattern
    hostile = place(root, "Smith family/<img src=x onerror=alert(1)> intake-notes.mp3", "session.mp3")
    (
        hostile.parent / (hostile.name + ".meta.yaml")
    ).write_text(  # client, participant, consent from a sidecar
        "client: RIV-7782\nsession_date: 2026-10-01\nparticipants: [RIV-7783]\nconsent_id: CONSENT-JD-2026\n"
    )
    place(root, "highlights", "session.m4a")  # no extension, a plain word
    (tmp_path / "consent.yaml").write_text(
        "version: 1\nclients:\n"
        "  - id: RIV-7781\n    consents: []\n    legal_hold: {reason: subpoena about RIV-7781}\n"
        "  - id: RIV-7782\n    consents:\n      - {granted: 2026-01-01, purposes: [therapy], id: CONSENT-JD-2026}\n"
    )
    cfg = tmp_path / "auditor.yaml"
    cfg.write_text(
        "version: 1\nconsent_registry: consent.yaml\n"
        "attribution:\n  patterns: ['(?P<client>RIV-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})']\n"
    )
    return root, cfg


def _scan(tmp_path: Path, out_dir: Path, *extra: str | Path, key: str | None = KEY) -> Any:
    root, cfg = _practice(tmp_path)
    out_dir.mkdir(exist_ok=True)
    outputs = [a for ext in FORMATS for a in ("-o", out_dir / f"r.{ext}")]
    args = [
        "scan",
        "-q",
        root,
        "--config",
        cfg,
        "--as-of",
        "2026-11-22",
        "--fail-on",
        "none",
        *outputs,
        *extra,
    ]
    if key is None:
        return run_cli(*args, cwd=tmp_path)
    import os

    old = os.environ.get("AUDITOR_REDACTION_KEY")
    os.environ["AUDITOR_REDACTION_KEY"] = key
    try:
        return run_cli(*args, cwd=tmp_path)
    finally:
        if old is None:
            del os.environ["AUDITOR_REDACTION_KEY"]
        else:
            os.environ["AUDITOR_REDACTION_KEY"] = old


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("redact")
    plain = _scan(tmp, tmp / "plain")
    assert plain.exit_code == 0, plain.output
    first = _scan(tmp, tmp / "red1", "--redact")
    assert first.exit_code == 0, first.output
    second = _scan(tmp, tmp / "red2", "--redact")
    other = _scan(tmp, tmp / "red3", "--redact", key="another key of enough length")
    assert second.exit_code == 0 and other.exit_code == 0
    return {"tmp": tmp, "root": tmp / "practice"}


def _json(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "r.json").read_text())


def test_the_plain_run_really_contains_every_secret(runs: dict[str, Any]) -> None:
    # Guards the leak test below: it only means something if the names were there to leak.
    blob = b"".join((runs["tmp"] / "plain" / f"r.{ext}").read_bytes() for ext in ("json",))
    for secret in SECRETS:
        assert secret.encode() in blob, secret


@pytest.mark.parametrize("ext", FORMATS)
def test_no_original_name_or_client_id_in_any_redacted_output(runs: dict[str, Any], ext: str) -> None:
    data = (runs["tmp"] / "red1" / f"r.{ext}").read_bytes()
    leaked = [s for s in SECRETS if s.encode() in data or s.replace(" ", "%20").encode() in data]
    assert leaked == []
    if ext != "md":  # the Markdown summary lists locations only as top findings
        assert str(runs["root"]).encode() in data  # the target itself stays readable


def test_same_key_same_pseudonyms_other_key_others(runs: dict[str, Any]) -> None:
    one, two, three = (_json(runs["tmp"] / d) for d in ("red1", "red2", "red3"))
    locations = [sorted(f["location"] for f in r["findings"]) for r in (one, two, three)]
    assert locations[0] == locations[1] != locations[2]
    clients = [sorted(str(f["client"]) for f in r["findings"]) for r in (one, two, three)]
    assert clients[0] == clients[1] != clients[2]
    assert [f["fingerprint"] for f in one["findings"]] == [f["fingerprint"] for f in two["findings"]]
    assert one["redaction"]["key_id"] == two["redaction"]["key_id"] != three["redaction"]["key_id"]


def test_redaction_keeps_structure_vocabulary_and_folder_shape(runs: dict[str, Any]) -> None:
    plain, red = _json(runs["tmp"] / "plain"), _json(runs["tmp"] / "red1")
    for key in ("rule", "severity", "category"):
        assert [f[key] for f in plain["findings"]] == [f[key] for f in red["findings"]]
    assert plain["summary"] == red["summary"]
    root = str(runs["root"])
    by_plain = {f["location"]: g["location"] for f, g in zip(plain["findings"], red["findings"], strict=True)}
    jane = by_plain[f"{root}/Jane Doe/RIV-7781_2026-11-10.wav"]
    assert jane.startswith(root + "/n-") and jane.endswith(".wav") and jane.count("/") == root.count("/") + 2
    held = next(r for r in red["recordings"] if r["legal_hold"])
    assert (
        held["legal_hold"]["client"].startswith("client-")
        and "subpoena about client-" in held["legal_hold"]["reason"]
    )
    sidecar = next(r for r in red["recordings"] if r["attribution_source"] == "sidecar")
    assert sidecar["client"].startswith("client-") and sidecar["participants"][0].startswith("client-")
    assert sidecar["consent_id"].startswith("consent-")
    # Still a valid result and valid SARIF.
    schema = json.loads(schema_path("result").read_text())
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(red)
    sarif_schema = json.loads((Path(__file__).parent / "vendor" / "sarif-schema-2.1.0.json").read_text())
    sarif = json.loads((runs["tmp"] / "red1" / "r.sarif").read_text())
    jsonschema.Draft4Validator(sarif_schema).validate(sarif)


def test_no_key_or_a_short_key_exits_2_before_scanning(tmp_path: Path) -> None:
    res = _scan(tmp_path, tmp_path / "out", "--redact", key="")
    assert res.exit_code == 2 and "no redaction key" in res.output and "AUDITOR_REDACTION_KEY" in res.output
    assert not (tmp_path / "out" / "r.json").exists()
    res = _scan(tmp_path, tmp_path / "out", "--redact", key="short")
    assert res.exit_code == 2 and "at least 16" in res.output


def test_key_from_config_or_a_named_environment_variable() -> None:
    assert redaction_key(ReportConfig(redaction_key="k" * 16), {}) == b"k" * 16
    named = ReportConfig(redaction_key_env="PRACTICE_KEY")
    assert redaction_key(named, {"PRACTICE_KEY": "p" * 20, "AUDITOR_REDACTION_KEY": "x" * 20}) == b"p" * 20
    with pytest.raises(InputError, match="PRACTICE_KEY"):
        redaction_key(named, {"AUDITOR_REDACTION_KEY": "x" * 20})


def test_redaction_is_idempotent_and_report_can_redact_a_saved_result(
    runs: dict[str, Any], tmp_path: Path
) -> None:
    data = _json(runs["tmp"] / "red1")
    again = json.loads(json.dumps(data))
    Redactor(KEY.encode()).redact(again)
    assert again == data  # same key: already redacted, nothing changes
    import os

    os.environ["AUDITOR_REDACTION_KEY"] = KEY
    try:
        res = run_cli("report", runs["tmp"] / "plain" / "r.json", "--redact", "-o", tmp_path / "x.json",
                      "--fail-on", "none", cwd=tmp_path)  # fmt: skip
    finally:
        del os.environ["AUDITOR_REDACTION_KEY"]
    assert res.exit_code == 0, res.output
    rerendered = json.loads((tmp_path / "x.json").read_text())
    assert [f["location"] for f in rerendered["findings"]] == [f["location"] for f in data["findings"]]


def test_redaction_hides_identities_not_product_names(tmp_path: Path) -> None:
    """A recording in a Dropbox folder, inside a client's folder: the sync product stays readable
    in the message and the evidence alike; the client's folder is hidden everywhere, whole."""
    import os
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="redact-sync-"))
    try:
        os.chmod(base, 0o755)
        root = base / "practice"
        place(root, "Home/Dropbox/RIV-7790 Brown/RIV-7790_2026-11-10.mp4", "session.mp4", mode=0o644)
        for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
            os.chmod(folder, 0o755)
        (tmp_path / "auditor.yaml").write_text(
            "version: 1\nattribution:\n  patterns: ['(?P<client>RIV-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})']\n"
        )
        os.environ["AUDITOR_REDACTION_KEY"] = KEY
        try:
            res = run_cli(
                "scan", "-q", root, "--config", tmp_path / "auditor.yaml", "--as-of", "2026-11-22", "--fail-on",
                "none", "--redact", "-o", tmp_path / "r.json", "-o", tmp_path / "r.html", cwd=tmp_path,
            )  # fmt: skip
        finally:
            del os.environ["AUDITOR_REDACTION_KEY"]
        assert res.exit_code == 0, res.output
        text = (tmp_path / "r.json").read_text(encoding="utf-8")
        result = json.loads(text)
        sync = next(f for f in result["findings"] if f["rule"] == "recording-in-sync-folder")
        assert sync["evidence"]["client"] == "Dropbox" and sync["evidence"]["source"] == "Dropbox"
        assert "inside the Dropbox folder " in sync["message"]
        assert "recognised by the folder name 'Dropbox'" in sync["message"]
        assert sync["evidence"]["folder"].endswith("/Dropbox") and "/Home/" not in sync["evidence"]["folder"]
        # The client's folder: gone as a whole, in paths and on its own, in every output.
        for output in ("r.json", "r.html"):
            written = (tmp_path / output).read_text(encoding="utf-8")
            assert "Brown" not in written and "RIV-7790" not in written, output
        assert "client-" in text and "Dropbox" in text
    finally:
        shutil.rmtree(base)


def test_a_client_folder_is_hidden_whole_wherever_its_name_appears() -> None:
    """A message quoting the folder alone ("RIV-7790 Brown") must not keep "Brown" beside a pseudonym."""
    location = "/srv/therapy/RIV-7790 Brown/RIV-7790_2026-11-10.m4a"
    result: dict[str, Any] = {
        "targets": ["/srv/therapy"],
        "recordings": [
            {"location": location, "target": "/srv/therapy", "client": "RIV-7790", "participants": []}
        ],
        "findings": [
            {
                "rule": "x",
                "location": location,
                "client": "RIV-7790",
                "message": "Moved here from the folder 'RIV-7790 Brown' on the shared drive.",
                "evidence": {"folder_name": "RIV-7790 Brown"},
            }
        ],
    }
    Redactor(KEY.encode()).redact(result)
    text = json.dumps(result)
    assert "Brown" not in text and "RIV-7790" not in text
    finding = result["findings"][0]
    folder = finding["location"].split("/")[3]
    assert finding["evidence"]["folder_name"] == folder  # the same pseudonym as in the path
    assert f"the folder '{folder}'" in finding["message"]
