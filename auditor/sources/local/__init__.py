"""The local-disk source (`file`): `walker` lists folders, `examiner` turns files into
artifacts with facts, `source` joins them per target (and shares large trees out to workers)."""

from auditor.paths import display_path
from auditor.sources.local.examiner import Examiner
from auditor.sources.local.source import LocalSource
from auditor.sources.local.walker import Folder, Walker

__all__ = ["Examiner", "Folder", "LocalSource", "Walker", "display_path"]
