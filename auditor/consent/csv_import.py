"""Import a consent registry from CSV, the format EHRs export (see docs/consent-registry.md).

One row per event: a consent given, a session's recording confirmed or declined, or a legal
hold. `record_type` says which, and only that type's columns may be filled in, so a shifted
or mis-mapped column shows up as an error instead of a silently wrong registry.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.consent.registry import (
    SESSION_ANSWERS,
    Consent,
    ConsentRegistry,
    LegalHold,
    RegistryBuilder,
    Where,
    parse_strict_date,
)
from auditor.errors import RegistryError
from auditor.limits import REGISTRY_CSV
from auditor.safeparse import LimitError, read_bounded

if TYPE_CHECKING:  # pragma: no cover - typing only
    from _csv import Reader as CsvReader

COLUMNS: tuple[str, ...] = (
    "client_id",
    "record_type",
    "granted",
    "purposes",
    "per_session",
    "expires",
    "revoked",
    "consent_id",
    "session_date",
    "recording",
    "legal_hold_until",
    "legal_hold_reason",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("client_id", "record_type")
COLUMNS_BY_RECORD_TYPE: dict[str, tuple[str, ...]] = {
    "consent": ("granted", "purposes", "per_session", "expires", "revoked", "consent_id"),
    "session": ("session_date", "recording"),
    "legal_hold": ("legal_hold_until", "legal_hold_reason"),
}
PURPOSE_SEPARATOR = ";"
TRUE_WORDS = frozenset({"true", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", ""})

# The builder names fields as the YAML does; these are the CSV columns holding them.
_COLUMN_OF_FIELD = {
    "consent": {"id": "consent_id"},
    "session": {"date": "session_date"},
    "legal_hold": {"until": "legal_hold_until", "reason": "legal_hold_reason"},
}


def load_registry_csv(path: Path) -> ConsentRegistry:
    """Load a CSV registry export; raises RegistryError naming file, line and column of every problem."""
    try:
        raw = read_bounded(path, REGISTRY_CSV)
        # utf-8-sig drops the byte-order mark that Excel and many EHRs put first.
        text = raw.decode("utf-8-sig")
    except LimitError as exc:
        raise RegistryError(path, f"{exc.message} (see docs/limits.md)") from exc
    except UnicodeDecodeError as exc:
        raise RegistryError(
            path, f"not UTF-8 text ({exc.reason} at byte {exc.start}); export as 'CSV UTF-8'"
        ) from exc
    except OSError as exc:
        raise RegistryError(path, f"cannot read: {exc.strerror or exc}") from exc

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    builder = RegistryBuilder(path)
    try:
        header = _read_header(reader, path)
        for line, row in _rows(reader):
            _read_row(builder, header, row, line)
    except csv.Error as exc:
        raise RegistryError(path, f"malformed CSV: {exc}", line=reader.line_num) from exc
    return builder.finish(path)


def _read_header(reader: CsvReader, path: Path) -> list[str]:
    header = [name.strip().lower() for name in next(reader, [])]
    if not any(header):
        raise RegistryError(
            path, f"no header; the first line must name the columns: {','.join(COLUMNS)}", line=1
        )
    errors: list[RegistryError] = []
    if len(header) == 1 and ";" in header[0]:
        raise RegistryError(path, "the header is separated by ';'; export with commas (',') instead", line=1)
    seen: set[str] = set()
    for name in header:
        if name in seen:
            errors.append(RegistryError(path, f"column {name!r} appears twice", line=1, key=name))
        elif not name:
            errors.append(RegistryError(path, "a column has no name (a stray comma in the header?)", line=1))
        elif name not in COLUMNS:
            close = difflib.get_close_matches(name, COLUMNS, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known columns: {', '.join(COLUMNS)})"
            errors.append(RegistryError(path, f"unknown column {name!r}{hint}", line=1, key=name))
        seen.add(name)
    for name in REQUIRED_COLUMNS:
        if name not in seen:
            errors.append(RegistryError(path, f"missing required column {name!r}", line=1))
    if errors:
        # Rows cannot be read reliably against a header we do not understand.
        raise RegistryError.from_errors(errors)
    return header


def _rows(reader: CsvReader) -> Iterator[tuple[int, list[str]]]:
    """(first line of the record, fields), skipping blank lines; quoted fields may span lines."""
    while True:
        start = reader.line_num + 1
        row = next(reader, None)
        if row is None:
            return
        if row and any(field.strip() for field in row):
            yield start, row


def _read_row(builder: RegistryBuilder, header: list[str], row: list[str], line: int) -> None:
    if len(row) != len(header):
        builder.error(Where(line, None), f"row has {len(row)} fields but the header has {len(header)}")
        return
    values = {name: value.strip() for name, value in zip(header, row, strict=True)}
    client_id = values["client_id"]
    record_type = values["record_type"].lower()
    problems_before = len(builder.errors)
    if not client_id:
        builder.error(Where(line, "client_id"), "must not be empty")
    if record_type not in COLUMNS_BY_RECORD_TYPE:
        kinds = ", ".join(COLUMNS_BY_RECORD_TYPE)
        builder.error(Where(line, "record_type"), f"must be one of {kinds} (got {values['record_type']!r})")
        return
    for name in COLUMNS:
        if (
            values.get(name)
            and name not in REQUIRED_COLUMNS
            and name not in COLUMNS_BY_RECORD_TYPE[record_type]
        ):
            builder.error(Where(line, name), f"must be empty in a {record_type} row (got {values[name]!r})")
    row_reader = _RowReader(builder, values, line, record_type)
    if record_type == "consent":
        consent = row_reader.consent()
        if consent is not None and len(builder.errors) == problems_before:
            builder.add_consent(
                builder.client(client_id, Where(line, "client_id")), consent, row_reader.locate
            )
    elif record_type == "session":
        session = row_reader.session()
        if session is not None and len(builder.errors) == problems_before:
            day, answer = session
            builder.add_session(
                builder.client(client_id, Where(line, "client_id")), day, answer, row_reader.locate
            )
    else:
        hold = row_reader.legal_hold()
        if hold is not None and len(builder.errors) == problems_before:
            builder.set_legal_hold(
                builder.client(client_id, Where(line, "client_id")), hold, row_reader.locate
            )


class _RowReader:
    """Reads one row's typed values, reporting each bad cell by line and column."""

    def __init__(self, builder: RegistryBuilder, values: dict[str, str], line: int, record_type: str) -> None:
        self.builder = builder
        self.values = values
        self.line = line
        self.record_type = record_type
        self.ok = True

    def locate(self, field_name: str) -> Where:
        column = _COLUMN_OF_FIELD[self.record_type].get(field_name, field_name)
        return Where(self.line, column)

    def fail(self, column: str, message: str) -> None:
        self.ok = False
        self.builder.error(Where(self.line, column), message)

    def text(self, column: str, *, required: bool) -> str | None:
        value = self.values.get(column, "")
        if not value:
            if required:
                self.fail(column, f"is required in a {self.record_type} row")
            return None
        return value

    def day(self, column: str, *, required: bool) -> date | None:
        value = self.text(column, required=required)
        if value is None:
            return None
        try:
            return parse_strict_date(value)
        except ValueError as exc:
            self.fail(column, f"is not a valid date, {exc} (got {value!r})")
            return None

    def consent(self) -> Consent | None:
        granted = self.day("granted", required=True)
        purposes = self._purposes()
        per_session = self._flag("per_session")
        expires = self.day("expires", required=False)
        revoked = self.day("revoked", required=False)
        consent_id = self.text("consent_id", required=False)
        if not self.ok or granted is None or purposes is None:
            return None
        return Consent(
            granted=granted,
            purposes=purposes,
            per_session=per_session,
            expires=expires,
            revoked=revoked,
            id=consent_id,
            line=self.line,
        )

    def session(self) -> tuple[date, str] | None:
        day = self.day("session_date", required=True)
        answer = self.text("recording", required=True)
        if answer is not None and answer.lower() not in SESSION_ANSWERS:
            self.fail("recording", f"must be one of {', '.join(SESSION_ANSWERS)} (got {answer!r})")
        if not self.ok or day is None or answer is None:
            return None
        return day, answer.lower()

    def legal_hold(self) -> LegalHold | None:
        until = self.day("legal_hold_until", required=False)
        reason = self.text("legal_hold_reason", required=True)
        if not self.ok or reason is None:
            return None
        return LegalHold(until=until, reason=reason)

    def _purposes(self) -> tuple[str, ...] | None:
        raw = self.text("purposes", required=True)
        if raw is None:
            return None
        purposes = [part.strip() for part in raw.split(PURPOSE_SEPARATOR) if part.strip()]
        if not purposes:
            self.fail("purposes", f"must list at least one purpose (got {raw!r})")
            return None
        repeated = sorted({p for p in purposes if purposes.count(p) > 1})
        if repeated:
            self.fail("purposes", f"must not repeat a purpose (got {repeated[0]!r} twice)")
            return None
        return tuple(purposes)

    def _flag(self, column: str) -> bool:
        value = self.values.get(column, "").lower()
        if value in TRUE_WORDS:
            return True
        if value not in FALSE_WORDS:
            self.fail(column, f"must be true or false (got {self.values[column]!r})")
        return False
