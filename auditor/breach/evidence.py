"""`auditor breach evidence`: exposed, or actually read? The access logs for the exposure window.

For S3 recordings it reads the bucket's server access logs (where the scan found logging goes,
or `--access-logs`) and CloudTrail S3 data events (`--cloudtrail`), from a bucket or a folder;
for local recordings, Linux audit logs (`--audit-log`), when the officer has them.

Every request on an exposed recording is an `Access`:
- a **read** only when content went out: a GET, status 200/206, bytes sent > 0 (a copy's GET
  counts too: the content went into another object); full or partial against the object's size;
- an **attempt** otherwise: HEAD, 403, 304, 404, a GET with nothing sent. Kept, never a read.

The requester is **anonymous** (`-` in access logs; `anonymous` in CloudTrail), **internal** (an
account in `organisation.aws_accounts`, the bucket's own account, the bucket owner's canonical
id), or **external** (anyone else, including an identity the tool cannot place).

The verdict per recording ("read by someone outside"):
- `yes`: an anonymous or external read;
- `no`: none, *and* every hour of the window has log records for the bucket, no log file failed
  to read, and no line that could concern the recording was unreadable;
- `unknown`: anything less. Log delivery is best effort: a window without logs, or with logging
  off, is never "not read". The hours without records are listed.
Local recordings without audit logs: "no access evidence" said plainly. With audit logs, an open
by another account is `yes`; otherwise `unknown`, because the log cannot show that auditd watched
the path for the whole window.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from auditor.breach import access_log, auditlog, cloudtrail
from auditor.breach.logfiles import (
    FileDigest,
    LogFile,
    LogReadError,
    Window,
    access_log_source_bucket,
    access_log_time,
    cloudtrail_time,
    hour_ranges,
    local_files,
    open_file,
    read_all,
    read_batches,
    read_lines,
    s3_files,
    s3_folders,
    split_s3,
)
from auditor.breach.register import Breach, iso, parse_time

ACCESSES_KEPT = 500  # per recording; the counts always cover every access
DELIVERY_SLACK = timedelta(hours=6)  # records of a window's last hours arrive in files delivered later
_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")


# -- requesters -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Requester:
    kind: str  # anonymous | external | internal
    who: str  # as logged: `-`, an ARN, a canonical id, an account id
    account: str | None = None


def account_of_arn(arn: str) -> str | None:
    """`arn:aws:iam::123456789012:user/alice` -> `123456789012`."""
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[0] == "arn" and parts[4].isdigit() else None


def access_log_requester(record: access_log.AccessRecord, ours: frozenset[str]) -> Requester:
    who = record.requester
    if who == "-":
        return Requester("anonymous", who)
    account = account_of_arn(who)
    if account is not None:
        return Requester("internal" if account in ours else "external", who, account)
    if who == record.bucket_owner or who in ours:  # a canonical user id: the owner's own, or listed
        return Requester("internal", who, who)
    return Requester("external", who)


def trail_requester(event: cloudtrail.TrailEvent, ours: frozenset[str]) -> Requester:
    if event.anonymous:
        return Requester("anonymous", "anonymous")
    account = event.account or (account_of_arn(event.arn) if event.arn else None)
    who = event.arn or event.principal or account or "?"
    if account is not None and account in ours:
        return Requester("internal", who, account)
    return Requester("external", who, account)


# -- what was found ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    time: datetime
    source: str  # access-log | cloudtrail | audit-log
    operation: str
    requester: Requester
    outcome: str  # read-full | read-partial | attempt
    status: str  # HTTP status, CloudTrail error code, or the syscall's success
    bytes_sent: int | None
    object_size: int | None
    remote_ip: str | None
    file: str  # the log file it came from

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": iso(self.time),
            "source": self.source,
            "operation": self.operation,
            "requester": self.requester.kind,
            "who": self.requester.who,
            "account": self.requester.account,
            "outcome": self.outcome,
            "status": self.status,
            "bytes_sent": self.bytes_sent,
            "object_size": self.object_size,
            "remote_ip": self.remote_ip,
            "file": self.file,
        }


@dataclass
class RecordingEvidence:
    breach_id: int
    location: str
    source: str  # s3 | local
    window: Window
    accesses: list[Access] = field(default_factory=list)
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (outcome, requester kind)
    unreadable_mentions: int = 0  # lines that could concern it and could not be read
    reasons: list[str] = field(default_factory=list)  # why the verdict cannot be "no"
    sources_read: list[str] = field(default_factory=list)

    def add(self, access: Access) -> None:
        self.counts[(access.outcome, access.requester.kind)] += 1
        if len(self.accesses) < ACCESSES_KEPT:
            self.accesses.append(access)

    @property
    def reads_by_others(self) -> int:
        return sum(
            n
            for (outcome, kind), n in self.counts.items()
            if outcome.startswith("read") and kind != "internal"
        )

    @property
    def verdict(self) -> str:
        if self.reads_by_others:
            return "yes"
        return "unknown" if self.reasons or not self.sources_read else "no"

    @property
    def first_outside_read(self) -> datetime | None:
        times = [
            a.time for a in self.accesses if a.outcome.startswith("read") and a.requester.kind != "internal"
        ]
        return min(times) if times else None

    def to_dict(self) -> dict[str, Any]:
        missing = hour_ranges(self.window.missing_hours()) if self.source == "s3" else []
        return {
            "breach_id": self.breach_id,
            "location": self.location,
            "verdict": self.verdict,
            "reasons": list(dict.fromkeys(self.reasons)),
            "sources_read": self.sources_read,
            "window": {"start": iso(self.window.start), "end": iso(self.window.end)},
            "hours": len(self.window.hours()),
            "hours_without_records": sum(1 + int((b - a).total_seconds() // 3600) for a, b in missing),
            "missing_hours": [{"from": iso(a), "to": iso(b + timedelta(hours=1))} for a, b in missing],
            "counts": [
                {"outcome": outcome, "requester": kind, "count": n}
                for (outcome, kind), n in sorted(self.counts.items())
            ],
            "requester_classes": sorted({kind for (_, kind) in self.counts}),
            "accesses": [a.to_dict() for a in sorted(self.accesses, key=lambda a: a.time)],
            "accesses_kept": min(len(self.accesses), ACCESSES_KEPT),
            "unreadable_mentions": self.unreadable_mentions,
            "first_outside_read": iso(self.first_outside_read) if self.first_outside_read else None,
        }


@dataclass
class EvidenceRun:
    recordings: list[RecordingEvidence]
    files: list[FileDigest] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "recordings": [r.to_dict() for r in self.recordings],
            "files": [f.to_dict() for f in self.files],
            "notes": self.notes,
        }


# -- windows ----------------------------------------------------------------------------------------


def exposure_window(
    breach: Breach, *, since: datetime | None, until: datetime | None, now: datetime
) -> Window:
    """From the earliest the recording can have been exposed (it existed) to its containment."""
    starts = [parse_time(breach.exposure_start)]
    if breach.exists_since:
        with contextlib.suppress(ValueError):
            starts.append(parse_time(breach.exists_since))
    start = since or min(starts)
    end = until or (parse_time(breach.contained_at) if breach.contained_at else now)
    return Window(start=start, end=max(end, start))


def needle(location: str) -> str:
    """A piece of the object's name that every URL encoding of its key keeps as it is: a log line
    without it cannot be about this object."""
    name = location.rstrip("/").rsplit("/", 1)[-1]
    runs = _UNRESERVED.findall(name) or [name]
    return max(runs, key=len)


def _listed(
    files: Iterable[LogFile], concerned: Iterable[RecordingEvidence], label: str
) -> Iterator[LogFile]:
    """The files, until listing them fails: then every recording concerned learns why."""
    try:
        yield from files
    except LogReadError as exc:
        for evidence in concerned:
            evidence.reasons.append(f"{label}: {exc}")


# -- S3: server access logs -------------------------------------------------------------------------


@dataclass
class S3Target:
    """The exposed recordings of one bucket."""

    bucket: str
    keys: dict[str, RecordingEvidence]  # key -> its evidence
    ours: frozenset[str]
    sizes: dict[str, int | None]

    @property
    def needles(self) -> dict[str, RecordingEvidence]:
        return {needle(key): ev for key, ev in self.keys.items()}


def read_access_logs(files: Iterable[LogFile], target: S3Target, run: EvidenceRun, source_label: str) -> None:
    """Every line of every file delivered during the windows: records of the target's keys become
    Accesses; the hours with records of the bucket count as logged."""
    start = min(ev.window.start for ev in target.keys.values())
    end = max(ev.window.end for ev in target.keys.values()) + DELIVERY_SLACK
    needles = target.needles
    evidence: RecordingEvidence | None
    hours: dict[str, datetime] = {}  # "06/Feb/2019:00 +0000": the hours with records of this bucket
    read_any = False
    for log in _listed(files, target.keys.values(), source_label):
        delivered = access_log_time(log.relkey)
        if delivered is None or not (start <= delivered <= end):
            continue
        source_bucket = access_log_source_bucket(log.relkey)
        if source_bucket is not None and source_bucket != target.bucket:
            continue
        digest = FileDigest(log.name)
        run.files.append(digest)
        read_any = True
        try:
            _read_access_log(log, digest, target, needles, hours)
        except LogReadError as exc:
            digest.error = str(exc)
            for evidence in target.keys.values():
                evidence.reasons.append(f"the log file {log.name} could not be read ({exc})")
    for evidence in target.keys.values():
        if read_any:
            evidence.sources_read.append(source_label)
        evidence.window.hours_with_files |= set(hours.values())


def _read_access_log(
    log: LogFile,
    digest: FileDigest,
    target: S3Target,
    needles: dict[str, RecordingEvidence],
    hours: dict[str, datetime],
) -> None:
    """One file's lines. The loop runs once per line of logs of millions: names are bound locally."""
    parse, malformed_error = access_log.parse_line, access_log.MalformedRecord
    keys, bucket = target.keys, target.bucket
    for batch in read_batches(log, digest):
        first = digest.lines - len(batch) + 1  # the batch's first line number in the file
        for number, line in enumerate(batch, first):
            if not line:
                continue
            try:
                record = parse(line)
            except malformed_error as exc:
                _unreadable(line, number, str(exc), digest, needles)
                continue
            if record.bucket != bucket:
                continue
            text = record.time_text
            hour = text[:14] + text[20:]
            if hour not in hours:
                # parse_line checks the time's shape; its values (day 31 of November, hour 25) are
                # read here, once per hour, and for the exposed recordings' records in full
                try:
                    hours[hour] = _hour(hour)
                except malformed_error:
                    _unreadable(line, number, f"no such time [{text}]", digest, needles)
                    continue
            key = record.key_field
            evidence = keys.get(key)
            if evidence is None and "%" in key:  # the key field is URL-encoded
                evidence = keys.get(unquote(key)) or keys.get(unquote(unquote(key)))
            if evidence is not None:
                _record_access(record, evidence, target, digest, log.name, number)


