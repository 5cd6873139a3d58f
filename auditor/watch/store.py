"""The daemon's durable state, one sqlite database: the open findings and the outbox of events.

One database, because an event and the change of the ledger that caused it must be saved
together: they are committed in one transaction, so a crash, even `kill -9`, leaves both or
neither. A finding alerted is therefore always a finding the next start knows is open (and can
resolve when it was fixed meanwhile), and an event committed is never lost: it waits in the
outbox until every sink it was meant for has taken it.

Tables:
  findings    fingerprint -> the open finding (JSON): what was alerted and not yet resolved
  outbox      seq -> event (JSON), in the order the events happened
  deliveries  (sink, seq): what each sink has still to take; an outbox row goes once none refer to it

The database is written by the daemon's threads through one connection, serialised by a lock,
in write-ahead-log mode while the daemon runs; `auditor status` reads it through its own
read-only connection.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from auditor.textsafe import fix_lone_surrogates
from auditor.watch.state import StateError

log = logging.getLogger(__name__)

DB_FILE = "watch.sqlite"
SCHEMA_VERSION = 2  # version 1 was findings.json and the webhook's own spool files
LEGACY_FINDINGS = "findings.json"
LEGACY_WEBHOOK_SPOOL = ("webhook-spool.jsonl", "webhook-spool.acked")

Event = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS findings (fingerprint TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    sink TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (sink, seq)
) WITHOUT ROWID;
"""


def to_json(value: Any) -> str:
    """JSON for the database and the sinks, always valid UTF-8. Text that is not valid Unicode (a lone
    surrogate that got past the parsers) is written in the one lossless form (auditor.textsafe)
    instead of failing: the event must get out."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(fix_lone_surrogates(value), ensure_ascii=False, separators=(",", ":"), default=str)
    return text


class StateStore:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / DB_FILE
        self._state_dir = state_dir
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    # -- opening -------------------------------------------------------------------------------

    def open(self) -> None:
        """Open (creating it 0600 if new) and bring a version-1 state directory over."""
        try:
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            # Write-ahead log: a commit is one append and one fsync (a rollback journal costs several).
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # a commit is on disk when it returns
            db.executescript(_SCHEMA)
            row = db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"{self.path}: cannot open the state ({exc})") from exc
        if row is not None and row[0] != str(SCHEMA_VERSION):
            db.close()
            raise StateError(f"{self.path}: unknown state format (version {row[0]!r})")
        self._db = db
        if row is None:
            self._import_version_1()

    def _import_version_1(self) -> None:
        """findings.json and the webhook's spool become rows; the old files go once they are in."""
        findings_path = self._state_dir / LEGACY_FINDINGS
        findings: dict[str, Any] = {}
        if findings_path.exists():
            try:
                data = json.loads(findings_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise StateError(f"{findings_path}: cannot read ({exc})") from exc
            if (
                not isinstance(data, dict)
                or data.get("version") != 1
                or not isinstance(data.get("open"), dict)
            ):
                raise StateError(f"{findings_path}: unknown state format (version {data.get('version')!r})")
            findings = data["open"]
        spooled = _legacy_webhook_backlog(self._state_dir)
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO findings VALUES (?, ?)",
                [(fp, to_json({"alerted": True, **record})) for fp, record in findings.items()],
            )
            for line in spooled:
                seq = db.execute("INSERT INTO outbox (event) VALUES (?)", (line,)).lastrowid
                db.execute("INSERT INTO deliveries VALUES ('webhook', ?)", (seq,))
            db.execute("INSERT INTO meta VALUES ('version', ?)", (str(SCHEMA_VERSION),))
        for old in (findings_path, *(self._state_dir / name for name in LEGACY_WEBHOOK_SPOOL)):
            with contextlib.suppress(FileNotFoundError):
                old.unlink()
        if findings or spooled:
            log.info(
                "state brought over from version 1: %d open finding(s), %d spooled event(s)",
                len(findings),
                len(spooled),
            )

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                # Back to a plain database file (the log checkpointed, -wal and -shm gone), so that
                # `auditor status` reads it read-only without creating files in the state directory.
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("PRAGMA journal_mode=DELETE")
                self._db.close()
                self._db = None

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise StateError(f"{self.path}: not open")
        return self._db

    # -- the ledger and the outbox, together ----------------------------------------------------

    def load_findings(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            rows = self._connection().execute("SELECT fingerprint, record FROM findings").fetchall()
        return {fingerprint: json.loads(record) for fingerprint, record in rows}

    def commit(
        self, changes: Mapping[str, dict[str, Any] | None], events: Sequence[Event], sinks: Iterable[str]
    ) -> None:
        """Save the ledger's changes (None: no longer open) and queue `events` for every sink, atomically.
        Raises sqlite3.Error or OSError (a full disk): then nothing was saved."""
        sink_names = list(sinks)
        with self._transaction() as db:
            for fingerprint, record in changes.items():
                if record is None:
                    db.execute("DELETE FROM findings WHERE fingerprint = ?", (fingerprint,))
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO findings VALUES (?, ?)", (fingerprint, to_json(record))
                    )
            for event in events:
                seq = db.execute("INSERT INTO outbox (event) VALUES (?)", (to_json(event),)).lastrowid
                db.executemany("INSERT INTO deliveries VALUES (?, ?)", [(name, seq) for name in sink_names])

    # -- delivery -------------------------------------------------------------------------------

    def pending(self, sink: str, after: int, limit: int = 200) -> list[tuple[int, Event]]:
        """The next events `sink` has still to take, oldest first, after outbox row `after`."""
        with self._lock:
            rows = (
                self._connection()
                .execute(
                    "SELECT o.seq, o.event FROM deliveries d JOIN outbox o ON o.seq = d.seq "
                    "WHERE d.sink = ? AND d.seq > ? ORDER BY d.seq LIMIT ?",
                    (sink, after, limit),
                )
                .fetchall()
            )
        return [(seq, json.loads(text)) for seq, text in rows]

    def delivered(self, sink: str, upto: int) -> None:
        """`sink` has taken every event up to outbox row `upto`; rows nobody still needs are removed."""
        with self._transaction() as db:
            db.execute("DELETE FROM deliveries WHERE sink = ? AND seq <= ?", (sink, upto))
            db.execute(
                "DELETE FROM outbox WHERE seq <= ? AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.seq = outbox.seq)",
                (upto,),
            )

    def backlog(self, sink: str, after: int = 0) -> int:
        """How many events `sink` has still to take (after outbox row `after`)."""
        with self._lock:
            (count,) = (
                self._connection()
                .execute("SELECT count(*) FROM deliveries WHERE sink = ? AND seq > ?", (sink, after))
                .fetchone()
            )
        return int(count)

    def forget_sinks_except(self, keep: Iterable[str]) -> dict[str, int]:
        """Undelivered events of sinks no longer configured (e.g. --webhook dropped): removed, and counted."""
        names = list(keep)
        marks = ",".join("?" * len(names)) or "''"
        with self._transaction() as db:
            counts = dict(
                db.execute(
                    f"SELECT sink, count(*) FROM deliveries WHERE sink NOT IN ({marks}) GROUP BY sink", names
                ).fetchall()
            )
            db.execute(f"DELETE FROM deliveries WHERE sink NOT IN ({marks})", names)
            db.execute(
                "DELETE FROM outbox WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.seq = outbox.seq)"
            )
        return counts


