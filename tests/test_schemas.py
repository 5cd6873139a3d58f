"""The shipped JSON Schemas, fed to their real consumers: check-jsonschema (against every example
the project ships, and a real scan's result) and yaml-language-server in a real LSP session over
stdio, as an editor runs it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, place, run_cli
from tests.lsp_client import LanguageServer

SCHEMAS = REPO / "auditor" / "schemas"
CHECK = [sys.executable, "-m", "check_jsonschema"]
DOCS_WITH_YAML = ["README.md", *sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md"))]


def check_jsonschema(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CHECK, *map(str, args)], capture_output=True, text=True, timeout=300)


def _yaml_blocks(markdown: Path) -> list[str]:
    return re.findall(r"```ya?ml\n(.*?)```", markdown.read_text(), re.S)


def _schema_for(document: object) -> str | None:
    """Which of our files a YAML document is, by its keys (None: not one of ours)."""
    if not isinstance(document, dict) or document.get("version") != 1:
        return None
    if "suppressions" in document:
        return "ignore.schema.json"
    if "clients" in document:
        return "consent.schema.json"
    return "config.schema.json"


def test_every_shipped_schema_is_valid_against_its_metaschema() -> None:
    schemas = sorted(SCHEMAS.glob("*.schema.json"))
    assert len(schemas) >= 5
    res = check_jsonschema("--check-metaschema", *schemas)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize(
    ("schema", "files"),
    [
        ("config.schema.json", ["examples/auditor.yaml"]),
        ("consent.schema.json", ["examples/consent.yaml"]),
        ("rulepack.schema.json", ["rules/core.yaml", "rules/s3.yaml"]),
    ],
)
def test_every_example_file_passes_check_jsonschema(schema: str, files: list[str]) -> None:
    res = check_jsonschema("--schemafile", SCHEMAS / schema, *(REPO / f for f in files))
    assert res.returncode == 0, res.stdout + res.stderr


def test_every_example_in_the_docs_passes_check_jsonschema(tmp_path: Path) -> None:
    checked = set()
    for doc in DOCS_WITH_YAML:
        for number, block in enumerate(_yaml_blocks(REPO / doc)):
            schema = _schema_for(yaml.safe_load(block))
            if schema is None:
                continue
            example = tmp_path / f"{Path(doc).stem}-{number}.yaml"
            example.write_text(block)
            res = check_jsonschema("--schemafile", SCHEMAS / schema, example)
            assert res.returncode == 0, f"{doc} block {number}: {res.stdout}{res.stderr}"
            checked.add((doc, schema))
    # The docs show a full config, a registry and a suppression file; each was checked.
    assert {s for _, s in checked} == {"config.schema.json", "consent.schema.json", "ignore.schema.json"}


def test_the_ci_examples_pass_the_ci_vendors_schemas(tmp_path: Path) -> None:
    """docs/examples/github-actions.yml against the GitHub workflow schema, and the GitLab job of
    docs/ci.md against GitLab's, both as check-jsonschema ships them (vendor.github-workflows,
    vendor.gitlab-ci; SchemaStore)."""
    res = check_jsonschema(
        "--builtin-schema", "vendor.github-workflows", REPO / "docs/examples/github-actions.yml"
    )
    assert res.returncode == 0, res.stdout + res.stderr
    (job,) = [b for b in _yaml_blocks(REPO / "docs" / "ci.md") if b.startswith("recording-audit:")]
    gitlab = tmp_path / ".gitlab-ci.yml"
    gitlab.write_text(job)
    res = check_jsonschema("--builtin-schema", "vendor.gitlab-ci", gitlab)
    assert res.returncode == 0, res.stdout + res.stderr


def test_a_real_result_passes_the_result_schema(tmp_path: Path) -> None:
    place(tmp_path / "practice", "C-1001_2026-11-10.wav", "session.wav")
    out = tmp_path / "r.json"
    run_cli("scan", "-q", tmp_path / "practice", "-o", out, "--fail-on", "none")
    res = check_jsonschema("--schemafile", SCHEMAS / "result.schema.json", out)
    assert res.returncode == 0, res.stdout + res.stderr


def test_python_named_groups_are_valid_patterns_in_the_schema(tmp_path: Path) -> None:
    """attribution.patterns are Python regular expressions: the schema must not call them ECMA-262
    ('format: regex'), which check-jsonschema and editors hold them to."""
    config = json.loads((SCHEMAS / "config.schema.json").read_text())
    items = config["properties"]["attribution"]["properties"]["patterns"]["items"]
    assert "format" not in items
    example = tmp_path / "auditor.yaml"
    example.write_text(
        "version: 1\nattribution:\n  patterns: ['(?P<client>C-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})']\n"
    )
    assert check_jsonschema("--schemafile", SCHEMAS / "config.schema.json", example).returncode == 0
    # With the format back, the consumer refuses the project's own example: the test can fail.
    strict = json.loads(json.dumps(config))
    strict["properties"]["attribution"]["properties"]["patterns"]["items"]["format"] = "regex"
    schema = tmp_path / "strict.schema.json"
    schema.write_text(json.dumps(strict))
    res = check_jsonschema("--schemafile", schema, REPO / "examples" / "auditor.yaml")
    assert res.returncode == 1 and "is not a 'regex'" in res.stdout


# --- yaml-language-server ------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LanguageServer, Path]]:
    root = tmp_path_factory.mktemp("editor")
    ls = LanguageServer(
        root,
        {"yaml": {"validate": True, "completion": True, "hover": True, "schemaStore": {"enable": False}}},
    )
    try:
        yield ls, root
    finally:
        ls.close()


def _document(schema: str, body: str) -> str:
    # The modeline the docs tell users to write (docs/config.md, "Editor support").
    return f"# yaml-language-server: $schema={(SCHEMAS / schema).as_uri()}\n{body}"


@pytest.mark.parametrize(
    "schema", ["config.schema.json", "consent.schema.json", "ignore.schema.json", "rulepack.schema.json"]
)
def test_the_editor_offers_every_top_level_key(server: tuple[LanguageServer, Path], schema: str) -> None:
    ls, root = server
    keys = set(json.loads((SCHEMAS / schema).read_text())["properties"])
    uri = ls.open(root / f"complete-{schema}.yaml", _document(schema, "\n"))
    offered = set(ls.completion_labels(uri, 1, 0))
    assert keys <= offered, f"not offered: {sorted(keys - offered)}"


def test_the_editor_flags_a_typo_with_the_schemas_own_words(server: tuple[LanguageServer, Path]) -> None:
    ls, root = server
    text = _document(
        "config.schema.json", "version: 1\nretension:\n  default_days: 30\nreport:\n  title: ok\n"
    )
    uri = ls.open(root / "typo.yaml", text)
    diagnostics = ls.wait_for_diagnostics(uri, lambda d: d)
    (typo,) = [d for d in diagnostics if "retension" in d["message"]]
    assert typo["message"] == "Property retension is not allowed."
    assert (
        typo["range"]["start"] == {"line": 2, "character": 0} and typo["severity"] == 1
    )  # an error, on that line
    clean = ls.open(
        root / "example.yaml", _document("config.schema.json", (REPO / "examples/auditor.yaml").read_text())
    )
    assert ls.wait_for_diagnostics(clean, lambda d: d is not None) == []  # the shipped example is clean


@pytest.mark.parametrize(
    ("example", "typo", "message"),
    [
        ("examples/auditor.yaml", "retension:\n  default_days: 30\n", "Property retension is not allowed."),
        ("examples/consent.yaml", "client:\n  - id: C-1\n", "Property client is not allowed."),
    ],
)
def test_the_shipped_examples_find_their_schema_by_their_own_modeline(
    server: tuple[LanguageServer, Path], example: str, typo: str, message: str
) -> None:
    """Opened where they are, with the relative `$schema` modeline they ship with (as an editor opens
    them): clean as shipped, and the same file with a misspelt key gets the schema's error on it."""
    ls, _ = server
    path = REPO / example
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=../auditor/schemas/")
    clean = ls.open(path, text)
    assert ls.wait_for_diagnostics(clean, lambda d: d is not None) == []
    typo_line = text.count("\n")
    broken = ls.open(path.with_name(f"typo-{path.name}"), text + typo)
    diagnostics = ls.wait_for_diagnostics(broken, lambda d: d)
    assert [(d["message"], d["range"]["start"]["line"], d["severity"]) for d in diagnostics] == [
        (message, typo_line, 1)
    ]