def _unreadable(
    line: str, number: int, why: str, digest: FileDigest, needles: dict[str, RecordingEvidence]
) -> None:
    """A line that cannot be read: named in the file's figures, and a doubt for every exposed
    recording whose name it holds (it may be a read of it)."""
    digest.malformed_line({"line": number}, why)
    for mark, mentioned in needles.items():
        if mark in line:
            mentioned.unreadable_mentions += 1


def _record_access(
    record: access_log.AccessRecord,
    evidence: RecordingEvidence,
    target: S3Target,
    digest: FileDigest,
    file: str,
    number: int,
) -> None:
    try:
        when = record.time
    except access_log.MalformedRecord as exc:
        digest.malformed_line({"line": number}, str(exc))
        evidence.unreadable_mentions += 1
        return
    if evidence.window.start <= when <= evidence.window.end:
        digest.records += 1
        evidence.add(_access_from_log(record, when, target, file))


def _hour(text: str) -> datetime:
    return access_log.parse_log_time(text[:11] + text[11:14] + ":00:00" + text[14:])


def _access_from_log(record: access_log.AccessRecord, when: datetime, target: S3Target, file: str) -> Access:
    size = record.object_size if record.object_size is not None else target.sizes.get(record.key)
    if access_log.transferred(record):
        sent = record.bytes_sent
        outcome = "read-full" if size is None or not sent or sent >= size else "read-partial"
        if record.operation == access_log.COPY_READ:
            outcome = "read-full"  # the whole object went into the copy
    else:
        outcome = "attempt"
    return Access(
        time=when,
        source="access-log",
        operation=record.operation,
        requester=access_log_requester(record, target.ours),
        outcome=outcome,
        status=str(record.http_status) + ("" if record.error_code == "-" else f" {record.error_code}"),
        bytes_sent=record.bytes_sent,
        object_size=size,
        remote_ip=record.remote_ip,
        file=file,
    )


