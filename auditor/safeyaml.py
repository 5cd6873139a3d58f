"""The YAML half of bounded reading (auditor.safeparse): nesting depth and alias expansion,
checked in one streaming pass over libyaml's events before any tree is built.

Its own module so that importing safeparse (every JSON input, every scan) does not import PyYAML,
which costs a scan's start-up about as much as click's options: only a YAML input pays for it.
"""

from __future__ import annotations

import yaml

from auditor.limits import MAX_NUMBER_CHARS, Limits
from auditor.safeparse import LimitError

# libyaml's parser when PyYAML was built with it (it also caps nesting at 1,000 levels itself).
BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_INT_TAG = "tag:yaml.org,2002:int"
_COLLECTION_STARTS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_COLLECTION_ENDS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_RESOLVER = yaml.resolver.Resolver()
_KEY_LEVELS_SHOWN = 4  # a 990-deep key path would bury the message


def check_yaml(text: str, limits: Limits, loader: type[yaml.SafeLoader] = BaseLoader) -> None:
    """Refuse YAML that is nested too deep, or whose aliases stand for too many values.

    A streaming pass over the parser's events, before any tree is composed: the values each
    anchor stands for are counted as its collection closes, and every alias adds its anchor's
    count. Raises LimitError with the line and key; YAML syntax errors propagate as yaml.YAMLError.
    """
    parser = loader(text)
    check = _EventCheck(limits)
    try:
        while parser.check_event():
            check.event(parser.get_event())
    except yaml.MarkedYAMLError as exc:
        # libyaml stops at 1,000 levels on its own, scanning ahead of the events we count.
        if "maximum nesting depth" not in str(exc.problem):
            raise
        mark = exc.problem_mark
        raise LimitError(
            f"nested deeper than {limits.max_depth} levels, the limit for a {limits.what}",
            mark.line + 1 if mark is not None else None,
            check.where(),
        ) from exc
    finally:
        parser.dispose()


class _Open:
    """A mapping or list being read: where it started, and which key or item comes next."""

    __slots__ = ("anchor", "at_key", "is_mapping", "key", "opened_at")

    def __init__(self, anchor: str | None, opened_at: int, is_mapping: bool) -> None:
        self.anchor = anchor
        self.opened_at = opened_at  # values counted when it opened
        self.is_mapping = is_mapping
        self.at_key = is_mapping  # a mapping alternates key, value, key, ...
        self.key: str | int = 0  # the current key, or the current item's index


class _EventCheck:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.open: list[_Open] = []
        self.size_of: dict[str, int] = {}  # anchor -> values it stands for
        self.values = 0  # values so far, aliases expanded
        self.by_aliases = 0

    def event(self, event: yaml.Event) -> None:
        if isinstance(event, _COLLECTION_STARTS):
            if len(self.open) >= self.limits.max_depth:
                self.fail(f"nested deeper than {self.limits.max_depth} levels", event)
            self.open.append(_Open(event.anchor, self.values, isinstance(event, yaml.MappingStartEvent)))
            self.values += 1
        elif isinstance(event, _COLLECTION_ENDS):
            closed = self.open.pop()
            if closed.anchor is not None:
                self.size_of[closed.anchor] = self.values - closed.opened_at
            self.node_done(None)
        elif isinstance(event, yaml.ScalarEvent):
            self.check_number(event)
            self.values += 1
            if event.anchor is not None:
                self.size_of[event.anchor] = 1
            self.node_done(event.value)
        elif isinstance(event, yaml.AliasEvent):
            self.alias(event)
            self.node_done(None)

    def alias(self, event: yaml.AliasEvent) -> None:
        if self.limits.max_alias_values == 0:
            raise LimitError(
                f"aliases (*{event.anchor}) are not allowed in a {self.limits.what}",
                _line(event),
                self.where(),
            )
        if any(o.anchor == event.anchor for o in self.open):
            raise LimitError(
                f"alias *{event.anchor} refers to a collection that contains it", _line(event), self.where()
            )
        # An undefined alias is left to the composer, which reports it with its position.
        stands_for = self.size_of.get(event.anchor or "", 0)
        self.by_aliases += stands_for
        self.values += stands_for
        if self.by_aliases > self.limits.max_alias_values:
            self.fail(f"aliases stand for more than {self.limits.max_alias_values:,} values", event)

    def check_number(self, event: yaml.ScalarEvent) -> None:
        if len(event.value) <= MAX_NUMBER_CHARS:
            return
        tag = event.tag
        if tag is None or tag == "!":
            tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _INT_TAG:
            self.fail(f"a number longer than {MAX_NUMBER_CHARS} characters", event)

    def node_done(self, scalar: str | None) -> None:
        """A key, value or item has been read: move its parent on to the next one."""
        if not self.open:
            return
        parent = self.open[-1]
        if not parent.is_mapping:
            assert isinstance(parent.key, int)
            parent.key += 1
        elif parent.at_key:
            parent.key = scalar if scalar is not None else "?"
            parent.at_key = False
        else:
            parent.at_key = True

    def where(self) -> str | None:
        """'retention.by_purpose' for the value being read (its first levels only), None at the top."""
        parts: list[str | int] = []
        for o in self.open:
            if o.is_mapping and o.at_key:
                break
            parts.append(o.key)
        text = ""
        for part in parts[:_KEY_LEVELS_SHOWN]:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
        if len(parts) > _KEY_LEVELS_SHOWN:
            text += "..."
        return text or None

    def fail(self, what: str, event: yaml.Event) -> None:
        raise LimitError(f"{what}, the limit for a {self.limits.what}", _line(event), self.where())


def _line(event: yaml.Event) -> int | None:
    mark = event.start_mark
    return mark.line + 1 if mark is not None else None
