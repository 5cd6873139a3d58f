"""The installed distributions' entry points, read the way importlib.metadata reads them, without
importing it.

importlib.metadata pulls in email, socket, zipfile, csv and importlib.resources: about 20 ms of a
start-up whose whole budget is 120 ms (issue 16), to read a few small text files. Every `.dist-info`
(or `.egg-info`) folder on sys.path is read here instead, in sys.path order; the first
distribution of a (normalised) name wins, as importlib.metadata's `entry_points()` decides.
`entry_points.txt` is the packaging spec's INI subset; the distribution's name and version are
the METADATA (PKG-INFO) headers of the same names.

Where sys.path holds something this does not read (a zip archive, a finder of distributions other
than the standard path finder), `read()` returns None and the caller asks importlib.metadata:
never a silently shorter list. tests/test_plugins.py checks both give the same answer.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Collection
from dataclasses import dataclass

_NORMALISE = re.compile(r"[-_.]+")
_DIST_FOLDER = (".dist-info", ".egg-info")


@dataclass(frozen=True)
class Found:
    """One entry point with the distribution that declared it."""

    group: str
    name: str
    value: str  # "module:attribute"
    distribution: str | None  # None: no METADATA to say
    version: str | None


def read(groups: Collection[str] | None = None) -> list[Found] | None:
    """Every entry point of every installed distribution (of `groups` only, when given); None when
    sys.path holds places this module cannot read (then use importlib.metadata). A distribution's
    METADATA is read only when it declares such an entry point: a test environment holds a hundred
    distributions, a few of which are plugins."""
    folders = _dist_folders()
    if folders is None:
        return None
    found: list[Found] = []
    seen: set[str] = set()
    for key, info in folders:
        if key in seen:
            continue
        seen.add(key)
        entries = [e for e in _entry_points(info) if groups is None or e[0] in groups]
        if entries:
            distribution, version = _identity(info)
            found.extend(
                Found(group, ep_name, value, distribution, version) for group, ep_name, value in entries
            )
    return found


def _dist_folders() -> list[tuple[str, str]] | None:
    """(normalised distribution name, its .dist-info/.egg-info folder) in sys.path order; None
    when sys.path holds places this module cannot read."""
    if _other_finders():
        return None
    folders = []
    for entry in sys.path:
        folder = entry or "."
        if folder.lower().endswith(".egg"):
            return None  # an egg on sys.path: its EGG-INFO is importlib.metadata's business
        try:
            names = os.listdir(folder)
        except NotADirectoryError:
            return None  # a zip archive on sys.path: importlib.metadata reads inside it
        except OSError:
            continue  # absent, unreadable: importlib.metadata finds nothing there either
        for name in names:
            if name.lower().endswith(_DIST_FOLDER):
                key = _normalise(name.rpartition(".")[0].partition("-")[0])
                folders.append((key, os.path.join(folder, name)))
    return folders


def metadata_values(distribution: str, header: str) -> list[str] | None:
    """Every value of `header` (e.g. "Project-URL", which repeats) in the METADATA of the first
    installed `distribution` on sys.path, as importlib.metadata's `metadata(d).get_all(header)`
    gives them ([] when it has none, or the distribution is not installed). None when sys.path
    holds places this module cannot read: then ask importlib.metadata."""
    folders = _dist_folders()
    if folders is None:
        return None
    wanted = _normalise(distribution)
    info = next((path for key, path in folders if key == wanted), None)
    return [] if info is None else _header_values(info, header.lower())


def _header_values(info: str, header: str) -> list[str]:
    for filename in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(info, filename), encoding="utf-8", errors="replace") as f:
                values = []
                for line in f:
                    if not line.strip():
                        break  # the headers end at the first empty line
                    key, sep, value = line.partition(":")
                    if sep and not line[0].isspace() and key.strip().lower() == header:
                        values.append(value.strip())
                return values
        except OSError:
            continue
    return []


def load(value: str) -> object:
    """The object an entry point's value names (`module:attr.sub`, extras ignored), as
    importlib.metadata's EntryPoint.load finds it."""
    import importlib

    module, _, attrs = value.partition("[")[0].strip().partition(":")
    obj: object = importlib.import_module(module.strip())
    for attr in filter(None, attrs.strip().split(".")):
        obj = getattr(obj, attr)
    return obj


def _other_finders() -> bool:
    from importlib.machinery import PathFinder

    return any(finder is not PathFinder and hasattr(finder, "find_distributions") for finder in sys.meta_path)


def _normalise(name: str) -> str:
    return _NORMALISE.sub("-", name).lower()


def _identity(info: str) -> tuple[str | None, str | None]:
    """Name and Version from the headers of METADATA (PKG-INFO for an egg-info)."""
    for filename in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(info, filename), encoding="utf-8", errors="replace") as f:
                headers: dict[str, str] = {}
                for line in f:
                    if not line.strip():
                        break  # the headers end at the first empty line; the description follows
                    key, sep, value = line.partition(":")
                    if sep and not line[0].isspace():
                        headers.setdefault(key.strip().lower(), value.strip())
                return headers.get("name"), headers.get("version")
        except OSError:
            continue
    return None, None


def _entry_points(info: str) -> list[tuple[str, str, str]]:
    """(group, name, value) from entry_points.txt, as importlib.metadata's Sectioned parser
    reads it: stripped lines, `#` comments, `[group]` headers, `name = value`."""
    try:
        with open(os.path.join(info, "entry_points.txt"), encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return []
    found = []
    group = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line.strip("[]")
            continue
        name, sep, value = line.partition("=")
        if group is not None and sep:
            found.append((group, name.strip(), value.strip()))
    return found