def access_log_files(
    list_prefix: Callable[[str], Iterator[LogFile]],
    list_folders: Callable[[str], list[str]],
    prefix: str,
    bucket: str,
    window: Window,
    accounts: Iterable[tuple[str, str]] = (),
) -> Iterator[LogFile]:
    """The log objects under `prefix` that can hold the window's records: the simple format's day
    prefixes and, for the date-partitioned format, the source bucket's day folders."""
    seen: set[str] = set()
    pairs = set(accounts)
    for account in (f for f in list_folders(prefix) if f.isdigit() and len(f) == 12):
        for region in list_folders(f"{prefix}{account}/"):
            if bucket in list_folders(f"{prefix}{account}/{region}/"):
                pairs.add((account, region))
    for day in window.days(DELIVERY_SLACK):
        prefixes = [f"{prefix}{day:%Y-%m-%d}-"]
        prefixes += [
            f"{prefix}{account}/{region}/{bucket}/{day:%Y/%m/%d}/" for account, region in sorted(pairs)
        ]
        for day_prefix in prefixes:
            for log in list_prefix(day_prefix):
                if log.name not in seen:
                    seen.add(log.name)
                    # relkey below the configured prefix, as the key formats are written
                    yield LogFile(log.name, day_prefix[len(prefix) :] + log.relkey, log.size, log.opener)


