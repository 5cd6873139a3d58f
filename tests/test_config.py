"""auditor.yaml loading: values, defaults, path resolution, and every error with its exact line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from auditor.config import Config, ReportConfig, load_config
from auditor.errors import ConfigError, InputError
from auditor.yamlsource import SCHEMA_DIR, load_yaml_validated

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def write(directory: Path, text: str, name: str = "auditor.yaml") -> Path:
    """Write `text` (dedented; its first line is line 1) and return the path."""
    path = directory / name
    path.write_text(dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems(error: InputError) -> list[tuple[int | None, str | None, str]]:
    return [(e.line, e.key, e.message) for e in error.errors]


def load_failing(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value


# --- finding the file and defaults -----------------------------------------------------------


def test_no_path_and_no_file_in_cwd_gives_builtin_defaults(tmp_path: Path) -> None:
    config = load_config(None, cwd=tmp_path)
    assert config == Config()
    assert config.source is None
    assert config.retention.default_days == 90
    assert config.report == ReportConfig(redaction_key_env="AUDITOR_REDACTION_KEY")


def test_no_path_uses_auditor_yaml_in_cwd(tmp_path: Path) -> None:
    write(tmp_path, "version: 1\norganisation: Found In Cwd\n")
    config = load_config(None, cwd=tmp_path)
    assert config.organisation.name == "Found In Cwd"
    assert config.source == tmp_path / "auditor.yaml"


def test_no_cwd_means_the_process_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "version: 1\norganisation: Process Cwd\n")
    monkeypatch.chdir(tmp_path)
    assert load_config(None).organisation.name == "Process Cwd"


def test_minimal_file_keeps_every_default(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "version: 1\n"))
    defaults = Config()
    assert config.source == tmp_path / "auditor.yaml"
    config.source = None
    assert config == defaults


def test_explicit_path_that_does_not_exist(tmp_path: Path) -> None:
    error = load_failing(tmp_path / "missing.yaml")
    assert error.file == str(tmp_path / "missing.yaml")
    assert "cannot read" in error.message


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    error = load_failing(write(tmp_path, "# only a comment\n"))
    assert "empty" in error.message


# --- good files --------------------------------------------------------------------------------


def test_shipped_example_loads_with_paths_relative_to_it() -> None:
    config = load_config(EXAMPLES / "auditor.yaml")
    assert config.organisation.name == "Riverside Counselling"
    assert config.consent_registry == EXAMPLES / "consent.yaml"
    assert config.state_dir == EXAMPLES / "state"
    assert config.retention.default_days == 90
    assert config.retention.by_purpose == {"supervision": 30, "training": 180, "legal": None}
    assert config.encryption.trusted_volumes == [Path("/srv/secure")]
    assert config.encryption.s3_minimum == "sse-kms"
    assert config.exposure.web_roots == [Path("/var/www")]
    assert config.exposure.broad_groups == ["users", "staff"]
    assert config.report.title == "Riverside Counselling — recording audit"
    match = config.attribution.patterns[0].search("2026/C-1001_2026-11-10.wav")
    assert match is not None and match["client"] == "C-1001" and match["date"] == "2026-11-10"


def test_every_key_reaches_the_dataclasses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    sub = tmp_path / "policy"
    sub.mkdir()
    path = write(
        sub,
        r"""
        version: 1
        organisation: Example
        consent_registry: ../registry/consent.csv
        state_dir: ~/state
        retention:
          default_days: null
          by_purpose: {supervision: 30, legal: null}
        attribution:
          patterns: ['(?P<client>C-\d+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<purpose>\w+)']
        consent:
          withdrawal_grace_days: 0
        encryption:
          trusted_volumes: [~/vault, /srv/secure/]
          s3_minimum: client-side
        exposure:
          sync_folders: [sync]
          web_roots: [/var/www]
          network_shares: [./shares/../smb]
          broad_groups: [users]
          authorised_readers: [bob]
        rules:
          packs: [packs/extra.yaml]
          disable: [recording-web-root]
          severity: {recording-unencrypted: critical}
        report:
          redaction_key_env: MY_KEY
          redaction_key: s3cret
          title: Quarterly audit
        """,
    )
    config = load_config(path)
    assert config.consent_registry == tmp_path / "registry" / "consent.csv"
    assert config.state_dir == tmp_path / "home" / "state"
    assert config.exposure.authorised_readers == ["bob"]
    assert config.retention.default_days is None
    assert config.retention.by_purpose == {"supervision": 30, "legal": None}
    assert config.consent.withdrawal_grace_days == 0
    assert config.encryption.trusted_volumes == [tmp_path / "home" / "vault", Path("/srv/secure")]
    assert config.encryption.s3_minimum == "client-side"
    assert config.exposure.sync_folders == [sub / "sync"]
    assert config.exposure.network_shares == [sub / "smb"]
    assert config.rules.packs == [sub / "packs" / "extra.yaml"]
    assert config.rules.disable == ["recording-web-root"]
    assert config.rules.severity == {"recording-unencrypted": "critical"}
    assert config.report == ReportConfig("MY_KEY", "s3cret", "Quarterly audit")
    assert [dict(p.groupindex) for p in config.attribution.patterns] == [
        {"client": 1, "date": 2, "purpose": 3}
    ]


def test_whole_number_written_as_float_becomes_int(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "version: 1\nretention:\n  default_days: 30.0\n"))
    assert config.retention.default_days == 30
    assert isinstance(config.retention.default_days, int)


def test_dates_are_not_converted_by_yaml(tmp_path: Path) -> None:
    # A purpose that looks like a date must stay text (PyYAML would make it a date object).
    config = load_config(write(tmp_path, "version: 1\nretention:\n  by_purpose: {2026-01-01: 5}\n"))
    assert config.retention.by_purpose == {"2026-01-01": 5}


# --- errors, each with its exact line ----------------------------------------------------------


def test_error_text_names_file_line_and_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        tmp_path,
        """
        version: 1
        retention:
          default_days: ninety
        """,
    )
    monkeypatch.chdir(tmp_path)
    error = load_failing(Path("auditor.yaml"))
    assert str(error) == "auditor.yaml:3: retention.default_days: must be an integer or null (got 'ninety')"
    assert (error.file, error.line, error.key) == ("auditor.yaml", 3, "retention.default_days")


def test_missing_version_points_at_the_document(tmp_path: Path) -> None:
    error = load_failing(write(tmp_path, "# policy\n# for Riverside\norganisation: X\n"))
    assert problems(error) == [(3, None, "missing required key 'version'")]


def test_unsupported_version(tmp_path: Path) -> None:
    error = load_failing(write(tmp_path, "organisation: X\nversion: 2\n"))
    assert problems(error) == [(2, "version", "must be 1 (got 2)")]


def test_unknown_keys_point_at_the_key_and_suggest_the_right_one(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        retension:
          default_days: 30
        encryption:
          trusted_volume: [/srv]
          colour: blue
        """,
    )
    assert problems(load_failing(path)) == [
        (2, "retension", "unknown key 'retension' (did you mean 'retention'?)"),
        (5, "encryption.trusted_volume", "unknown key 'trusted_volume' (did you mean 'trusted_volumes'?)"),
        (6, "encryption.colour", "unknown key 'colour' (expected one of: trusted_volumes, s3_minimum)"),
    ]


