"""A quick yes/no check of a value against a JSON Schema, for the keywords our schemas use.

jsonschema builds the precise, located errors (auditor.yamlsource), but importing it and
building a validator costs more than the rest of a small scan's start-up. Almost every file is
valid, so each schema is compiled here, once, into nested closures that only answer "valid?";
jsonschema is imported and asked only when the answer is no, to say why.

A "yes" here must never be wrong, so the compiler refuses (Unsupported) any keyword it does not
implement and any keyword value that is not well-formed: such a schema is left to jsonschema,
which also reports a malformed schema as before. The semantics follow jsonschema's Draft 2020-12
validator: keywords apply only to their own type, `true` is not `1` in `enum`, `const` and
`uniqueItems`, `integer` accepts 3.0, and only the given formats are checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

Check = Callable[[Any], bool]

# Keywords that only annotate, and the type of their value: they never make a value invalid.
_ANNOTATIONS: dict[str, type | tuple[type, ...]] = {
    "$schema": str, "$id": str, "$comment": str, "title": str, "description": str,
    "default": object, "examples": list, "deprecated": bool, "readOnly": bool, "writeOnly": bool,
}  # fmt: skip
_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),  # what YAML and JSON give
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())
    ),
}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


class Unsupported(Exception):
    """The schema uses something this checker does not implement: leave it to jsonschema."""


def compile_schema(schema: Any, formats: Iterable[str] = ()) -> Check:
    """A function telling whether a value is valid against `schema` (Unsupported when it cannot)."""
    compiler = _Compiler(schema, frozenset(formats))
    if isinstance(schema, dict) and "$defs" in schema:
        defs = schema["$defs"]
        if not isinstance(defs, dict):
            raise Unsupported("$defs must be a mapping")
        for name in defs:  # every definition, used or not, so that a malformed one is not let through
            compiler.k_ref(f"#/$defs/{name}", schema)
    return compiler.compile(schema, root=True)


def try_compile(schema: Any, formats: Iterable[str] = ()) -> Check | None:
    """compile_schema(), or None for a schema to leave to jsonschema."""
    try:
        return compile_schema(schema, formats)
    except Unsupported:
        return None


class _Compiler:
    def __init__(self, root: Any, formats: frozenset[str]) -> None:
        self.root = root
        self.formats = formats
        self.defs: dict[str, Check] = {}  # "#/$defs/name" -> its check, compiled on first use

    def compile(self, schema: Any, *, root: bool = False) -> Check:
        if schema is True:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, dict):
            raise Unsupported(f"a schema must be a mapping or a boolean, not {type(schema).__name__}")
        checks: list[Check] = []
        for keyword, value in schema.items():
            if keyword in _ANNOTATIONS:
                if not isinstance(value, _ANNOTATIONS[keyword]):
                    raise Unsupported(f"{keyword} {value!r}")
                continue
            if keyword.startswith("x-") or (keyword == "$defs" and root):
                continue
            if keyword in ("additionalProperties", "patternProperties"):
                continue  # compiled with "properties", which they depend on
            if keyword in ("then", "else"):
                self.compile(value)  # well-formed even without an "if", when they mean nothing
                continue  # compiled with "if"
            build = getattr(self, "k_" + keyword.lstrip("$"), None)
            if build is None:
                raise Unsupported(f"keyword {keyword!r}")
            checks.append(build(value, schema))
        if "properties" not in schema and ("additionalProperties" in schema or "patternProperties" in schema):
            checks.append(self.k_properties({}, schema))
        return _all(checks)

    # -- any type ----------------------------------------------------------------------------

    def k_type(self, value: Any, _schema: dict[str, Any]) -> Check:
        names = [value] if isinstance(value, str) else value
        if not _distinct_names(names) or not names or any(n not in _TYPES for n in names):
            raise Unsupported(f"type {value!r}")
        tests = [_TYPES[n] for n in names]
        if len(tests) == 1:
            return tests[0]
        return lambda v: any(test(v) for test in tests)

    def k_enum(self, value: Any, _schema: dict[str, Any]) -> Check:
        if not isinstance(value, list):
            raise Unsupported("enum must be a list")
        options = list(value)
        return lambda v: any(_equal(v, option) for option in options)

    def k_const(self, value: Any, _schema: dict[str, Any]) -> Check:
        return lambda v: _equal(v, value)

    def k_not(self, value: Any, _schema: dict[str, Any]) -> Check:
        inner = self.compile(value)
        return lambda v: not inner(v)

    def k_anyOf(self, value: Any, _schema: dict[str, Any]) -> Check:
        if not isinstance(value, list) or not value:
            raise Unsupported("anyOf must be a non-empty list")
        branches = [self.compile(s) for s in value]
        return lambda v: any(branch(v) for branch in branches)

    def k_if(self, value: Any, schema: dict[str, Any]) -> Check:
        condition = self.compile(value)
        then = self.compile(schema.get("then", True))
        otherwise = self.compile(schema.get("else", True))
        return lambda v: then(v) if condition(v) else otherwise(v)

    def k_oneOf(self, value: Any, _schema: dict[str, Any]) -> Check:
        if not isinstance(value, list) or not value:
            raise Unsupported("oneOf must be a non-empty list")
        branches = [self.compile(s) for s in value]
        return lambda v: sum(1 for branch in branches if branch(v)) == 1

    def k_allOf(self, value: Any, _schema: dict[str, Any]) -> Check:
        if not isinstance(value, list) or not value:
            raise Unsupported("allOf must be a non-empty list")
        return _all([self.compile(s) for s in value])

    def k_ref(self, value: Any, _schema: dict[str, Any]) -> Check:
        prefix = "#/$defs/"
        if not isinstance(value, str) or not value.startswith(prefix) or "/" in value[len(prefix) :]:
            raise Unsupported(f"$ref {value!r} (only #/$defs/NAME)")
        name = value[len(prefix) :]
        defs = self.root.get("$defs") if isinstance(self.root, dict) else None
        if not isinstance(defs, dict) or name not in defs:
            raise Unsupported(f"$ref {value!r} names no definition")
        if value not in self.defs:
            # Compiled once, through a forward reference, so a definition may refer to itself.
            compiled: list[Check] = []
            self.defs[value] = lambda v: compiled[0](v)
            compiled.append(self.compile(defs[name]))
        return self.defs[value]

    # -- strings -----------------------------------------------------------------------------

    def k_minLength(self, value: Any, _schema: dict[str, Any]) -> Check:
        n = _count(value, "minLength")
        return lambda v: not isinstance(v, str) or len(v) >= n

    def k_pattern(self, value: Any, _schema: dict[str, Any]) -> Check:
        if not isinstance(value, str):
            raise Unsupported("pattern must be a string")
        try:
            regex = re.compile(value)
        except re.error as exc:
            raise Unsupported(f"pattern {value!r}: {exc}") from exc
        return lambda v: not isinstance(v, str) or regex.search(v) is not None

    def k_format(self, value: Any, _schema: dict[str, Any]) -> Check:
        if not isinstance(value, str):
            raise Unsupported("format must be a string")
        if value not in self.formats:
            return _always  # formats not asked for are annotations, as in jsonschema
        if value == "date":
            return lambda v: not isinstance(v, str) or _is_date(v)
        if value == "regex":
            return lambda v: not isinstance(v, str) or _is_regex(v)
        raise Unsupported(f"format {value!r}")

    # -- numbers -----------------------------------------------------------------------------

    def k_minimum(self, value: Any, _schema: dict[str, Any]) -> Check:
        bound = _number(value, "minimum")
        return lambda v: not _TYPES["number"](v) or not v < bound

    def k_maximum(self, value: Any, _schema: dict[str, Any]) -> Check:
        bound = _number(value, "maximum")
        return lambda v: not _TYPES["number"](v) or not v > bound

    # -- arrays ------------------------------------------------------------------------------

    def k_items(self, value: Any, schema: dict[str, Any]) -> Check:
        if "prefixItems" in schema:
            raise Unsupported("prefixItems")
        item = self.compile(value)
        return lambda v: not isinstance(v, list) or all(item(x) for x in v)

    def k_minItems(self, value: Any, _schema: dict[str, Any]) -> Check:
        n = _count(value, "minItems")
        return lambda v: not isinstance(v, list) or len(v) >= n

    def k_uniqueItems(self, value: Any, _schema: dict[str, Any]) -> Check:
        if not isinstance(value, bool):
            raise Unsupported("uniqueItems must be true or false")
        if not value:
            return _always
        return lambda v: not isinstance(v, list) or _unique(v)

    # -- objects -----------------------------------------------------------------------------

    def k_required(self, value: Any, _schema: dict[str, Any]) -> Check:
        if not _distinct_names(value):
            raise Unsupported("required must be a list of distinct names")
        keys = list(value)
        return lambda v: not isinstance(v, dict) or all(k in v for k in keys)

    def k_properties(self, value: Any, schema: dict[str, Any]) -> Check:
        """properties, patternProperties and additionalProperties together, in one pass over the keys."""
        if not isinstance(value, dict):
            raise Unsupported("properties must be a mapping")
        known = {name: self.compile(sub) for name, sub in value.items()}
        patterns_given = schema.get("patternProperties", {})
        if not isinstance(patterns_given, dict):
            raise Unsupported("patternProperties must be a mapping")
        patterns = []
        for pattern, sub in patterns_given.items():
            try:
                patterns.append((re.compile(pattern), self.compile(sub)))
            except re.error as exc:
                raise Unsupported(f"patternProperties {pattern!r}: {exc}") from exc
        extra = self.compile(schema.get("additionalProperties", True))

        def check(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for key, item in v.items():
                if not isinstance(key, str):
                    return False  # not JSON; let jsonschema (and the loader) say what it makes of it
                matched = False
                if key in known:
                    matched = True
                    if not known[key](item):
                        return False
                for regex, sub in patterns:
                    if regex.search(key) is not None:
                        matched = True
                        if not sub(item):
                            return False
                if not matched and not extra(item):
                    return False
            return True

        return check

    def k_propertyNames(self, value: Any, _schema: dict[str, Any]) -> Check:
        name = self.compile(value)
        return lambda v: not isinstance(v, dict) or all(isinstance(k, str) and name(k) for k in v)

    def k_dependentRequired(self, value: Any, _schema: dict[str, Any]) -> Check:
        if not isinstance(value, dict) or not all(_distinct_names(deps) for deps in value.values()):
            raise Unsupported("dependentRequired must map names to lists of distinct names")
        pairs = list(value.items())
        return lambda v: (
            not isinstance(v, dict) or all(all(d in v for d in deps) for key, deps in pairs if key in v)
        )


def _all(checks: list[Check]) -> Check:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    return lambda v: all(check(v) for check in checks)


def _always(_value: Any) -> bool:
    return True


def _never(_value: Any) -> bool:
    return False


def _distinct_names(value: Any) -> bool:
    return (
        isinstance(value, list) and all(isinstance(n, str) for n in value) and len(set(value)) == len(value)
    )


def _count(value: Any, keyword: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Unsupported(f"{keyword} must be a non-negative integer")
    return value


def _number(value: Any, keyword: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unsupported(f"{keyword} must be a number")
    return value


def _is_date(text: str) -> bool:
    if _DATE.fullmatch(text) is None:
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_regex(text: str) -> bool:
    try:
        re.compile(text)
    except re.error:
        return False
    return True


# JSON equality as jsonschema has it: true is not 1, false is not 0, also inside lists and mappings.
_TRUE, _FALSE = object(), object()


def _unbool(value: Any) -> Any:
    if value is True:
        return _TRUE
    if value is False:
        return _FALSE
    return value


def _equal(one: Any, two: Any) -> bool:
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, list | tuple) and isinstance(two, list | tuple):
        return len(one) == len(two) and all(_equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return one.keys() == two.keys() and all(_equal(one[k], two[k]) for k in one)
    return bool(_unbool(one) == _unbool(two))


def _unique(items: list[Any]) -> bool:
    """No two items equal (as _equal has it). Lists of plain values only (a set, so that a long list
    costs no more than its length); for anything else the answer is "not sure", i.e. ask jsonschema."""
    seen = set()
    for item in items:
        if not isinstance(item, str | int | float | None):
            return False
        seen.add(_unbool(item))  # 1 and 1.0 hash and compare equal, as _equal has them
    return len(seen) == len(items)