# -- S3: CloudTrail ---------------------------------------------------------------------------------


def read_cloudtrail(
    files: Iterable[LogFile], targets: dict[str, S3Target], run: EvidenceRun, label: str
) -> None:
    start = min(ev.window.start for t in targets.values() for ev in t.keys.values())
    end = max(ev.window.end for t in targets.values() for ev in t.keys.values()) + DELIVERY_SLACK
    read_any = False
    hours: dict[str, set[datetime]] = {bucket: set() for bucket in targets}
    everyone = [ev for t in targets.values() for ev in t.keys.values()]
    for log in _listed(files, everyone, label):
        delivered = cloudtrail_time(log.relkey)
        if delivered is None or not (start <= delivered <= end):
            continue
        digest = FileDigest(log.name)
        run.files.append(digest)
        read_any = True
        try:
            events, malformed = cloudtrail.s3_object_events(read_all(log, digest))
            for index, why in malformed:
                digest.malformed_line({"record": index}, why)
        except (LogReadError, cloudtrail.MalformedTrail) as exc:
            digest.error = str(exc)
            for target in targets.values():
                for evidence in target.keys.values():
                    evidence.reasons.append(f"the CloudTrail file {log.name} could not be read ({exc})")
            continue
        if malformed:
            for target in targets.values():
                for evidence in target.keys.values():
                    evidence.unreadable_mentions += len(malformed)
        for event in events:
            owner = targets.get(event.bucket)
            if owner is None:
                continue
            hours[event.bucket].add(event.time.replace(minute=0, second=0, microsecond=0))
            found = owner.keys.get(event.key)
            if found is None or not (found.window.start <= event.time <= found.window.end):
                continue
            digest.records += 1
            size = owner.sizes.get(event.key)
            if event.transferred:
                outcome = "read-full" if size is None or event.bytes_out >= size else "read-partial"
            else:
                outcome = "attempt"
            found.add(
                Access(
                    time=event.time,
                    source="cloudtrail",
                    operation=event.name,
                    requester=trail_requester(event, owner.ours),
                    outcome=outcome,
                    status=event.error_code or "ok",
                    bytes_sent=event.bytes_out,
                    object_size=size,
                    remote_ip=event.source_ip,
                    file=log.name,
                )
            )
    for bucket, target in targets.items():
        for evidence in target.keys.values():
            if read_any:
                evidence.sources_read.append(label)
            evidence.window.hours_with_files |= hours[bucket]


