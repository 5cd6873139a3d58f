"""The built-in rule packs' snapshot (auditor/rules/snapshot.py): what every scan reads instead of
parsing rules/*.yaml. It must be what the YAML loader makes of the packs, and a pack whose bytes
changed since must be read from its YAML, never from a stale snapshot."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.rules import snapshot
from auditor.rules.packs import RulePack, load_pack
from auditor.rules.registry import builtin_pack_paths, discover_rules

KNOWN = discover_rules().ids()


def _builtin(path: Path, known: set[str] | frozenset[str]) -> RulePack:
    [(_, pack)] = snapshot.load_builtin_packs([path], known)
    return pack


def test_the_committed_snapshot_is_the_packs_as_they_are() -> None:
    committed = json.loads(snapshot.SNAPSHOT_FILE.read_text(encoding="utf-8"))
    assert committed == snapshot.current_snapshots(), (
        "rules/*.yaml changed since auditor/rules/builtin_packs.json was made: "
        "run `python -m auditor.rules.snapshot` and commit the file"
    )
    assert set(committed["packs"]) == {p.name for p in builtin_pack_paths()} == {"core.yaml", "s3.yaml"}


@pytest.mark.parametrize("path", builtin_pack_paths(), ids=lambda p: p.name)
def test_a_built_in_pack_from_its_snapshot_is_the_pack_its_yaml_gives(path: Path) -> None:
    from_snapshot = _builtin(path, KNOWN)
    assert from_snapshot == load_pack(path, KNOWN)
    assert from_snapshot.rules and all(e.line for e in from_snapshot.rules.values())  # lines kept


def test_a_pack_edited_since_its_snapshot_is_read_from_its_yaml(tmp_path: Path) -> None:
    edited = tmp_path / "core.yaml"  # the snapshot's name, other bytes
    shutil.copy(next(p for p in builtin_pack_paths() if p.name == "core.yaml"), edited)
    text = edited.read_text(encoding="utf-8")
    assert "  recording-unencrypted:\n    severity: high\n" in text
    edited.write_text(text.replace("  recording-unencrypted:\n    severity: high\n",
                                   "  recording-unencrypted:\n    severity: low\n"), encoding="utf-8")  # fmt: skip
    pack = _builtin(edited, KNOWN)
    assert pack.rules["recording-unencrypted"].severity == "low"
    assert pack == load_pack(edited, KNOWN)


def test_a_rule_gone_missing_is_the_yaml_loaders_error_not_a_silent_snapshot() -> None:
    core = next(p for p in builtin_pack_paths() if p.name == "core.yaml")
    with pytest.raises(InputError, match="unknown rule id 'consent-missing'") as raised:
        _builtin(core, KNOWN - {"consent-missing"})
    assert raised.value.line is not None


def test_without_a_snapshot_the_yaml_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snapshot, "SNAPSHOT_FILE", tmp_path / "absent.json")
    for path in builtin_pack_paths():
        assert _builtin(path, KNOWN) == load_pack(path, KNOWN)
