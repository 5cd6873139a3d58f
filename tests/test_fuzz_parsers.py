"""Fuzzing the parsers of what users and the scanned tree hand us: config, registry (YAML and
CSV) and sidecars. Bounded: a few hundred examples each, some seconds in all.

The only allowed outcomes are a value or the parser's own input error (which the CLI turns into
one line and exit 2; a sidecar's into a coverage gap). Anything else (a traceback, a hang, an
exit code outside 0/1/2) is a bug. The inputs mix near-valid documents built from the schemas'
own keys with the hostile shapes that broke the parsers before: anchors and aliases, deep
nesting, huge numbers, tags, control characters, bytes that are not UTF-8.
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.attribution import SidecarError, parse_sidecar
from auditor.config import load_config
from auditor.consent.csv_import import COLUMNS
from auditor.consent.registry import load_registry
from auditor.errors import ConfigError, RegistryError
from auditor.yamlsource import load_schema
from tests.conftest import run_cli

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def schema_keys(node: Any) -> set[str]:
    """Every property name anywhere in a JSON Schema: the keys a near-valid document uses."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.update(item.get("properties", {}))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


CONFIG_KEYS = sorted(schema_keys(load_schema("config")))
REGISTRY_KEYS = sorted(schema_keys(load_schema("consent")))
SIDECAR_KEYS = ["client", "session_date", "purpose", "participants", "consent_id"]

# Values that have broken or nearly broken a parser or a rule.
NASTY_SCALARS = [
    "9" * 120,
    "1" * 5000,
    "999999999",
    "-1",
    "1e999",
    ".inf",
    ".nan",
    "0x1F",
    "0o17",
    "1:30:00",
    "~",
    "2026-02-30",
    "9999-12-31",
    "0001-01-01",
    "yes",
    "!!binary aGk=",
    "!!python/object:os.system x",
    "!!set {a, b}",
    '"\\ud800"',
    '"\\e]0;pwned\\a"',
    '"\\0"',
    "'(?P<client>C-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})'",
    "'(unclosed'",
    "*undefined",
]


def yaml_values(keys: list[str]) -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.integers(min_value=-(10**20), max_value=10**20),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=20),
        st.booleans(),
        st.none(),
        st.sampled_from(["2026-09-01", "supervision", "C-1001", "confirmed", "declined", "sse-kms"]),
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.sampled_from(keys) | st.text(max_size=8), children, max_size=5),
        ),
        max_leaves=20,
    )


def hostile_value(draw: st.DrawFn, key: str) -> str:
    """The text of a value that broke, or nearly broke, a parser or a rule."""
    kind = draw(st.integers(0, 6))
    if kind == 0:  # an alias bomb, small
        depth = draw(st.integers(2, 9))
        bomb = ["&b0 [x,x,x,x,x,x,x,x,x]"] + [
            f"&b{n} [" + ",".join([f"*b{n - 1}"] * 9) + "]" for n in range(1, depth)
        ]
        return f"[{', '.join(bomb)}]"
    if kind == 1:  # deep flow nesting, maybe around a mapping
        n = draw(st.sampled_from([10, 33, 500, 990, 1500]))
        inner = draw(st.sampled_from(["", "{a: 1}", "x"]))
        return "[" * n + inner + "]" * n
    if kind == 2:  # deep block nesting
        n = draw(st.sampled_from([10, 40, 200, 990]))
        return "\n" + "".join("  " * (i + 1) + f"{key}:\n" for i in range(n)) + "  " * (n + 1) + "x"
    if kind == 3:  # an anchor and its alias, maybe recursive
        return draw(st.sampled_from(["&a [1, *a]", "&a {x: *a}", "*a", "&a [1, 2]"]))
    if kind == 4:
        return draw(st.sampled_from(NASTY_SCALARS))
    if kind == 5:  # raw control characters and YAML punctuation
        return draw(st.text(alphabet="\x00\x07\x1b\t\r :'\"[]{}&*!|>-#%@`x", max_size=12))
    return draw(st.text(max_size=30))


@st.composite
def yaml_documents(draw: st.DrawFn, keys: list[str], version: bool = True) -> bytes:
    """A near-valid document from the schema's keys, with hostile values under some of them
    (appended as top-level keys, where block YAML always allows one), sometimes a stray line."""
    value = draw(st.dictionaries(st.sampled_from(keys), yaml_values(keys), max_size=5))
    if version and draw(st.booleans()):
        value["version"] = 1
    hostile = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3, unique=True))
    for key in hostile:
        value.pop(key, None)
    # Block style at the top (where a hostile key can always be appended), flow style below.
    lines = [
        f"{key}: {yaml.safe_dump(item, default_flow_style=True, allow_unicode=True, width=10**6).strip()}"
        for key, item in value.items()
    ]
    for key in hostile:
        lines.append(f"{key}: {hostile_value(draw, key)}")
    if draw(st.integers(0, 4)) == 0:  # a stray line anywhere
        lines.insert(
            draw(st.integers(0, len(lines))), draw(st.sampled_from(["? [a, b]\n: 1", "<<: *a", "\t", "- x"]))
        )
    data = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    shape = draw(st.integers(0, 9))
    if shape == 0:
        data = draw(st.binary(max_size=200))  # sometimes just bytes, not UTF-8 at all
    elif shape == 1:  # a document that is not a mapping: a list, a scalar, null
        top = draw(yaml_values(keys).filter(lambda v: not isinstance(v, dict)))
        data = yaml.safe_dump(top, allow_unicode=True).encode("utf-8", "surrogatepass")
    return data