def cloudtrail_files(
    list_prefix: Callable[[str], Iterator[LogFile]],
    list_folders: Callable[[str], list[str]],
    prefix: str,
    window: Window,
) -> Iterator[LogFile]:
    """`prefix/AWSLogs/[o-org/]account/CloudTrail/region/YYYY/MM/DD/` for the window's days."""
    base = f"{prefix.rstrip('/')}/AWSLogs/" if prefix.strip("/") else "AWSLogs/"
    accounts: dict[str, list[str]] = {}
    for top in list_folders(base):
        candidates = [f"{top}/{a}" for a in list_folders(f"{base}{top}/")] if top.startswith("o-") else [top]
        for account in candidates:
            regions = list_folders(f"{base}{account}/CloudTrail/")
            if regions:
                accounts[account] = regions
    for day_prefix in cloudtrail.trail_day_prefixes(accounts, window.days(DELIVERY_SLACK)):
        for log in list_prefix(base + day_prefix):
            yield LogFile(log.name, day_prefix + log.relkey, log.size, log.opener)


# -- local: audit logs ------------------------------------------------------------------------------


def read_audit_logs(
    files: Iterable[LogFile],
    local: dict[str, RecordingEvidence],
    owners: dict[str, int | None],
    run: EvidenceRun,
) -> None:
    wanted = set(local)
    for log in _listed(files, local.values(), "audit-log"):
        digest = FileDigest(log.name)
        run.files.append(digest)
        try:
            for found in auditlog.accesses(read_lines(log, digest), wanted, digest.malformed_line):
                evidence = local[found.path]
                if not (evidence.window.start <= found.time <= evidence.window.end):
                    continue
                digest.records += 1
                evidence.add(_access_from_audit(found, owners.get(found.path), log.name))
        except LogReadError as exc:
            digest.error = str(exc)
            for evidence in local.values():
                evidence.reasons.append(f"the audit log {log.name} could not be read ({exc})")
    for evidence in local.values():
        evidence.sources_read.append("audit-log")
        if not evidence.reads_by_others:
            evidence.reasons.append(
                "no open by another account in the audit logs, but they cannot show that auditd watched "
                "this path for the whole window"
            )


def _access_from_audit(found: auditlog.FileAccess, owner: int | None, file: str) -> Access:
    uid = found.auid if found.auid is not None else found.uid
    if uid is not None and owner is not None and uid == owner:
        kind = "internal"
        who = f"uid {uid} (the owner)"
    elif uid == 0:
        kind = "internal"
        who = "uid 0 (root, or a service run as root)"
    else:
        kind = "external"
        who = f"uid {uid}" if uid is not None else "an unknown uid"
    if found.exe or found.comm:
        who += f" via {found.exe or found.comm}"
    outcome = "read-full" if found.opened and found.success else "attempt"
    return Access(
        time=found.time,
        source="audit-log",
        operation=found.syscall,
        requester=Requester(kind, who, str(uid) if uid is not None else None),
        outcome=outcome,
        status="success" if found.success else "failed",
        bytes_sent=None,
        object_size=None,
        remote_ip=None,
        file=file,
    )


NO_LOCAL_EVIDENCE = (
    "no access evidence: a local disk keeps no record of who opened a file. Point `--audit-log` at "
    "Linux audit logs (auditd, e.g. /var/log/audit/audit.log*) if auditd watched the recordings' folder."
)


def local_owner(path: str) -> int | None:
    try:
        return os.lstat(path).st_uid
    except OSError:
        return None


def s3_key(location: str) -> tuple[str, str]:
    bucket, _, key = location[len("s3://") :].partition("/")
    return bucket, key


# -- the whole run ----------------------------------------------------------------------------------


