"""Consent registry loading, YAML and CSV: values, equivalence, and every error with its exact line."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from textwrap import dedent

import pytest
from jsonschema import Draft202012Validator

from auditor.consent import ClientRecord, Consent, ConsentRegistry, LegalHold, load_registry
from auditor.consent.csv_import import COLUMNS
from auditor.errors import InputError, RegistryError
from auditor.yamlsource import SCHEMA_DIR

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HEADER = ",".join(COLUMNS)


def write(directory: Path, text: str, name: str = "consent.yaml", *, encoding: str = "utf-8") -> Path:
    """Write `text` (dedented; its first line is line 1) and return the path."""
    path = directory / name
    path.write_text(dedent(text).lstrip("\n"), encoding=encoding, newline="")
    return path


def problems(error: InputError) -> list[tuple[int | None, str | None, str]]:
    return [(e.line, e.key, e.message) for e in error.errors]


def load_failing(path: Path) -> RegistryError:
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    return caught.value


def csv_row(**values: str) -> str:
    return ",".join(values.get(column, "") for column in COLUMNS)


# --- good files --------------------------------------------------------------------------------


def test_yaml_example_loads_to_the_right_values() -> None:
    registry = load_registry(EXAMPLES / "consent.yaml")
    assert set(registry.clients) == {"C-1001", "C-1002", "C-1003"}
    first = registry.get("C-1001")
    assert first == ClientRecord(
        id="C-1001",
        consents=[
            Consent(
                granted=date(2026, 9, 1),
                purposes=("supervision",),
                per_session=True,
                expires=date(2027, 9, 1),
                id="CONS-1",
            )
        ],
        sessions={date(2026, 11, 10): "confirmed", date(2026, 11, 17): "declined"},
    )
    assert first is not None and first.consents[0].line == 7
    second = registry.get("C-1002")
    assert second is not None
    assert [c.revoked for c in second.consents] == [date(2026, 12, 1), None]
    assert second.consents[0].purposes == ("supervision", "training")
    assert second.legal_hold == LegalHold(until=date(2027, 6, 30), reason="records subpoena")
    third = registry.get("C-1003")
    assert third is not None and third.legal_hold == LegalHold(until=None, reason="pending complaint")
    assert registry.get("C-9999") is None
    assert registry.source == EXAMPLES / "consent.yaml"


def test_csv_example_gives_the_same_registry_as_the_yaml_example() -> None:
    from_yaml = load_registry(EXAMPLES / "consent.yaml")
    from_csv = load_registry(EXAMPLES / "consent.csv")
    assert from_csv == from_yaml
    assert from_csv.clients == from_yaml.clients  # not vacuous: the registries hold clients
    assert len(from_csv.clients) == 3
    csv_consent = from_csv.clients["C-1002"].consents[1]
    assert csv_consent.line == 6  # CSV line numbers, for later messages


def test_csv_with_byte_order_mark_and_crlf(tmp_path: Path) -> None:
    text = (EXAMPLES / "consent.csv").read_text(encoding="utf-8").replace("\n", "\r\n")
    path = tmp_path / "export.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert load_registry(path) == load_registry(EXAMPLES / "consent.csv")


def test_csv_header_may_omit_columns_and_vary_in_case(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        Client_ID, Record_Type ,granted,purposes,session_date,recording
        C-1,consent,2026-01-05,supervision; training ,,
        C-1,Session,,,2026-02-01,Confirmed
        C-1,session,,,2026-02-01,confirmed
        """,
        "export.csv",
    )
    record = load_registry(path).get("C-1")
    assert record == ClientRecord(
        id="C-1",
        consents=[Consent(granted=date(2026, 1, 5), purposes=("supervision", "training"))],
        sessions={date(2026, 2, 1): "confirmed"},  # the repeated identical answer is harmless
    )


def test_empty_yaml_registry_is_allowed(tmp_path: Path) -> None:
    registry = load_registry(write(tmp_path, "version: 1\nclients: []\n"))
    assert registry == ConsentRegistry(clients={}, source=tmp_path / "consent.yaml")


# --- YAML errors, each with its exact line ------------------------------------------------------


