"""The consent registry: who agreed to be recorded, for what, until when, and legal holds.

Two formats build the same `ConsentRegistry`: YAML written by hand (loaded here) and CSV
exported from an EHR (auditor/consent/csv_import.py). Both go through `RegistryBuilder`, so
the checks that need more than a schema (duplicate clients, revoked before granted,
conflicting session answers) are the same whichever format the officer keeps.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from auditor.errors import InputError, RegistryError
from auditor.yamlsource import PositionIndex, format_path, load_yaml_checked

SESSION_ANSWERS: tuple[str, ...] = ("confirmed", "declined")
YAML_SUFFIXES: tuple[str, ...] = (".yaml", ".yml")
CSV_SUFFIXES: tuple[str, ...] = (".csv",)


@dataclass(frozen=True)
class Consent:
    """One consent a client gave: when, for which purposes, until when, and if it was revoked."""

    granted: date
    purposes: tuple[str, ...]
    per_session: bool = False  # each recorded session must also be confirmed in `sessions`
    expires: date | None = None
    revoked: date | None = None
    id: str | None = None  # matches a recording's consent_id
    line: int | None = field(default=None, compare=False)  # where it was written (YAML or CSV line)


@dataclass(frozen=True)
class LegalHold:
    """An order to keep a client's recordings, until a date or until lifted."""

    until: date | None  # None = until lifted
    reason: str


@dataclass
class ClientRecord:
    """A client in the consent registry: their consents, confirmed sessions and legal hold."""

    id: str
    consents: list[Consent] = field(default_factory=list)
    sessions: dict[date, str] = field(default_factory=dict)  # day -> "confirmed" | "declined"
    legal_hold: LegalHold | None = None
    line: int | None = field(default=None, compare=False)  # where the client first appears


@dataclass
class ConsentRegistry:
    """The consent registry, by client id, as loaded from its file."""

    clients: dict[str, ClientRecord]
    source: Path = field(compare=False)

    def get(self, client_id: str) -> ClientRecord | None:
        return self.clients.get(client_id)


def load_registry(path: Path) -> ConsentRegistry:
    """Load a registry by extension: .yaml/.yml as YAML, .csv as an EHR export. Raises RegistryError."""
    suffix = path.suffix.lower()
    if suffix in YAML_SUFFIXES:
        return load_registry_yaml(path)
    if suffix in CSV_SUFFIXES:
        from auditor.consent.csv_import import load_registry_csv  # imports this module

        return load_registry_csv(path)
    raise RegistryError(
        path, f"unknown registry format {suffix or '(no extension)'!r}; use .yaml, .yml or .csv"
    )


# --- building, shared by both formats ---------------------------------------------------------


@dataclass(frozen=True)
class Where:
    """Where a value was written: the line and the key (YAML path or CSV column)."""

    line: int | None
    key: str | None


Locate = Callable[[str], Where]  # field name ("granted", "date", "until", ...) -> where it is


