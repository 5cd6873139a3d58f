"""Hostile YAML and JSON inputs: each case is the smallest file that used to stop, hang or crash the audit.

Without the limits (auditor/limits.py, auditor/safeparse.py) the alias bombs below ran for 30-60 s
and ended in MemoryError, the deep files in RecursionError tracebacks, and one hostile sidecar
made a scan report no recordings at all. Config and registry problems must exit 2 naming the
file, the line and the limit; a bad sidecar is a coverage gap on its one recording, which falls
back to the next attribution source while the scan goes on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor import limits
from auditor.attribution import SidecarError, parse_sidecar
from tests.conftest import place, run_cli


def alias_bomb(key: str = "organisation", levels: int = 9) -> str:
    """'Billion laughs' in flow style: each level is nine aliases of the one before (9**9 values)."""
    lines = ['  - &l0 ["x","x","x","x","x","x","x","x","x"]']
    for level in range(1, levels):
        lines.append(f"  - &l{level} [" + ",".join([f"*l{level - 1}"] * 9) + "]")
    return f"{key}:\n" + "\n".join(lines) + "\n"


DEEP_FLOW = "[" * 990 + "]" * 990
DEEP_JSON = "[" * 30000 + "]" * 30000


def deep_block(levels: int = 990) -> str:
    """`levels` nested mappings, indented under a key of the top-level mapping."""
    return "".join("  " * i + "k:\n" for i in range(1, levels + 1)) + "  " * (levels + 1) + "x\n"


def scan(tmp_path: Path, *args: str | Path) -> Any:
    return run_cli("scan", "-q", *args, "-o", tmp_path / "result.json")


def one_line_error(result: Any) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return str(result.output)


# --- config ---------------------------------------------------------------------------------


def test_alias_bomb_in_a_config_key_exits_2_with_the_line_and_the_limit(tmp_path: Path) -> None:
    config = tmp_path / "auditor.yaml"
    config.write_text("version: 1\n" + alias_bomb())
    assert len(config.read_bytes()) < 600
    out = one_line_error(scan(tmp_path, "--config", config, tmp_path))
    assert f"{config}:7: organisation[4][0]: aliases stand for more than 10,000 values" in out
    assert "the limit for a config file" in out


@pytest.mark.parametrize(
    ("body", "line"),
    [
        (f"organisation: {DEEP_FLOW}\n", 2),  # 990-deep flow list
        ("organisation:\n" + deep_block(), 34),  # 990-deep block mapping
    ],
    ids=["flow-list", "block-mapping"],
)
def test_deep_config_exits_2_naming_the_depth_limit(tmp_path: Path, body: str, line: int) -> None:
    config = tmp_path / "auditor.yaml"
    config.write_text("version: 1\n" + body)
    out = one_line_error(scan(tmp_path, "--config", config, tmp_path))
    assert f"{config}:{line}: organisation" in out
    assert "nested deeper than 32 levels, the limit for a config file" in out


def test_30000_deep_json_as_config_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "auditor.yaml"
    config.write_text('{"version": 1, "organisation": ' + DEEP_JSON + "}")
    out = one_line_error(scan(tmp_path, "--config", config, tmp_path))
    assert "nested deeper than 32 levels" in out


def test_an_alias_to_its_own_collection_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "auditor.yaml"
    config.write_text("version: 1\norganisation: &a [*a]\n")
    out = one_line_error(scan(tmp_path, "--config", config, tmp_path))
    assert "alias *a refers to a collection that contains it" in out


def test_modest_aliases_in_a_config_still_work(tmp_path: Path) -> None:
    config = tmp_path / "auditor.yaml"
    config.write_text(
        "version: 1\nexposure:\n  sync_folders: &shared [/srv/share]\n  network_shares: *shared\n"
    )
    result = scan(tmp_path, "--config", config, tmp_path)
    assert result.exit_code == 0, result.output


def test_a_number_too_long_for_python_exits_2_instead_of_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "auditor.yaml"
    config.write_text("version: 1\nconsent:\n  withdrawal_grace_days: " + "1" * 5000 + "\n")
    out = one_line_error(scan(tmp_path, "--config", config, tmp_path))
    assert f"{config}:3: consent.withdrawal_grace_days: a number longer than 100 characters" in out


@pytest.mark.parametrize(
    "body",
    [
        "consent:\n  withdrawal_grace_days: 999999999\n",
        "retention:\n  default_days: 999999999\n",
        "retention:\n  by_purpose:\n    training: 999999999\n",
    ],
)
def test_the_schema_bounds_days_to_what_dates_can_hold(tmp_path: Path, body: str) -> None:
    config = tmp_path / "auditor.yaml"
    config.write_text("version: 1\n" + body)
    out = one_line_error(scan(tmp_path, "--config", config, tmp_path))
    assert "must be 36525 or less (got 999999999)" in out


def test_a_config_over_its_size_limit_is_refused_without_parsing(tmp_path: Path) -> None:
    config = tmp_path / "auditor.yaml"
    config.write_text("version: 1\n# " + "x" * limits.CONFIG.max_bytes + "\n")
    out = one_line_error(scan(tmp_path, "--config", config, tmp_path))
    assert f"{config}: larger than 1 MiB, the limit for a config file" in out


# --- consent registry -------------------------------------------------------------------------


def test_alias_bomb_in_registry_purposes_exits_2(tmp_path: Path) -> None:
    registry = tmp_path / "consent.yaml"
    levels = ["&p0 [a,a,a,a,a,a,a,a,a]"] + [
        f"&p{n} [" + ",".join([f"*p{n - 1}"] * 9) + "]" for n in range(1, 9)
    ]
    registry.write_text(
        "version: 1\nstash: [" + ", ".join(levels) + "]\nclients:\n  - id: C-1\n    consents:\n"
        "      - granted: 2026-01-01\n        purposes: *p8\n"
    )
    out = one_line_error(scan(tmp_path, "--consent", registry, tmp_path))
    assert f"{registry}:2: stash[5][6]: aliases stand for more than 500,000 values" in out
    assert "the limit for a consent registry" in out


def test_deep_registry_exits_2(tmp_path: Path) -> None:
    registry = tmp_path / "consent.yaml"
    registry.write_text("version: 1\nclients: " + DEEP_FLOW + "\n")
    out = one_line_error(scan(tmp_path, "--consent", registry, tmp_path))
    assert f"{registry}:2: clients[0][0][0]...: nested deeper than 32 levels" in out


def test_a_yaml_registry_past_its_size_limit_points_to_csv(tmp_path: Path) -> None:
    registry = tmp_path / "consent.yaml"
    with registry.open("wb") as handle:
        handle.truncate(limits.REGISTRY_YAML.max_bytes + 1)  # sparse: nothing is written
    out = one_line_error(scan(tmp_path, "--consent", registry, tmp_path))
    assert "larger than 4 MiB, the limit for a consent registry" in out
    assert "export it as CSV" in out


def test_a_csv_registry_past_its_size_limit_is_refused(tmp_path: Path) -> None:
    registry = tmp_path / "consent.csv"
    with registry.open("wb") as handle:
        handle.truncate(limits.REGISTRY_CSV.max_bytes + 1)
    out = one_line_error(scan(tmp_path, "--consent", registry, tmp_path))
    assert "larger than 64 MiB, the limit for a CSV consent registry" in out


def test_a_withdrawal_near_year_9999_is_no_overflow(tmp_path: Path) -> None:
    """revoked + a century of grace is past date.max: the rule must count back from as_of instead."""
    config = tmp_path / "auditor.yaml"
    config.write_text(
        "version: 1\nconsent:\n  withdrawal_grace_days: 36525\nattribution:\n"
        "  patterns: ['(?P<client>C-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})']\n"
    )
    registry = tmp_path / "consent.yaml"
    registry.write_text(
        "version: 1\nclients:\n  - id: C-1\n    consents:\n"
        "      - {granted: 2026-01-01, purposes: [supervision], revoked: 9999-12-01}\n"
    )
    tree = tmp_path / "tree"
    place(tree, "C-1_2026-02-01.wav", "session.wav")
    result = run_cli(
        "scan", "-q", "--config", config, "--consent", registry, "--as-of", "9999-12-31",
        "--fail-on", "none", tree, "-o", tmp_path / "r.json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "r.json").read_text())
    assert [g for g in data["coverage"]["skipped"] if g["reason"] == "rule-error"] == []


# --- rule packs and suppression files ---------------------------------------------------------


def test_alias_bomb_in_a_rule_pack_exits_2(tmp_path: Path) -> None:
    pack = tmp_path / "pack.yaml"
    pack.write_text("pack: p\nversion: '1'\nrules: {}\n" + alias_bomb("title"))
    out = one_line_error(scan(tmp_path, "--rules", pack, tmp_path))
    assert (
        f"{pack}:9: title[4][0]: aliases stand for more than 10,000 values, the limit for a rule pack" in out
    )


def test_deep_suppression_file_exits_2(tmp_path: Path) -> None:
    ignore = tmp_path / "ignore.yaml"
    ignore.write_text("version: 1\nsuppressions: " + DEEP_FLOW + "\n")
    out = one_line_error(scan(tmp_path, "--ignore", ignore, tmp_path))
    assert f"{ignore}:2: suppressions[0][0][0]...: nested deeper than 32 levels" in out


# --- sidecars: a gap on that recording, and the scan goes on -----------------------------------

PATTERN_CONFIG = (
    "version: 1\nattribution:\n  patterns: ['(?P<client>C-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})']\n"
)

HOSTILE_SIDECARS = {
    "alias-bomb.yaml": alias_bomb("client"),
    "tiny-alias.yaml": "client: &c C-9\npurpose: *c\n",
    "deep-flow.yaml": f"client: {DEEP_FLOW}\n",
    "deep-block.yaml": deep_block(),
    "deep.json": DEEP_JSON,
    "lone-surrogate.json": '{"client": "\\ud800"}',
    "not-utf8.yaml": "client: C-\xe9\n",
    "huge-number.yaml": "client: " + "9" * 5000 + "\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_SIDECARS))
def test_a_hostile_sidecar_is_a_gap_and_attribution_falls_back(tmp_path: Path, name: str) -> None:
    kind, ext = name.rsplit(".", 1)
    config = tmp_path / "auditor.yaml"
    config.write_text(PATTERN_CONFIG)
    tree = tmp_path / "tree"
    place(tree, "C-1001_2026-01-05.wav", "session.wav")
    place(tree, "C-1002_2026-01-06.wav", "session.wav")  # an innocent neighbour
    sidecar = tree / f"C-1001_2026-01-05.wav.meta.{ext}"
    text = HOSTILE_SIDECARS[name]
    sidecar.write_bytes(text.encode("latin-1") if kind == "not-utf8" else text.encode())
    result = run_cli("scan", "-q", "--config", config, "--fail-on", "none", tree, "-o", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "r.json").read_text())
    gaps = [g for g in data["coverage"]["skipped"] if g["reason"] == "sidecar-invalid"]
    assert [g["location"] for g in gaps] == [str(sidecar)]
    by_client = {r["client"]: r for r in data["recordings"]}
    assert set(by_client) == {"C-1001", "C-1002"}
    assert by_client["C-1001"]["attribution_source"] == "pattern"


@pytest.mark.parametrize(
    ("text", "json_format", "message"),
    [
        (
            "client: &c C-9\npurpose: *c\n",
            False,
            "line 2: purpose: aliases (*c) are not allowed in a sidecar",
        ),
        (alias_bomb("client"), False, "aliases (*l0) are not allowed in a sidecar"),
        (DEEP_JSON, True, "line 1: nested deeper than 8 levels, the limit for a sidecar"),
        ('{"client": {"a": 1}}', True, "client must be text"),
        ('{"client": "\\ud800"}', True, "no low surrogate"),
        ('{"client": "C-1", "purpose": "\\udc80"}', True, "surrogate in string"),
        ("client: C-1\nsession_date: [2026]\n", False, "session_date must be a date"),
        ('{"client": 1e999}', True, "not valid JSON"),
        ("client: !!python/object:os.system echo\n", False, "not valid YAML"),
        ("? [a, b]\n: c\n", False, "not valid YAML"),
    ],
)
def test_sidecar_parser_refuses_with_a_reason(text: str, json_format: bool, message: str) -> None:
    with pytest.raises(SidecarError) as caught:
        parse_sidecar(text.encode("utf-8", "surrogatepass"), json_format=json_format)
    assert message in str(caught.value)


def test_an_ordinary_sidecar_still_reads() -> None:
    got = parse_sidecar(
        b"client: C-1001\nsession_date: 2026-01-05\npurpose: supervision\nparticipants: [C-1002, 1003]\n",
        json_format=False,
    )
    assert (got.client, str(got.session_date), got.purpose, got.participants) == (
        "C-1001",
        "2026-01-05",
        "supervision",
        ["C-1002", "1003"],
    )


# --- JSON results read back (auditor report, --baseline) --------------------------------------


def saved_result(tmp_path: Path) -> Path:
    place(tmp_path / "tree", "s.wav", "session.wav")
    out = tmp_path / "result.json"
    result = run_cli("scan", "-q", "--fail-on", "none", tmp_path / "tree", "-o", out)
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("depth", [100, 30000], ids=["past-our-limit", "past-orjson's"])
def test_a_deep_json_result_read_back_exits_2(tmp_path: Path, depth: int) -> None:
    good = json.loads(saved_result(tmp_path).read_text())
    text = json.dumps(good)[:-1] + ', "extra": ' + "[" * depth + "]" * depth + "}"
    hostile = tmp_path / "hostile.json"
    hostile.write_text(text)
    for args in (("report", hostile), ("scan", tmp_path / "tree", "--baseline", hostile)):
        out = one_line_error(run_cli(*args, "-o", tmp_path / "r.html"))
        assert f"{hostile}" in out and "nested deeper than 64 levels, the limit for a JSON result" in out


def test_a_result_with_lone_surrogate_escapes_from_earlier_versions_still_reads(tmp_path: Path) -> None:
    data = json.loads(saved_result(tmp_path).read_text())
    data["recordings"][0]["location"] += "\udcff"
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data))  # the standard library escapes it: "\udcff"
    assert "\\udcff" in old.read_text()
    result = run_cli("report", old, "--fail-on", "none", "-o", tmp_path / "again.json")
    assert result.exit_code == 0, result.output
    again = json.loads((tmp_path / "again.json").read_text())
    assert again["recordings"][0]["location"].endswith("s.wav\\xff")


def test_docs_limits_lists_every_limit_as_the_code_has_it() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "limits.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in doc.splitlines() if line.startswith("| ")}
    for kind in limits.ALL:
        row = next((line for name, line in rows.items() if name.split(" (")[0] == kind.what), None)
        assert row is not None, f"docs/limits.md has no row for {kind.what}"
        cells = [cell.strip() for cell in row.split("|")[2:5]]
        aliases = "no aliases" if kind.max_alias_values == 0 else f"{kind.max_alias_values:,} values"
        assert cells[0] == kind.size_text() and cells[1] == str(kind.max_depth), row
        assert cells[2].startswith(aliases), row
    assert f"at most {limits.MAX_NUMBER_CHARS} characters" in doc
    assert f"at most {limits.MAX_DAYS}" in doc


def test_the_config_schema_bounds_every_day_count_by_max_days() -> None:
    schema = json.loads((Path(limits.__file__).parent / "schemas" / "config.schema.json").read_text())
    retention = schema["properties"]["retention"]["properties"]
    bounded = [
        retention["default_days"],
        retention["by_purpose"]["additionalProperties"],
        schema["properties"]["consent"]["properties"]["withdrawal_grace_days"],
    ]
    assert [entry["maximum"] for entry in bounded] == [limits.MAX_DAYS] * 3
    # And every number anywhere in it has a maximum: the schema bounds what the code computes.
    unbounded, stack = [], [("", schema)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            kinds = node.get("type")
            kinds = [kinds] if isinstance(kinds, str) else kinds or []
            if {"integer", "number"} & set(kinds) and not (0 < node.get("maximum", 0) <= limits.MAX_DAYS):
                unbounded.append(where)
            stack.extend((f"{where}/{key}", value) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((f"{where}[{i}]", value) for i, value in enumerate(node))
    assert unbounded == []


def test_a_deep_cloudtrail_file_is_malformed_evidence_not_a_crash() -> None:
    from auditor.breach.cloudtrail import MalformedTrail, s3_object_events

    with pytest.raises(MalformedTrail, match="nested deeper than 32 levels"):
        s3_object_events(('{"Records": ' + DEEP_JSON + "}").encode())