def test_the_editor_settings_the_docs_give_map_the_files_to_their_schemas(tmp_path: Path) -> None:
    """docs/config.md's `yaml.schemas` setting (schema paths as absolute paths, files by name), no
    modeline in the files: auditor.yaml and .auditor-ignore.yaml each get their schema's errors."""
    settings = {
        "validate": True,
        "schemaStore": {"enable": False},
        "schemas": {
            str(SCHEMAS / "config.schema.json"): ["auditor.yaml"],
            str(SCHEMAS / "ignore.schema.json"): [".auditor-ignore.yaml"],
        },
    }
    ls = LanguageServer(tmp_path, {"yaml": settings})
    try:
        config = ls.open(tmp_path / "auditor.yaml", "version: 1\nretension: {}\n")
        ignore = ls.open(tmp_path / ".auditor-ignore.yaml", "version: 1\nsuppressions:\n  - rule: x\n")
        other = ls.open(tmp_path / "notes.yaml", "retension: {}\n")
        (typo,) = ls.wait_for_diagnostics(config, lambda d: d)
        assert typo["message"] == "Property retension is not allowed."
        missing = ls.wait_for_diagnostics(ignore, lambda d: d)
        assert any('Missing property "reason"' in d["message"] for d in missing), missing
        assert ls.wait_for_diagnostics(other, lambda d: d is not None) == []  # no schema for other files
    finally:
        ls.close()