class RegistryBuilder:
    """Collects clients, checks what a schema cannot, and remembers every problem."""

    def __init__(self, file: str | Path) -> None:
        self.file = file
        self.errors: list[InputError] = []
        self._clients: dict[str, ClientRecord] = {}
        # First lines of things that must not repeat, keyed by the record object's identity
        # (a duplicate YAML client gets its own record, so its entries do not mix with the first).
        self._session_lines: dict[tuple[int, date], int | None] = {}
        self._consent_id_lines: dict[tuple[int, str], int | None] = {}
        self._hold_lines: dict[int, int | None] = {}

    def error(self, where: Where, message: str) -> None:
        self.errors.append(RegistryError(self.file, message, line=where.line, key=where.key))

    def new_client(self, client_id: str, where: Where) -> ClientRecord:
        """A client listed once (YAML). A repeat is an error; its entries are still checked."""
        existing = self._clients.get(client_id)
        if existing is not None:
            self.error(where, f"duplicate client id {client_id!r} (first at line {existing.line})")
            return ClientRecord(id=client_id, line=where.line)
        record = self._clients[client_id] = ClientRecord(id=client_id, line=where.line)
        return record

    def client(self, client_id: str, where: Where) -> ClientRecord:
        """The client's record, created on first sight (CSV has a row per event)."""
        if client_id not in self._clients:
            self._clients[client_id] = ClientRecord(id=client_id, line=where.line)
        return self._clients[client_id]

    def add_consent(self, record: ClientRecord, consent: Consent, locate: Locate) -> None:
        if consent.revoked is not None and consent.revoked < consent.granted:
            self.error(
                locate("revoked"),
                f"revoked ({consent.revoked}) is before granted ({consent.granted})",
            )
        if consent.expires is not None and consent.expires < consent.granted:
            self.error(
                locate("expires"),
                f"expires ({consent.expires}) is before granted ({consent.granted})",
            )
        if consent.id is not None:
            seen_key = (id(record), consent.id)
            if seen_key in self._consent_id_lines:
                first = self._consent_id_lines[seen_key]
                self.error(
                    locate("id"),
                    f"duplicate consent id {consent.id!r} for client {record.id!r} (first at line {first})",
                )
            else:
                self._consent_id_lines[seen_key] = consent.line
        record.consents.append(consent)

    def add_session(self, record: ClientRecord, day: date, answer: str, locate: Locate) -> None:
        """Record a session answer; the same answer twice is harmless, opposite answers are not."""
        where = locate("date")
        previous = record.sessions.get(day)
        if previous is None:
            record.sessions[day] = answer
            self._session_lines[(id(record), day)] = where.line
        elif previous != answer:
            first = self._session_lines[(id(record), day)]
            self.error(
                where,
                f"session {day} is recorded as {answer!r} here but as {previous!r} at line {first}",
            )

    def set_legal_hold(self, record: ClientRecord, hold: LegalHold, locate: Locate) -> None:
        if record.legal_hold is not None:
            first = self._hold_lines[id(record)]
            self.error(locate("reason"), f"client {record.id!r} already has a legal hold (line {first})")
            return
        record.legal_hold = hold
        self._hold_lines[id(record)] = locate("reason").line

    def finish(self, source: Path, earlier_errors: list[InputError] | None = None) -> ConsentRegistry:
        """The registry, or a RegistryError listing every problem (earlier ones, e.g. schema, too)."""
        errors = [*(earlier_errors or []), *self.errors]
        if errors:
            raise RegistryError.from_errors(errors)
        return ConsentRegistry(clients=self._clients, source=source)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def parse_strict_date(text: str) -> date:
    """YYYY-MM-DD only (no 20260901, no week dates); ValueError says why not."""
    if not _ISO_DATE.fullmatch(text):
        raise ValueError("expected YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"expected YYYY-MM-DD: {exc}") from None


# --- YAML -------------------------------------------------------------------------------------


def load_registry_yaml(path: Path) -> ConsentRegistry:
    """Load the YAML registry (schema auditor/schemas/consent.schema.json); raises RegistryError."""
    data, positions, schema_problems = load_yaml_checked(path, "consent", error_class=RegistryError)
    builder = RegistryBuilder(path)
    # The schema has reported malformed values already; build what is well-formed so the
    # semantic checks can report their problems in the same run.
    clients = data.get("clients") if isinstance(data, dict) else None
    for number, entry in enumerate(clients if isinstance(clients, list) else []):
        _read_client(builder, entry, ("clients", number), positions)
    return builder.finish(path, schema_problems)


def _read_client(
    builder: RegistryBuilder, entry: Any, at: tuple[str | int, ...], positions: PositionIndex
) -> None:
    if not isinstance(entry, dict) or not _is_text(entry.get("id")):
        return
    record = builder.new_client(entry["id"], _locator(at, positions)("id"))
    for number, item in enumerate(_list(entry.get("consents"))):
        consent = _read_consent(item, positions.line((*at, "consents", number)))
        if consent is not None:
            builder.add_consent(record, consent, _locator((*at, "consents", number), positions))
    for number, item in enumerate(_list(entry.get("sessions"))):
        if isinstance(item, dict) and item.get("recording") in SESSION_ANSWERS:
            day = _date_or_none(item.get("date"))
            if day is not None:
                builder.add_session(
                    record, day, item["recording"], _locator((*at, "sessions", number), positions)
                )
    hold = entry.get("legal_hold")
    if isinstance(hold, dict) and _is_text(hold.get("reason")):
        until = hold.get("until")
        until_day = _date_or_none(until)
        if until is None or until_day is not None:
            builder.set_legal_hold(
                record,
                LegalHold(until=until_day, reason=hold["reason"]),
                _locator((*at, "legal_hold"), positions),
            )


def _read_consent(item: Any, line: int | None) -> Consent | None:
    """A Consent if every field is well-formed (the schema reports the ones that are not)."""
    if not isinstance(item, dict):
        return None
    granted = _date_or_none(item.get("granted"))
    purposes: Any = item.get("purposes")
    optional = {name: item.get(name) for name in ("expires", "revoked")}
    dates = {name: _date_or_none(value) for name, value in optional.items()}
    well_formed = (
        granted is not None
        and isinstance(purposes, list)
        and bool(purposes)
        and all(_is_text(p) for p in purposes)
        and isinstance(item.get("per_session", False), bool)
        and all(optional[name] is None or dates[name] is not None for name in optional)
        and (item.get("id") is None or _is_text(item.get("id")))
    )
    if not well_formed or granted is None:
        return None
    return Consent(
        granted=granted,
        purposes=tuple(purposes),
        per_session=item.get("per_session", False),
        expires=dates["expires"],
        revoked=dates["revoked"],
        id=item.get("id"),
        line=line,
    )


def _locator(at: tuple[str | int, ...], positions: PositionIndex) -> Locate:
    def locate(name: str) -> Where:
        path = (*at, name)
        return Where(positions.line(path), format_path(path))

    return locate


def _date_or_none(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_strict_date(value)
    except ValueError:
        return None


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
