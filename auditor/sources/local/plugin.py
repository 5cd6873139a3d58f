"""The local source's registration (`auditor.sources`, scheme `file`: paths without a scheme).
Its options (--exclude, --follow-symlinks, -x, --jobs, --deep) are the scan's common ones."""

from __future__ import annotations

from auditor.sources.base import SourceSpec

SOURCE = SourceSpec(
    factory="auditor.sources.local.source:LocalSource",
    description="Local folders and files (any path without a URL scheme)",
)
