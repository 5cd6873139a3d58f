"""The built-in rule packs (rules/*.yaml) as already loaded: a JSON snapshot that every scan reads
instead of parsing the YAML.

The YAML stays the one source: officers read and copy it. But parsing it with positions costs a
scan's start-up PyYAML's import and the YAML pass (about 14 ms, more than a tenth of a scan of an
empty folder), though its content changes only with a release. So the snapshot keeps what
`load_pack` makes of each file, with the CRC-32 of the bytes it was made from. A pack whose bytes
no longer match (edited, not re-snapshotted) is loaded from its YAML as before: a stale snapshot
is never used. tests/test_rule_snapshot.py fails until it is written again:

    python -m auditor.rules.snapshot
"""

from __future__ import annotations

import binascii
import dataclasses
import json
import sys
from collections.abc import Sequence, Set
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.rules.packs import PackEntry, RulePack, load_pack

SNAPSHOT_FILE = Path(__file__).with_name("builtin_packs.json")


def load_builtin_packs(paths: Sequence[Path], known_rule_ids: Set[str]) -> list[tuple[Path, RulePack]]:
    """`load_pack(path)` for each built-in pack, from the snapshot (read once) where it was made from
    that pack's bytes."""
    snapshots = _snapshots()
    return [(path, _load_builtin_pack(path, snapshots.get(path.name), known_rule_ids)) for path in paths]


def _load_builtin_pack(path: Path, snapshot: dict[str, Any] | None, known_rule_ids: Set[str]) -> RulePack:
    if snapshot is None or snapshot["crc32"] != binascii.crc32(path.read_bytes()):
        return load_pack(path, known_rule_ids)
    pack = _from_json(snapshot)
    if any(rid not in known_rule_ids for rid in pack.rules):
        return load_pack(path, known_rule_ids)  # a rule's plugin gone missing: its error says which
    return pack


def _snapshots() -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(SNAPSHOT_FILE.read_bytes())
    except (OSError, ValueError):  # no snapshot (a checkout without it): the YAML is the source
        return {}
    packs: dict[str, Any] = data.get("packs", {})
    return packs


def snapshot_of(path: Path, known_rule_ids: Set[str]) -> dict[str, Any]:
    """What load_pack makes of `path`, as JSON, with the CRC-32 of its bytes."""
    pack = load_pack(path, known_rule_ids)
    return {
        "crc32": binascii.crc32(path.read_bytes()),
        "name": pack.name,
        "version": pack.version,
        "title": pack.title,
        "rules": {rid: dataclasses.asdict(entry) for rid, entry in pack.rules.items()},
    }


def _from_json(snapshot: dict[str, Any]) -> RulePack:
    return RulePack(
        snapshot["name"],
        snapshot["version"],
        snapshot["title"],
        {rid: PackEntry(**entry) for rid, entry in snapshot["rules"].items()},
    )


def current_snapshots() -> dict[str, Any]:
    """The snapshot file's content as the built-in packs are now."""
    from auditor.rules.registry import builtin_pack_paths, discover_rules

    known = discover_rules().ids()
    return {
        "generated_by": "python -m auditor.rules.snapshot (from rules/*.yaml; do not edit)",
        "packs": {path.name: snapshot_of(path, known) for path in builtin_pack_paths()},
    }


def main() -> int:
    try:
        text = json.dumps(current_snapshots(), indent=1, ensure_ascii=False) + "\n"
    except InputError as exc:
        print(f"auditor.rules.snapshot: a built-in pack is not valid: {exc}", file=sys.stderr)
        return 2
    SNAPSHOT_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {SNAPSHOT_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
