"""Hostile names and text in every output format, each read back by a strict consumer.

The tree holds what an attacker (or an odd app) writes: names that are not UTF-8 (lone
surrogates in Python), ANSI/OSC escapes, BEL and NUL in the config's organisation and report
title, and names built to become spreadsheet formulas once a separator splits them. Every
format must come out as strict UTF-8 its own parser accepts, with the one lossless form of
odd names (docs/limits.md), no raw control character where a browser or a terminal would meet
it, and no live formula whether the CSV is opened with `,` or `;` (European Excel).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from auditor.textsafe import from_lossless
from bench.bench_report import CHROMIUM_ARGS
from tests.conftest import MEDIA, run_cli

CHROMIUM = "/usr/bin/chromium"
FORMATS = ("json", "sarif", "html", "csv", "md", "xml")
NOT_UTF8_DIR = b"ca\xffse"
NOT_UTF8_FILE = b"C-1001_2026-01-05\xfe.wav"
CSV_BAITS = [
    "a;=HYPERLINK(1).wav",
    "b;@SUM(1).wav",
    "c; +1.wav",
    'd;"-2+3.wav',
    "e|=1.wav",
    "f\t=1.wav",
    "=cmd.wav",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, bytes]]:
    out = tmp_path_factory.mktemp("hostile-outputs")
    base = Path(tempfile.mkdtemp(prefix="hostile-text-"))
    os.chmod(base, 0o755)  # world-readable recordings below a traversable folder: exposures with paths
    tree = base / "tree"
    raw_dir = os.path.join(os.fsencode(tree), NOT_UTF8_DIR)
    os.makedirs(raw_dir)
    names = [os.path.join(raw_dir, NOT_UTF8_FILE), os.fsencode(tree / "x\x1b]0;pwned\x07\x1b[2J.wav")]
    names += [os.fsencode(tree / bait) for bait in CSV_BAITS]
    for name in names:
        shutil.copyfile(MEDIA / "session.wav", name)
        os.chmod(name, 0o644)
    for directory in (tree, raw_dir):
        os.chmod(directory, 0o755)
    config = out / "auditor.yaml"
    config.write_text(
        "version: 1\n"
        'organisation: "Org\\e]0;t\\a\\0\\N"\n'  # YAML escapes: ESC, BEL, NUL, NEL (U+0085)
        'report:\n  title: "Audit\\e[2J\\0\\a"\n'
        "attribution:\n  patterns: ['(?P<client>C-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})']\n"
    )
    args: list[Any] = ["scan", "-q", "--config", config, "--fail-on", "none", tree]
    for ext in FORMATS:
        args += ["-o", out / f"report.{ext}"]
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    yield {ext: (out / f"report.{ext}").read_bytes() for ext in FORMATS}
    shutil.rmtree(base)


def expected_location(raw: bytes) -> str:
    """The lossless form of a name that is not UTF-8: bytes 0xff and 0xfe as \\xff and \\xfe."""
    return raw.decode("utf-8", "backslashreplace")


@pytest.mark.parametrize("ext", FORMATS)
def test_every_format_is_strict_utf8(outputs: dict[str, bytes], ext: str) -> None:
    text = outputs[ext].decode("utf-8")  # strict: a lone surrogate would not encode
    assert "\\udcff" not in text and "\\udcfe" not in text  # no JSON escape of one either


def test_json_is_strict_and_names_read_back_exactly(outputs: dict[str, bytes]) -> None:
    data = orjson.loads(outputs["json"])
    locations = {r["location"] for r in data["recordings"]}
    odd = next(loc for loc in locations if "case" not in loc and "ca\\xffse" in loc)
    assert odd.endswith(expected_location(NOT_UTF8_DIR + b"/" + NOT_UTF8_FILE))
    assert os.path.exists(os.fsencode(from_lossless(odd)))  # the lossless form finds the file
    directories = [e["evidence"].get("directory") for r in data["recordings"] for e in r["exposures"]]
    assert any(d and d.endswith("ca\\xffse") for d in directories), directories


def test_sarif_is_strict_json_with_the_same_name(outputs: dict[str, bytes]) -> None:
    sarif = orjson.loads(outputs["sarif"])
    uris = [
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
        for loc in r["locations"]
    ]
    assert uris and all(isinstance(u, str) for u in uris)


def test_junit_parses_with_a_strict_xml_parser(outputs: dict[str, bytes]) -> None:
    root = ET.fromstring(outputs["xml"])  # expat: refuses control characters and bad UTF-8
    text = ET.tostring(root, encoding="unicode")
    assert "ca\\xffse" in text


def test_markdown_renders_with_commonmark_and_holds_no_control(outputs: dict[str, bytes]) -> None:
    from markdown_it import MarkdownIt

    text = outputs["md"].decode("utf-8")
    html = MarkdownIt("commonmark").render(text)
    assert not [c for c in html if (ord(c) < 0x20 and c not in "\n") or 0x7F <= ord(c) <= 0x9F]
    assert "Org\\x1b]0;t\\x07\\x00\\u0085" in html  # shown as escapes once rendered


@pytest.mark.parametrize("separator", [",", ";"])
def test_no_csv_cell_is_a_live_formula_whatever_the_separator(
    outputs: dict[str, bytes], separator: str
) -> None:
    text = outputs["csv"].decode("utf-8-sig")
    live = []
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=separator):
        for cell in row:
            # A cell a spreadsheet sees starting with a quote is a quoted cell: look past it.
            shown = cell.lstrip(' "') if separator != "," else cell.lstrip(" ")
            if shown.startswith(FORMULA_START):
                live.append(cell)
    assert live == []
    if separator == ",":  # and the names are all there, defused, not dropped
        assert sum("HYPERLINK" in cell for row in csv.reader(io.StringIO(text)) for cell in row) >= 1


def test_html_holds_no_raw_control_character_title_included(outputs: dict[str, bytes]) -> None:
    text = outputs["html"].decode("utf-8")
    raw = sorted(
        {f"U+{ord(c):04X}" for c in text if (ord(c) < 0x20 and c not in "\t\n\r") or 0x7F <= ord(c) <= 0x9F}
    )
    assert raw == []
    assert "<title>Audit\\x1b[2J\\x00\\x07</title>" in text


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-system-deps.sh (make system-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# Every text node and attribute of the rendered page, after report.js has drawn the tables and
# the first finding's details: none may hold a control character or a lone surrogate.
_DOM_TEXT_PROBLEMS = r"""() => {
  const bad = [];
  const control = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
  const check = (where, text) => {
    if (!text.isWellFormed() || control.test(text)) bad.push(where + ": " + JSON.stringify(text).slice(0, 80));
  };
  const walker = document.createTreeWalker(document, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  for (let node = walker.currentNode; node; node = walker.nextNode()) {
    if (node.nodeType === Node.TEXT_NODE) { check("text in <" + node.parentNode.nodeName + ">", node.data); continue; }
    for (const attr of node.attributes || []) check(node.nodeName + "@" + attr.name, attr.value);
  }
  check("title", document.title);
  return bad;
}"""


@pytest.mark.browser
def test_chromium_renders_and_serialises_the_report(
    outputs: dict[str, bytes], browser: Any, tmp_path: Path
) -> None:
    report = tmp_path / "report.html"
    report.write_bytes(outputs["html"])
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("crash", lambda *_: errors.append("page crashed"))
    page.goto(report.as_uri())
    page.wait_for_selector("html[data-ready]")
    # Open a finding's details in both views of the findings: more text nodes from the data.
    page.locator("#r-list button.disclose").first.click()
    page.click('.view-switch [data-view="findings"]')
    page.locator("#f-body button.disclose").first.click()
    # Serialising the whole DOM is what made Chromium abort on a lone surrogate.
    serialised = page.evaluate("() => new XMLSerializer().serializeToString(document)")
    outer = page.evaluate("() => document.documentElement.outerHTML")
    assert errors == []
    assert "ca\\xffse" in serialised and "ca\\xffse" in outer
    assert page.evaluate(_DOM_TEXT_PROBLEMS) == []
    assert page.title() == "Audit\\x1b[2J\\x00\\x07"
    page.close()


def test_publish_fixes_a_lone_surrogate_wherever_it_reached_the_result(
    outputs: dict[str, bytes], tmp_path: Path
) -> None:
    """The sources write names in the lossless form; publish() is the guard for any other text
    (a message, an evidence key, a client id) that still holds a lone surrogate."""
    from auditor.publish import PublishSettings, publish

    result = orjson.loads(outputs["json"])
    finding = result["findings"][0]
    finding["message"] += " \udcff"
    finding["evidence"]["odd\ud800key"] = "\udc80"
    finding["client"] = "C-\udce9"
    paths = [tmp_path / f"again.{ext}" for ext in FORMATS]
    publish(result, PublishSettings(outputs=paths, fail_on="none"))
    again = orjson.loads((tmp_path / "again.json").read_bytes())["findings"][0]
    assert again["message"].endswith(" \\xff")
    assert again["evidence"]["odd\\ud800key"] == "\\x80"
    assert again["client"] == "C-\\xe9"
    for path in paths:
        path.read_bytes().decode("utf-8")
    ET.fromstring((tmp_path / "again.xml").read_bytes())
    orjson.loads((tmp_path / "again.sarif").read_bytes())


def test_a_json_only_publish_writes_the_same_bytes_as_one_that_fixes_the_texts_first(
    outputs: dict[str, bytes], tmp_path: Path
) -> None:
    """When JSON is the only output (and no step compares texts), publish leaves lone surrogates
    to the JSON encoder instead of looking for them first: the bytes are those of a publish that
    fixed them first (here: because a CSV is written too), summary included."""
    from auditor.publish import PublishSettings, publish

    def tampered() -> dict[str, Any]:
        result = orjson.loads(outputs["json"])
        finding = result["findings"][-1]  # past the first slice of a long list, if it is long
        finding["message"] += " \udcff"
        finding["evidence"]["odd\ud800key"] = "\udc80"
        finding["client"] = "C-\udce9"
        result["coverage"]["skipped"].append({"location": "x\udcfe", "reason": "r", "detail": "\ud801"})
        return result

    alone, fixed_first = tmp_path / "alone.json", tmp_path / "fixed-first.json"
    publish(tampered(), PublishSettings(outputs=[alone], fail_on="none"))
    publish(tampered(), PublishSettings(outputs=[fixed_first, tmp_path / "also.csv"], fail_on="none"))
    assert alone.read_bytes() == fixed_first.read_bytes()
    again = orjson.loads(alone.read_bytes())
    assert again["findings"][-1]["client"] == "C-\\xe9"
    assert again["coverage"]["skipped"][-1] == {"location": "x\\xfe", "reason": "r", "detail": "\\ud801"}
