"""The breach register: one durable record per exposed recording per exposure episode.

The law's clocks (HIPAA 164.404: 60 days; GDPR Art 33: 72 hours) run from *discovery*, so the
register sets `first_discovered` once, when an episode opens, and nothing moves it afterwards:
not a rescan, a restart, a SIGHUP or a re-rendered report (a trigger refuses the update). Fixing
the exposure ends the episode (`contained`) but not the duty to assess: a contained breach stays
listed until the officer records an outcome. Nothing is ever deleted; every change appends to
`events`, the audit trail (who, when, what), which triggers keep append-only.

Storage is sqlite3 from the standard library, in `breaches.sqlite3` inside the state folder
(0700, the file 0600). `PRAGMA user_version` is the schema version; `MIGRATIONS[n]` takes a
register from version n to n+1, in one transaction, after a copy of the file is kept beside it.
A register made by a newer version is refused rather than guessed at.

Times are ISO 8601 strings in UTC, which sort as they compare.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor.rules.breach import GDPR_NOTICE, HIPAA_NOTICE

REGISTER_FILE = "breaches.sqlite3"
APPLICATION_ID = 0x52414252  # "RABR": tells our file from any other SQLite database
BUSY_TIMEOUT_S = 30.0  # scan and watch may write at the same moment; sqlite serialises them

OPEN, CONTAINED = "open", "contained"
NOT_REPORTABLE, REPORTED = "assessed-not-reportable", "reported"
STATUSES = (OPEN, CONTAINED, NOT_REPORTABLE, REPORTED)
# `auditor breach assess --outcome`: what the officer decided. "pending" withdraws an outcome.
OUTCOMES = {"not-reportable": NOT_REPORTABLE, "reported": REPORTED, "pending": None}


class RegisterError(Exception):
    """The register cannot be used: unreadable, not a register, made by a newer version, locked."""

    def __init__(self, path: Path, message: str) -> None:
        self.path, self.message = path, message
        super().__init__(f"{path}: {message}")


# -- schema and migrations --------------------------------------------------------------------------

_V1 = (
    """CREATE TABLE breaches (
        id INTEGER PRIMARY KEY,
        location TEXT NOT NULL,
        episode INTEGER NOT NULL,
        source TEXT NOT NULL,
        first_discovered TEXT NOT NULL,
        exposure_start TEXT NOT NULL,
        exposure_start_basis TEXT NOT NULL,
        exists_since TEXT,
        last_seen_exposed TEXT NOT NULL,
        contained_at TEXT,
        contained_how TEXT,
        exposed INTEGER NOT NULL CHECK (exposed IN (0, 1)),
        outcome TEXT CHECK (outcome IN ('assessed-not-reportable', 'reported')),
        exposures TEXT NOT NULL,
        clients TEXT NOT NULL,
        recording TEXT NOT NULL,
        UNIQUE (location, episode)
    )""",
    "CREATE UNIQUE INDEX breaches_one_live_episode ON breaches (location) WHERE exposed = 1",
    """CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        breach_id INTEGER NOT NULL REFERENCES breaches (id),
        at TEXT NOT NULL,
        who TEXT NOT NULL,
        kind TEXT NOT NULL,
        outcome TEXT,
        note TEXT,
        detail TEXT NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX events_by_breach ON events (breach_id, id)",
    """CREATE TRIGGER events_never_updated BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'the breach audit trail is append-only'); END""",
    """CREATE TRIGGER events_never_deleted BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'the breach audit trail is append-only'); END""",
    """CREATE TRIGGER breaches_never_deleted BEFORE DELETE ON breaches
       BEGIN SELECT RAISE(ABORT, 'breach records are never deleted'); END""",
    """CREATE TRIGGER breaches_clock_set_once BEFORE UPDATE OF first_discovered ON breaches
       WHEN NEW.first_discovered IS NOT OLD.first_discovered
       BEGIN SELECT RAISE(ABORT, 'first_discovered is set once'); END""",
)