@dataclass
class Sources:
    """Where the officer says the logs are; None = where the scan found the bucket's logging goes."""

    access_logs: str | None = None  # s3://bucket/prefix or a folder
    cloudtrail: str | None = None  # s3://bucket[/prefix] or a folder, above AWSLogs/
    audit_logs: Sequence[str] = ()
    s3_client: Callable[[], Any] | None = None  # builds the S3 client when a source is s3://


def gather(
    breaches: Sequence[Breach],
    sources: Sources,
    *,
    ours: Iterable[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> EvidenceRun:
    """Read every source for these breaches' windows; each recording gets its verdict."""
    moment = now or now_utc()
    run = EvidenceRun([])
    targets: dict[str, S3Target] = {}
    logging: dict[str, dict[str, Any]] = {}
    local: dict[str, RecordingEvidence] = {}
    for breach in breaches:
        evidence = RecordingEvidence(
            breach.id,
            breach.location,
            breach.source,
            exposure_window(breach, since=since, until=until, now=moment),
        )
        run.recordings.append(evidence)
        if breach.location.startswith("s3://"):
            bucket, key = s3_key(breach.location)
            facts = breach.recording.get("bucket") or {}
            mine = set(ours) | ({str(facts["account"])} if facts.get("account") else set())
            target = targets.setdefault(bucket, S3Target(bucket, {}, frozenset(mine), {}))
            target.ours = target.ours | frozenset(mine)
            target.keys[key] = evidence
            target.sizes[key] = breach.recording.get("size")
            logging.setdefault(bucket, facts)
        else:
            local[os.path.normpath(breach.location)] = evidence
    client = _Lazy(sources.s3_client)
    for bucket, target in targets.items():
        places = [sources.access_logs] if sources.access_logs else _logging_targets(logging[bucket], target)
        layout = _AccessLayout(bucket, _union_window(target), _partition_hint(logging[bucket]))
        for where in places:
            read_access_logs(_files(where, client, layout), target, run, f"access-log {where}")
    if sources.cloudtrail and targets:
        trail_layout = _TrailLayout(_union_window_all(targets))
        read_cloudtrail(
            _files(sources.cloudtrail, client, trail_layout), targets, run, f"cloudtrail {sources.cloudtrail}"
        )
    for target in targets.values():
        for evidence in target.keys.values():
            _s3_reasons(evidence)
    if local:
        if sources.audit_logs:
            owners = {path: local_owner(path) for path in local}
            read_audit_logs(_audit_files(sources.audit_logs), local, owners, run)
        else:
            for evidence in local.values():
                evidence.reasons.append(NO_LOCAL_EVIDENCE)
    return run


def _logging_targets(facts: dict[str, Any], target: S3Target) -> list[str]:
    """Every place the scans saw the bucket's server access logs go (logs delivered there while
    logging was on are evidence even if it was turned off later)."""
    logging = facts.get("access_logging")
    targets = list(facts.get("logging_targets_seen") or [])
    if logging and logging.get("enabled") and logging.get("target") and logging["target"] not in targets:
        targets.append(str(logging["target"]))
    if not targets:
        for evidence in target.keys.values():
            if logging is None:
                evidence.reasons.append(
                    "whether the bucket's server access logging is on could not be read when it was scanned; "
                    "give --access-logs if it is"
                )
            else:
                evidence.reasons.append("server access logging was off when the bucket was scanned")
    return targets


def _partition_hint(facts: dict[str, Any]) -> list[tuple[str, str]]:
    account, region = facts.get("account"), facts.get("region")
    return [(str(account), str(region))] if account and region else []


def _union_window(target: S3Target) -> Window:
    return Window(
        min(ev.window.start for ev in target.keys.values()), max(ev.window.end for ev in target.keys.values())
    )


def _union_window_all(targets: dict[str, S3Target]) -> Window:
    windows = [_union_window(t) for t in targets.values()]
    return Window(min(w.start for w in windows), max(w.end for w in windows))


def _s3_reasons(evidence: RecordingEvidence) -> None:
    if not evidence.sources_read:
        evidence.reasons.append("no log files were found for the exposure window")
    missing = evidence.window.missing_hours()
    if missing:
        evidence.reasons.append(
            f"{len(missing)} of {len(evidence.window.hours())} hours of the window have no log records for the "
            "bucket (no requests then, or logs not delivered)"
        )
    if evidence.unreadable_mentions:
        evidence.reasons.append(
            f"{evidence.unreadable_mentions} log line(s) that could concern this recording could not be read"
        )


class _Lazy:
    """The S3 client, built on first use (a run reading only folders needs no credentials)."""

    def __init__(self, build: Callable[[], Any] | None) -> None:
        self._build, self._client = build, None

    def __call__(self) -> Any:
        if self._client is None:
            if self._build is None:
                raise LogReadError("an s3:// log source needs AWS access")
            self._client = self._build()
        return self._client


Lister = Callable[[str], Iterator[LogFile]]  # the files under a prefix
FolderLister = Callable[[str], list[str]]  # the folder names directly under a prefix
Layout = Callable[[Lister, FolderLister, str], Iterator[LogFile]]


@dataclass(frozen=True)
class _AccessLayout:
    bucket: str
    window: Window
    accounts: list[tuple[str, str]]

    def __call__(self, listing: Lister, folders: FolderLister, prefix: str) -> Iterator[LogFile]:
        return access_log_files(listing, folders, prefix, self.bucket, self.window, self.accounts)


@dataclass(frozen=True)
class _TrailLayout:
    window: Window

    def __call__(self, listing: Lister, folders: FolderLister, prefix: str) -> Iterator[LogFile]:
        return cloudtrail_files(listing, folders, prefix, self.window)


def _files(where: str, client: _Lazy, layout: Layout) -> Iterator[LogFile]:
    """The files a layout picks under `where`: a bucket prefix (listed day by day) or a folder (walked)."""
    if where.startswith("s3://"):
        bucket, prefix = split_s3(where)
        return layout(
            lambda p: s3_files(client(), bucket, p), lambda p: s3_folders(client(), bucket, p), prefix
        )
    files = list(local_files(where))
    by_prefix = {f.relkey: f for f in files}

    def under(prefix: str) -> Iterator[LogFile]:
        for rel, log in by_prefix.items():
            if rel.startswith(prefix):
                yield LogFile(log.name, rel[len(prefix) :], log.size, log.opener)

    def folders(prefix: str) -> list[str]:
        return sorted(
            {
                rel[len(prefix) :].split("/", 1)[0]
                for rel in by_prefix
                if rel.startswith(prefix) and "/" in rel[len(prefix) :]
            }
        )

    return layout(under, folders, "")


def _audit_files(paths: Sequence[str]) -> Iterator[LogFile]:
    for path in paths:
        if os.path.isdir(path):
            yield from local_files(path)
        else:
            yield LogFile(path, os.path.basename(path), None, lambda p=path: open_file(p))  # type: ignore[misc]


def summarise(run: EvidenceRun) -> Sequence[str]:
    """One line per recording for the terminal."""
    lines = []
    for ev in run.recordings:
        data = ev.to_dict()
        reads = [c for c in data["counts"] if c["outcome"].startswith("read")]
        attempts = [c for c in data["counts"] if c["outcome"] == "attempt"]
        text = f"breach {ev.breach_id}: read by someone outside: {data['verdict']}"
        if reads:
            text += "; reads " + ", ".join(
                f"{c['count']} {c['requester']} ({c['outcome'][5:]})" for c in reads
            )
        if attempts:
            text += "; attempts " + ", ".join(f"{c['count']} {c['requester']}" for c in attempts)
        lines.append(text)
        for reason in data["reasons"]:
            lines.append(f"  unknown because {reason}")
        if data["hours_without_records"]:
            spans = ", ".join(
                f"{datetime.fromisoformat(h['from']):%Y-%m-%d %H:%M}-{datetime.fromisoformat(h['to']):%H:%M}"
                for h in data["missing_hours"][:10]
            )
            more = " ..." if len(data["missing_hours"]) > 10 else ""
            lines.append(
                f"  no log records for {data['hours_without_records']} of {data['hours']} hours (UTC): {spans}{more}"
            )
    return lines


def now_utc() -> datetime:
    return datetime.now(UTC)
