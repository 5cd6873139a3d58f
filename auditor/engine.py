"""The pipeline: source -> classify -> enrich -> rules -> findings.

Sources stream artifacts; each artifact is enriched (recording date, legal hold) and handed
to every active rule. A rule that raises becomes a coverage gap and the scan goes on; so does
a source that raises while it scans a target (what it yielded before is kept).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from auditor import __version__
from auditor.attribution import resolve_recorded_at
from auditor.config import Config
from auditor.consent.registry import ConsentRegistry
from auditor.errors import InputError, SeamError, SourceError
from auditor.models import Artifact, Coverage, Finding, Gap, LegalHoldFact, make_fingerprint
from auditor.paths import display_path
from auditor.plugins import Plugin, registry
from auditor.rules.base import RuleContext
from auditor.rules.registry import ActiveRule, RuleSet
from auditor.sources.base import Source, SourceOptions
from auditor.sources.settings import settings_for, spec_of

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def scheme_of(target: str) -> str:
    """`s3://bucket` -> "s3"; anything without a URL scheme is a local path ("file")."""
    m = _SCHEME.match(target)
    return m.group(1).lower() if m else "file"


def source_plugin(target: str) -> Plugin:
    """The source registered for `target`'s scheme: SourceError when none is, PluginConflict
    when two distributions claim it."""
    scheme = scheme_of(target)
    plugin = registry().get("source", scheme)
    if plugin is None:
        known = ", ".join(f"{s}://" if s != "file" else "local paths" for s in registry().names("source"))
        raise SourceError(target, f"no source handles {scheme}:// targets (installed: {known})")
    return plugin


def open_sources(
    targets: Iterable[str],
    config: Config,
    options: SourceOptions,
    source_settings: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, tuple[Plugin, Source]]:
    """One source per scheme the targets use, each given its own settings (its config section
    with `source_settings[scheme]`, the command line, on top); then every target is checked.
    All of it happens before anything is scanned: a problem with the last target must not come
    after an hour spent on the first. Raises SourceError (or PluginConflict)."""
    opened: dict[str, tuple[Plugin, Source]] = {}
    checks = []
    for target in targets:
        plugin = source_plugin(target)
        if plugin.name not in opened:
            spec = spec_of(plugin, target)
            settings = settings_for(
                plugin.name, config.sources.get(plugin.name), (source_settings or {}).get(plugin.name)
            )
            opened[plugin.name] = (plugin, spec.build(config, options, settings))
        checks.append((target, opened[plugin.name][1]))
    for target, source in checks:
        check = getattr(source, "check", None)  # optional for sources written before it existed
        if check is not None:
            check(target)
    return opened


@dataclass
class ScanResult:
    """A finished scan: its artifacts, findings and coverage, before publishing."""

    as_of: date
    started: datetime
    finished: datetime
    targets: list[str]
    config: Config
    ruleset: RuleSet
    findings: list[Finding] = field(default_factory=list)
    recordings: list[Artifact] = field(default_factory=list)
    buckets: list[Artifact] = field(default_factory=list)
    coverage: Coverage = field(default_factory=Coverage)
    registry_source: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # more top-level keys, e.g. the watch daemon's health
    sources: list[Plugin] = field(default_factory=list)  # the source plugins that scanned a target

    @property
    def tool(self) -> dict[str, Any]:
        """The tool and every plugin that took part: the sources that read, the rules that judged."""
        plugins = [*self.sources, *(a.plugin for a in self.ruleset.active if a.plugin is not None)]
        return {
            "name": "recording-auditor",
            "version": __version__,
            "plugins": [
                {"kind": p.kind, "name": p.name, "distribution": p.distribution, "version": p.version}
                for p in plugins
            ],
        }


def enrich(artifact: Artifact, registry: ConsentRegistry | None, as_of: date) -> None:
    """Facts that need more than the source knows: the recording date and any legal hold."""
    resolve_recorded_at(artifact, fallback_source=artifact.mtime_source)
    if registry is None or artifact.kind != "recording":
        return
    clients = [artifact.attribution.client, *artifact.attribution.participants]
    for client_id in filter(None, clients):
        record = registry.get(client_id)
        hold = record.legal_hold if record else None
        if hold is not None:
            artifact.legal_hold = LegalHoldFact(
                client_id, hold.until, hold.reason, in_force=hold.until is None or hold.until >= as_of
            )
            if artifact.legal_hold.in_force:
                break


@dataclass(frozen=True)
class BoundRule:
    """An active rule with its context for one scan: built once, not once per artifact."""

    active: ActiveRule
    ctx: RuleContext


class BoundRules(list[BoundRule]):
    """The bound rules of one scan, with those that apply to each kind of artifact from each
    source worked out once: judge() asks per artifact, and the answer depends on those two alone."""

    def __init__(self, rules: Iterable[BoundRule] = ()) -> None:
        super().__init__(rules)
        self._applicable: dict[tuple[str, str], list[BoundRule]] = {}

    def applicable(self, kind: str, source: str) -> list[BoundRule]:
        found = self._applicable.get((kind, source))
        if found is None:
            found = self._applicable[(kind, source)] = [
                b for b in self if _applies(b.active.rule, kind, source)
            ]
        return found


def _applies(rule: Any, kind: str, source: str) -> bool:
    return kind in rule.applies_to and not (rule.sources and source not in rule.sources)


def bind_rules(
    rules: Iterable[ActiveRule],
    *,
    as_of: date,
    now: datetime,
    config: Config,
    registry: ConsentRegistry | None,
) -> BoundRules:
    """Rules ready to run. Those that need a consent registry are left out when there is none:
    they could not judge anything, and run_scan reports that as a coverage gap instead."""
    return BoundRules(
        BoundRule(a, RuleContext(as_of, now, config, registry, a.params, a.severity))
        for a in rules
        if registry is not None or not a.rule.requires_registry
    )


@dataclass(frozen=True)
class RuleFailure:
    """A rule that raised on an artifact: it could not judge it, which is a hole, not a pass."""

    rule: str
    error: str  # "TypeError: ..."

    def gap(self, location: str) -> Gap:
        return Gap(location, "rule-error", f"{self.rule}: {self.error}")


@dataclass
class Judgement:
    """What the rules made of one artifact: its findings, and the rules that failed on it.

    A finding of a failed rule is unknown, neither present nor absent: whoever keeps findings
    open across runs (the watch daemon) must keep that rule's earlier findings as they were."""

    location: str
    findings: list[Finding] = field(default_factory=list)
    failures: list[RuleFailure] = field(default_factory=list)

    @property
    def failed_rules(self) -> frozenset[str]:
        return frozenset(f.rule for f in self.failures)

    def gaps(self) -> list[Gap]:
        return [f.gap(self.location) for f in self.failures]


