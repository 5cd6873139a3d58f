"""`auditor plugins`: the installed sources, output formats, rule providers and rule packs, each
with the distribution (and version) that provides it, and any name two distributions claim."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable

import click

from auditor.plugins import NAME_MEANS, Plugin, registry
from auditor.textsafe import for_terminal


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins(as_json: bool) -> None:
    """List the installed plugins and the distributions that provide them.

    A name claimed by two distributions (a scheme, a format, a rule id, a pack) is listed under
    "conflicts": a command that uses that name stops with exit 2 instead of picking one."""
    reg = registry()
    conflicts = reg.conflicts()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "sources": [p.to_dict() for p in reg.all("source")],
                    "outputs": [p.to_dict() for p in reg.all("output")],
                    "rules": [p.to_dict() for p in reg.all("rule")],
                    "packs": [p.to_dict() for p in reg.all("pack")],
                    "conflicts": [
                        {"kind": kind, "name": name, "claims": [p.to_dict() for p in claims]}
                        for kind, name, claims in conflicts
                    ],
                },
                indent=2,
            )
        )
        return
    _section(
        "sources (URL schemes)",
        reg.all("source"),
        lambda p: "local paths" if p.name == "file" else f"{p.name}://",
    )
    _section("output formats (file extensions)", reg.all("output"), lambda p: f".{p.name}")
    click.echo("rule providers")
    by_dist: dict[str, list[Plugin]] = defaultdict(list)
    for p in reg.all("rule"):
        by_dist[p.provider].append(p)
    for provider, rules in sorted(by_dist.items()):
        click.echo(for_terminal(f"  {provider:<36} {len(rules)} rule(s): {', '.join(p.name for p in rules)}"))
    if not by_dist:
        click.echo("  (none)")
    _section("rule packs", reg.all("pack"), lambda p: p.name)
    if conflicts:
        click.echo("conflicts")
        for kind, name, claims in conflicts:
            click.echo(
                for_terminal(f"  {NAME_MEANS[kind]} {name!r}: " + " and ".join(p.describe() for p in claims))
            )


def _section(title: str, found: list[Plugin], label: Callable[[Plugin], str]) -> None:
    click.echo(title)
    for p in found:
        click.echo(for_terminal(f"  {label(p):<14} {p.provider:<28} {p.value}"))
    if not found:
        click.echo("  (none)")
