"""Log files as evidence: where they are (a bucket prefix or a local folder), when each was
delivered (from its name), and their lines, read once, streamed, with the SHA-256 of the bytes.

A log file used as evidence is hashed as it is read (`sha256sum FILE` of the stored object gives
the same digest), so an assessment can be verified against the logs later. Lines are streamed in
chunks: memory stays flat however large the log (bench/bench_access_log.py). Gzip files are read
through gzip (CloudTrail's are always gzip; copies of access logs may be), with a cap on the
inflated size so that a hostile file cannot fill the memory or the disk.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

CHUNK = 1 << 20
MAX_INFLATED = 1 << 30  # 1 GiB of text from one gzip file; more is not a log file
MAX_LINE = 1 << 20  # a "line" longer than this is not a log record: cut, counted as malformed
MALFORMED_NAMED = 20  # per file: the first malformed lines are named (line number and why), all are counted
GZIP_MAGIC = b"\x1f\x8b"


class LogReadError(Exception):
    """One log file could not be read (gone, denied, corrupt): a gap in the evidence, never a crash."""


@dataclass(frozen=True)
class LogFile:
    """One log object or file: `name` is what the officer would look for (s3://... or a path)."""

    name: str
    relkey: str  # the key below the log prefix (or the path below the folder): it carries the date
    size: int | None
    opener: Callable[[], IO[bytes]]


@dataclass
class FileDigest:
    """What the evidence says about one file it read."""

    name: str
    sha256: str = ""
    bytes: int = 0
    lines: int = 0
    malformed: int = 0
    records: int = 0  # records about the exposed recordings
    error: str | None = None
    # The first MALFORMED_NAMED malformed lines (or CloudTrail records): where, and why, so that the
    # officer can open the file at that line. {"line": n} counts from 1; {"record": i} is Records[i].
    malformed_at: list[dict[str, Any]] = field(default_factory=list)

    def malformed_line(self, where: dict[str, Any], why: str) -> None:
        """Count one line (or record) that could not be read, naming the first few."""
        self.malformed += 1
        if len(self.malformed_at) < MALFORMED_NAMED:
            self.malformed_at.append({**where, "reason": why})

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.name,
            "sha256": self.sha256,
            "bytes": self.bytes,
            "lines": self.lines,
            "malformed": self.malformed,
            "malformed_at": self.malformed_at,
            "records": self.records,
            "error": self.error,
        }


def malformed_places(entry: dict[str, Any], limit: int = 5) -> str:
    """`line 3 (why); Records[2] (why); ...` for a file's `malformed_at`, for the terminal and the pack."""
    named = entry.get("malformed_at") or []
    text = "; ".join(
        (f"line {p['line']}" if "line" in p else f"Records[{p['record']}]") + f" ({p['reason']})"
        for p in named[:limit]
    )
    return text + (" ..." if entry.get("malformed", 0) > min(len(named), limit) else "")


def read_lines(log: LogFile, digest: FileDigest) -> Iterator[str]:
    """The file's lines, decoded as UTF-8 (bad bytes replaced), while `digest` learns its SHA-256
    and size. Raises LogReadError when the file cannot be opened or read; lines already given stand."""
    for batch in read_batches(log, digest):
        yield from batch


def read_batches(log: LogFile, digest: FileDigest) -> Iterator[list[str]]:
    """read_lines a chunk at a time: one decode and one split per MiB instead of one per line,
    for the readers that go through millions of lines (the access-log pass). `digest.lines` counts
    the lines given so far, so the n-th line of a batch is line `digest.lines - len(batch) + n`."""
    try:
        raw = log.opener()
    except OSError as exc:
        raise LogReadError(f"cannot open: {exc}") from exc
    hashed = _Hashing(raw, hashlib.sha256())
    try:
        stream: _Hashing | _Inflating = _Inflating(hashed) if hashed.peek(2) == GZIP_MAGIC else hashed
        pending = b""
        skipping = False  # inside a runaway line whose start was given: drop up to its newline
        while True:
            try:
                chunk = stream.read(CHUNK)
            except (OSError, EOFError, zlib.error) as exc:
                raise LogReadError(f"cannot read: {exc}") from exc
            if not chunk:
                break
            if skipping:
                end = chunk.find(b"\n")
                if end < 0:
                    continue
                chunk, skipping = chunk[end + 1 :], False
            pending += chunk
            cut = pending.rfind(b"\n")
            if cut < 0:
                if len(pending) > MAX_LINE:  # a runaway line: keep its start, drop the rest as it comes
                    digest.lines += 1
                    yield [pending[:MAX_LINE].decode("utf-8", "replace")]
                    pending, skipping = b"", True
                continue
            # Cut at a newline, so that no UTF-8 sequence is split between two decodes.
            lines = pending[:cut].decode("utf-8", "replace").split("\n")
            pending = pending[cut + 1 :]
            if max(map(len, lines)) > MAX_LINE:  # map: no Python-level step per line
                lines = [line[:MAX_LINE] for line in lines]
            digest.lines += len(lines)
            yield lines
        if pending:
            digest.lines += 1
            yield [pending[:MAX_LINE].decode("utf-8", "replace")]
        hashed.drain()
    except OSError as exc:
        raise LogReadError(f"cannot read: {exc}") from exc
    finally:
        digest.sha256 = hashed.sha.hexdigest()
        digest.bytes = hashed.count
        raw.close()