def read_open_findings(state_dir: Path) -> dict[str, dict[str, Any]]:
    """The open findings, for `auditor status`: read-only, and harmless while the daemon writes."""
    path = state_dir / DB_FILE
    if not path.exists():
        return _legacy_open_findings(state_dir)  # a version-1 state the daemon has not brought over yet
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            rows = db.execute("SELECT fingerprint, record FROM findings").fetchall()
        finally:
            db.close()
        return {fingerprint: json.loads(record) for fingerprint, record in rows}
    except (sqlite3.Error, ValueError) as exc:
        raise StateError(f"{path}: cannot read ({exc})") from exc


def _legacy_open_findings(state_dir: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((state_dir / LEGACY_FINDINGS).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise StateError(f"{state_dir / LEGACY_FINDINGS}: cannot read ({exc})") from exc
    found = data.get("open") if isinstance(data, dict) else None
    return (
        {fp: record for fp, record in found.items() if isinstance(record, dict)}
        if isinstance(found, dict)
        else {}
    )


def _legacy_webhook_backlog(state_dir: Path) -> list[str]:
    spool, acked_path = (state_dir / name for name in LEGACY_WEBHOOK_SPOOL)
    try:
        lines = spool.read_bytes().decode("utf-8", "replace").splitlines()
    except FileNotFoundError:
        return []
    try:
        acked = int(acked_path.read_text().strip() or 0)
    except (FileNotFoundError, ValueError):
        acked = 0
    return [line for line in lines[acked:] if line.strip()]
