"""`.md`: a short summary for an e-mail or a pull-request comment.

Everything that comes from the scanned data is escaped, so a file called `[x](http://evil)`
or `<img onerror=...>` shows as text wherever the Markdown is rendered.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from auditor.models import INTENTIONAL_SKIPS, SEVERITIES
from auditor.outputs.base import OutputOptions, write_private
from auditor.posture import framework_posture, is_active
from auditor.textsafe import fix_lone_surrogates

TOP_FINDINGS = 15
# Values never start a line here (they sit in table cells or after text), so block markers such
# as `#`, `-`, `+` and `1.` cannot trigger; only inline syntax needs escaping.
_SPECIAL = re.compile(r"([\\`*_{}\[\]()!|~>])")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def md(value: Any) -> str:
    """Text as literal Markdown: punctuation backslash-escaped, HTML characters as entities,
    controls as escapes and lone surrogates in the lossless form (auditor.textsafe)."""
    text = fix_lone_surrogates("" if value is None else str(value))
    text = _CONTROL.sub(
        lambda m: {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(
            m.group(0), f"\\x{ord(m.group(0)):02x}" if ord(m.group(0)) < 0x80 else f"\\u{ord(m.group(0)):04x}"
        ),
        text,
    )
    text = _SPECIAL.sub(r"\\\1", text)
    # GitHub turns bare `scheme://...` and `www.` into links; an escape breaks the pattern.
    text = text.replace("://", "\\://").replace("www.", "www\\.")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def to_markdown(result: dict[str, Any], sha256: str | None = None) -> str:
    s = result.get("summary") or {}
    findings = result.get("findings", [])
    active = [f for f in findings if is_active(f)]
    breaches = [f for f in active if f.get("category") == "breach"]
    org = result.get("organisation")
    heading = f"{md(org)}: recording audit" if org else "Recording audit"
    lines = [f"## {heading} as of {md(result.get('as_of'))}", ""]
    coverage = result.get("coverage") or {}
    if not coverage.get("complete", True):
        gaps = [g for g in coverage.get("skipped", []) if g.get("reason") not in INTENTIONAL_SKIPS]
        lines += [f"> **Incomplete audit:** {len(gaps):,} place(s) could not be examined.", ""]
    if breaches:
        lines += [
            f"> **{len(breaches):,} possible breach(es) to assess.** HIPAA notice within 60 days and GDPR within "
            "72 hours of discovery.",
            "",
        ]
    recordings = s.get("recordings", 0)
    lines.append(
        f"**{s.get('findings', 0):,} open finding(s)** · {s.get('compliant_recordings', 0):,} of {recordings:,} "
        f"recording(s) compliant · {s.get('suppressed', 0):,} suppressed"
    )
    baseline = result.get("baseline")
    if baseline:
        lines.append(
            f"Since {md(baseline.get('as_of'))}: **{baseline.get('new', 0):,} new**, "
            f"{baseline.get('resolved', 0):,} resolved, {baseline.get('unchanged', 0):,} unchanged."
        )
    lines += ["", "| Severity | Open |", "| --- | ---: |"]
    by_sev = s.get("by_severity") or {}
    lines += [f"| {sev} | {by_sev.get(sev, 0):,} |" for sev in SEVERITIES]
    posture = framework_posture(result)
    if posture:
        lines += [
            "",
            "| Framework | Failing | Passing | Not evaluated | Not applicable |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {md(p['framework'])} | "
            + " | ".join(
                f"{p['counts'][state]:,}"
                for state in ("failing", "passing", "not-evaluated", "not-applicable")
            )
            + " |"
            for p in posture
        ]
    if active:
        order = {sev: i for i, sev in enumerate(SEVERITIES)}
        top = sorted(
            active, key=lambda f: (order.get(f["severity"], 9), f.get("status") != "new", f["location"])
        )
        lines += ["", f"### Top findings ({min(len(top), TOP_FINDINGS)} of {len(top):,})", ""]
        lines += ["| Severity | Rule | Location | Status |", "| --- | --- | --- | --- |"]
        for f in top[:TOP_FINDINGS]:
            lines.append(
                f"| {f['severity']} | {md(f['rule'])} | {md(f['location'])} | {md(f.get('status') or '')} |"
            )
    lines.append("")
    tool = result.get("tool") or {}
    footer = f"recording-auditor {md(tool.get('version', ''))}"
    if sha256:
        footer += f" · result SHA-256 `{sha256}`"
    if result.get("redaction"):
        footer += " · names redacted"
    lines += [f"<sub>{footer}</sub>", ""]
    return "\n".join(lines)


def write(result: dict[str, Any], path: Path, options: OutputOptions) -> None:
    write_private(path, to_markdown(result, options.result_sha256).encode("utf-8", "backslashreplace"))
