"""`auditor merge`: many saved results (shards, machines, accounts) as one audit (docs/scale.md).

Each input becomes a *scope*: who ran it where (host, accounts), on what (targets, shard), when,
and how complete its coverage was. A machine is its `run_by` (user@host): two laptops that share
a host name but not a user are two machines, named `user@host`; inputs with the same user@host
are one machine (its shards, or a rescan), since nothing else in a result tells them apart.
Inputs are read one at a time and let go once merged (merge_inputs.Inputs): a parsed input is
several times its findings' size, and forty of them need not be alive at once. Findings and artifacts are deduplicated by fingerprint and
location: an S3 location names one object wherever it was scanned from, a local path names a
file on one machine only (two laptops may both hold /Users/x/session.m4a), so local ones are
deduplicated within a host. A breach seen by several inputs keeps its earliest discovery clock.

What was not merged is a coverage gap, never silence: a scope named by `--expect` with no input,
and a shard of a sharded scan with no result (1/3 and 3/3 but no 2/3).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from auditor.contract import SCHEMA_VERSION, check_result_shape
from auditor.errors import InputError
from auditor.rules.breach import restamp

MERGE_GAPS = ("scope-missing", "shard-missing")


class Input(Protocol):
    """One read input: `name` is its path or s3:// URL, as errors and the scope's `file` say;
    `saved` a result read back (a file, an S3 object), checked whole against the result schema."""

    name: str
    data: dict[str, Any]
    sha256: str
    saved: bool


@dataclass
class MergeInput:
    name: str
    data: dict[str, Any]
    sha256: str
    saved: bool = True  # False: a Dask task's partial result, the merge's own making (no summary yet)


def load_inputs(args: Sequence[str | Path], s3_settings: Any = None) -> Iterable[Input]:
    """The inputs, files or `s3://bucket/prefix/` (every *.json under it), read one at a time as
    the merge consumes them; a bad one exits 2 naming it (and the key) before anything is written."""
    from auditor.merge_inputs import Inputs

    return Inputs([str(a) for a in args], s3_settings)


def check_input(data: dict[str, Any], path: str) -> None:
    """The keys the merge reads, with the types it needs; InputError(file, key) for the first wrong one."""
    if data.get("redaction"):
        raise InputError(
            path,
            "this result is redacted: its names are pseudonyms that cannot be matched across inputs; merge "
            "the unredacted results and give the merge --redact",
            key="redaction",
        )
    for key, kind in (("findings", list), ("recordings", list), ("coverage", dict), ("targets", list)):
        if not isinstance(data.get(key), kind):
            raise InputError(path, f"missing, or not {'a list' if kind is list else 'an object'}", key=key)
    for key in ("buckets", "rules", "rule_packs", "scopes"):
        if key in data and not isinstance(data[key], list):
            raise InputError(path, "not a list", key=key)
    for key in ("as_of", "run_by"):
        if not isinstance(data.get(key), str):
            raise InputError(path, "missing, or not a string", key=key)
    for index, finding in enumerate(data["findings"]):
        where = f"findings[{index}]"
        if not isinstance(finding, dict):
            raise InputError(path, "not an object", key=where)
        for key in ("fingerprint", "location", "rule", "severity", "category"):
            if not isinstance(finding.get(key), str):
                raise InputError(path, "missing, or not a string", key=f"{where}.{key}")
        if "evidence" in finding and not isinstance(finding["evidence"], dict):
            raise InputError(path, "not an object", key=f"{where}.evidence")
    for list_key in ("recordings", "buckets"):
        for index, artifact in enumerate(data.get(list_key) or []):
            if not isinstance(artifact, dict) or not isinstance(artifact.get("location"), str):
                raise InputError(path, "not an object with a location", key=f"{list_key}[{index}]")
    skipped = data["coverage"].get("skipped", [])
    if not isinstance(skipped, list) or not all(isinstance(g, dict) for g in skipped):
        raise InputError(path, "not a list of objects", key="coverage.skipped")


def host_of(run_by: str) -> str:
    return run_by.rpartition("@")[2] or run_by


def scope_of(item: Input) -> dict[str, Any]:
    """One input as a scope: enough to say what it covered, and to find the file it came from."""
    data = item.data
    coverage = {k: v for k, v in data["coverage"].items() if k != "skipped"}
    coverage["gaps"] = len(data["coverage"].get("skipped") or [])
    accounts = sorted(
        {
            str(account)
            for bucket in data.get("buckets") or []
            if (account := (bucket.get("facts") or {}).get("account"))
        }
    )
    shard = coverage.get("shard") if isinstance(coverage.get("shard"), dict) else None
    host = host_of(data["run_by"])
    name = host if shard is None else f"{host} shard {shard.get('index')}/{shard.get('count')}"
    summary: dict[str, Any] = data["summary"] if isinstance(data.get("summary"), dict) else {}
    return {
        "name": name,
        "host": host,
        "run_by": data["run_by"],
        "accounts": accounts,
        "organisation": data.get("organisation"),
        "targets": [str(t) for t in data["targets"]],
        "as_of": data["as_of"],
        "started": data.get("started"),
        "finished": data.get("finished"),
        "coverage": coverage,
        "findings": summary.get("findings", len(data["findings"])),
        "recordings": summary.get("recordings", len(data["recordings"])),
        "file": item.name,
        "sha256": item.sha256,
    }


def identity(location: str, host: str) -> str:
    """What makes two entries the same thing: an S3 URL anywhere, a local path on one host."""
    return location if "://" in location[:16] else f"{host}\0{location}"


def _discovered(finding: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str((finding.get("evidence") or {}).get("discovered_at")))
    except ValueError:
        return None


def _earlier_clock(kept: dict[str, Any], other: dict[str, Any]) -> None:
    """A breach seen by two inputs keeps the earliest discovery: merging must not restart a clock."""
    mine, theirs = _discovered(kept), _discovered(other)
    if mine is not None and theirs is not None and theirs < mine:
        restamp(kept, theirs)


class _Merger:
    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []
        self.findings: dict[str, dict[str, Any]] = {}
        self.recordings: dict[str, dict[str, Any]] = {}
        self.buckets: dict[str, dict[str, Any]] = {}
        # A bucket split by --shard: the (index, count) of each shard whose part is counted in.
        self.bucket_shards: dict[str, set[tuple[int, int]]] = {}
        self.gaps: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.breaches: dict[str, dict[str, Any]] = {}
        self.register_files: list[str] = []
        self.duplicates = 0
        self.expected: list[str] = []  # scopes an earlier merge was told to expect
        self.inputs = 0
        self.head: dict[str, Any] = {}  # what the merged result takes from its inputs' top level
        self.rules: dict[str, Any] = {}
        self.packs: list[Any] = []
        self.plugins: dict[tuple[Any, ...], Any] = {}
        self.register_meta: list[tuple[Any, str]] = []  # (schema_version, as_of) of each register
        self.run_bys: dict[str, set[str]] = {}  # host -> the user@host of each machine with that name

    def _head(self, data: dict[str, Any]) -> None:
        """The top-level facts of one input, kept so that the input itself can be let go."""
        head = self.head
        if not head:
            head.update(
                tool=data["tool"], config=data.get("config"), retention=data.get("retention"),
                organisation=data.get("organisation"), as_of=data["as_of"], started=None, finished=None,
                organisations=set(), targets={}, consent_registry=None,
            )  # fmt: skip
        head["as_of"] = max(head["as_of"], data["as_of"])
        if data.get("started"):
            head["started"] = min(filter(None, (head["started"], str(data["started"]))))
        if data.get("finished"):
            head["finished"] = max(filter(None, (head["finished"], str(data["finished"]))))
        if data.get("organisation"):
            head["organisations"].add(str(data["organisation"]))
        if head["consent_registry"] is None and data.get("consent_registry"):
            head["consent_registry"] = data["consent_registry"]
        head["targets"].update(dict.fromkeys(str(t) for t in data["targets"]))
        for rule in data.get("rules") or []:
            if isinstance(rule, dict):
                self.rules.setdefault(str(rule.get("id")), rule)
        self.packs.extend(p for p in data.get("rule_packs") or [] if p not in self.packs)
        for plugin in (data.get("tool") or {}).get("plugins") or []:
            if isinstance(plugin, dict):
                self.plugins.setdefault(
                    (plugin.get("kind"), plugin.get("name"), plugin.get("version")), plugin
                )
        register = data.get("breach_register")
        if isinstance(register, dict):
            self.register_meta.append((register.get("schema_version"), str(register.get("as_of"))))

    def add(self, item: Input) -> None:
        data = item.data
        check_input(data, item.name)  # first: its messages name what the merge needs
        if item.saved:
            check_result_shape(data, item.name)  # then every other key the outputs read
        self.inputs += 1
        self._head(data)
        nested = data.get("scopes")
        scope = scope_of(item)
        if nested:  # an earlier merge: its scopes stand as they were, with what each entry says
            self.scopes.extend(s for s in nested if isinstance(s, dict))
        else:
            self.run_bys.setdefault(scope["host"], set()).add(scope["run_by"])
            # Named by its user@host until every input is in: merge() names it by the host alone
            # when no other machine has that host name.
            scope["name"] = scope["run_by"] + scope["name"][len(scope["host"]) :]
            scope["host"] = scope["run_by"]
            self.scopes.append(scope)
        default_scope, host = scope["name"], scope["host"]
        for finding in data["findings"]:
            where = finding.get("scope") or default_scope
            key = identity(finding["location"], finding.get("host") or host) + "\0" + finding["fingerprint"]
            kept = self.findings.get(key)
            if kept is None:
                self.findings[key] = {**finding, "scope": where, "host": finding.get("host") or host}
                continue
            self.duplicates += 1
            if where not in kept.setdefault("seen_in", [kept["scope"]]):
                kept["seen_in"].append(where)
            _earlier_clock(kept, finding)
        shard = _shard_of(data)
        # The scan each shard scope here was a part of (an earlier merge's, or this input's own).
        groups = {str(s.get("name")): g for s in nested or [scope] if (g := shard_group(s)) is not None}
        for store, entries in (
            (self.recordings, data["recordings"]),
            (self.buckets, data.get("buckets") or []),
        ):
            for artifact in entries:
                key = identity(artifact["location"], artifact.get("host") or host)
                kept = store.get(key)
                if kept is None:
                    store[key] = {
                        **artifact,
                        "scope": artifact.get("scope") or default_scope,
                        "host": artifact.get("host") or host,
                    }
                    if store is self.buckets and shard is not None:
                        self.bucket_shards[key] = {shard}
                elif store is self.buckets:
                    self._add_bucket_part(key, kept, artifact, shard)
        for gap in data["coverage"].get("skipped") or []:
            if nested and gap.get("reason") in MERGE_GAPS:
                # An earlier merge's own gaps are worked out again from all the scopes now here.
                if gap.get("reason") == "scope-missing":
                    self.expected.append(str(gap.get("location")))
                continue
            entry = {**gap, "scope": gap.get("scope") or default_scope}
            # The shards of one scan each meet what concerns the whole scan (no consent registry):
            # one gap for the scan, as a single scan says it, not one per shard.
            owner = groups.get(entry["scope"], entry["scope"])
            self.gaps.setdefault(
                (entry.get("location"), entry.get("reason"), entry.get("detail"), owner), entry
            )
        register = data.get("breach_register")
        if isinstance(register, dict):
            if register.get("file") and register["file"] not in self.register_files:
                self.register_files.append(str(register["file"]))
            for breach in register.get("breaches") or []:
                if not isinstance(breach, dict) or not isinstance(breach.get("location"), str):
                    continue
                key = identity(breach["location"], breach.get("host") or host)
                known = self.breaches.get(key)
                if known is None or str(breach.get("first_discovered")) < str(known.get("first_discovered")):
                    self.breaches[key] = {**breach, "host": breach.get("host") or host}

    def _add_bucket_part(
        self, key: str, kept: dict[str, Any], artifact: dict[str, Any], shard: tuple[int, int] | None
    ) -> None:
        """One bucket split by --shard: each shard's result counts its own part of the bucket, so
        a part from another shard of the same split adds its counts (a single scan's figures);
        the same bucket scanned whole twice, or the same shard twice, is counted once."""
        parts = self.bucket_shards.get(key)
        if shard is None or parts is None or shard in parts or {count for _, count in parts} != {shard[1]}:
            return
        parts.add(shard)
        facts = kept["facts"] = dict(kept.get("facts") or {})  # the first input's dict stays as read
        more = artifact.get("facts") or {}
        for count in _BUCKET_COUNTS:
            if isinstance(facts.get(count), int) and isinstance(more.get(count), int):
                facts[count] += more[count]

    def name_machines(self) -> None:
        """Each machine merged here by its host name, or by user@host where two machines share a
        host name: in its scope's name, and as the `host` of its findings, recordings, buckets,
        gaps and breaches (the `host` a later merge keeps local paths apart by)."""
        names: dict[str, str] = {}
        for host, run_bys in self.run_bys.items():
            for who in run_bys:
                names[who] = host if len(run_bys) == 1 else who
        renamed: dict[str, str] = {}
        for scope in self.scopes:
            who = str(scope.get("run_by"))
            if scope.get("host") != who or who not in names:
                continue  # a scope of an earlier merge, named as it was
            machine = names[who]
            old = scope["name"]
            scope["name"] = renamed[old] = machine + old[len(who) :]
            scope["host"], scope["machine"] = host_of(who), machine
        if not renamed:
            return
        for store in (self.findings, self.recordings, self.buckets, self.breaches):
            for entry in store.values():
                if entry.get("host") in names:
                    entry["host"] = names[entry["host"]]
                if entry.get("scope") in renamed:
                    entry["scope"] = renamed[entry["scope"]]
                if "seen_in" in entry:
                    entry["seen_in"] = [renamed.get(s, s) for s in entry["seen_in"]]
        for gap in self.gaps.values():
            gap["scope"] = renamed.get(gap["scope"], gap["scope"])

    def missing(self, expected: Iterable[str]) -> list[dict[str, Any]]:
        """Gaps for what should be here and is not: expected scopes, and shards of a sharded scan."""
        gaps = []
        expected = list(dict.fromkeys([*expected, *self.expected]))
        names = {s.get("name") for s in self.scopes} | {s.get("host") for s in self.scopes}
        names |= {a for s in self.scopes for a in s.get("accounts") or []}
        for wanted in expected:
            if wanted not in names:
                gaps.append(
                    {
                        "location": wanted,
                        "reason": "scope-missing",
                        "detail": "named in the --expect file, but no result from it was merged: not audited",
                        "scope": wanted,
                    }
                )
        groups: dict[tuple[str, tuple[str, ...], int], set[int]] = {}
        for scope in self.scopes:
            shard = (scope.get("coverage") or {}).get("shard")
            if isinstance(shard, dict) and isinstance(shard.get("count"), int):
                machine = scope.get("machine") or scope.get("host")
                group = (str(machine), tuple(scope.get("targets") or ()), shard["count"])
                groups.setdefault(group, set()).add(int(shard.get("index") or 0))
        for (host, targets, count), seen in sorted(groups.items()):
            for index in range(1, count + 1):
                if index not in seen:
                    gaps.append(
                        {
                            "location": f"{host}: {', '.join(targets)}",
                            "reason": "shard-missing",
                            "detail": f"shard {index}/{count} of this scan was not merged: its part is not audited",
                            "scope": f"{host} shard {index}/{count}",
                        }
                    )
        return gaps


def merge(inputs: Iterable[Input], expected: Sequence[str] = (), *, run_by: str) -> dict[str, Any]:
    """One result dict (the JSON contract, plus `scopes`) from the inputs, each checked and merged
    as it comes (InputError naming a bad one); publish() finishes it."""
    merger = _Merger()
    for item in inputs:
        merger.add(item)
        del item  # the parsed input goes as soon as it is merged
    if not merger.inputs:
        raise InputError("auditor merge", "no input to merge")
    merger.name_machines()
    head = merger.head
    gaps = [*merger.gaps.values(), *merger.missing(expected)]
    complete = all(bool(s.get("coverage", {}).get("complete")) for s in merger.scopes) and not any(
        g["reason"] in MERGE_GAPS for g in gaps
    )
    counts = ("files_seen", "dirs_seen", "candidates", "recordings", "bytes_read", "excluded")
    coverage: dict[str, Any] = {
        "complete": complete,
        **{key: sum(int(s.get("coverage", {}).get(key) or 0) for s in merger.scopes) for key in counts},
        "api_calls": _sum_calls(s.get("coverage", {}).get("api_calls") for s in merger.scopes),
        "skipped": gaps,
        "merged": {
            "inputs": merger.inputs,
            "scopes": len(merger.scopes),
            "duplicate_findings": merger.duplicates,
        },
    }
    inventories = _inventories(merger.scopes)
    if inventories:  # which S3 Inventory snapshot each bucket was read from, as a scan says it
        coverage["inventories"] = inventories
    organisations = sorted(head["organisations"])
    result: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {**head["tool"], "plugins": list(merger.plugins.values())},
        "as_of": head["as_of"],
        "started": head["started"],
        "finished": head["finished"],
        "run_by": run_by,
        "organisation": ", ".join(organisations) or head["organisation"],
        "config": head["config"],
        "consent_registry": head["consent_registry"],
        "targets": list(head["targets"]),
        "rule_packs": merger.packs,
        "rules": list(merger.rules.values()),
        "summary": {},
        "findings": list(merger.findings.values()),
        "recordings": list(merger.recordings.values()),
        "buckets": list(merger.buckets.values()),
        "coverage": coverage,
        "retention": head["retention"],
        "scopes": merger.scopes,
    }
    if merger.breaches or merger.register_files:
        breaches = sorted(
            merger.breaches.values(), key=lambda b: (str(b.get("first_discovered")), str(b.get("id")))
        )
        result["breach_register"] = {
            "file": ", ".join(merger.register_files),
            "schema_version": next((v for v, _ in merger.register_meta), None),
            "as_of": max((a for _, a in merger.register_meta), default=None),
            "count": len(breaches),
            "breaches": breaches,
        }
    return result


_INVENTORY_COUNTS = ("files_in_shard", "files_read", "rows", "bytes_downloaded")


def _inventories(scopes: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every scope's `coverage.inventories`, one entry per bucket and manifest: the shards of one
    inventory (or the Dask tasks of one bucket) each read some of its data files, so their counts
    add up to what one scan of the whole inventory says."""
    combined: dict[tuple[Any, ...], dict[str, Any]] = {}
    for scope in scopes:
        for entry in (scope.get("coverage") or {}).get("inventories") or []:
            if not isinstance(entry, dict):
                continue
            key = (entry.get("bucket"), entry.get("manifest"), entry.get("used"), entry.get("reason"))
            kept = combined.get(key)
            if kept is None:
                combined[key] = json.loads(json.dumps(entry, default=str))  # a copy: counts are added to it
                continue
            for count in _INVENTORY_COUNTS:
                if isinstance(kept.get(count), int) and isinstance(entry.get(count), int):
                    kept[count] += entry[count]
            for item in entry.get("passed_over") or []:
                if item not in kept.setdefault("passed_over", []):
                    kept["passed_over"].append(item)
            if isinstance(entry.get("newer_than_snapshot"), dict) and entry["newer_than_snapshot"]:
                kept["newer_than_snapshot"] = {
                    **(kept.get("newer_than_snapshot") or {}),
                    **entry["newer_than_snapshot"],
                }
    return list(combined.values())


_BUCKET_COUNTS = ("objects_seen", "recordings", "delete_markers")


def shard_group(scope: dict[str, Any]) -> tuple[str, tuple[str, ...], int] | None:
    """The scan a shard scope was a part of: its machine, its targets and N; None for a whole scan."""
    shard = (scope.get("coverage") or {}).get("shard")
    if not (isinstance(shard, dict) and isinstance(shard.get("count"), int)):
        return None
    return str(scope.get("run_by")), tuple(str(t) for t in scope.get("targets") or ()), shard["count"]


def _shard_of(data: dict[str, Any]) -> tuple[int, int] | None:
    shard = (data.get("coverage") or {}).get("shard")
    if (
        isinstance(shard, dict)
        and isinstance(shard.get("index"), int)
        and isinstance(shard.get("count"), int)
    ):
        return shard["index"], shard["count"]
    return None


def _sum_calls(items: Iterable[Any]) -> dict[str, int]:
    total: dict[str, int] = {}
    for calls in items:
        for operation, count in (calls or {}).items():
            total[str(operation)] = total.get(str(operation), 0) + int(count)
    return dict(sorted(total.items()))


def load_expected(path: Path) -> list[str]:
    """The --expect file: one scope per line (a host, an account id, or `host shard I/N`); `#` comments."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text") from None
    names = []
    for line in text.splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            names.append(name)
    if not names:
        raise InputError(path, "names no scope (one host, account id or `host shard I/N` a line)")
    return names