def test_duplicate_client_id_points_at_the_second(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        clients:
          - id: C-1
            consents: []
          - id: C-2
          - id: C-1
        """,
    )
    assert problems(load_failing(path)) == [
        (6, "clients[2].id", "duplicate client id 'C-1' (first at line 3)")
    ]


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        (
            "2026-02-30",
            "is not a valid date, expected YYYY-MM-DD: day is out of range for month (got '2026-02-30')",
        ),
        ("yesterday", "is not a valid date, expected YYYY-MM-DD (got 'yesterday')"),
        ("'2026-9-1'", "is not a valid date, expected YYYY-MM-DD (got '2026-9-1')"),
        ("20260901", "must be a date written as YYYY-MM-DD (got 20260901)"),
    ],
)
def test_a_date_that_is_not_a_date(tmp_path: Path, written: str, reason: str) -> None:
    path = write(
        tmp_path,
        f"""
        version: 1
        clients:
          - id: C-1
            consents:
              - purposes: [supervision]
                granted: {written}
        """,
    )
    assert problems(load_failing(path)) == [(6, "clients[0].consents[0].granted", reason)]


def test_revoked_or_expiring_before_granted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        clients:
          - id: C-1
            consents:
              - granted: 2026-05-01
                purposes: [supervision]
                revoked: 2026-04-30
              - granted: 2026-05-01
                expires: 2026-01-01
                purposes: [training]
        """,
    )
    assert problems(load_failing(path)) == [
        (7, "clients[0].consents[0].revoked", "revoked (2026-04-30) is before granted (2026-05-01)"),
        (9, "clients[0].consents[1].expires", "expires (2026-01-01) is before granted (2026-05-01)"),
    ]


def test_unknown_keys_with_did_you_mean(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        clients:
          - id: C-1
            consents:
              - granted: 2026-05-01
                purpose: [supervision]
            legal_hold: {reason: subpoena, untill: 2027-01-01}
        """,
    )
    assert problems(load_failing(path)) == [
        (5, "clients[0].consents[0]", "missing required key 'purposes'"),
        (6, "clients[0].consents[0].purpose", "unknown key 'purpose' (did you mean 'purposes'?)"),
        (7, "clients[0].legal_hold.untill", "unknown key 'untill' (did you mean 'until'?)"),
    ]


def test_empty_purposes_and_bad_recording_value(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        clients:
          - id: C-1
            consents:
              - granted: 2026-05-01
                purposes: []
            sessions:
              - date: 2026-06-01
                recording: maybe
        """,
    )
    assert problems(load_failing(path)) == [
        (6, "clients[0].consents[0].purposes", "must not be empty"),
        (9, "clients[0].sessions[0].recording", "must be one of 'confirmed', 'declined' (got 'maybe')"),
    ]


def test_conflicting_session_answers_for_one_day(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        clients:
          - id: C-1
            sessions:
              - date: 2026-06-01
                recording: confirmed
              - date: 2026-06-08
                recording: confirmed
              - date: 2026-06-01
                recording: declined
        """,
    )
    assert problems(load_failing(path)) == [
        (
            9,
            "clients[0].sessions[2].date",
            "session 2026-06-01 is recorded as 'declined' here but as 'confirmed' at line 5",
        )
    ]


def test_duplicate_mapping_key_in_a_consent(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        clients:
          - id: C-1
            consents:
              - granted: 2026-05-01
                purposes: [supervision]
                granted: 2026-01-01
        """,
    )
    assert problems(load_failing(path)) == [
        (
            7,
            "clients[0].consents[0].granted",
            "duplicate key 'granted' (first at line 5); YAML would silently keep the last",
        )
    ]


