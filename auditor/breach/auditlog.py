"""Linux audit records (auditd's /var/log/audit/audit.log, `ausearch --raw` output): who opened a file.

The only access evidence a local disk can have: the kernel's audit trail, when auditd watches
the recordings' folder (`-w /srv/recordings -p r -k recordings`). Format (Red Hat, "Understanding
Audit Log Files"): one record a line, `type=TYPE msg=audit(SECONDS.MILLIS:SERIAL): key=value ...`;
the records of one event share the `audit(...)` stamp and may interleave with other events'.
An event that touched a file has a SYSCALL record (`syscall`, `success`, `uid`, `auid` the login
uid, `comm`, `exe`), a CWD record and a PATH record per path (`name`, `nametype`). Values are
`"quoted"`, hex-encoded when they hold spaces or odd bytes (`name=2F7372762F...`), `(null)`, or
bare. The ENRICHED log format appends, after a 0x1d byte, the same fields translated (`UID="alice"`);
they are ignored here. `ausearch`'s default output adds `----` and `time->` lines: skipped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

STAMP = re.compile(r"msg=audit\((\d+)\.(\d+):(\d+)\) ?:")
FIELD = re.compile(r'([A-Za-z0-9_-]+)=("[^"]*"|\S+)')
HEX = re.compile(r"^(?:[0-9A-F]{2})+$")
# open(2) and friends, by audit architecture: they are what "opened the file" means.
OPEN_SYSCALLS = {
    "c000003e": {"2": "open", "257": "openat", "437": "openat2", "304": "open_by_handle_at", "85": "creat"},
    "c00000b7": {"56": "openat", "437": "openat2", "265": "open_by_handle_at"},
    "40000003": {"5": "open", "295": "openat", "437": "openat2", "342": "open_by_handle_at", "8": "creat"},
}
OPEN_NAMES = frozenset({"open", "openat", "openat2", "open_by_handle_at", "creat"})
PENDING_EVENTS = 256  # events still collecting records; older ones are complete


@dataclass(frozen=True)
class FileAccess:
    """One audited system call on one of the watched recordings."""

    time: datetime
    serial: int
    path: str
    syscall: str  # a name when known (openat), else the number
    opened: bool  # an open-family call (reading the content needs one)
    success: bool
    uid: int | None
    auid: int | None  # the login uid: the person behind a sudo or a service
    comm: str | None
    exe: str | None


@dataclass
class _Event:
    time: datetime
    fields: dict[str, str]
    cwd: str | None
    paths: list[dict[str, str]]


def decode_value(raw: str) -> str | None:
    """A field's value as auditd wrote it: quoted, hex-encoded, `(null)` or bare."""
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        return raw[1:-1]
    if raw in ("(null)", "?"):
        return None
    if HEX.match(raw):
        try:
            return bytes.fromhex(raw).decode("utf-8", "surrogateescape")
        except ValueError:
            return raw
    return raw


def parse_record(line: str) -> tuple[str, datetime, int, dict[str, str]] | None:
    """(type, time, serial, fields) of one record; None for a line that is not one."""
    line = line.split("\x1d", 1)[0]  # ENRICHED: translated fields follow 0x1d
    if not line.startswith("type="):
        return None
    stamp = STAMP.search(line)
    if stamp is None:
        return None
    kind = line[5 : line.find(" ")] if " " in line else line[5:]
    seconds, millis, serial = stamp.groups()
    when = datetime.fromtimestamp(int(seconds) + int(millis) / 1000, tz=UTC)
    fields = {key: value for key, value in FIELD.findall(line[stamp.end() :])}
    return kind, when, int(serial), fields


def accesses(
    lines: Iterable[str],
    wanted: set[str],
    on_malformed: Callable[[dict[str, Any], str], None] | None = None,
) -> Iterator[FileAccess]:
    """Every audited system call naming one of the `wanted` paths (absolute, normalised).

    `on_malformed({"line": n}, why)` (if given) learns each line, counted from 1, that is not an
    audit record (`type=... msg=audit(...)`)."""
    pending: dict[tuple[datetime, int], _Event] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith(("----", "time->")):
            continue
        parsed = parse_record(line)
        if parsed is None:
            if on_malformed is not None:
                on_malformed({"line": number}, "not an audit record (type=... msg=audit(TIME:SERIAL): ...)")
            continue
        kind, when, serial, fields = parsed
        event = pending.setdefault((when, serial), _Event(when, {}, None, []))
        if kind == "SYSCALL":
            event.fields = fields
        elif kind == "CWD":
            event.cwd = decode_value(fields.get("cwd", ""))
        elif kind == "PATH":
            event.paths.append(fields)
        elif kind == "EOE":
            yield from _complete(pending.pop((when, serial)), serial, wanted)
        if len(pending) > PENDING_EVENTS:  # dicts keep insertion order: the first is the oldest
            oldest = next(iter(pending))
            yield from _complete(pending.pop(oldest), oldest[1], wanted)
    for (_, serial), event in sorted(pending.items(), key=lambda kv: kv[0][1]):
        yield from _complete(event, serial, wanted)


def _complete(event: _Event, serial: int, wanted: set[str]) -> Iterator[FileAccess]:
    if not event.fields or not event.paths:
        return
    for item in event.paths:
        name = decode_value(item.get("name", ""))
        if not name or item.get("nametype", "NORMAL") not in ("NORMAL", "UNKNOWN"):
            continue
        path = name if os.path.isabs(name) or event.cwd is None else os.path.join(event.cwd, name)
        path = os.path.normpath(path)
        if path not in wanted:
            continue
        syscall = _syscall_name(event.fields)
        yield FileAccess(
            time=event.time,
            serial=serial,
            path=path,
            syscall=syscall,
            opened=syscall in OPEN_NAMES,
            success=event.fields.get("success") == "yes",
            uid=_number(event.fields.get("uid")),
            auid=_number(event.fields.get("auid")),
            comm=decode_value(event.fields.get("comm", "")) if "comm" in event.fields else None,
            exe=decode_value(event.fields.get("exe", "")) if "exe" in event.fields else None,
        )


def _syscall_name(fields: dict[str, str]) -> str:
    number = fields.get("syscall", "?")
    if not number.isdigit():
        return number  # `ausearch -i` output names it already
    return OPEN_SYSCALLS.get(fields.get("arch", "").lower(), {}).get(number, number)


def _number(raw: str | None) -> int | None:
    """A uid field; 4294967295 (-1, "unset") is None."""
    if raw is None or not raw.isdigit():
        return None
    value = int(raw)
    return None if value == 4294967295 else value
