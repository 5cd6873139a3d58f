"""Load a YAML file strictly: keep every key's line, refuse duplicate keys, validate with a schema.

PyYAML throws positions away once values are built and silently keeps the last of two
duplicate keys, so we compose the node tree first (positions, duplicates), then build the
values from that same tree. Timestamps are *not* auto-converted: dates stay strings so the
JSON Schema's `format: date` can reject `2026-02-30` with a precise line, and loaders convert
them afterwards with `date.fromisoformat`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor import limits as file_limits
from auditor.errors import InputError
from auditor.fastschema import Check, try_compile
from auditor.limits import Limits
from auditor.safeparse import LimitError, ParseError, decode_text, read_bounded

if TYPE_CHECKING:
    import yaml
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

SCHEMA_DIR = Path(__file__).parent / "schemas"
FORMATS = ("date", "regex")  # the formats our schemas check (others are annotations)

PathTuple = tuple[str | int, ...]

LIMITS_BY_SCHEMA: dict[str, Limits] = {
    "config": file_limits.CONFIG,
    "consent": file_limits.REGISTRY_YAML,
    "rulepack": file_limits.RULE_PACK,
    "ignore": file_limits.IGNORE_FILE,
}

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@cache
def _dates_as_text_loader() -> type[yaml.SafeLoader]:
    """A SafeLoader that leaves `2026-09-01` as the string it was written as. Made on first use:
    PyYAML is imported only when a YAML file is read (a scan without config imports none)."""
    import yaml

    from auditor.safeyaml import BaseLoader

    class DatesAsTextLoader(BaseLoader):  # type: ignore[valid-type,misc]
        pass

    DatesAsTextLoader.yaml_implicit_resolvers = {
        first_char: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
        for first_char, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    # An explicit `!!timestamp` tag is kept as text too, so the schema judges it like any other date.
    DatesAsTextLoader.add_constructor(_TIMESTAMP_TAG, yaml.SafeLoader.construct_yaml_str)
    return DatesAsTextLoader


@dataclass
class PositionIndex:
    """The 1-based line of each key (or list item) in a YAML document, addressed by its path."""

    lines: dict[PathTuple, int] = field(default_factory=dict)

    def line(self, path: Iterable[str | int]) -> int | None:
        """Line of `path`, or of its nearest ancestor present in the file (e.g. a missing key's mapping)."""
        parts = tuple(path)
        while True:
            if parts in self.lines:
                return self.lines[parts]
            if not parts:
                return None
            parts = parts[:-1]


def format_path(path: Iterable[str | int]) -> str:
    """('clients', 0, 'consents', 1, 'granted') -> 'clients[0].consents[1].granted'."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def describe_value(value: Any) -> str:
    """A value as the user would have written it in YAML, for 'got ...' in messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        # Quoted as in YAML single quotes, so a regex's backslashes are shown as written.
        return f"'{value}'" if value.isprintable() and "'" not in value else repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


def parse_date(text: str) -> date:
    """Convert a date the schema has already checked (YYYY-MM-DD)."""
    return date.fromisoformat(text)


@cache
def load_schema(schema_name: str) -> dict[str, Any]:
    """The shipped schema `auditor/schemas/<schema_name>.schema.json`."""
    with (SCHEMA_DIR / f"{schema_name}.schema.json").open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


@cache
def _quick_check(schema_name: str) -> Check | None:
    """The shipped schema compiled for a yes/no answer (auditor.fastschema); None if it cannot be."""
    return try_compile(load_schema(schema_name), FORMATS)


@cache
def _validator(schema_name: str) -> Draft202012Validator:
    return _jsonschema_validator(load_schema(schema_name))


def _jsonschema_validator(schema: dict[str, Any]) -> Draft202012Validator:
    """jsonschema, imported only to explain a value the quick check refused (or to judge a schema
    the quick check cannot compile): it costs more to import than the rest of a scan's start-up."""
    from jsonschema import Draft202012Validator, FormatChecker

    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker(formats=list(FORMATS)))


def load_yaml_validated(
    path: str | Path,
    schema_name: str,
    *,
    error_class: type[InputError] = InputError,
    limits: Limits | None = None,
) -> tuple[Any, PositionIndex]:
    """Parse `path`, check it against the named schema, and return its value and key positions.

    Raises `error_class` carrying every problem found. Dates are left as strings; convert them
    with `parse_date`.
    """
    value, index, errors = load_yaml_checked(path, schema_name, error_class=error_class, limits=limits)
    if errors:
        raise error_class.from_errors(errors)
    return value, index