def test_duplicate_key_is_an_error_not_last_one_wins(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        retention:
          default_days: 30
          by_purpose: {}
          default_days: 3650
        """,
    )
    assert problems(load_failing(path)) == [
        (
            5,
            "retention.default_days",
            "duplicate key 'default_days' (first at line 3); YAML would silently keep the last",
        )
    ]


def test_yaml_syntax_error_has_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        retention:
          default_days: 30
         by_purpose: {}
        """,
    )
    error = load_failing(path)
    assert error.line == 4
    assert error.message.startswith("YAML syntax error:")


def test_invalid_regex_names_the_patterns_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        r"""
        version: 1
        attribution:
          patterns:
            - '(?P<client>C-\d+)_(?P<date>\d{4}-\d{2}-\d{2})'
            - '(?P<client>C-\d+_(?P<date>\d+)'
        """,
    )
    [(line, key, message)] = problems(load_failing(path))
    assert (line, key) == (5, "attribution.patterns[1]")
    assert message.startswith("is not a valid regular expression: missing ), unterminated subpattern")


def test_pattern_without_client_and_date_groups(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        r"""
        version: 1
        attribution:
          patterns:
            - '(?P<client>C-\d+)'
            - 'C-\d+_\d{4}'
        """,
    )
    assert [(line, key, message.split(";")[0]) for line, key, message in problems(load_failing(path))] == [
        (4, "attribution.patterns[0]", "pattern has no named group 'date'"),
        (5, "attribution.patterns[1]", "pattern has no named group 'client' and 'date'"),
    ]