def test_duplicate_consent_id_within_a_client(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        clients:
          - id: C-1
            consents:
              - {granted: 2026-05-01, purposes: [supervision], id: F-1}
              - {granted: 2026-06-01, purposes: [training], id: F-1}
        """,
    )
    assert problems(load_failing(path)) == [
        (6, "clients[0].consents[1].id", "duplicate consent id 'F-1' for client 'C-1' (first at line 5)")
    ]


def test_numeric_client_id_must_be_quoted(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nclients:\n  - id: 1001\n")
    assert problems(load_failing(path)) == [
        (3, "clients[0].id", "must be a string (got 1001); quote it to keep it as text")
    ]


def test_schema_and_semantic_problems_are_reported_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        clients:
          - id: C-1
            consents:
              - {granted: 2026-05-01, purposes: [x], revoked: 2026-04-01}
            colour: blue
          - id: C-1
        """,
    )
    assert [(line, key) for line, key, _ in problems(load_failing(path))] == [
        (5, "clients[0].consents[0].revoked"),
        (6, "clients[0].colour"),
        (7, "clients[1].id"),
    ]


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nclients:\n  - id: C-1\n    consents: [\n")
    error = load_failing(path)
    assert error.message.startswith("YAML syntax error")
    assert error.line == 5  # the parser notices at the end of the file


def test_unknown_extension(tmp_path: Path) -> None:
    error = load_failing(write(tmp_path, "{}", "consent.json"))
    assert "unknown registry format '.json'" in error.message


# --- CSV errors: file, line and column ---------------------------------------------------------


def test_csv_unknown_column_with_did_you_mean(tmp_path: Path) -> None:
    path = write(tmp_path, "client_id,record_type,granted,purpose,notes\n", "export.csv")
    assert problems(load_failing(path)) == [
        (1, "purpose", "unknown column 'purpose' (did you mean 'purposes'?)"),
        (1, "notes", f"unknown column 'notes' (known columns: {', '.join(COLUMNS)})"),
    ]


def test_csv_missing_required_column_and_semicolon_separator(tmp_path: Path) -> None:
    assert problems(load_failing(write(tmp_path, "client_id,granted\n", "a.csv"))) == [
        (1, None, "missing required column 'record_type'")
    ]
    semicolons = load_failing(write(tmp_path, "client_id;record_type;granted\n", "b.csv"))
    assert semicolons.line == 1 and "';'" in semicolons.message


def test_csv_cell_errors_name_line_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "\n".join(
            [
                HEADER,
                csv_row(client_id="C-1", record_type="consent", granted="2026-02-30", purposes="supervision"),
                csv_row(client_id="C-1", record_type="consent", granted="09/01/2026", purposes=" ; "),
                csv_row(client_id="C-1", record_type="session", session_date="2026-03-01", recording="maybe"),
                csv_row(client_id="C-1", record_type="consentt", granted="2026-01-01"),
                csv_row(
                    client_id="C-1", record_type="session", session_date="2026-03-02", granted="2026-01-01"
                ),
                csv_row(client_id="", record_type="legal_hold", legal_hold_until="2027-01-01"),
                csv_row(
                    client_id="C-1",
                    record_type="consent",
                    granted="2026-01-01",
                    purposes="a",
                    per_session="si",
                ),
                "C-1,consent,2026-01-01",
            ]
        )
        + "\n",
        "export.csv",
    )
    assert problems(load_failing(path)) == [
        (
            2,
            "granted",
            "is not a valid date, expected YYYY-MM-DD: day is out of range for month (got '2026-02-30')",
        ),
        (3, "granted", "is not a valid date, expected YYYY-MM-DD (got '09/01/2026')"),
        (3, "purposes", "must list at least one purpose (got ';')"),
        (4, "recording", "must be one of confirmed, declined (got 'maybe')"),
        (5, "record_type", "must be one of consent, session, legal_hold (got 'consentt')"),
        (6, "granted", "must be empty in a session row (got '2026-01-01')"),
        (6, "recording", "is required in a session row"),
        (7, "client_id", "must not be empty"),
        (7, "legal_hold_reason", "is required in a legal_hold row"),
        (8, "per_session", "must be true or false (got 'si')"),
        (9, None, f"row has 3 fields but the header has {len(COLUMNS)}"),
    ]


def test_csv_semantic_errors_and_multiline_fields_keep_line_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "\n".join(
            [
                HEADER,
                csv_row(
                    client_id="C-1", record_type="legal_hold", legal_hold_reason='"subpoena\nsee letter"'
                ),
                "",
                csv_row(client_id="C-1", record_type="legal_hold", legal_hold_reason="second"),
                csv_row(
                    client_id="C-1", record_type="session", session_date="2026-03-01", recording="confirmed"
                ),
                csv_row(
                    client_id="C-1", record_type="session", session_date="2026-03-01", recording="declined"
                ),
                csv_row(
                    client_id="C-1",
                    record_type="consent",
                    granted="2026-05-01",
                    purposes="a",
                    revoked="2026-04-01",
                ),
            ]
        )
        + "\n",
        "export.csv",
    )
    assert problems(load_failing(path)) == [
        (5, "legal_hold_reason", "client 'C-1' already has a legal hold (line 2)"),
        (7, "session_date", "session 2026-03-01 is recorded as 'declined' here but as 'confirmed' at line 6"),
        (8, "revoked", "revoked (2026-04-01) is before granted (2026-05-01)"),
    ]


def test_csv_that_is_not_utf8_says_how_to_export(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(f"{HEADER}\nC-1,legal_hold,,,,,,,,,,Gr\xfcnde\n".encode("cp1252"))
    error = load_failing(path)
    assert "CSV UTF-8" in error.message


def test_consent_schema_is_valid() -> None:
    schema = json.loads((SCHEMA_DIR / "consent.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] and schema["title"]
