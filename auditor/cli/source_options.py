"""Every installed source's own command-line options on `auditor scan`, from what each declares
(SourceSpec.options), so that a source plugin brings its options with it and the CLI names no
source. The values reach each source through the seam as its settings (auditor.sources.settings)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from auditor.errors import SeamError
from auditor.plugins import registry
from auditor.sources.settings import spec_of

_PREFIX = "source_option_"


class WithSourceOptions(click.Command):
    """A command that also takes the options every installed source declares."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._source_params: list[click.Parameter] | None = None
        self._keys: dict[str, tuple[str, str]] = {}  # parameter name -> (scheme, setting)

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        extra = self.source_params(ctx)
        help_option = self.get_help_option(ctx)
        if help_option is not None and params and params[-1] is help_option:
            return [*params[:-1], *extra, help_option]
        return [*params, *extra]

    def source_params(self, ctx: click.Context) -> list[click.Parameter]:
        if self._source_params is None:
            taken = {flag for p in super().get_params(ctx) for flag in (*p.opts, *p.secondary_opts)}
            owner = {flag: "auditor scan" for flag in taken}
            params: list[click.Parameter] = []
            for plugin in registry().all("source"):
                try:
                    spec = spec_of(plugin)
                except SeamError:
                    continue  # its targets are refused with the reason; its options are unknown
                for option in spec.options:
                    if option.flag in owner:
                        raise click.UsageError(
                            f"option {option.flag} of the {plugin.name} source ({plugin.provider}) is "
                            f"already taken by {owner[option.flag]}; uninstall one of them"
                        )
                    owner[option.flag] = f"the {plugin.name} source ({plugin.provider})"
                    name = f"{_PREFIX}{len(self._keys)}"
                    self._keys[name] = (plugin.name, option.key)
                    params.append(
                        click.Option(
                            [option.flag, name],
                            multiple=option.multiple,
                            metavar=option.metavar,
                            help=option.help,
                        )
                    )
            self._source_params = params
        return self._source_params

    def settings_from(self, values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """The values of the source options, as settings by scheme."""
        settings: dict[str, dict[str, Any]] = {}
        for name, value in values.items():
            scheme, key = self._keys[name]
            settings.setdefault(scheme, {})[key] = value
        return settings


def source_settings(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """In a WithSourceOptions command's callback: its source options' values, by scheme."""
    command = click.get_current_context().command
    assert isinstance(command, WithSourceOptions)
    return command.settings_from({k: v for k, v in values.items() if k.startswith(_PREFIX)})