class _Hashing:
    """Reads a stream and hashes every byte that passes, including those the reader skips."""

    def __init__(self, raw: IO[bytes], sha: Any) -> None:
        self._raw, self.sha = raw, sha
        self._buffer = b""
        self.count = 0

    def peek(self, size: int) -> bytes:
        while len(self._buffer) < size:
            more = self._raw.read(CHUNK)
            if not more:
                break
            self._take(more)
            self._buffer += more
        return self._buffer[:size]

    def read(self, size: int = -1) -> bytes:
        if self._buffer:
            out, self._buffer = self._buffer, b""
            return out
        chunk = self._raw.read(size if size > 0 else CHUNK)
        self._take(chunk)
        return chunk

    def drain(self) -> None:
        """Hash what is left unread (a gzip trailer, bytes after the last member)."""
        while self.read(CHUNK):
            pass

    def _take(self, chunk: bytes) -> None:
        self.sha.update(chunk)
        self.count += len(chunk)


class _Inflating:
    """gzip (all members), capped at MAX_INFLATED bytes out."""

    def __init__(self, source: _Hashing) -> None:
        self._source = source
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._out = 0

    def read(self, size: int) -> bytes:
        while True:
            if self._inflater.eof:
                rest = self._inflater.unused_data
                if not rest:
                    rest = self._source.read(CHUNK)
                    if not rest:
                        return b""
                self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # the next gzip member
                data = self._inflater.decompress(rest, size)
            elif self._inflater.unconsumed_tail:
                data = self._inflater.decompress(self._inflater.unconsumed_tail, size)
            else:
                compressed = self._source.read(CHUNK)
                if not compressed:
                    if not self._inflater.eof:
                        raise EOFError("the gzip stream ends early")
                    return b""
                data = self._inflater.decompress(compressed, size)
            if data:
                self._out += len(data)
                if self._out > MAX_INFLATED:
                    raise LogReadError(f"inflates to more than {MAX_INFLATED} bytes; not a log file")
                return data


def read_all(log: LogFile, digest: FileDigest, limit: int = 256 << 20) -> bytes:
    """The whole (inflated) content, for JSON files (CloudTrail), capped at `limit` bytes."""
    parts: list[bytes] = []
    total = 0
    for line in read_lines(log, digest):
        encoded = line.encode("utf-8")
        total += len(encoded) + 1
        if total > limit:
            raise LogReadError(f"more than {limit} bytes of text")
        parts.append(encoded)
    return b"\n".join(parts)


# -- where the files are ----------------------------------------------------------------------------


def local_files(folder: str) -> Iterator[LogFile]:
    """Every regular file below `folder`, in name order; `relkey` uses `/` as S3 keys do."""
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            try:
                size = os.stat(path).st_size
            except OSError:
                size = None
            rel = os.path.relpath(path, folder).replace(os.sep, "/")
            yield LogFile(path, rel, size, lambda p=path: open_file(p))  # type: ignore[misc]


def open_file(path: str) -> IO[bytes]:
    return open(path, "rb")  # read_lines closes it


def split_s3(url: str) -> tuple[str, str]:
    """`s3://bucket/prefix` -> (bucket, prefix)."""
    rest = url[len("s3://") :] if url.startswith("s3://") else url
    bucket, _, prefix = rest.partition("/")
    return bucket, prefix


def s3_files(client: Any, bucket: str, prefix: str) -> Iterator[LogFile]:
    """Every object under `prefix`, as the listing gives them (LogReadError when it cannot list)."""
    for page in _pages(client, bucket, prefix):
        for item in page.get("Contents", []):
            key = item["Key"]
            yield LogFile(
                f"s3://{bucket}/{key}",
                key[len(prefix) :],
                int(item.get("Size", 0)),
                lambda k=key: _open_object(client, bucket, k),  # type: ignore[misc]
            )


