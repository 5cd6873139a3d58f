"""Typed facts (issue 12 §5): the encryption string as a small type, the legal hold as a field,
and the known facts of the built-in sources as TypedDicts that real scans keep to."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, get_type_hints

import pytest

from auditor.encryption import Encryption
from auditor.facts import KNOWN_FACTS, ArchiveFact, LocalFileFacts, VolumeFact
from tests.conftest import place, run_cli
from tests.conftest_s3 import S3World, moto_url, s3world

__all__ = ["moto_url", "s3world"]  # fixtures used by this module


@pytest.mark.parametrize(
    ("text", "scheme", "method"),
    [
        ("content:openpgp", "content", "openpgp"),
        ("content:zip-encrypted", "content", "zip-encrypted"),
        ("volume:luks", "volume", "luks"),
        ("sse:AES256", "sse", "AES256"),
        ("sse:aws:kms", "sse", "aws:kms"),
        ("sse:aws:kms:dsse", "sse", "aws:kms:dsse"),
        ("none", "none", ""),
        ("unknown", "unknown", ""),
        ("content:", "unknown", ""),  # nothing the sources write, so nothing to trust
        ("sse", "unknown", ""),
        (None, "unknown", ""),
        ("none:really", "unknown", ""),
    ],
)
def test_encryption_strings_parse_and_print_back(text: str | None, scheme: str, method: str) -> None:
    parsed = Encryption.parse(text)
    assert (parsed.scheme, parsed.method) == (scheme, method)
    if scheme != "unknown" or text == "unknown":
        assert str(parsed) == text


def test_what_each_s3_minimum_needs() -> None:
    kinds = {
        text: Encryption.parse(text)
        for text in ("content:age", "sse:AES256", "sse:aws:kms", "sse:aws:kms:dsse", "none")
    }
    assert [t for t, e in kinds.items() if e.with_kms] == ["sse:aws:kms", "sse:aws:kms:dsse"]
    assert [t for t, e in kinds.items() if e.by_server] == ["sse:AES256", "sse:aws:kms", "sse:aws:kms:dsse"]
    assert [t for t, e in kinds.items() if e.of_content] == ["content:age"]
    assert (
        Encryption.server_side(None) == Encryption("none")
        and str(Encryption.server_side("AES256")) == "sse:AES256"
    )


def _keys_of(typed: Any) -> set[str]:
    return set(get_type_hints(typed))


def _check(facts: dict[str, Any], typed: Any, where: str) -> None:
    hints = get_type_hints(typed)
    unknown = set(facts) - set(hints)
    assert not unknown, f"{where}: facts not documented in auditor/facts.py: {sorted(unknown)}"
    for key, value in facts.items():
        nested = hints[key]
        if isinstance(value, dict) and hasattr(nested, "__annotations__"):
            assert set(value) == _keys_of(nested), f"{where}: facts.{key}"


def test_a_local_scans_facts_are_the_documented_ones(tmp_path: Path) -> None:
    practice = tmp_path / "practice"
    place(practice, "C-1001/session.wav", "session.wav")
    place(practice, "C-1002/session.m4a.gpg", "session.m4a.gpg")
    place(practice, "C-1002/client.pem", "pem-private-key.pem")
    out = tmp_path / "r.json"
    res = run_cli("scan", "-q", practice, "-o", out, "--fail-on", "none", cwd=tmp_path)
    assert res.exit_code == 0, res.output
    recordings = json.loads(out.read_text())["recordings"]
    assert len(recordings) == 2
    for r in recordings:
        _check(r["facts"], KNOWN_FACTS[("local", "recording")], r["location"])
        assert "legal_hold" not in r["facts"]  # a field of its own, not a fact lifted back out
    enc = next(r for r in recordings if r["location"].endswith(".gpg"))
    assert enc["facts"]["keys_beside"] == ["client.pem"]
    assert _keys_of(LocalFileFacts) >= {
        "mode",
        "uid",
        "gid",
        "volume",
        "inner_name",
        "keys_beside",
        "archive",
    }
    assert _keys_of(VolumeFact) == {"encrypted", "method", "detail"} and "listing" in _keys_of(ArchiveFact)


def test_the_legal_hold_is_a_field_that_reaches_the_rules_and_the_result(tmp_path: Path) -> None:
    practice = tmp_path / "practice"
    place(practice, "C-1001_2020-01-05.wav", "session.wav")
    (tmp_path / "consent.yaml").write_text(
        "version: 1\nclients:\n  - id: C-1001\n    consents:\n      - {granted: 2019-01-01, purposes: [therapy]}\n"
        "    legal_hold: {until: 2099-01-01, reason: records subpoena}\n"
    )
    (tmp_path / "auditor.yaml").write_text(
        "version: 1\nconsent_registry: consent.yaml\nretention: {default_days: 30}\n"
        "attribution:\n  patterns: ['(?P<client>C-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})']\n"
    )
    out = tmp_path / "r.json"
    res = run_cli("scan", "-q", practice, "-o", out, "--fail-on", "none", cwd=tmp_path)
    assert res.exit_code == 0, res.output
    result = json.loads(out.read_text())
    [recording] = result["recordings"]
    assert recording["legal_hold"] == {
        "client": "C-1001",
        "until": "2099-01-01",
        "reason": "records subpoena",
        "in_force": True,
    }
    assert "retention-exceeded" not in {f["rule"] for f in result["findings"]}  # the hold keeps it


def test_an_s3_scans_facts_are_the_documented_ones(tmp_path: Path, s3world: S3World) -> None:
    w = s3world
    w.bucket("clinic", versioned=True)
    w.put("clinic", "C-1001/session.wav", "session.wav", ServerSideEncryption="AES256")
    w.put("clinic", "C-1001/session.wav", "session.wav")  # an older version stays behind
    w.put("clinic", "C-1002/session.m4a.gpg", "session.m4a.gpg")
    w.put("clinic", "C-1002/client.pem", "pem-private-key.pem")
    out = tmp_path / "r.json"
    res = run_cli(
        "scan", "-q", "s3://clinic", "--endpoint-url", w.url, "-o", out, "--fail-on", "none", cwd=tmp_path
    )
    assert res.exit_code == 0, res.output
    result = json.loads(out.read_text())
    assert len(result["recordings"]) == 3 and len(result["buckets"]) == 1
    for r in result["recordings"]:
        _check(r["facts"], KNOWN_FACTS[("s3", "recording")], r["location"])
    for b in result["buckets"]:
        _check(b["facts"], KNOWN_FACTS[("s3", "bucket")], b["location"])
    assert os.environ.get("AWS_ACCESS_KEY_ID") == "testing"  # the fake credentials, nothing reached AWS
