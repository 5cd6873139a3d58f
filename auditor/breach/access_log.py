"""Amazon S3 server access log records: a small, table-driven parser of AWS's documented layout.

Layout (https://docs.aws.amazon.com/AmazonS3/latest/userguide/LogFormat.html): one record per
line, space-separated fields in a fixed order; `[...]` brackets the time, `"..."` quotes the
Request-URI, Referer and User-Agent; any field may be `-`; AWS adds fields at the end over time
("write any code that parses server access logs to handle trailing fields that it might not
understand"). `FIELDS` is that order. The line regex is built from it, so the whole record is
matched in one pass of the regex engine (C speed; bench/bench_access_log.py), and the fields after
the User-Agent (host id, signature, cipher, ...) are split off afterwards, unknown ones kept as
`extra`.

Quirks, each with a test (tests/test_access_log.py):
- the time `[06/Feb/2019:00:00:38 +0000]` holds a space and is bracketed;
- quoted fields hold spaces and may hold `\\"` (an escaped quote) and `]`;
- `-` for every field that does not apply: bytes sent is `-` when zero;
- the key is URL-encoded (`%20`); the Request-URI carries the raw path and query;
- a copy logs an extra `REST.COPY.OBJECT_GET` record for the source object;
- lines end with `\\n` or `\\r\\n`; the last line of a file may lack its newline;
- records from older years have 18 fields, newer ones 25-27: trailing fields are optional.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Final, NamedTuple
from urllib.parse import unquote

# (name, kind) in AWS's order. kind: "plain" a run of non-spaces, "time" bracketed, "quoted".
FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("bucket_owner", "plain"),
    ("bucket", "plain"),
    ("time", "time"),
    ("remote_ip", "plain"),
    ("requester", "plain"),
    ("request_id", "plain"),
    ("operation", "plain"),
    ("key", "plain"),
    ("request_uri", "quoted"),
    ("http_status", "plain"),
    ("error_code", "plain"),
    ("bytes_sent", "plain"),
    ("object_size", "plain"),
    ("total_time", "plain"),
    ("turn_around_time", "plain"),
    ("referer", "quoted"),
    ("user_agent", "quoted"),
)
# Plain fields after the User-Agent, in order; any of them may be missing, more may follow.
TRAILING_FIELDS: Final[tuple[str, ...]] = (
    "version_id",
    "host_id",
    "signature_version",
    "cipher_suite",
    "authentication_type",
    "host_header",
    "tls_version",
    "access_point_arn",
    "acl_required",
    "source_region",
)

# The documented time format, in ASCII digits; a record whose time is not in it is malformed.
_TIME = r"[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}"
_PIECES = {
    "plain": r"([^ ]+)",  # fields are separated by one space (the fast path splits on it too)
    "time": r"\[(" + _TIME + r")\]",
    # Quote-aware: a backslash escapes the next character, so `\"` does not end the field.
    "quoted": r'"([^"\\]*(?:\\.[^"\\]*)*)"',
}
LINE: Final[re.Pattern[str]] = re.compile(
    " ".join(_PIECES[kind] for _, kind in FIELDS) + r"( [^\n]*?)?\r?\n?\Z"
)
_TIME_SHAPE: Final = re.compile(_TIME).fullmatch
# The fast path's check of a time against _TIME, remembered in two halves: `06/Feb/2019:00` (a few
# per log file) and `:00:38 +0000` (at most 3,600 per zone). A log holds each of them on many lines,
# so a dict lookup replaces most regex matches (the regex cost a quarter of a line's parse).
_GOOD_HOURS: dict[str, None] = {}
_GOOD_REST: dict[str, None] = {}
_REMEMBERED = 8192  # per half; then forgotten and learnt again: memory stays bounded


def _time_shape(when: str) -> bool:
    """`when` has _TIME's shape and names a moment that exists (remembered); parse_line asks the
    memo first. The values are checked here, once per remembered half, so that a day 31 of
    November, an hour 24 or a minute 61 makes a line malformed whichever key it is about. Each
    half's values are valid on their own (date and hour; minutes, seconds and zone), so two
    remembered halves make a valid time, except in years 1 and 9999, where a zone can move the
    moment out of range: those are never remembered, always checked in full."""
    if when[3:6] not in _MONTHS or _TIME_SHAPE(when) is None or not _exists(when):
        return False
    if when[7:11] in ("0001", "9999"):
        return True
    for memo, half in ((_GOOD_HOURS, when[:14]), (_GOOD_REST, when[14:])):
        if len(memo) >= _REMEMBERED:
            memo.clear()
        memo[half] = None
    return True


def _exists(when: str) -> bool:
    try:
        parse_log_time(when)
    except MalformedRecord:
        return False
    return True


_MONTHS: Final[dict[str, int]] = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_UNESCAPE = re.compile(r"\\(.)")


class MalformedRecord(ValueError):
    """A line that is not an S3 server access log record in the documented layout."""


class AccessRecord(NamedTuple):
    """One request, its fields as logged (strings; `-` where not applicable)."""

    bucket_owner: str
    bucket: str
    time_text: str  # `06/Feb/2019:00:00:38 +0000`, without the brackets
    remote_ip: str
    requester: str
    request_id: str
    operation: str
    key_field: str  # URL-encoded, as logged
    request_uri: str
    http_status: int
    error_code: str
    bytes_sent: int  # 0 where the log says `-`
    object_size: int | None  # None where the log says `-`
    total_time: str
    turn_around_time: str
    referer: str
    user_agent: str
    tail: str  # the plain fields after the User-Agent, as logged; split on demand (`trailing`)

    @property
    def key(self) -> str:
        return unquote(self.key_field) if self.key_field != "-" else ""

    @property
    def time(self) -> datetime:
        return parse_log_time(self.time_text)

    @property
    def trailing(self) -> tuple[str, ...]:
        return tuple(self.tail.split())

    def field(self, name: str) -> str | None:
        """A trailing field by its documented name (None when this record is too old to have it)."""
        index = TRAILING_FIELDS.index(name)
        trailing = self.trailing
        return trailing[index] if index < len(trailing) else None

    @property
    def extra(self) -> tuple[str, ...]:
        """Trailing fields newer than this parser: kept, not understood."""
        return self.trailing[len(TRAILING_FIELDS) :]


_new = tuple.__new__  # builds the record without NamedTuple's Python-level __new__: it is per line


def parse_line(line: str) -> AccessRecord:
    """One record; raises MalformedRecord for anything else (the caller counts those as gaps).

    The common case (six quotes and no backslash: nothing escaped) is cut at its quotes and split
    on spaces, a few C-level calls per line; anything else goes through LINE, the regex built from
    FIELDS, which is the authority. Both give the same record (tests/test_access_log.py)."""
    parts = line.split('"')
    if len(parts) == 7 and "\\" not in line:
        head, uri, numbers, referer, between, agent, tail = parts
        if tail[-1:] == "\n":  # the reader drops the newline; parse_line may be given it (LINE's \r?\n?)
            tail = tail[:-1]
        if tail[-1:] == "\r":
            tail = tail[:-1]
        h = head.split(" ")  # 8 fields, the time's two halves, and "" before the quote
        n = numbers.split(" ")  # "" after the quote, 6 fields, "" before the next one
        # (int() would read non-ASCII digits too: the number fields must be ASCII.)
        if (
            len(h) == 10
            and len(n) == 8
            and between == " "
            and not (h[9] or n[0] or n[7])
            and "  " not in head  # an empty field: the regex (the authority) refuses it
            and "  " not in numbers
            and h[0]
            and numbers.isascii()
            and head.isascii()
        ):
            # The time is cut from the head in one slice: `[` after owner and bucket, 26 characters
            # (`06/Feb/2019:00:00:38 +0000`, its one space where h[2] ends), then `] `.
            at = len(h[0]) + len(h[1]) + 3
            when, sent, size = head[at : at + 26], n[3], n[4]
            if (
                head[at - 1] == "["
                and len(h[2]) == 21
                and head[at + 26 : at + 28] == "] "
                and (not tail or tail[0] == " ")
                # remembered halves passed _time_shape (month included); else it is asked
                and ((when[:14] in _GOOD_HOURS and when[14:] in _GOOD_REST) or _time_shape(when))
            ):
                try:  # inlined _record: this runs once per line of a log of millions
                    return _new(
                        AccessRecord,
                        (h[0], h[1], when, h[4], h[5], h[6], h[7], h[8], uri, int(n[1]), n[2],
                         0 if sent == "-" else int(sent), None if size == "-" else int(size), n[5], n[6],
                         referer, agent, tail),
                    )  # fmt: skip
                except ValueError:
                    pass  # a number field that is not one: the regex path below says so
    match = LINE.match(line)
    if match is None:
        raise MalformedRecord(layout_problem(line))
    g = match.groups()
    return _record(
        g[0], g[1], g[2], g[3:8], _unescape(g[8]), g[9:15], _unescape(g[15]), _unescape(g[16]), g[17] or ""
    )


def _record(
    owner: str,
    bucket: str,
    when: str,
    plain: Sequence[str],
    uri: str,
    numbers: Sequence[str],
    referer: str,
    agent: str,
    tail: str,
) -> AccessRecord:
    status, error, sent, size, total, turn = numbers
    if not (status.isascii() and sent.isascii() and size.isascii()):
        raise MalformedRecord("a number field is not written in ASCII digits")
    try:
        http_status = int(status)
        bytes_sent = 0 if sent == "-" else int(sent)
        object_size = None if size == "-" else int(size)
    except ValueError as exc:
        raise MalformedRecord(f"a number field is not a number ({exc})") from exc
    # The shape of `06/Feb/2019:00:00:38 +0000`; its numbers are read when the time is needed.
    if len(when) != 26 or when[2] != "/" or when[6] != "/" or when[20] != " " or when[3:6] not in _MONTHS:
        raise MalformedRecord(f"the time [{when}] is not in the documented format")
    if not _exists(when):
        raise MalformedRecord(f"no such time [{when}]")
    ip, requester, request_id, operation, key = plain
    return _new(
        AccessRecord,
        (
            owner,
            bucket,
            when,
            ip,
            requester,
            request_id,
            operation,
            key,
            uri,
            http_status,
            error,
            bytes_sent,
            object_size,
            total,
            turn,
            referer,
            agent,
            tail,
        ),
    )


_EXPECTED = {
    "plain": "a run of characters without spaces, one space from the next field",
    "time": "a bracketed time, [06/Feb/2019:00:00:38 +0000]",
    "quoted": 'a double-quoted text, `"` inside it escaped as `\\"`',
}
# The first k fields of the layout, for k = 1..17: how far a malformed line follows it.
_PREFIXES: Final = tuple(
    re.compile(
        " ".join(_PIECES[kind] for _, kind in FIELDS[:k]) + (r"(?= |\r?\n?\Z)" if k < len(FIELDS) else "")
    )
    for k in range(1, len(FIELDS) + 1)
)


def layout_problem(line: str) -> str:
    """Why a line is not a record, by the first field that breaks the layout (names and positions
    only: the reason goes into reports and logs, so it never quotes the line's values)."""
    why = "does not follow the S3 server access log layout"
    followed, end = 0, 0
    for prefix in _PREFIXES:
        match = prefix.match(line)
        if match is None:
            break
        followed, end = followed + 1, match.end()
    if followed == len(FIELDS):
        return f"{why}: what follows the User-Agent is not space-separated fields"
    name, kind = FIELDS[followed]
    label = f"field {followed + 1} ({name.replace('_', ' ')})"
    if followed and not line[end:].strip("\r\n"):
        return f"{why}: it ends after field {followed}, before {label}"
    return f"{why}: {label} is not {_EXPECTED[kind]}"


def _unescape(text: str) -> str:
    return _UNESCAPE.sub(r"\1", text) if "\\" in text else text


def parse_log_time(text: str) -> datetime:
    """`06/Feb/2019:00:00:38 +0000` (strftime `%d/%b/%Y:%H:%M:%S %z`), without strptime's cost."""
    try:
        moment = datetime(
            int(text[7:11]),
            _MONTHS[text[3:6]],
            int(text[0:2]),
            int(text[12:14]),
            int(text[15:17]),
            int(text[18:20]),
            tzinfo=UTC,
        )
        sign = -1 if text[21] == "-" else 1
        hours, minutes = int(text[22:24]), int(text[24:26])
        if hours > 23 or minutes > 59:
            raise ValueError("no such zone")
        offset = timedelta(hours=hours, minutes=minutes)
        return moment - sign * offset
    except (KeyError, ValueError, IndexError) as exc:
        raise MalformedRecord(f"no such time [{text}]") from exc
    except OverflowError as exc:  # year 1 or 9999 moved out of range by its zone
        raise MalformedRecord(f"no such time [{text}] (out of range in UTC)") from exc


# -- what a record says about a read ---------------------------------------------------------------

READ_OPERATIONS: Final[frozenset[str]] = frozenset({"REST.GET.OBJECT", "WEBSITE.GET.OBJECT"})
COPY_READ: Final[str] = "REST.COPY.OBJECT_GET"  # the GET half of a copy: the content went to another object
ATTEMPT_OPERATIONS: Final[frozenset[str]] = frozenset({"REST.HEAD.OBJECT", "WEBSITE.HEAD.OBJECT"})


def transferred(record: AccessRecord) -> bool:
    """Content left the bucket: a GET (or a copy's GET), 200 or 206, with bytes sent (a copy sends
    them to the destination, which the log records as `-`)."""
    if record.http_status not in (200, 206):
        return False
    if record.operation == COPY_READ:
        return True
    return record.operation in READ_OPERATIONS and record.bytes_sent > 0
