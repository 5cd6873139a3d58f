"""The audit configuration (auditor.yaml): its typed shape and its strict loader.

The shape is the contract the rest of the code reads. The loader validates against the
shipped JSON Schema (auditor/schemas/config.schema.json) and reports errors with file,
line and key, because a typo in a compliance policy must never pass silently.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.errors import ConfigError, InputError
from auditor.owners import OwnerRule
from auditor.yamlsource import PositionIndex, format_path, load_yaml_checked, parse_date

CONFIG_FILENAME = "auditor.yaml"


@dataclass
class OrganisationConfig:
    """`organisation: NAME`, or the mapping `{name, aws_accounts}`."""

    name: str | None = None
    aws_accounts: list[str] = field(default_factory=list)  # account or canonical ids: "internal" requesters


@dataclass
class RetentionConfig:
    """How long recordings may be kept: a default, and by purpose (`retention`)."""

    default_days: int | None = 90  # None = no limit
    by_purpose: dict[str, int | None] = field(default_factory=dict)


@dataclass
class AttributionConfig:
    """Path patterns that name a recording's client and session (`attribution`)."""

    patterns: list[re.Pattern[str]] = field(default_factory=list)


@dataclass
class ConsentConfig:
    """How consent is judged: the grace after a withdrawal (`consent`)."""

    withdrawal_grace_days: int = 30


@dataclass
class EncryptionConfig:
    """Which volumes count as encrypted, and the least S3 encryption accepted (`encryption`)."""

    trusted_volumes: list[Path] = field(default_factory=list)
    s3_minimum: str = "sse-s3"  # sse-s3 | sse-kms | client-side ; sse-s3 accepts any SSE


@dataclass
class ExposureConfig:
    """The places that expose a recording: sync folders, web roots, shares, broad groups (`exposure`)."""

    sync_folders: list[Path] = field(default_factory=list)
    web_roots: list[Path] = field(default_factory=list)
    network_shares: list[Path] = field(default_factory=list)
    broad_groups: list[str] = field(default_factory=list)
    authorised_readers: list[str] = field(default_factory=list)  # accounts that may read recordings


@dataclass
class RulesConfig:
    """Rule packs to add, rules to disable and severities to change (`rules`)."""

    packs: list[Path] = field(default_factory=list)
    disable: list[str] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)


@dataclass
class ReportConfig:
    """The report's title and redaction key (`report`)."""

    redaction_key_env: str = "AUDITOR_REDACTION_KEY"  # env var holding the HMAC key for --redact
    redaction_key: str | None = None  # the key inline; discouraged (readers of the file can re-identify)
    title: str | None = None


