"""The S3 source: `s3://bucket`, `s3://bucket/prefix` and `s3://` (every bucket the credentials list).

Per target: open the identities (default credential chain or one assumed role per account),
find the buckets, gather each bucket's facts concurrently, then stream the listing. Objects
whose name settles that they are not media get no call at all; the rest are examined in a
thread pool (see objects.py) while the listing goes on, and come out in listing order. After a
bucket's recordings, the bucket itself is yielded as an artifact of kind "bucket" carrying its
hygiene facts. Every call that is refused becomes a coverage gap and the scan goes on.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ConnectionError as BotoConnectionError

from auditor.classify import classify, needs_sniff
from auditor.classify.names import KEY_LIKE_NAME, basename
from auditor.config import Config
from auditor.errors import InputError, SourceError
from auditor.models import Artifact, Coverage, Exposure, Gap
from auditor.paths import compile_excludes
from auditor.sources.base import SourceOptions
from auditor.sources.s3 import inventory, lifecycle
from auditor.sources.s3.bucket_facts import AccountFacts, BucketFacts, BucketMissing, account_facts, gather
from auditor.sources.s3.client import AccountAccess, CallCounter, S3Settings, base_session, open_accounts
from auditor.sources.s3.errors import CALL_ERRORS, call_problem, run_message, run_problem
from auditor.sources.s3.listing import ObjectEntry, list_current, list_versions, top_prefixes
from auditor.sources.s3.objects import Examined, examine, get_head

BUCKET_WORKERS = 8  # buckets whose facts are gathered at once
PROGRESS_EVERY = 1000


@dataclass(frozen=True)
class S3Target:
    bucket: str | None  # None: every bucket the credentials can list
    prefix: str


def parse_target(target: str) -> S3Target:
    _, sep, rest = target.partition("://")
    if not sep:
        raise InputError(target, "not an s3:// URL")
    bucket, _, prefix = rest.partition("/")
    return S3Target(bucket or None, prefix)


def key_range_unit(bucket: str, prefix: str) -> str:
    """A --shard unit of one bucket target: a top-level prefix, or the target's own level."""
    return f"s3://{bucket}/{prefix}"


def _folder(key: str) -> str:
    return key.rsplit("/", 1)[0] + "/" if "/" in key else ""


@dataclass
class BucketScan:
    """What examining the objects of one bucket needs; shared read-only by the worker threads."""

    facts: BucketFacts
    s3: Any
    config: Config
    target: str
    _acl: list[Exposure] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._acl = self.facts.acl_exposures()

    def bucket_exposures(self, entry: ObjectEntry) -> list[Exposure]:
        """Exposures every object inherits from the bucket: its ACL and its policy."""
        exposures = list(self._acl)
        policy = self.facts.policy_exposure(entry.key, noncurrent=entry.noncurrent)
        if policy is not None:
            exposures.append(policy)
        return exposures


@dataclass
class _BucketTally:
    objects_seen: int = 0
    recordings: int = 0
    delete_markers: int = 0
    held: list[Artifact] = field(default_factory=list)  # content-encrypted, waiting for keys_beside
    keys: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # folder -> key material
    key_like: dict[str, list[ObjectEntry]] = field(default_factory=lambda: defaultdict(list))  # not yet read


