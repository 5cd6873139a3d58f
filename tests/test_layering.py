"""The dependency rule, checked by importing every module on its own and looking at what came in.

- Nothing under auditor/ but auditor/cli/ (and `python -m auditor`) imports click or auditor.cli:
  the core is usable without the command line (the watch daemon, tests, other tools).
- No rule imports boto3 or a source: rules judge facts, whatever store they came from.
- No output imports the engine or the sources: outputs render the JSON contract only, so
  `auditor report RESULT.json` needs neither.

Each module is imported in a forked child of a process that has imported nothing of auditor,
so what the child finds in sys.modules is exactly what that one import pulled in.
"""

from __future__ import annotations

import ast
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import auditor

PACKAGE_DIR = Path(auditor.__file__).parent

# Known breaches of the rule, each with the work that removes it. The test fails when one is no
# longer needed, so the list only shrinks: delete the entry when its fix lands.
KNOWN: dict[str, str] = {}

_CHILD = r"""
import importlib, json, os, sys
modules = json.loads(sys.argv[1])
found = {}
for name in modules:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        importlib.import_module(name)
        os.write(write, json.dumps(sorted(sys.modules)).encode())
        os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 1 << 16):
        chunks.append(chunk)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    found[name] = json.loads(b"".join(chunks)) if status == 0 else None
print(json.dumps(found))
"""


def all_modules() -> list[str]:
    names = ["auditor"]
    for info in pkgutil.walk_packages([str(PACKAGE_DIR)], prefix="auditor."):
        names.append(info.name)
    return sorted(names)


def imported_by_each(modules: list[str]) -> dict[str, list[str] | None]:
    # -S is not used: the editable install's path hook must stay; nothing of auditor is imported
    # before the forks, so each child's sys.modules holds what its one import brought.
    res = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(modules)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def _is(name: str, *roots: str) -> bool:
    return any(name == r or name.startswith(r + ".") for r in roots)


def violations(module: str, imported: list[str]) -> list[str]:
    """What `module` may not import among `imported`, as readable lines."""
    problems = []
    if not _is(module, "auditor.cli", "auditor.__main__"):
        bad = [m for m in imported if _is(m, "click", "auditor.cli")]
        if bad:
            problems.append(f"{module} imports {bad[:3]}")
    if _is(module, "auditor.rules"):
        bad = [m for m in imported if _is(m, "boto3", "botocore", "auditor.sources")]
        if bad:
            problems.append(f"{module} (a rule) imports {bad[:3]}")
    if _is(module, "auditor.outputs"):
        bad = [m for m in imported if _is(m, "auditor.engine", "auditor.sources", "auditor.result")]
        if bad:
            problems.append(f"{module} (an output) imports {bad[:3]}")
    return problems


def test_the_dependency_rule_holds_module_by_module() -> None:
    modules = [m for m in all_modules() if not m.startswith("auditor._")]
    found = imported_by_each(modules)
    assert set(found) == set(modules)
    failed_imports = sorted(m for m, mods in found.items() if mods is None)
    assert not failed_imports, f"modules that fail to import on their own: {failed_imports}"
    problems = []
    for module, mods in sorted(found.items()):
        assert mods is not None
        found_here = violations(module, mods)
        if module in KNOWN:
            assert found_here, f"{module} keeps the rule now: remove it from KNOWN ({KNOWN[module]})"
            continue
        problems += found_here
    assert not problems, "\n".join(problems)


def test_no_import_inside_a_function_breaks_the_rule_either() -> None:
    """Imports made only when a function runs escape the import test: read them from the source."""
    problems = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        rel = path.relative_to(PACKAGE_DIR.parent).with_suffix("")
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        if module in KNOWN:
            continue
        named = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                named += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                named += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        problems += violations(module, named)
    assert not problems, "\n".join(problems)


def test_the_check_sees_a_violation() -> None:
    """The check itself can fail: the CLI does import click, and the S3 source boto3."""
    found = imported_by_each(["auditor.cli", "auditor.sources.s3.source", "auditor.result"])
    assert "click" in (found["auditor.cli"] or [])
    assert "boto3" in (found["auditor.sources.s3.source"] or [])
    assert "auditor.engine" in (found["auditor.result"] or [])