def load_yaml_checked(
    path: str | Path,
    schema_name: str,
    *,
    error_class: type[InputError] = InputError,
    limits: Limits | None = None,
) -> tuple[Any, PositionIndex, list[InputError]]:
    """Like `load_yaml_validated` but returns the problems instead of raising them.

    The file must keep within `limits` (default: those of its kind, LIMITS_BY_SCHEMA): size,
    nesting depth and alias expansion, checked before anything is built.

    For loaders that add their own (semantic) checks and want to report everything at once;
    such checks must then cope with values the schema rejected. Unreadable files and YAML
    syntax errors still raise, as there is no value to go on with.
    """
    display = str(path)
    limits = limits or LIMITS_BY_SCHEMA[schema_name]
    try:
        text = decode_text(read_bounded(path, limits))
    except ParseError as exc:
        raise error_class(display, exc.message, line=exc.line) from exc
    except OSError as exc:
        raise error_class(display, f"cannot read: {exc.strerror or exc}") from exc

    import yaml

    from auditor.safeyaml import check_yaml

    loader_class = _dates_as_text_loader()
    loader = loader_class(text)
    try:
        # Depth and aliases first, in one streaming pass: the walks below would not survive them.
        check_yaml(text, limits, loader_class)
        root = loader.get_single_node()
        if root is None:
            raise error_class(display, "the file is empty; it must be a mapping starting with 'version: 1'")
        index = PositionIndex({(): root.start_mark.line + 1})
        errors = list(_index_nodes(root, (), index, display, error_class))
        value = loader.construct_document(root)
    except LimitError as exc:
        raise error_class(display, f"{exc.message} (see docs/limits.md)", line=exc.line, key=exc.key) from exc
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, display, error_class) from exc
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, e.g. a raw NUL or ESC
        line = text.count("\n", 0, exc.position) + 1
        raise error_class(
            display,
            f"YAML does not allow the character U+{exc.character:04X} (write it as an escape)",
            line=line,
        ) from exc
    except yaml.YAMLError as exc:
        raise error_class(display, f"YAML error: {exc}") from exc
    finally:
        loader.dispose()

    errors.extend(schema_errors(value, schema_name, index, display, error_class))
    return value, index, errors


def _syntax_error(exc: yaml.MarkedYAMLError, display: str, error_class: type[InputError]) -> InputError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    if exc.context and exc.problem:
        problem = f"{problem} ({exc.context})"
    line = mark.line + 1 if mark is not None else None
    return error_class(display, f"YAML syntax error: {problem}", line=line)


def _index_nodes(
    node: yaml.Node, path: PathTuple, index: PositionIndex, display: str, error_class: type[InputError]
) -> Iterator[InputError]:
    """Record the line of every key and list item below `node`; yield duplicate and non-text keys."""
    import yaml  # already imported: the node came from it

    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE_TAG:
                continue  # `<<: *defaults`: merged keys are positioned at their anchor
            if not (isinstance(key_node, yaml.ScalarNode) and key_node.tag == "tag:yaml.org,2002:str"):
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "a collection"
                yield error_class(
                    display,
                    f"key {shown!r} is not text (YAML reads it as {_tag_name(key_node.tag)}); quote it",
                    line=line,
                    key=format_path(path) or None,
                )
                continue
            key = key_node.value
            child = (*path, key)
            if key in seen:
                yield error_class(
                    display,
                    f"duplicate key {key!r} (first at line {seen[key]}); YAML would silently keep the last",
                    line=line,
                    key=format_path(child),
                )
                continue
            seen[key] = line
            index.lines[child] = line
            yield from _index_nodes(value_node, child, index, display, error_class)
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            child = (*path, position)
            index.lines[child] = item.start_mark.line + 1
            yield from _index_nodes(item, child, index, display, error_class)


def _tag_name(tag: str) -> str:
    return tag.rsplit(":", 1)[-1]


# --- schema errors -> file:line: key: message -------------------------------------------------

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def schema_errors(
    value: Any, schema_name: str, index: PositionIndex, display: str, error_class: type[InputError]
) -> list[InputError]:
    """Every way `value` breaks the named schema, as located errors in file order."""
    quick = _quick_check(schema_name)
    if quick is not None and quick(value):
        return []  # valid: the common case never imports jsonschema
    return _errors_of(_validator(schema_name), value, index, display, error_class)