@contextlib.contextmanager
def default_recursion_limit() -> Iterator[None]:
    """Hypothesis raises the recursion limit while a test runs, which would hide the
    RecursionError a deep file causes in the real CLI: parse under Python's default instead."""
    raised = sys.getrecursionlimit()
    sys.setrecursionlimit(PYTHON_DEFAULT_RECURSION_LIMIT)
    try:
        yield
    finally:
        sys.setrecursionlimit(raised)


PYTHON_DEFAULT_RECURSION_LIMIT = 1000


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fuzz-parsers-") as folder:
        yield Path(folder)


@FUZZ
@given(data=yaml_documents(CONFIG_KEYS))
def test_fuzzed_configs_load_or_raise_a_config_error(scratch: Path, data: bytes) -> None:
    path = scratch / "auditor.yaml"
    path.write_bytes(data)
    try:
        with default_recursion_limit():
            load_config(path)
    except ConfigError as exc:
        assert exc.file == str(path) and str(exc)


@FUZZ
@given(data=yaml_documents(REGISTRY_KEYS))
def test_fuzzed_yaml_registries_load_or_raise_a_registry_error(scratch: Path, data: bytes) -> None:
    path = scratch / "consent.yaml"
    path.write_bytes(data)
    try:
        with default_recursion_limit():
            load_registry(path)
    except RegistryError as exc:
        assert exc.file == str(path) and str(exc)


CSV_CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            "C-1001",
            "consent",
            "session",
            "legal_hold",
            "2026-09-01",
            "supervision;training",
            "true",
            "no",
            "confirmed",
            "declined",
            "9999-12-31",
            "2026-02-30",
            "=cmd",
            '"',
            "a,b",
            "\n",
            "\x00",
        ]
    ),
    st.text(max_size=12),
)


@st.composite
def csv_documents(draw: st.DrawFn) -> bytes:
    header = draw(
        st.one_of(st.just(list(COLUMNS)), st.lists(st.sampled_from([*COLUMNS, "x", ""]), max_size=14))
    )
    rows = draw(st.lists(st.lists(CSV_CELLS, min_size=0, max_size=len(header) + 2), max_size=8))
    separator = draw(st.sampled_from([",", ",", ";", "\t"]))
    lines = [separator.join(header)] + [
        separator.join(json.dumps(c) if draw(st.booleans()) else c for c in r) for r in rows
    ]
    text = "\r\n".join(lines) if draw(st.booleans()) else "\n".join(lines)
    if draw(st.integers(0, 20)) == 0:
        text += "\nC-1," + "x" * 140_000  # past csv's own field size limit
    data = ("\ufeff" if draw(st.booleans()) else "").encode() + text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        data = draw(st.binary(max_size=200))
    return data


@FUZZ
@given(data=csv_documents())
def test_fuzzed_csv_registries_load_or_raise_a_registry_error(scratch: Path, data: bytes) -> None:
    path = scratch / "consent.csv"
    path.write_bytes(data)
    try:
        with default_recursion_limit():
            load_registry(path)
    except RegistryError as exc:
        assert exc.file == str(path) and str(exc)


@st.composite
def sidecars(draw: st.DrawFn) -> tuple[bytes, bool]:
    json_format = draw(st.booleans())
    if json_format:
        value = draw(
            st.dictionaries(
                st.sampled_from(SIDECAR_KEYS) | st.text(max_size=5), yaml_values(SIDECAR_KEYS), max_size=6
            )
            | yaml_values(SIDECAR_KEYS)  # a list, a scalar or null at the top
        )
        text = json.dumps(value)  # the standard library writes NaN, Infinity and lone surrogates
        kind = draw(st.integers(0, 4))
        if kind == 0:
            text = "[" * 30000 + "]" * 30000
        elif kind == 1:
            text = text[: draw(st.integers(0, len(text)))]  # cut short
        elif kind == 2:
            text = '{"client": "\\ud800", "participants": [1e999]}'
        return text.encode("utf-8", "surrogatepass"), True
    return draw(yaml_documents(SIDECAR_KEYS, version=False)), False


@FUZZ
@given(sidecar=sidecars())
def test_fuzzed_sidecars_parse_or_raise_a_sidecar_error(sidecar: tuple[bytes, bool]) -> None:
    data, json_format = sidecar
    try:
        with default_recursion_limit():
            got = parse_sidecar(data, json_format=json_format)
    except SidecarError as exc:
        assert str(exc)
        return
    for text in (got.client, got.purpose, got.consent_id, *got.participants):
        if text is not None:
            text.encode("utf-8")  # whatever a sidecar gives is real text


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=yaml_documents(CONFIG_KEYS), registry=yaml_documents(REGISTRY_KEYS), sidecar=sidecars())
def test_the_cli_exits_0_1_or_2_whatever_the_inputs(
    scratch: Path, config: bytes, registry: bytes, sidecar: tuple[bytes, bool]
) -> None:
    """The same inputs through `auditor scan`: an exit code, never an exception (CliRunner re-raises)."""
    tree = scratch / "tree"
    tree.mkdir(exist_ok=True)
    (tree / "a.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt ")
    for old in tree.glob("a.wav.meta.*"):
        old.unlink()
    data, json_format = sidecar
    (tree / f"a.wav.meta.{'json' if json_format else 'yaml'}").write_bytes(data)
    (scratch / "auditor.yaml").write_bytes(config)
    (scratch / "consent.yaml").write_bytes(registry)
    for args in (
        ["--config", scratch / "auditor.yaml"],
        ["--consent", scratch / "consent.yaml"],
        [],  # the tree's own sidecar only
    ):
        with default_recursion_limit():
            result = run_cli("scan", "-q", *args, tree, "-o", scratch / "r.json")
        assert result.exit_code in (0, 1, 2), result.output
        if result.exit_code == 2:
            assert result.output.startswith(("auditor: error: ", "Usage:")), result.output