# Version 2: each `auditor breach evidence` run's findings per breach, with the SHA-256 of every
# log file it read, so that the assessment pack can cite them; append-only like the trail.
_V2 = (
    """CREATE TABLE evidence (
        id INTEGER PRIMARY KEY,
        breach_id INTEGER NOT NULL REFERENCES breaches (id),
        at TEXT NOT NULL,
        who TEXT NOT NULL,
        verdict TEXT NOT NULL CHECK (verdict IN ('yes', 'no', 'unknown')),
        findings TEXT NOT NULL,
        files TEXT NOT NULL
    )""",
    "CREATE INDEX evidence_by_breach ON evidence (breach_id, id)",
    """CREATE TRIGGER evidence_never_updated BEFORE UPDATE ON evidence
       BEGIN SELECT RAISE(ABORT, 'evidence records are append-only'); END""",
    """CREATE TRIGGER evidence_never_deleted BEFORE DELETE ON evidence
       BEGIN SELECT RAISE(ABORT, 'evidence records are append-only'); END""",
)

# MIGRATIONS[n] takes the schema from version n to n + 1. Append; never edit a released step.
MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2)
SCHEMA_VERSION = len(MIGRATIONS)


def _now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def time_left(seconds: int) -> str:
    """`2 d 4 h left`, `5 h 10 min left`, `overdue by 3 h`."""
    span = abs(seconds)
    days, rest = divmod(span, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        text = f"{days} d {hours} h"
    elif hours:
        text = f"{hours} h {minutes} min"
    else:
        text = f"{minutes} min"
    return f"{text} left" if seconds >= 0 else f"overdue by {text}"


# -- records ----------------------------------------------------------------------------------------


@dataclass
class Breach:
    """One exposure episode of one recording, as the register holds it."""

    id: int
    location: str
    episode: int
    source: str
    first_discovered: str
    exposure_start: str  # earliest evidence of exposure
    exposure_start_basis: str  # discovery | access-log | cloudtrail | audit-log
    exists_since: str | None  # the file's mtime or the object's LastModified, as first seen
    last_seen_exposed: str
    contained_at: str | None
    contained_how: str | None
    exposed: bool
    outcome: str | None
    exposures: list[dict[str, Any]] = field(default_factory=list)
    clients: list[str] = field(default_factory=list)
    recording: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if self.outcome:
            return self.outcome
        return OPEN if self.exposed else CONTAINED

    @property
    def closed(self) -> bool:
        """Assessed and no longer exposed: the only state a report may leave out."""
        return self.outcome is not None and not self.exposed

    @property
    def hipaa_deadline(self) -> datetime:
        return parse_time(self.first_discovered) + HIPAA_NOTICE

    @property
    def gdpr_deadline(self) -> datetime:
        return parse_time(self.first_discovered) + GDPR_NOTICE

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        """The record as reports and `breach show --json` give it, with the time left on each clock."""
        moment = now or _now()
        return {
            "id": self.id,
            "location": self.location,
            "episode": self.episode,
            "source": self.source,
            "status": self.status,
            "exposed": self.exposed,
            "outcome": self.outcome,
            "first_discovered": self.first_discovered,
            "exposure_window": {
                "start": self.exposure_start,
                "start_basis": self.exposure_start_basis,
                "exists_since": self.exists_since,
                "last_seen_exposed": self.last_seen_exposed,
                "contained_at": self.contained_at,
                "contained_how": self.contained_how,
            },
            "exposures": self.exposures,
            "clients": self.clients,
            "recording": self.recording,
            "clocks": {
                "hipaa_deadline": iso(self.hipaa_deadline),
                "gdpr_deadline": iso(self.gdpr_deadline),
                "hipaa_seconds_left": int((self.hipaa_deadline - moment).total_seconds()),
                "gdpr_seconds_left": int((self.gdpr_deadline - moment).total_seconds()),
                "as_of": iso(moment),
            },
        }


@dataclass(frozen=True)
class Event:
    id: int
    breach_id: int
    at: str
    who: str
    kind: str  # discovered | exposure-changed | contained | assessed | note | evidence | exposure-start
    outcome: str | None
    note: str | None
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "who": self.who,
            "kind": self.kind,
            "outcome": self.outcome,
            "note": self.note,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Sighting:
    """A recording seen exposed now: what the register needs to open or extend an episode."""

    location: str
    source: str
    exposures: Sequence[dict[str, Any]]
    clients: Sequence[str] = ()
    recording: dict[str, Any] = field(default_factory=dict)
    exists_since: str | None = None
    known_since: datetime | None = None  # an earlier discovery (a baseline's clock), if any


_COLUMNS = (
    "id, location, episode, source, first_discovered, exposure_start, exposure_start_basis, exists_since, "
    "last_seen_exposed, contained_at, contained_how, exposed, outcome, exposures, clients, recording"
)


def _breach(row: sqlite3.Row | tuple[Any, ...]) -> Breach:
    (id_, location, episode, source, discovered, start, basis, since, last_seen, contained_at, how) = row[:11]
    return Breach(
        id=id_,
        location=location,
        episode=episode,
        source=source,
        first_discovered=discovered,
        exposure_start=start,
        exposure_start_basis=basis,
        exists_since=since,
        last_seen_exposed=last_seen,
        contained_at=contained_at,
        contained_how=how,
        exposed=bool(row[11]),
        outcome=row[12],
        exposures=json.loads(row[13]),
        clients=json.loads(row[14]),
        recording=json.loads(row[15]),
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


# -- the register -----------------------------------------------------------------------------------


class BreachRegister:
    """The register in `state_dir`. Use as a context manager; every method is one transaction."""

    def __init__(self, state_dir: Path, *, create: bool = True) -> None:
        self.state_dir = Path(os.path.abspath(state_dir))
        self.path = self.state_dir / REGISTER_FILE
        if not create and not self.path.is_file():
            raise RegisterError(
                self.path,
                "no breach register here; `auditor scan --state DIR` (or state_dir in the config) and "
                "`auditor watch` keep one",
            )
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not self.path.exists():
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            # check_same_thread off: the watch daemon opens it in one thread and judges in another, never at once.
            self._db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise RegisterError(self.path, f"cannot open the breach register ({exc})") from exc
        try:
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise RegisterError(self.path, f"not a usable breach register ({exc})") from exc
        except RegisterError:
            self._db.close()
            raise

    def __enter__(self) -> BreachRegister:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise RegisterError(self.path, f"busy or read-only ({exc})") from exc
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- schema version ---------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        application = int(self._db.execute("PRAGMA application_id").fetchone()[0])
        if version and application != APPLICATION_ID:
            raise RegisterError(self.path, "an SQLite database, but not a breach register")
        if version > SCHEMA_VERSION:
            raise RegisterError(
                self.path,
                f"made by a newer recording-auditor (register schema {version}; this version "
                f"knows up to {SCHEMA_VERSION}); upgrade recording-auditor to use it",
            )
        if version == SCHEMA_VERSION:
            return
        if version:  # a register with records in it: keep the file as it was before touching it
            shutil.copy2(self.path, self.path.with_name(f"{REGISTER_FILE}.v{version}.bak"))
        with self._transaction() as db:
            for step in MIGRATIONS[version:]:
                for statement in step:
                    db.execute(statement)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- reading ----------------------------------------------------------------------------------

    def get(self, breach_id: int) -> Breach | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM breaches WHERE id = ?", (breach_id,)).fetchone()
        return _breach(row) if row else None

    def all(self) -> list[Breach]:
        return [_breach(r) for r in self._db.execute(f"SELECT {_COLUMNS} FROM breaches ORDER BY id")]

    def not_closed(self) -> list[Breach]:
        """Every breach a report must list: not yet assessed, or still exposed."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM breaches WHERE outcome IS NULL OR exposed = 1 ORDER BY first_discovered, id"
        )
        return [_breach(r) for r in rows]

    def live(self, location: str) -> Breach | None:
        """The episode of `location` that is exposed now, if any."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM breaches WHERE location = ? AND exposed = 1", (location,)
        ).fetchone()
        return _breach(row) if row else None

    def live_locations(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT location, id FROM breaches WHERE exposed = 1"))

    def events(self, breach_id: int) -> list[Event]:
        rows = self._db.execute(
            "SELECT id, breach_id, at, who, kind, outcome, note, detail FROM events WHERE breach_id = ? "
            "ORDER BY id",
            (breach_id,),
        )
        return [
            Event(
                id=r[0],
                breach_id=r[1],
                at=r[2],
                who=r[3],
                kind=r[4],
                outcome=r[5],
                note=r[6],
                detail=json.loads(r[7]),
            )
            for r in rows
        ]

    # -- what scans and the watch daemon see ----------------------------------------------------

    def seen_exposed(self, sighting: Sighting, *, at: datetime, who: str) -> Breach:
        """Open an episode (the clock starts at `at`, or at an earlier known discovery) or extend the
        live one: the last time seen exposed moves, the clock never does."""
        when = iso(at)
        with self._transaction() as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM breaches WHERE location = ? AND exposed = 1", (sighting.location,)
            ).fetchone()
            if row is None:
                return self._open_episode(db, sighting, at, who)
            live = _breach(row)
            exposures = _union(live.exposures, sighting.exposures)
            clients = sorted(set(live.clients) | set(sighting.clients))
            db.execute(
                "UPDATE breaches SET last_seen_exposed = max(last_seen_exposed, ?), exposures = ?, clients = ?, "
                "recording = ? WHERE id = ?",
                (
                    when,
                    _dumps(exposures),
                    _dumps(clients),
                    _dumps(merged_recording(live.recording, sighting.recording)),
                    live.id,
                ),
            )
            if exposures != live.exposures:
                added = [e for e in exposures if e not in live.exposures]
                self._event(db, live.id, when, who, "exposure-changed", detail={"added": added})
            return _breach(db.execute(f"SELECT {_COLUMNS} FROM breaches WHERE id = ?", (live.id,)).fetchone())

    def _open_episode(self, db: sqlite3.Connection, sighting: Sighting, at: datetime, who: str) -> Breach:
        discovered = min(at, sighting.known_since) if sighting.known_since else at
        episode = db.execute(
            "SELECT coalesce(max(episode), 0) + 1 FROM breaches WHERE location = ?", (sighting.location,)
        ).fetchone()[0]
        cursor = db.execute(
            f"INSERT INTO breaches ({_COLUMNS.replace('id, ', '', 1)}) VALUES "
            "(?, ?, ?, ?, ?, 'discovery', ?, ?, NULL, NULL, 1, NULL, ?, ?, ?)",
            (
                sighting.location,
                episode,
                sighting.source,
                iso(discovered),
                iso(discovered),
                sighting.exists_since,
                iso(at),
                _dumps(_union([], sighting.exposures)),
                _dumps(sorted(set(sighting.clients))),
                _dumps(merged_recording({}, sighting.recording)),
            ),
        )
        breach_id = int(cursor.lastrowid or 0)
        detail: dict[str, Any] = {"exposures": list(sighting.exposures), "episode": episode}
        if discovered != at:
            detail["clock_from"] = "an earlier audit (--baseline) saw it first"
        self._event(db, breach_id, iso(at), who, "discovered", detail=detail)
        return _breach(db.execute(f"SELECT {_COLUMNS} FROM breaches WHERE id = ?", (breach_id,)).fetchone())

    def seen_contained(self, location: str, *, at: datetime, who: str, how: str) -> Breach | None:
        """The live episode of `location` ends: its exposure is gone (`how` says what was seen)."""
        with self._transaction() as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM breaches WHERE location = ? AND exposed = 1", (location,)
            ).fetchone()
            if row is None:
                return None
            live = _breach(row)
            db.execute(
                "UPDATE breaches SET exposed = 0, contained_at = ?, contained_how = ? WHERE id = ?",
                (iso(at), how, live.id),
            )
            self._event(db, live.id, iso(at), who, "contained", note=how)
            return _breach(db.execute(f"SELECT {_COLUMNS} FROM breaches WHERE id = ?", (live.id,)).fetchone())

    # -- what the officer records -----------------------------------------------------------------

    def assess(
        self, breach_id: int, *, outcome: str | None, note: str | None, who: str, at: datetime | None = None
    ) -> Breach:
        """Record the officer's outcome (a key of OUTCOMES) and/or a note; both go to the audit trail."""
        if outcome is not None and outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        when = iso(at or _now())
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM breaches WHERE id = ?", (breach_id,)).fetchone() is None:
                raise KeyError(breach_id)
            if outcome is not None:
                db.execute("UPDATE breaches SET outcome = ? WHERE id = ?", (OUTCOMES[outcome], breach_id))
                self._event(db, breach_id, when, who, "assessed", outcome=outcome, note=note)
            else:
                self._event(db, breach_id, when, who, "note", note=note)
        found = self.get(breach_id)
        assert found is not None
        return found

    def earlier_exposure(
        self, breach_id: int, *, start: str, basis: str, who: str, detail: dict[str, Any]
    ) -> bool:
        """Move the exposure window's start back to earlier evidence (a log line); never forward."""
        with self._transaction() as db:
            row = db.execute("SELECT exposure_start FROM breaches WHERE id = ?", (breach_id,)).fetchone()
            if row is None or parse_time(start) >= parse_time(row[0]):
                return False
            db.execute(
                "UPDATE breaches SET exposure_start = ?, exposure_start_basis = ? WHERE id = ?",
                (start, basis, breach_id),
            )
            self._event(
                db,
                breach_id,
                iso(_now()),
                who,
                "exposure-start",
                detail={"start": start, "basis": basis, **detail},
            )
            return True

    def record_event(
        self,
        breach_id: int,
        kind: str,
        *,
        who: str,
        note: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        with self._transaction() as db:
            self._event(db, breach_id, iso(_now()), who, kind, note=note, detail=detail)

    def record_evidence(
        self, breach_id: int, *, verdict: str, findings: dict[str, Any], files: list[dict[str, Any]], who: str
    ) -> int:
        """One evidence run's result for one breach, with the files (and their SHA-256) it read."""
        when = iso(_now())
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO evidence (breach_id, at, who, verdict, findings, files) VALUES (?, ?, ?, ?, ?, ?)",
                (breach_id, when, who, verdict, _dumps(findings), _dumps(files)),
            )
            self._event(
                db, breach_id, when, who, "evidence", detail={"verdict": verdict, "files": len(files)}
            )
            return int(cursor.lastrowid or 0)

    def latest_evidence(self, breach_id: int) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT id, at, who, verdict, findings, files FROM evidence WHERE breach_id = ? ORDER BY id DESC LIMIT 1",
            (breach_id,),
        ).fetchone()
        if row is None:
            return None
        return {
            "id": row[0],
            "at": row[1],
            "who": row[2],
            "verdict": row[3],
            "findings": json.loads(row[4]),
            "files": json.loads(row[5]),
        }

    @staticmethod
    def _event(
        db: sqlite3.Connection,
        breach_id: int,
        at: str,
        who: str,
        kind: str,
        *,
        outcome: str | None = None,
        note: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        db.execute(
            "INSERT INTO events (breach_id, at, who, kind, outcome, note, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (breach_id, at, who, kind, outcome, note, _dumps(detail or {})),
        )


def merged_recording(known: dict[str, Any], seen: dict[str, Any]) -> dict[str, Any]:
    """The latest facts, except that every access-logging target ever seen stays known: logs
    delivered while logging was on are evidence even after someone turned it off."""
    merged = {**known, **seen}
    targets = list((known.get("bucket") or {}).get("logging_targets_seen") or [])
    for facts in (known.get("bucket"), seen.get("bucket")):
        logging = (facts or {}).get("access_logging") or {}
        if logging.get("enabled") and logging.get("target") and logging["target"] not in targets:
            targets.append(logging["target"])
    if targets:
        merged["bucket"] = {**(merged.get("bucket") or {}), "logging_targets_seen": targets}
    return merged


def _union(known: Sequence[dict[str, Any]], seen: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every distinct exposure path of an episode, in the order first seen."""
    out = list(known)
    for exposure in seen:
        if exposure not in out:
            out.append(dict(exposure))
    return out