def judge(artifact: Artifact, bound: Iterable[BoundRule]) -> Judgement:
    """Run every bound rule that applies to `artifact`; a rule that raises is a failure, and the rest go on."""
    judgement = Judgement(artifact.location)
    if isinstance(bound, BoundRules):
        applicable: Iterable[BoundRule] = bound.applicable(artifact.kind, artifact.source)
    else:
        applicable = [b for b in bound if _applies(b.active.rule, artifact.kind, artifact.source)]
    for item in applicable:
        active = item.active
        rule = active.rule
        try:
            for hit in rule.evaluate(artifact, item.ctx):
                judgement.findings.append(
                    Finding(
                        rule=rule.id,
                        category=rule.category,
                        severity=hit.severity or active.severity,
                        location=artifact.location,
                        message=hit.message,
                        evidence=dict(hit.evidence),
                        controls=list(active.controls),
                        remediation=rule.remediation,
                        fingerprint=make_fingerprint(rule.id, artifact.location, hit.discriminator),
                        client=artifact.attribution.client,
                    )
                )
        except Exception as exc:  # one faulty rule must not stop the audit; the hole is reported
            judgement.failures.append(RuleFailure(rule.id, f"{type(exc).__name__}: {exc}"))
    return judgement


def evaluate_bound(artifact: Artifact, bound: Iterable[BoundRule], coverage: Coverage) -> list[Finding]:
    """judge(), with the failed rules recorded as coverage gaps: what a scan needs."""
    judgement = judge(artifact, bound)
    coverage.gaps += judgement.gaps()
    return judgement.findings


