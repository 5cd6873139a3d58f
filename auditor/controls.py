"""The names of controls ("HIPAA 164.312(a)(2)(iv)" -> "Encryption and decryption").

They live in one data file, auditor/data/controls.yaml, which cites the primary text of each
framework; the report, the Markdown summary and the docs read it through this module.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CONTROLS_FILE = Path(__file__).resolve().parent / "data" / "controls.yaml"
# "164.312(e)(2)(i)" -> "164.312(e)(2)": drop the last parenthesised part.
_LAST_PART = re.compile(r"\([^()]*\)$")


@dataclass(frozen=True)
class Framework:
    key: str  # the word a control starts with: "HIPAA", "GDPR", "APA"
    title: str
    source: str
    url: str
    sections: dict[str, str]


@dataclass(frozen=True)
class ControlName:
    control: str  # as the pack writes it: "HIPAA 164.312(a)(2)(iv)"
    framework: str | None  # "HIPAA", or None for a framework this file does not know
    section: str  # "164.312(a)(2)(iv)"
    name: str | None  # "Encryption and decryption", or None when unknown
    named_section: str | None  # the section the name belongs to (an enclosing one, if not exact)

    @property
    def exact(self) -> bool:
        return self.name is not None and self.named_section == self.section


@functools.lru_cache(maxsize=1)
def frameworks() -> dict[str, Framework]:
    data: dict[str, Any] = yaml.safe_load(CONTROLS_FILE.read_text(encoding="utf-8"))
    return {
        key: Framework(
            key=key,
            title=str(entry["title"]),
            source=str(entry["source"]),
            url=str(entry["url"]),
            sections={str(k): str(v) for k, v in entry["sections"].items()},
        )
        for key, entry in data["frameworks"].items()
    }


@functools.lru_cache(maxsize=4096)
def control_name(control: str) -> ControlName:
    prefix, _, section = control.partition(" ")
    framework = frameworks().get(prefix)
    if framework is None or not section:
        return ControlName(control, None, section or control, None, None)
    candidate = section
    while candidate:
        name = framework.sections.get(candidate)
        if name is not None:
            return ControlName(control, prefix, section, name, candidate)
        shorter = _LAST_PART.sub("", candidate)
        if shorter == candidate:
            break
        candidate = shorter
    return ControlName(control, prefix, section, None, None)
