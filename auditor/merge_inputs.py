"""Where `auditor merge` reads its inputs: files, and every `*.json` under an S3 prefix.

A fleet of practice machines each writes its result to one bucket prefix and the officer merges
`s3://bucket/prefix/` (docs/scale.md). An input that cannot be read never silently vanishes from
the audit: a listing or a GetObject that fails, an object past the size limit, or a prefix with no
result at all is a refusal (InputError, exit 2) naming the s3:// URL, like a bad file. A gap would
let the merge say "complete" without that machine; a refusal makes the officer look.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.contract import parse_result, read_result_bytes
from auditor.errors import InputError
from auditor.limits import RESULT_JSON
from auditor.merge import MergeInput

S3_PREFIX = "s3://"


@dataclass(frozen=True)
class InputRef:
    """One input named before any is read: a file path, or an object of a listed prefix."""

    name: str  # as errors and the scope's `file` name it: the path, or s3://bucket/key
    path: Path | None = None
    bucket: str = ""
    key: str = ""
    size: int | None = None


def split_s3(url: str) -> tuple[str, str]:
    bucket, _, prefix = url[len(S3_PREFIX) :].partition("/")
    if not bucket:
        raise InputError(url, "names no bucket (s3://BUCKET/PREFIX/)")
    return bucket, prefix


class Inputs:
    """The inputs of one merge, listed up front (a prefix is listed once), read one at a time so
    that only one parsed input is alive while the merge consumes it."""

    def __init__(self, args: Sequence[str], s3_settings: Any = None) -> None:
        self._settings = s3_settings
        self._client: Any = None
        self.refs: list[InputRef] = []
        for arg in args:
            if arg.startswith(S3_PREFIX):
                self.refs.extend(self._listed(arg))
            else:
                self.refs.append(InputRef(arg, path=Path(arg)))

    def _s3(self) -> Any:
        if self._client is None:
            from auditor.sources.s3.client import AccountAccess, CallCounter, S3Settings, base_session
            from auditor.sources.s3.errors import CALL_ERRORS, run_problem

            settings = self._settings or S3Settings()
            try:
                self._client = AccountAccess(
                    base_session(settings), settings, CallCounter(), label="merge inputs"
                ).s3()
            except CALL_ERRORS as exc:
                raise InputError(S3_PREFIX, run_problem(exc) or str(exc)) from exc
        return self._client

    def _listed(self, url: str) -> list[InputRef]:
        """Every `*.json` object under the prefix (ListObjectsV2, all pages)."""
        from auditor.sources.s3.errors import CALL_ERRORS, run_message

        bucket, prefix = split_s3(url)
        # A prefix is a folder: s3://b/2026-12 must not take in 2026-12-old/ too (S3 prefixes are
        # plain string prefixes). A key ending in .json is that one object.
        exact = prefix if prefix.lower().endswith(".json") else None
        if exact is None and prefix and not prefix.endswith("/"):
            prefix += "/"
        refs = []
        try:
            for page in self._s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents") or []:
                    key = str(item.get("Key", ""))
                    if key.lower().endswith(".json") and (exact is None or key == exact):
                        name = f"{S3_PREFIX}{bucket}/{key}"
                        refs.append(InputRef(name, bucket=bucket, key=key, size=item.get("Size")))
        except CALL_ERRORS as exc:
            raise InputError(url, f"cannot list the results under it: {run_message(exc)}") from exc
        if not refs:
            raise InputError(url, "holds no *.json result: nothing to merge from it")
        return refs

    def _read(self, ref: InputRef) -> bytes:
        if ref.path is not None:
            return read_result_bytes(ref.path)
        from auditor.safeparse import LimitError, check_size
        from auditor.sources.s3.errors import CALL_ERRORS, run_message

        try:
            if ref.size is not None:
                check_size(int(ref.size), RESULT_JSON)  # refused before a byte is fetched
            answer = self._s3().get_object(Bucket=ref.bucket, Key=ref.key)
            with answer["Body"] as body:
                raw: bytes = body.read(RESULT_JSON.max_bytes + 1)
            check_size(len(raw), RESULT_JSON)
        except LimitError as exc:
            raise InputError(ref.name, f"{exc.message} (see docs/limits.md)") from exc
        except CALL_ERRORS as exc:
            raise InputError(ref.name, f"cannot read: {run_message(exc)}") from exc
        return raw

    def __iter__(self) -> Iterator[MergeInput]:
        for ref in self.refs:
            raw = self._read(ref)
            loaded = MergeInput(ref.name, parse_result(raw, ref.name), hashlib.sha256(raw).hexdigest())
            del raw  # nor does this frame keep an input while the merge reads the next one
            yield loaded
            del loaded
