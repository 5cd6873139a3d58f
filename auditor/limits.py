"""The limits on every YAML and JSON file the tool reads: one home for the numbers.

Anyone who can write one file into a scanned folder (a sidecar) or a shared one (a config, a
registry) can try to stop the audit with it: a 500-byte file of nested aliases stands for
billions of values, a 990-deep list overflows every recursive walker, a 50 MB registry takes
minutes. Each kind of file therefore has a size, a nesting depth and an alias budget, checked
before the file is built (auditor/safeparse.py). docs/limits.md lists these numbers and what
they cost; a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class Limits:
    """How big and how deep one kind of file may be."""

    what: str  # the kind of file, in messages: "config file", "sidecar", ...
    max_bytes: int
    max_depth: int  # nested mappings and lists; the top-level mapping is depth 1
    # How many values YAML aliases (*name, <<: *name) may stand for in all, beyond the values
    # written out; 0 refuses aliases altogether.
    max_alias_values: int
    # Said when a file is over max_bytes: what to do instead.
    too_big_hint: str = ""

    def size_text(self) -> str:
        return size_text(self.max_bytes)


def size_text(count: int) -> str:
    """1048576 -> '1 MiB', 65536 -> '64 KiB'."""
    if count % MIB == 0:
        return f"{count // MIB} MiB"
    if count % KIB == 0:
        return f"{count // KIB} KiB"
    return f"{count:,} bytes"


# The longest number (in characters) a YAML or JSON file may write; longer ones are refused
# before Python turns them into an integer (it refuses past 4,300 digits itself, with a traceback).
MAX_NUMBER_CHARS = 100

# Days in a policy (retention, grace periods): at most a century. Date arithmetic past year 9999
# overflows, so the schemas bound what the rules can compute.
MAX_DAYS = 36525

CONFIG = Limits("config file", max_bytes=1 * MIB, max_depth=32, max_alias_values=10_000)
RULE_PACK = Limits("rule pack", max_bytes=1 * MIB, max_depth=32, max_alias_values=10_000)
IGNORE_FILE = Limits("suppression file", max_bytes=4 * MIB, max_depth=32, max_alias_values=10_000)
# YAML registries are checked value by value against the schema (about 4 s per MiB on a busy
# 2-core machine); the CSV export of the same registry loads about twenty times faster, hence
# its larger limit. Measured by bench/bench_parsers.py.
REGISTRY_YAML = Limits(
    "consent registry",
    max_bytes=4 * MIB,
    max_depth=32,
    max_alias_values=500_000,
    too_big_hint="a YAML registry this size takes minutes to check; export it as CSV instead "
    "(docs/consent-registry.md), which may be up to 64 MiB",
)
# Only the size applies to CSV (there is no nesting); the other two are never reached.
REGISTRY_CSV = Limits("CSV consent registry", max_bytes=64 * MIB, max_depth=1, max_alias_values=0)
# A sidecar is a few lines written by a recording app: aliases have no business there.
SIDECAR = Limits("sidecar", max_bytes=64 * KIB, max_depth=8, max_alias_values=0)
# A saved JSON result read back (auditor report, --baseline): a million findings is about 850 MB;
# reading one takes about 6.5 times its size in memory (bench figures in docs/limits.md).
RESULT_JSON = Limits("JSON result", max_bytes=1024 * MIB, max_depth=64, max_alias_values=0)
# Small JSON settings read from the machine or a bucket (a sync client's info.json, a bucket
# policy: AWS caps those at 20 KB).
SETTINGS_JSON = Limits("settings file", max_bytes=256 * KIB, max_depth=32, max_alias_values=0)

# A CloudTrail log file read for breach evidence (gzip, inflated to at most 1 GiB by
# auditor/breach/logfiles.py); its records are a few levels deep.
CLOUDTRAIL_JSON = Limits("CloudTrail log file", max_bytes=1024 * MIB, max_depth=32, max_alias_values=0)

ALL: tuple[Limits, ...] = (
    CONFIG,
    RULE_PACK,
    IGNORE_FILE,
    REGISTRY_YAML,
    REGISTRY_CSV,
    SIDECAR,
    RESULT_JSON,
    SETTINGS_JSON,
    CLOUDTRAIL_JSON,
)