def s3_folders(client: Any, bucket: str, prefix: str) -> list[str]:
    """The "folders" (common prefixes) directly under `prefix`."""
    found: list[str] = []
    for page in _pages(client, bucket, prefix, Delimiter="/"):
        found += [p["Prefix"][len(prefix) :].rstrip("/") for p in page.get("CommonPrefixes", [])]
    return found


def _pages(client: Any, bucket: str, prefix: str, **extra: str) -> Iterator[dict[str, Any]]:
    try:
        yield from client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, **extra)
    except (ClientError, BotoCoreError) as exc:
        raise LogReadError(f"cannot list s3://{bucket}/{prefix}: {exc}") from exc


def _open_object(client: Any, bucket: str, key: str) -> IO[bytes]:
    try:
        return _S3Body(client.get_object(Bucket=bucket, Key=key)["Body"])  # type: ignore[return-value]
    except (ClientError, BotoCoreError) as exc:
        raise OSError(f"GetObject: {exc}") from exc


class _S3Body(io.RawIOBase):
    """botocore's StreamingBody as a file (read and close); its errors as OSError."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def read(self, size: int = -1) -> bytes:
        try:
            return bytes(self._body.read(size if size and size > 0 else None))
        except BotoCoreError as exc:
            raise OSError(f"reading the object: {exc}") from exc

    def close(self) -> None:
        self._body.close()
        super().close()


# -- delivery times from names ----------------------------------------------------------------------

# Server access logs: [prefix]YYYY-MM-DD-hh-mm-ss-UniqueString (simple), or
# [prefix]SourceAccountId/SourceRegion/SourceBucket/YYYY/MM/DD/YYYY-MM-DD-hh-mm-ss-UniqueString
# (partitioned): https://docs.aws.amazon.com/AmazonS3/latest/API/API_TargetObjectKeyFormat.html
ACCESS_LOG_NAME = re.compile(r"(?:^|/)(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-[A-Za-z0-9]+(?:\.gz)?$")
PARTITIONED = re.compile(r"^(\d{12})/([a-z0-9-]+)/([^/]+)/\d{4}/\d{2}/\d{2}/")
# CloudTrail: AccountID_CloudTrail_RegionName_YYYYMMDDTHHmmZ_UniqueString.json.gz
# https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-examples.html
CLOUDTRAIL_NAME = re.compile(
    r"(?:^|/)(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z_[A-Za-z0-9]+\.json(?:\.gz)?$"
)


def access_log_time(relkey: str) -> datetime | None:
    match = ACCESS_LOG_NAME.search(relkey)
    if match is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(g) for g in match.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def access_log_source_bucket(relkey: str) -> str | None:
    """The source bucket a partitioned key names; None for the simple format (any bucket)."""
    match = PARTITIONED.match(relkey)
    return match.group(3) if match else None


def cloudtrail_time(relkey: str) -> datetime | None:
    match = CLOUDTRAIL_NAME.search(relkey)
    if match is None:
        return None
    try:
        year, month, day, hour, minute = (int(g) for g in match.groups()[2:])
        return datetime(year, month, day, hour, minute, tzinfo=UTC)
    except ValueError:
        return None


@dataclass
class Window:
    """The exposure window the evidence covers, in whole hours."""

    start: datetime
    end: datetime
    hours_with_files: set[datetime] = field(default_factory=set)

    def hours(self) -> list[datetime]:
        hour = self.start.replace(minute=0, second=0, microsecond=0)
        out = []
        while hour <= self.end:
            out.append(hour)
            hour += timedelta(hours=1)
        return out

    def missing_hours(self) -> list[datetime]:
        return [h for h in self.hours() if h not in self.hours_with_files]

    def days(self, slack: timedelta = timedelta(hours=2)) -> list[datetime]:
        day = self.start.replace(hour=0, minute=0, second=0, microsecond=0)
        last = self.end + slack
        out = []
        while day <= last:
            out.append(day)
            day += timedelta(days=1)
        return out


def hour_ranges(hours: list[datetime]) -> list[tuple[datetime, datetime]]:
    """Consecutive hours joined: [(first, last), ...], for "no log files 02:00-05:00"."""
    ranges: list[tuple[datetime, datetime]] = []
    for hour in sorted(hours):
        if ranges and hour - ranges[-1][1] == timedelta(hours=1):
            ranges[-1] = (ranges[-1][0], hour)
        else:
            ranges.append((hour, hour))
    return ranges
