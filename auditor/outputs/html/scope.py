"""Scope and limitations: what this audit examined, what it did not and why, and what no scan can know.

Generated from the result alone, in sentences an auditor can quote: the targets, the volumes
and buckets the recordings were on, the counts, the rules that judged them, every coverage gap
by kind with its meaning, the rules that did not run and why, and the tool's standing limits
(the same list as docs/compliance-officers.md, "What the tool cannot know").
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from auditor.posture import rule_states

# What each coverage-gap reason means for the audit. A reason not listed is shown as written.
GAP_MEANINGS: dict[str, str] = {
    "permission-denied": "the scan's account may not read these places, so recordings there are not in this report",
    "access-denied": "the credentials were refused these buckets or objects, so recordings there are not in this report",
    "vanished": "removed or renamed while the scan ran",
    "os-error": "the operating system returned an error when they were read",
    "symlink-loop": "links that lead back into themselves",
    "api-error": "S3 calls failed, so what they would have told is unknown",
    "scan-error": "a target could not be scanned at all",
    "rule-error": "a rule failed on these recordings, so they were not judged by it",
    "rule-load-error": "a rule could not be loaded, so it judged nothing",
    "consent-not-checked": "no consent registry was given, so consent was not checked for any recording",
    "exposure-check-incomplete": "who else can read these could not be fully established",
    "sidecar-invalid": "a sidecar file beside a recording could not be read; attribution fell back to path patterns",
    "policy-unreadable": "a bucket policy could not be read, so public access through it is unknown",
    "sse-c": "objects encrypted with customer-provided keys (SSE-C) cannot be examined",
    "archived": "objects in an archive storage class cannot be read without being restored",
    "symlink-not-followed": "links were not followed (--follow-symlinks follows them)",
    "special-file": "FIFOs, sockets and devices, which cannot hold a stored recording",
    "pseudo-filesystem": "pseudo file systems such as /proc and /sys, which hold no stored files",
    "other-filesystem": "other file systems mounted below a target, left out by --one-file-system",
    "scope-missing": "machines or accounts the merge expected (--expect) sent no result, so nothing there is audited",
    "shard-missing": "shards of a sharded scan sent no result, so their part of the targets is not audited",
    "task-failed": "Dask tasks failed, and again when retried, so their units were not scanned",
}

# The tool's standing limits: the same list as docs/compliance-officers.md ("What the tool cannot
# know"); a test keeps the two in step.
CANNOT_KNOW: tuple[tuple[str, str], ...] = (
    (
        "Verbal or paper consent",
        "that is not in the registry. The tool reports what the registry shows.",
    ),
    (
        "Whether a recording is of a therapy session at all.",
        "Every audio, video or transcript file is treated as one; non-clinical media are suppressed "
        "with a reason.",
    ),
    (
        "Copies elsewhere",
        ": backups, email attachments, other machines, phones, the sync service's own version history and "
        "trash. Deletion is not complete while copies remain (NIST SP 800-88).",
    ),
    (
        "Who actually accessed",
        "an exposed file. A breach finding is a presumption (HIPAA 164.402) that a risk assessment may "
        "rebut; server and bucket access logs are the evidence.",
    ),
    (
        "Key custody.",
        "The tool sees key files beside a recording, not keys stored elsewhere on the same machine or "
        "shared by email.",
    ),
    (
        "Encryption it cannot observe",
        ": storage the tool cannot classify is reported unknown, never encrypted.",
    ),
    (
        "Frameworks differ.",
        "Withdrawal is not retroactive under HIPAA and PHIPA but GDPR asks for erasure; each framework is "
        "scored separately.",
    ),
)


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def _target_kind(target: str) -> str:
    if target.startswith("s3://"):
        rest = target[5:].strip("/")
        if not rest:
            return "every S3 bucket the credentials can list"
        return "S3 prefix" if "/" in rest else "S3 bucket"
    return "local path"


def scope(result: dict[str, Any], coverage: dict[str, Any]) -> dict[str, Any]:
    """The section's content; `coverage` is the view's coverage (with its `groups`)."""
    recordings = result.get("recordings", [])
    buckets = result.get("buckets", [])
    volumes: Counter[str] = Counter()
    for r in recordings:
        volume = (r.get("facts") or {}).get("volume") or {}
        if r.get("source") == "local" and volume:
            volumes[str(volume.get("detail") or volume.get("method") or "unknown volume")] += 1
    bucket_names = sorted({str((b.get("facts") or {}).get("bucket") or b.get("location")) for b in buckets})
    states = rule_states(result)
    rules = {r["id"]: r for r in result.get("rules", [])}
    evaluated = sorted(rid for rid, s in states.items() if s.state == "evaluated")
    not_evaluated = [
        {"rule": rid, "title": rules[rid].get("title") or rid, "why": s.why}
        for rid, s in sorted(states.items())
        if s.state == "not-evaluated"
    ]
    not_applicable = [
        {"rule": rid, "title": rules[rid].get("title") or rid, "why": s.why}
        for rid, s in sorted(states.items())
        if s.state == "not-applicable"
    ]
    gaps = [
        {
            "reason": g["reason"],
            "count": g["count"],
            "meaning": GAP_MEANINGS.get(g["reason"], g["reason"]),
            "intentional": g["intentional"],
        }
        for g in coverage.get("groups", [])
    ]
    holes = sum(g["count"] for g in gaps if not g["intentional"])
    targets = [{"target": t, "kind": _target_kind(t)} for t in result.get("targets", [])]
    return {
        "targets": targets,
        "volumes": volumes.most_common(),
        "buckets": bucket_names,
        "evaluated": evaluated,
        "not_evaluated": not_evaluated,
        "not_applicable": not_applicable,
        "gaps": [g for g in gaps if not g["intentional"]],
        "skips": [g for g in gaps if g["intentional"]],
        "excluded": int(coverage.get("excluded") or 0),
        "cannot_know": CANNOT_KNOW,
        "statement": _statement(result, coverage, len(evaluated), len(not_evaluated), holes),
    }


def _statement(
    result: dict[str, Any], coverage: dict[str, Any], evaluated: int, skipped: int, holes: int
) -> str:
    """One paragraph to quote: what was examined, on which day, by how many rules, and how complete."""
    targets = result.get("targets", [])
    where = ", ".join(targets) if len(targets) <= 3 else f"{len(targets):,} targets"
    text = (
        f"On the audit day {result.get('as_of')}, {result.get('tool', {}).get('name', 'the tool')} "
        f"{result.get('tool', {}).get('version', '')} examined {_plural(int(coverage.get('files_seen') or 0), 'file')} "
        f"in {_plural(int(coverage.get('dirs_seen') or 0), 'folder')} under {where}"
    )
    buckets = len(result.get("buckets", []))
    if buckets:
        text += f" and {_plural(buckets, 'S3 bucket')}"
    text += (
        f", and found {_plural(len(result.get('recordings', [])), 'recording')}. "
        f"{_plural(evaluated, 'rule')} judged them"
    )
    text += f"; {_plural(skipped, 'rule')} could not run." if skipped else "."
    if holes:
        text += f" {_plural(holes, 'place')} could not be examined, so the audit is incomplete."
    else:
        text += " Every place under the targets was examined, apart from the deliberate skips listed."
    return text
