"""`auditor rules`: list the loaded rules, their packs, severities and controls.

`--format markdown` prints the officers' table (docs/compliance-officers.md holds it, and a
test keeps the two the same): severities and controls from the packs, the text from the rules.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import click

from auditor.cli.common import config_option, input_errors_exit_2, rules_option
from auditor.config import load_config
from auditor.rules.registry import ActiveRule, load_ruleset
from auditor.textsafe import for_terminal


@click.command()
@config_option
@rules_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="json: machine-readable; markdown: the table of rules and controls for officers.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@input_errors_exit_2
def rules(config_path: Path | None, rule_packs: tuple[Path, ...], output_format: str, as_json: bool) -> None:
    """List the rules that would run, with severity, category, pack and controls."""
    config = load_config(config_path)
    ruleset = load_ruleset(config, rule_packs)
    if output_format == "markdown":
        click.echo(markdown_table(ruleset.active), nl=False)
        return
    if as_json or output_format == "json":
        click.echo(
            json.dumps(
                {
                    "packs": [vars(p) for p in ruleset.packs],
                    "rules": [
                        {
                            "id": a.rule.id,
                            "category": a.rule.category,
                            "severity": a.severity,
                            "pack": a.pack,
                            "title": a.rule.title,
                            "controls": list(a.controls),
                            "params": dict(a.params),
                            "distribution": a.plugin.distribution if a.plugin else None,
                            "distribution_version": a.plugin.version if a.plugin else None,
                        }
                        for a in ruleset.active
                    ],
                    "disabled": ruleset.disabled,
                    "load_errors": [{"entry_point": e, "error": m} for e, m in ruleset.load_errors],
                },
                indent=2,
            )
        )
        return
    for p in ruleset.packs:
        click.echo(for_terminal(f"pack {p.name} {p.version}  ({p.path})"))
    click.echo("")
    # Columns as wide as their longest entry, so that a plugin's long rule id cannot shift them.
    id_width = max(
        (len(rid) for rid in [a.rule.id for a in ruleset.active] + list(ruleset.disabled)), default=0
    )
    sev_width = max((len(a.severity) for a in ruleset.active), default=0)
    cat_width = max((len(a.rule.category) for a in ruleset.active), default=0)
    for a in ruleset.active:
        click.echo(
            for_terminal(
                f"{a.rule.id:<{id_width}}  {a.severity:<{sev_width}}  {a.rule.category:<{cat_width}}  [{a.pack}] {a.rule.title}"
            )
        )
        click.echo(for_terminal(f"{'':<{id_width}}  controls: {', '.join(a.controls)}"))
        if a.plugin is not None:
            click.echo(for_terminal(f"{'':<{id_width}}  from: {a.plugin.provider}"))
    for rid in ruleset.disabled:
        click.echo(for_terminal(f"{rid:<{id_width}}  disabled"))
    for ep, err in ruleset.load_errors:
        click.echo(for_terminal(f"could not load rule plugin {ep}: {err}"), err=True)


def markdown_table(active: Sequence[ActiveRule]) -> str:
    """The officers' table: one row per rule that would run, in the packs' terms."""
    lines = [
        "| rule | category | severity | fires when | controls |",
        "|---|---|---|---|---|",
    ]
    for a in active:
        when = (a.rule.summary or a.rule.title).replace("|", "\\|")
        lines.append(
            f"| `{a.rule.id}` | {a.rule.category} | {a.severity} | {when} | {compact_controls(a.controls)} |"
        )
    return "\n".join(lines) + "\n"


def compact_controls(controls: Sequence[str]) -> str:
    """`HIPAA 164.312(e)(1); GDPR Art 25, 32`: the sections of one framework together, in order."""
    groups: dict[str, list[str]] = {}
    for control in controls:
        framework, _, section = control.rpartition(" ")
        groups.setdefault(framework or section, []).append(section if framework else "")
    return "; ".join(f"{fw} {', '.join(s for s in sections if s)}".strip() for fw, sections in groups.items())