def ruleset_gaps(ruleset: RuleSet, registry: ConsentRegistry | None) -> list[Gap]:
    """Holes that come from the rules themselves, whatever is scanned: rules that failed to load,
    and rules that cannot judge without a consent registry when there is none."""
    gaps = [Gap(ep_name, "rule-load-error", error) for ep_name, error in ruleset.load_errors]
    needs_registry = sorted(a.rule.id for a in ruleset.active if a.rule.requires_registry)
    if registry is None and needs_registry:
        # Without a registry, consent cannot be shown either way: say so rather than look clean.
        gaps.append(
            Gap(
                "consent registry",
                "consent-not-checked",
                f"no consent registry given; not evaluated: {', '.join(needs_registry)}",
            )
        )
    return gaps


def run_scan(
    targets: list[str],
    *,
    config: Config,
    ruleset: RuleSet,
    registry: ConsentRegistry | None,
    as_of: date,
    options: SourceOptions,
    on_judged: Callable[[Artifact, list[Finding]], None] | None = None,
    source_settings: Mapping[str, Mapping[str, Any]] | None = None,
    keep: bool = True,
) -> ScanResult:
    """Scan every target. `on_judged` sees each artifact with its findings as soon as the rules
    have judged it (e.g. to build the result's dicts while the walk goes on). `source_settings`:
    each source's command-line options, by scheme (over its config section). `keep=False` leaves
    the result's findings, recordings and buckets empty, for a caller whose `on_judged` keeps what
    it needs: a million-file scan then holds each artifact only while it is judged."""
    started = datetime.now(UTC)
    result = ScanResult(as_of, started, started, list(targets), config, ruleset)
    result.registry_source = str(registry.source) if registry else None
    coverage = result.coverage
    coverage.shard = options.shard
    coverage.gaps += ruleset_gaps(ruleset, registry)
    bound = bind_rules(ruleset.active, as_of=as_of, now=started, config=config, registry=registry)
    sources = open_sources(targets, config, options, source_settings)
    result.sources = [plugin for plugin, _ in sources.values()]
    for target in targets:
        plugin, source = sources[source_plugin(target).name]
        for artifact in _scanned(plugin, source, target, coverage):
            enrich(artifact, registry, as_of)
            findings = evaluate_bound(artifact, bound, coverage)
            if keep:
                (result.recordings if artifact.kind == "recording" else result.buckets).append(artifact)
                result.findings.extend(findings)
            if on_judged is not None:
                on_judged(artifact, findings)
    result.finished = datetime.now(UTC)
    return result


def _scanned(plugin: Plugin, source: Source, target: str, coverage: Coverage) -> Iterator[Artifact]:
    """The artifacts `source` yields for `target`. A source that raises (a bug, often a
    third-party plugin's) ends that target with a `scan-error` gap naming the plugin: the audit
    says it is incomplete and keeps what was found, instead of dying with the local work lost
    or reading as clean. The user's own errors (bad settings, credentials) still stop the scan."""
    artifacts = source.scan(target, coverage)
    while True:
        try:
            artifact = next(artifacts)
        except StopIteration:
            return
        except (InputError, SeamError):
            raise
        except Exception as exc:
            where = target if plugin.name != "file" else display_path(os.path.abspath(target))
            coverage.gaps.append(
                Gap(
                    where,
                    "scan-error",
                    f"the {plugin.name} source from {plugin.provider} failed, so the rest of this target "
                    f"was not scanned: {type(exc).__name__}: {exc}",
                )
            )
            return
        yield artifact