def test_every_problem_is_reported_at_once_in_file_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        r"""
        version: 1
        consent_registry: 42
        retention:
          by_purpose: {supervision: -1, training: 180}
        attribution:
          patterns: ['(?P<client>x)']
        encryption:
          s3_minimum: sse-c
        rules:
          severity: {recording-unencrypted: urgent}
        report:
          redaction_key_env: 'not a name'
        on: true
        """,
    )
    error = load_failing(path)
    assert [(line, key) for line, key, _ in problems(error)] == [
        (2, "consent_registry"),
        (4, "retention.by_purpose.supervision"),
        (6, "attribution.patterns[0]"),
        (8, "encryption.s3_minimum"),
        (10, "rules.severity.recording-unencrypted"),
        (12, "report.redaction_key_env"),
        (13, None),
    ]
    assert problems(error)[0][2] == "must be a string or null (got 42); quote it to keep it as text"
    assert problems(error)[3][2] == "must be one of 'sse-s3', 'sse-kms', 'client-side' (got 'sse-c')"
    assert "not text" in problems(error)[6][2]
    assert str(error).count("\n") == 6  # one line per problem


def test_negative_days_and_wrong_types(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        consent:
          withdrawal_grace_days: -5
        exposure:
          broad_groups: users
        """,
    )
    assert problems(load_failing(path)) == [
        (3, "consent.withdrawal_grace_days", "must be 0 or more (got -5)"),
        (5, "exposure.broad_groups", "must be a list (got 'users')"),
    ]


# --- the shipped schema ------------------------------------------------------------------------


def _property_schemas(schema: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            yield f"{path}.{name}", sub
            yield from _property_schemas(sub, f"{path}.{name}")


def test_config_schema_is_valid_and_documents_every_key() -> None:
    schema = json.loads((SCHEMA_DIR / "config.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] and schema["title"]
    undocumented = [path for path, sub in _property_schemas(schema) if not sub.get("description")]
    assert undocumented == []


def test_schema_covers_every_config_section() -> None:
    schema = json.loads((SCHEMA_DIR / "config.schema.json").read_text(encoding="utf-8"))
    sections = set(Config.__dataclass_fields__) - {"source", "positions"}  # bookkeeping, not keys
    assert sections == set(schema["properties"])


def test_load_yaml_validated_returns_positions_for_semantic_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nexposure:\n  web_roots:\n    - /var/www\n    - /srv/http\n")
    value, positions = load_yaml_validated(path, "config")
    assert value["exposure"]["web_roots"] == ["/var/www", "/srv/http"]
    assert positions.line(("exposure", "web_roots", 1)) == 5
    assert positions.line(("exposure", "missing", "deeper")) == 2  # nearest ancestor
    assert positions.line(()) == 1


def test_organisation_as_a_name_or_with_its_aws_accounts(tmp_path: Path) -> None:
    named = load_config(write(tmp_path, "version: 1\norganisation: Riverside\n"))
    assert (named.organisation.name, named.organisation.aws_accounts) == ("Riverside", [])
    canonical = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
    mapped = load_config(
        write(
            tmp_path,
            f"version: 1\norganisation:\n  name: Riverside\n  aws_accounts: ['111122223333', '{canonical}']\n",
        )
    )
    assert (mapped.organisation.name, mapped.organisation.aws_accounts) == (
        "Riverside",
        ["111122223333", canonical],
    )
    error = load_failing(write(tmp_path, "version: 1\norganisation:\n  name: R\n  aws_accounts: ['1234']\n"))
    assert error.line == 4 and error.key == "organisation.aws_accounts[0]"
    assert "12-digit AWS account id" in error.message