def schema_dict_errors(
    value: Any, schema: dict[str, Any], index: PositionIndex, display: str, error_class: type[InputError]
) -> list[InputError]:
    """schema_errors() for a schema given as a dict (one a plugin supplies), checked first (by
    jsonschema, unless the quick check compiles it: it refuses a malformed keyword)."""
    quick = try_compile(schema, FORMATS)
    if quick is not None and quick(value):
        return []
    return _errors_of(_jsonschema_validator(schema), value, index, display, error_class)


def _errors_of(
    validator: Draft202012Validator,
    value: Any,
    index: PositionIndex,
    display: str,
    error_class: type[InputError],
) -> list[InputError]:
    found: list[InputError] = []
    for error in validator.iter_errors(value):
        found.extend(_locate(error, index, display, error_class))
    found.sort(key=lambda e: (e.line or 0, e.key or ""))
    return found


def _locate(
    error: ValidationError, index: PositionIndex, display: str, error_class: type[InputError]
) -> Iterator[InputError]:
    path: PathTuple = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(error.schema.get("properties", {}))
        patterns = list(error.schema.get("patternProperties", {}))
        for key in error.instance:
            if not isinstance(key, str):
                continue  # already reported as a key that is not text
            if key in known or any(re.search(pattern, str(key)) for pattern in patterns):
                continue
            key_path = (*path, key)
            yield error_class(
                display,
                _unknown_key_message(str(key), known),
                line=index.line(key_path),
                key=format_path(key_path),
            )
        return
    yield error_class(display, _message(error), line=index.line(path), key=format_path(path) or None)


def _unknown_key_message(key: str, known: list[str]) -> str:
    import difflib  # here: only an error needs it, and start-up stays light

    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"unknown key {key!r} (did you mean {close[0]!r}?)"
    if known:
        return f"unknown key {key!r} (expected one of: {', '.join(known)})"
    return f"unknown key {key!r}"


def _message(error: ValidationError) -> str:
    """A plain-language message; the schema may override one with `x-messages: {keyword: text}`."""
    custom = error.schema.get("x-messages", {}) if isinstance(error.schema, dict) else {}
    got = describe_value(error.instance)
    if error.validator in custom:
        return f"{custom[error.validator]} (got {got})"
    kind, expected = error.validator, error.validator_value
    if kind == "type":
        names = [expected] if isinstance(expected, str) else list(expected)
        message = f"must be {' or '.join(_TYPE_NAMES.get(n, n) for n in names)} (got {got})"
        if (
            "string" in names
            and isinstance(error.instance, (int, float))
            and not isinstance(error.instance, bool)
        ):
            message += "; quote it to keep it as text"
        elif "string" in names and isinstance(error.instance, bool):
            message += "; YAML reads yes/no/on/off as true/false, so quote it"
        return message
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"missing required key {missing!r}"
    if kind == "enum":
        return f"must be one of {', '.join(describe_value(v) for v in expected)} (got {got})"
    if kind == "const":
        return f"must be {describe_value(expected)} (got {got})"
    if kind == "minimum":
        return f"must be {expected} or more (got {got})"
    if kind == "maximum":
        return f"must be {expected} or less (got {got})"
    if kind in ("minItems", "minLength", "minProperties") and expected == 1:
        return "must not be empty"
    if kind == "uniqueItems":
        return f"must not repeat an entry (got {_first_repeat(error.instance)!s} twice)"
    if kind == "format":
        return _format_message(error, got)
    if kind == "pattern":
        return f"must match the pattern {expected!r} (got {got})"
    return str(error.message)


def _format_message(error: ValidationError, got: str) -> str:
    reason = f": {error.cause}" if error.cause else ""
    if error.validator_value == "date":
        return f"is not a valid date, expected YYYY-MM-DD{reason} (got {got})"
    if error.validator_value == "regex":
        return f"is not a valid regular expression{reason} (got {got})"
    return str(error.message)


def _first_repeat(items: Any) -> str:
    seen: list[Any] = []
    for item in items if isinstance(items, list) else []:
        if item in seen:
            return describe_value(item)
        seen.append(item)
    return "an entry"