class S3Source:
    def __init__(self, config: Config, options: SourceOptions, settings: Mapping[str, Any]) -> None:
        self.config = config
        self.options = options
        self.settings = S3Settings.from_options(settings)  # sources.s3 with the command line on top
        self._credentials_checked = False
        self.counter = CallCounter()
        self._accounts: list[AccountAccess] | None = None
        self._account_facts: dict[int, AccountFacts] = {}
        self._owned: dict[int, dict[str, datetime | None] | None] = {}
        self._reported: set[str] = set()
        self._exclude = compile_excludes(options.excludes)

    # -- targets -------------------------------------------------------------------------------

    def check(self, target: str) -> None:
        """Before anything is scanned: the URL parses and credentials can be found (locally; the
        first API call tells whether they work)."""
        try:
            parse_target(target)
            if not self._credentials_checked:
                base_session(self.settings)
                self._credentials_checked = True
        except InputError as exc:
            raise SourceError(target, exc.message) from exc

    def scan(self, target: str, coverage: Coverage) -> Iterator[Artifact]:
        try:
            yield from self._scan(target, coverage)
        except CALL_ERRORS as exc:
            # Only what concerns the whole target gets here (credentials, configuration, an endpoint
            # that cannot be reached, a listing of buckets that failed): every per-fact failure is a gap.
            raise InputError(target, run_message(exc)) from exc
        finally:
            self._flush_calls(coverage)

    def _scan(self, target: str, coverage: Coverage) -> Iterator[Artifact]:
        spec = parse_target(target)
        accounts = self._open(coverage)
        plan: list[tuple[AccountAccess, str, datetime | None]] = []
        if spec.bucket is None:
            for account in accounts:
                owned = self._owned_buckets(account, coverage)
                plan.extend((account, name, created) for name, created in sorted((owned or {}).items()))
        elif accounts:
            plan.append((self._owner(accounts, spec.bucket, coverage), spec.bucket, None))
        if spec.bucket is None:  # `s3://`: each bucket is a unit; one bucket is split by key range
            plan = [step for step in plan if self._in_shard(step[1], coverage)]
        with ThreadPoolExecutor(max_workers=BUCKET_WORKERS, thread_name_prefix="s3-buckets") as pool:
            futures = [
                pool.submit(gather, account, name, self._facts_of_account(account, name, coverage), created)
                for account, name, created in plan
            ]
            for (account, name, _), future in zip(plan, futures, strict=True):
                try:
                    facts = future.result()
                except BucketMissing:
                    if spec.bucket is not None:
                        raise InputError(target, f"bucket {name!r} does not exist") from None
                    coverage.gaps.append(Gap(f"s3://{name}", "vanished", "bucket deleted while the scan ran"))
                    continue
                split = spec.bucket is not None and self.options.shard is not None
                yield from self._scan_bucket(account, facts, spec.prefix, target, coverage, split=split)
                self._flush_calls(coverage)

    def _in_shard(self, bucket: str, coverage: Coverage) -> bool:
        """--shard I/N: each bucket is a unit (auditor.shard), decided before any call about it."""
        shard = self.options.shard
        if shard is None:
            return True
        mine = shard.owns(f"s3://{bucket}")
        coverage.shard_units += mine
        coverage.shard_other_units += not mine
        return mine

    def units(self, target: str, coverage: Coverage) -> list[str]:
        """The --shard units of `target`, named as scan() names them, for a planner that gives
        each its own task (auditor.executors). Best effort: a unit missing here (a prefix created
        since, one holding only noncurrent versions) is still scanned by the planner's task for
        the units it did not plan, so this costs balance, never coverage."""
        spec = parse_target(target)
        try:
            accounts = self._open(coverage)
            if spec.bucket is None:
                return [
                    f"s3://{name}"
                    for a in accounts
                    for name in sorted(self._owned_buckets(a, coverage) or {})
                ]
            if not accounts:
                return []
            account = self._owner(accounts, spec.bucket, coverage)
            if self.settings.inventory:
                planned = inventory.units(account, spec.bucket, spec.prefix, self.settings.inventory)
                if planned:
                    return planned
            s3 = account.s3()
            tops = top_prefixes(s3, spec.bucket, spec.prefix, versioned=False)
        except CALL_ERRORS as exc:
            if run_problem(exc) or isinstance(exc, BotoConnectionError):
                raise InputError(target, run_message(exc)) from exc
            return [key_range_unit(spec.bucket, spec.prefix)] if spec.bucket else []
        finally:
            self._flush_calls(coverage)
        return [key_range_unit(spec.bucket, p) for p in [spec.prefix, *tops]]

    def _key_ranges(self, scan: BucketScan, prefix: str, coverage: Coverage) -> list[tuple[str, str | None]]:
        """--shard I/N of one `s3://bucket[/prefix]` target: the (listing prefix, delimiter) of
        this shard's units. Each "folder" right below the prefix is a unit, and the keys at the
        prefix's own level are one unit together (the rule of a local folder target)."""
        shard = self.options.shard
        assert shard is not None
        facts = scan.facts
        root = key_range_unit(facts.name, prefix)
        units: list[tuple[str, str, str | None]] = [(root, prefix, "/")]
        if facts.listable:
            try:
                tops = self._top_prefixes(scan, prefix)
            except CALL_ERRORS as exc:
                if run_problem(exc):
                    raise
                problem = call_problem(exc, "s3.ListObjectsV2")
                owner = shard.owns(root)
                coverage.gaps.append(
                    Gap(
                        root,
                        problem.reason,
                        f"{problem.detail}: its top-level prefixes (the --shard units) are unknown, so "
                        + (
                            "this shard, which has its own keys, lists all of it"
                            if owner
                            else f"shard {shard.spec} scanned none of it"
                        ),
                    )
                )
                units = [(root, prefix, None)]
            else:
                units += [(key_range_unit(facts.name, top), top, None) for top in tops]
        owned = [(listed, delimiter) for name, listed, delimiter in units if shard.owns(name)]
        coverage.shard_units += len(owned)
        coverage.shard_other_units += len(units) - len(owned)
        return owned

    def _top_prefixes(self, scan: BucketScan, prefix: str) -> list[str]:
        if scan.facts.versioned:
            try:
                return top_prefixes(scan.s3, scan.facts.name, prefix, versioned=True)
            except CALL_ERRORS as exc:
                if run_problem(exc) or call_problem(exc, "s3.ListObjectVersions").reason != "unsupported":
                    raise
            # A store that reports versioning but cannot list versions: the current objects' prefixes.
        return top_prefixes(scan.s3, scan.facts.name, prefix, versioned=False)

    def _open(self, coverage: Coverage) -> list[AccountAccess]:
        if self._accounts is None:

            def role_failed(role_arn: str, exc: BaseException) -> None:
                problem = call_problem(exc, "sts.AssumeRole")
                coverage.gaps.append(
                    Gap(role_arn, problem.reason, f"{problem.detail}: this account was not scanned")
                )

            self._accounts = open_accounts(self.settings, self.counter, role_failed)
        return self._accounts

    def _owned_buckets(self, account: AccountAccess, coverage: Coverage) -> dict[str, datetime | None] | None:
        """Buckets the account owns (ListBuckets, once per account); None when we may not list them."""
        key = id(account)
        if key not in self._owned:
            try:
                s3 = account.s3()
                pages = (
                    s3.get_paginator("list_buckets").paginate()
                    if s3.can_paginate("list_buckets")
                    else [s3.list_buckets()]
                )
                owned = {
                    b["Name"]: b.get("CreationDate")
                    for page in pages
                    for b in page.get("Buckets") or []
                    if b.get("Name")
                }
                self._owned[key] = owned
            except CALL_ERRORS as exc:
                if run_problem(exc) or isinstance(exc, BotoConnectionError):
                    raise
                problem = call_problem(exc, "s3.ListBuckets")
                coverage.gaps.append(
                    Gap(
                        f"s3:// ({account.label})",
                        problem.reason,
                        f"{problem.detail}: the account's buckets (and which it owns) are unknown",
                    )
                )
                self._owned[key] = None
        return self._owned[key]

    def _owner(self, accounts: list[AccountAccess], bucket: str, coverage: Coverage) -> AccountAccess:
        """With several accounts, the one that owns the bucket; else the first (cross-account access)."""
        if len(accounts) > 1:
            for account in accounts:
                if bucket in (self._owned_buckets(account, coverage) or {}):
                    return account
        return accounts[0]

    def _facts_of_account(self, account: AccountAccess, bucket: str, coverage: Coverage) -> AccountFacts:
        """Account-level Block Public Access applies only to buckets the account owns."""
        key = id(account)
        if key not in self._account_facts:
            facts = account_facts(account)
            coverage.gaps.extend(facts.gaps)
            self._account_facts[key] = facts
        facts = self._account_facts[key]
        owned = self._owned_buckets(account, coverage)
        if owned is None:
            return AccountFacts(facts.account_id, None, "owner-unknown")
        if bucket not in owned:
            return AccountFacts(None, None, "not-owner")
        return facts

    # -- one bucket ----------------------------------------------------------------------------

    def _scan_bucket(
        self,
        account: AccountAccess,
        facts: BucketFacts,
        prefix: str,
        target: str,
        coverage: Coverage,
        *,
        split: bool = False,
    ) -> Iterator[Artifact]:
        scan = BucketScan(facts, account.s3(facts.region), self.config, target)
        tally = _BucketTally()
        run = None
        if self.settings.inventory:
            # With an inventory, --shard splits one bucket by data file instead of by key range.
            run = inventory.open_run(
                account,
                facts,
                prefix,
                self.settings.inventory,
                self.settings.inventory_list_pages,
                self.options.shard if split else None,
                coverage,
            )
            if run is not None and not run.files and not run.owns_newer:
                return  # every data file is another shard's, and so are its facts
        ranges: list[tuple[str, str | None]] = [(prefix, None)]
        if split and run is None:
            ranges = self._key_ranges(scan, prefix, coverage)
            if not ranges:
                return  # every unit of this bucket is another shard's, and so are its facts
        # Each shard with a part of the bucket judges it with the bucket's facts (and reports
        # what of them could not be read); the merge keeps one bucket and one of each finding.
        coverage.gaps.extend(facts.gaps)
        if run is not None:
            rows = inventory.entries(run, scan.s3, account.inventory_s3(facts.region), prefix, coverage)
            yield from self._objects(scan, prefix, None, tally, coverage, rows)
            tally.delete_markers += run.delete_markers
            coverage.inventories.append(run.to_dict())
        elif facts.listable:
            for listed, delimiter in ranges:
                yield from self._objects(scan, listed, delimiter, tally, coverage)
        yield from self._release_held(scan, tally, coverage)
        if facts.name not in self._reported:
            self._reported.add(facts.name)
            yield self._bucket_artifact(facts, prefix, target, tally)

    def _entries(
        self, scan: BucketScan, prefix: str, delimiter: str | None, tally: _BucketTally, coverage: Coverage
    ) -> Iterator[ObjectEntry]:
        """The listing, page by page; a refused or failed page ends it with a gap."""
        facts = scan.facts
        where = f"s3://{facts.name}/{prefix}"
        operation = "s3.ListObjectVersions" if facts.versioned else "s3.ListObjectsV2"
        listed = 0
        try:
            if facts.versioned:
                for entries, markers in list_versions(scan.s3, facts.name, prefix, delimiter):
                    tally.delete_markers += markers
                    listed += len(entries)
                    yield from entries
            else:
                for entries in list_current(scan.s3, facts.name, prefix, delimiter):
                    yield from entries
            return
        except CALL_ERRORS as exc:
            if run_problem(exc):
                raise
            problem = call_problem(exc, operation)
            if not (facts.versioned and problem.reason == "unsupported" and not listed):
                coverage.gaps.append(
                    Gap(where, problem.reason, f"{problem.detail}: the rest of the listing not read")
                )
                return
            # A store that reports versioning but cannot list versions: list the current objects.
            coverage.gaps.append(
                Gap(where, problem.reason, f"{problem.detail}: noncurrent versions not listed")
            )
        try:
            for entries in list_current(scan.s3, facts.name, prefix, delimiter):
                yield from entries
        except CALL_ERRORS as exc:
            if run_problem(exc):
                raise
            problem = call_problem(exc, "s3.ListObjectsV2")
            coverage.gaps.append(
                Gap(where, problem.reason, f"{problem.detail}: the rest of the listing not read")
            )

    def _objects(
        self,
        scan: BucketScan,
        prefix: str,
        delimiter: str | None,
        tally: _BucketTally,
        coverage: Coverage,
        entries: Iterator[ObjectEntry] | None = None,
    ) -> Iterator[Artifact]:
        """Examine the listing's entries (or those an inventory gave) as they come."""
        in_flight = self.settings.workers * 4
        if entries is None:
            entries = self._entries(scan, prefix, delimiter, tally, coverage)
        with ThreadPoolExecutor(max_workers=self.settings.workers, thread_name_prefix="s3-objects") as pool:
            pending: deque[Future[Examined]] = deque()
            for entry in entries:
                tally.objects_seen += 1
                coverage.files_seen += 1
                if self.options.progress and coverage.files_seen % PROGRESS_EVERY == 0:
                    self.options.progress(coverage)
                name = basename(entry.key)
                if self._exclude and (self._exclude.match(name) or self._exclude.match(entry.key)):
                    coverage.excluded += 1
                    continue
                if entry.size == 0 or entry.key.endswith("/"):
                    continue  # folder placeholders and empty objects hold nothing
                if not (self.options.deep or needs_sniff(name)):
                    if KEY_LIKE_NAME.search(name):
                        tally.key_like[_folder(entry.key)].append(entry)
                    continue
                pending.append(pool.submit(examine, scan, entry))
                while len(pending) >= in_flight:
                    yield from self._settle(pending.popleft().result(), tally, coverage)
            while pending:
                yield from self._settle(pending.popleft().result(), tally, coverage)

    def _settle(self, result: Examined, tally: _BucketTally, coverage: Coverage) -> Iterator[Artifact]:
        coverage.candidates += int(result.sniffed)
        coverage.bytes_read += result.bytes_read
        coverage.gaps.extend(result.gaps)
        if result.classification is not None and result.classification.kind == "key":
            tally.keys[_folder(result.entry.key)].add(basename(result.entry.key))
        artifact = result.artifact
        if artifact is None:
            return
        coverage.recordings += 1
        tally.recordings += 1
        if artifact.content_encrypted:
            tally.held.append(artifact)  # its folder may still list its key further on
        else:
            yield artifact

    def _release_held(self, scan: BucketScan, tally: _BucketTally, coverage: Coverage) -> Iterator[Artifact]:
        """HIPAA's safe harbor needs the key kept apart: record key material in the same folder."""
        for artifact in tally.held:
            folder = _folder(artifact.relpath)
            keys = tally.keys[folder]
            for entry in tally.key_like.pop(folder, []):
                if self._is_key(scan, entry, coverage):
                    keys.add(basename(entry.key))
            if keys:
                artifact.facts["keys_beside"] = sorted(keys)
            yield artifact

    def _is_key(self, scan: BucketScan, entry: ObjectEntry, coverage: Coverage) -> bool:
        try:
            _, head = get_head(scan, entry)
        except CALL_ERRORS as exc:
            if run_problem(exc):
                raise
            problem = call_problem(exc, "s3.GetObject")
            detail = (
                f"{problem.detail}: whether this is key material beside an encrypted recording is unknown"
            )
            coverage.gaps.append(Gap(entry.location(scan.facts.name), problem.reason, detail))
            return False
        coverage.bytes_read += len(head)
        return classify(head, basename(entry.key)).kind == "key"

    def _bucket_artifact(self, facts: BucketFacts, prefix: str, target: str, tally: _BucketTally) -> Artifact:
        details = facts.to_facts()
        details.update(
            {
                "prefix": prefix,
                "objects_seen": tally.objects_seen if facts.listable else None,
                "recordings": tally.recordings if facts.listable else None,
                "delete_markers": tally.delete_markers,
            }
        )
        if facts.lifecycle_rules is not None:
            details["lifecycle_expiry"] = {
                "current": lifecycle.expiry(facts.lifecycle_rules, prefix, noncurrent=False),
                "noncurrent": lifecycle.expiry(facts.lifecycle_rules, prefix, noncurrent=True),
            }
        if "default_encryption" in facts.unknown:
            encrypted, encryption = None, "unknown"
        elif facts.encryption:
            encrypted, encryption = True, f"sse:{facts.encryption['algorithm']}"
        else:
            encrypted, encryption = False, "none"
        return Artifact(
            kind="bucket",
            location=facts.location,
            source="s3",
            target=target,
            relpath="",
            mtime=facts.created,
            encrypted=encrypted,
            encryption=encryption,
            exposures=[*facts.acl_exposures(), *filter(None, [facts.bucket_policy_exposure()])],
            facts=details,
        )

    def _flush_calls(self, coverage: Coverage) -> None:
        for operation, count in self.counter.drain().items():
            coverage.api_calls[operation] = coverage.api_calls.get(operation, 0) + count