@dataclass
class Config:
    """The whole of auditor.yaml, every section with its defaults (docs/config.md)."""

    version: int = 1
    organisation: OrganisationConfig = field(default_factory=OrganisationConfig)
    consent_registry: Path | None = None
    state_dir: Path | None = None  # the breach register's folder, shared by scan and watch
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    attribution: AttributionConfig = field(default_factory=AttributionConfig)
    consent: ConsentConfig = field(default_factory=ConsentConfig)
    encryption: EncryptionConfig = field(default_factory=EncryptionConfig)
    exposure: ExposureConfig = field(default_factory=ExposureConfig)
    rules: RulesConfig = field(default_factory=RulesConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    owners: list[OwnerRule] = field(default_factory=list)  # who owns the fixes, by path or bucket
    # Each source's own section, by URL scheme, as written (checked against the schema the source
    # supplies); the source gets it through the seam (auditor.sources.settings).
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: Path | None = None
    # Where each key sits in the file, for errors found after loading (e.g. an unknown rule id).
    positions: Any = field(
        default=None, compare=False, repr=False
    )  # the file this came from; None = built-in defaults


# --- loading ----------------------------------------------------------------------------------

REQUIRED_PATTERN_GROUPS: tuple[str, ...] = ("client", "date")


def load_config(path: Path | None, cwd: Path | None = None) -> Config:
    """Load and validate auditor.yaml; raises ConfigError listing every problem with its line.

    With no `path`, use `auditor.yaml` in `cwd` (default: the process's working directory) if
    there is one, else the built-in defaults (`Config()`, whose `source` is None). Relative
    paths in the file are taken relative to the file's own directory.
    """
    if path is None:
        candidate = cwd / CONFIG_FILENAME if cwd is not None else Path(CONFIG_FILENAME)
        if not candidate.is_file():
            return Config()
        path = candidate
    data, positions, errors = load_yaml_checked(path, "config", error_class=ConfigError)
    patterns = _compile_patterns(data, positions, path, errors)
    from auditor.sources.settings import section_errors  # the sources' schemas: loaded from the plugins

    errors += section_errors(data, positions, str(path))
    if errors:
        raise ConfigError.from_errors(errors)
    config = _build_config(data, patterns, Path(os.path.abspath(path)).parent, path)
    config.positions = positions
    return config


def _build_config(data: dict[str, Any], patterns: list[re.Pattern[str]], base: Path, source: Path) -> Config:
    retention = data.get("retention", {})
    encryption = data.get("encryption", {})
    exposure = data.get("exposure", {})
    rules = data.get("rules", {})
    report = data.get("report", {})
    defaults = Config()

    def paths(values: list[str]) -> list[Path]:
        return [_resolve(base, value) for value in values]

    registry = data.get("consent_registry")
    state_dir = data.get("state_dir")
    organisation = data.get("organisation")
    return Config(
        version=data["version"],
        organisation=OrganisationConfig(organisation.get("name"), list(organisation.get("aws_accounts", [])))
        if isinstance(organisation, dict)
        else OrganisationConfig(organisation),
        consent_registry=_resolve(base, registry) if registry is not None else None,
        state_dir=_resolve(base, state_dir) if state_dir is not None else None,
        retention=RetentionConfig(
            default_days=_whole(retention.get("default_days", defaults.retention.default_days)),
            by_purpose={purpose: _whole(days) for purpose, days in retention.get("by_purpose", {}).items()},
        ),
        attribution=AttributionConfig(patterns=patterns),
        consent=ConsentConfig(
            withdrawal_grace_days=int(
                data.get("consent", {}).get("withdrawal_grace_days", defaults.consent.withdrawal_grace_days)
            )
        ),
        encryption=EncryptionConfig(
            trusted_volumes=paths(encryption.get("trusted_volumes", [])),
            s3_minimum=encryption.get("s3_minimum", defaults.encryption.s3_minimum),
        ),
        exposure=ExposureConfig(
            sync_folders=paths(exposure.get("sync_folders", [])),
            web_roots=paths(exposure.get("web_roots", [])),
            network_shares=paths(exposure.get("network_shares", [])),
            broad_groups=list(exposure.get("broad_groups", [])),
            authorised_readers=list(exposure.get("authorised_readers", [])),
        ),
        rules=RulesConfig(
            # A bare name (no folder, no .yaml) is an installed pack (auditor.packs), kept as written.
            packs=[
                Path(value) if _is_pack_name(value) else _resolve(base, value)
                for value in rules.get("packs", [])
            ],
            disable=list(rules.get("disable", [])),
            severity=dict(rules.get("severity", {})),
        ),
        report=ReportConfig(
            redaction_key_env=report.get("redaction_key_env", defaults.report.redaction_key_env),
            redaction_key=report.get("redaction_key"),
            title=report.get("title"),
        ),
        sources={scheme: dict(section or {}) for scheme, section in (data.get("sources") or {}).items()},
        owners=[_owner(entry, base) for entry in data.get("owners", [])],
        source=source,
    )


def _owner(entry: dict[str, Any], base: Path) -> OwnerRule:
    return OwnerRule(
        owner=str(entry["owner"]).strip(),
        path=str(_resolve(base, entry["path"])) if entry.get("path") is not None else None,
        bucket=entry.get("bucket"),
        due=parse_date(entry["due"]) if entry.get("due") is not None else None,
        due_days=entry.get("due_days"),
    )


def _compile_patterns(
    data: Any, positions: PositionIndex, file: Path, errors: list[InputError]
) -> list[re.Pattern[str]]:
    """Compile the attribution patterns and check their named groups.

    Runs even when the schema found problems (so every error is reported at once), hence the
    defensive look at shapes. The schema cannot judge the patterns: they are Python's syntax, and
    JSON Schema's `regex` format means ECMA-262's, so a pattern that does not compile is reported here.
    """
    attribution = data.get("attribution") if isinstance(data, dict) else None
    sources = attribution.get("patterns") if isinstance(attribution, dict) else None
    compiled: list[re.Pattern[str]] = []
    for number, source in enumerate(sources if isinstance(sources, list) else []):
        where = ("attribution", "patterns", number)
        try:
            pattern = re.compile(source)
        except re.error as exc:
            errors.append(
                ConfigError(
                    file,
                    f"is not a valid regular expression: {exc}",
                    line=positions.line(where),
                    key=format_path(where),
                )
            )
            continue
        except TypeError:  # not a string: the schema says so
            continue
        missing = [name for name in REQUIRED_PATTERN_GROUPS if name not in pattern.groupindex]
        if missing:
            names = " and ".join(repr(name) for name in missing)
            errors.append(
                ConfigError(
                    file,
                    f"pattern has no named group {names}; write e.g. (?P<client>...) and (?P<date>...)",
                    line=positions.line(where),
                    key=format_path(where),
                )
            )
        compiled.append(pattern)
    return compiled


def _resolve(base: Path, text: str) -> Path:
    """`~` expanded, relative to `base`, normalised; symlinks are left alone (paths stay as the user sees them)."""
    return Path(os.path.normpath(base / Path(text).expanduser()))


def _whole(days: int | float | None) -> int | None:
    # JSON Schema counts 30.0 as an integer; keep the dataclass promise of int.
    return None if days is None else int(days)


def _is_pack_name(value: str) -> bool:
    return "/" not in value and os.sep not in value and not value.lower().endswith((".yaml", ".yml"))
