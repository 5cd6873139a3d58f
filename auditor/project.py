"""The project's own addresses (home page, documentation), from the installed package metadata,
so that pyproject.toml's [project.urls] is the one place they are written."""

from __future__ import annotations

import functools

from auditor import installed

DISTRIBUTION = "recording-auditor"


@functools.cache
def _urls() -> dict[str, str]:
    # Read from the .dist-info folder (auditor/installed.py): importlib.metadata costs ~20 ms of
    # start-up, and is asked only where sys.path holds what installed.py does not read.
    entries = installed.metadata_values(DISTRIBUTION, "Project-URL")
    if entries is None:
        from importlib.metadata import PackageNotFoundError, metadata

        try:
            entries = metadata(DISTRIBUTION).get_all("Project-URL") or []
        except PackageNotFoundError:  # run from a source tree that is not installed
            entries = []
    urls = {}
    for entry in entries:
        label, _, url = entry.partition(",")
        urls[label.strip().lower()] = url.strip()
    return urls


def project_url() -> str:
    return _urls().get("homepage", f"https://pypi.org/project/{DISTRIBUTION}/")


def docs_url(page: str, anchor: str = "") -> str:
    """The address of docs/PAGE (and #ANCHOR) as published with the project."""
    base = _urls().get("documentation", project_url()).rstrip("/")
    return f"{base}/{page}" + (f"#{anchor}" if anchor else "")
