"""The local examiner: sniff a folder's candidate files and turn recordings into artifacts with facts.

Only files whose name leaves it open (see auditor.classify.needs_sniff) are opened, read-only,
for a few KiB, and text-like files (.txt, .json, .docx, .tsv, .xml) when the reading policy
gives a reason (auditor.classify.reading): a recording in the same folder, a transcript-like
name or folder, a client/date pattern, or --deep. Some formats are settled by bytes past the
head (an MP4 index at the end, a zip's directory): those are read through a counting reader
within a budget. A recording's facts come from its content (format, embedded date, content
encryption, an archive's members), its sidecar, its volume (encryption at rest) and its exposure
(permissions, sync folders, shares). Every file that cannot be read becomes a coverage gap with
its reason, and so does an archive whose listing could not be read in full.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Container, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from auditor.attribution import SIDECAR_MAX_BYTES, SidecarError, attribute, parse_sidecar
from auditor.classify import HEAD_BYTES, LOOK_FURTHER_BUDGET, Classification, classify, embedded_created
from auditor.classify.model import RECORDING_KINDS
from auditor.classify.names import KEY_LIKE_NAME, NO_SNIFF_EXTENSIONS, SIDECAR_SUFFIXES, needs_sniff
from auditor.classify.reading import (
    TEXT_LIKE_EXTENSIONS,
    ReadingPolicy,
    in_node_modules,
    is_ambiguous_script,
    is_text_like,
    named_after,
    named_after_any,
    stem,
)
from auditor.config import Config
from auditor.localfs.exposure import ExposureProbe
from auditor.localfs.volumes import VolumeProbe
from auditor.localfs.volumes_common import RealDirs
from auditor.models import Artifact, Attribution, Coverage, Gap
from auditor.paths import display_path
from auditor.sources.local.walker import Folder, as_folder, gap_for
from auditor.sources.reader import FdRangeReader, list_dir_readonly, open_readonly

EMBEDDED_DATE_BUDGET = 4096  # bytes past the head for a container's date
# With --deep, an archive's whole directory is listed (a zip of thousands of members), within this.
DEEP_LOOK_FURTHER_BUDGET = 1024 * 1024
_SKIP, _READ, _TEXT = 0, 1, 2  # what the name says: never read, read, read with a reason
# The gap for a setting the exposure probe could not read: a fact about the machine, said once.
PROBE_NOTE = "exposure-check-incomplete"


def _triage(name: str) -> int:
    """needs_sniff() and is_text_like() for a bare file name, the common case inline: this runs
    once per file walked."""
    dot = name.rfind(".")
    if dot <= 0 or "\\" in name:
        return _READ if needs_sniff(name) else (_TEXT if is_text_like(name) else _SKIP)
    ext = name[dot + 1 :].lower()
    if ext not in NO_SNIFF_EXTENSIONS:
        return _READ if ext != "ts" or needs_sniff(name) else _SKIP  # .d.ts is TypeScript
    if ext in TEXT_LIKE_EXTENSIONS and not name.endswith(SIDECAR_SUFFIXES):
        return _TEXT
    return _SKIP


# _triage's verdict by extension as written ("PDF", "pdf"), for the extensions where the extension
# alone decides: one dict lookup per file instead of lower-casing and set lookups. Not .ts (a .d.ts is TypeScript) nor
# .json (a .meta.json is a sidecar): their names decide. Bounded, since a tree can hold any
# number of odd extensions.
_VERDICT_BY_EXTENSION: dict[str, int] = {}
_NAME_DECIDES = frozenset({"ts", "json"})
_MAX_CACHED_EXTENSIONS = 4096


def _triage_cached(name: str) -> int:
    """_triage(name), by the extension's cached verdict where the extension alone decides."""
    before, _, ext = name.rpartition(".")  # one call, not rfind and a slice: this runs per file walked
    if before and "\\" not in name:
        verdict = _VERDICT_BY_EXTENSION.get(ext)
        if verdict is not None:
            return verdict
        verdict = _triage(name)
        if ext.lower() not in _NAME_DECIDES and len(_VERDICT_BY_EXTENSION) < _MAX_CACHED_EXTENSIONS:
            _VERDICT_BY_EXTENSION[ext] = verdict
        return verdict
    return _triage(name)


# A cold disk answers one read at a time unless asked for more: a folder's candidates are opened
# this many at a time and their heads requested at once (POSIX_FADV_WILLNEED, asynchronous), so the
# reads that follow find them arriving instead of each waiting its turn. A head the page cache
# already holds is read at once instead (RWF_NOWAIT: a read that never waits for the disk), which
# also tells the walk whether the disk is warm (Examiner.heads_cached and heads_uncached).
PREFETCH_BATCH = 32
_WILLNEED = getattr(os, "POSIX_FADV_WILLNEED", None)
_NOWAIT = getattr(os, "RWF_NOWAIT", None) if hasattr(os, "preadv") else None
_NOWAIT_UNSUPPORTED = frozenset({errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS})

# What a batch holds for each path: (fd, stat, the head if it was cached), or the error opening it
# gave (for its turn to report), or None once handed over.
_Opened = tuple[int, os.stat_result, bytes | None] | OSError | None


@dataclass
class _Sniffed:
    """A file the walk read that matters: a recording (with its artifact) or key material."""

    name: str
    path: str
    relpath: str
    cls: Classification
    artifact: Artifact | None  # set for recordings


class Examiner:
    """Examines files of local folders; holds the volume and exposure probes and their caches."""

    def __init__(self, config: Config, *, follow_symlinks: bool = False, deep: bool = False) -> None:
        self.config = config
        self.follow_symlinks = follow_symlinks
        self.deep = deep  # sniff every file, not only those whose name leaves it open
        self.reading = ReadingPolicy(config.attribution.patterns, deep=deep)
        # Heads of batched candidates found whole in the page cache, and not: how warm the disk is.
        self.heads_cached = 0
        self.heads_uncached = 0
        self._nowait = _NOWAIT
        self.look_further = DEEP_LOOK_FURTHER_BUDGET if deep else LOOK_FURTHER_BUDGET
        real_dirs = RealDirs()  # both probes resolve each folder's real path: do it once
        self.volumes = VolumeProbe(trusted_volumes=config.encryption.trusted_volumes, real_dirs=real_dirs)
        self.exposure = ExposureProbe(
            sync_folders=config.exposure.sync_folders,
            web_roots=config.exposure.web_roots,
            network_shares=config.exposure.network_shares,
            broad_groups=config.exposure.broad_groups,
            authorised_readers=config.exposure.authorised_readers,
            real_dirs=real_dirs,
        )

    def examine_folder(self, folder: Folder, root: str, coverage: Coverage) -> Iterator[Artifact]:
        """The recordings among a walked folder's files. A text-like file is read when its name,
        its folder or a client/date pattern gives a reason, or when it carries the name of a
        recording beside it: one named as audio or video, or, once the folder's other files have
        been sniffed, one found by content. (The watch decides on names alone; what it reads is
        therefore always read by the walk too: the rescan never contradicts it.)"""
        files = folder.files
        beside: list[str] = []
        if self.deep:
            candidates = files
        else:
            candidates = []
            for name in files:
                verdict = _triage_cached(name)
                if verdict == _READ:
                    candidates.append(name)
                elif verdict == _TEXT:
                    beside.append(name)
            if beside:
                named = ReadingPolicy.named_recordings(candidates)
                prefix = folder.rel_prefix
                if self.reading.folder_hint(os.path.basename(root), prefix):
                    reasons = beside  # every text-like file of a transcript-like folder
                else:
                    read = self.reading.by_name_among(prefix, beside)
                    if named:
                        read |= named_after_any(beside, named)
                    reasons = [n for n in beside if n in read]
                if reasons:
                    candidates += reasons
                    taken = set(reasons)
                    beside = [n for n in beside if n not in taken]
            candidates = _without_typescript(candidates, folder.path)
        if candidates:
            yield from self._examine_dir_files(
                folder.path, root, folder.rel_prefix, candidates, files, folder.names, coverage, beside
            )

    def examine_files(
        self,
        directory: str,
        names: list[str],
        coverage: Coverage,
        root: str | None = None,
        *,
        text_by_policy: bool = False,
    ) -> Iterator[Artifact]:
        """Some files of one folder (watch events, a file target), with the walk's checks; the folder is
        listed once, for their sidecars and for key material lying beside encrypted ones.

        Every name given is read, unless `text_by_policy`: then a text-like name is read only when
        the reading policy gives a reason. Its folder's content is not sniffed here, so "the name
        of a recording beside it" means a neighbour named as audio or video."""
        directory = os.path.abspath(directory)
        coverage.files_seen += len(names)
        try:
            neighbours = {entry.name for entry in list_dir_readonly(directory)}  # atime left alone
        except OSError:
            neighbours = set(names)
        wanted = set(names)
        files = names + [n for n in neighbours if n not in wanted and KEY_LIKE_NAME.search(n)]
        root = root or directory
        rel_dir = os.path.relpath(directory, root)
        rel_prefix = "" if rel_dir == os.curdir else rel_dir + os.sep
        candidates = [n for n in names if n in neighbours]
        if text_by_policy and not self.deep:
            candidates = _without_typescript(candidates, directory)
        text = [n for n in candidates if _triage(n) == _TEXT] if text_by_policy and not self.deep else []
        if text:
            target = os.path.basename(root)
            named = ReadingPolicy.named_recordings(neighbours)
            unread = {
                n for n in text if not (named_after(n, named) or self.reading.by_name(target, rel_prefix + n))
            }
            candidates = [n for n in candidates if n not in unread]
        yield from self._examine_dir_files(
            directory, root, rel_prefix, candidates, files, neighbours, coverage
        )

    def report_probe_notes(self, coverage: Coverage) -> None:
        """Settings the exposure probe could not read (smb.conf, sync-client files, ancestors) are holes too."""
        while self.exposure.notes:
            note = self.exposure.notes.pop(0)
            coverage.gaps.append(Gap("exposure checks", PROBE_NOTE, note))

    def _examine_dir_files(
        self,
        directory: str,
        root: str,
        rel_prefix: str,
        candidates: list[str],
        files: list[str],
        names: Container[str],
        coverage: Coverage,
        beside: list[str] | None = None,
    ) -> Iterator[Artifact]:
        """Sniff `candidates` (names in `directory`, whose relative path starts `rel_prefix`), and
        those of the text-like files `beside` them that carry the name of a recording found."""
        base = as_folder(directory)
        sniffed: list[_Sniffed] = []
        for start in range(0, len(candidates), PREFETCH_BATCH):
            batch = candidates[start : start + PREFETCH_BATCH]
            opened = self._opened_ahead([base + name for name in batch])
            try:
                for i, name in enumerate(batch):
                    ahead = None
                    if opened is not None:
                        ahead, opened[i] = opened[i], None  # handed over: _examine closes it
                    item = self._examine(base + name, name, rel_prefix + name, root, names, coverage, ahead)
                    if item is not None:
                        sniffed.append(item)
            finally:
                for left in opened or ():
                    if isinstance(left, tuple):  # not reached: a bug stopped the batch
                        os.close(left[0])
        found = [stem(s.name) for s in sniffed if s.artifact is not None]
        named = [n for n in beside or () if found and named_after(n, found)]
        for name in named:  # text carrying the name of a recording found by content
            item = self._examine(base + name, name, rel_prefix + name, root, names, coverage)
            if item is not None:
                sniffed.append(item)
        candidates = candidates + named
        recordings = [s for s in sniffed if s.artifact is not None]
        if any(s.cls.kind == "encrypted" for s in recordings):
            self._note_keys_beside(directory, files, candidates, sniffed, recordings, coverage)
        for s in recordings:
            assert s.artifact is not None
            coverage.recordings += 1
            yield s.artifact

    def _opened_ahead(self, paths: list[str]) -> list[_Opened] | None:
        """Each path opened with its head read if cached, else asked for; None where there is
        nothing to overlap (one file, or no posix_fadvise)."""
        if len(paths) < 2 or _WILLNEED is None:
            return None
        opened: list[_Opened] = []
        for path in paths:
            try:
                fd, st = open_readonly(path, follow_symlinks=self.follow_symlinks)
            except OSError as exc:
                opened.append(exc)
                continue
            head = self._cached_head(fd, st.st_size)
            if head is None:
                # Advice only: the read itself reports a real problem. (Not contextlib.suppress:
                # a context manager for each file read costs more than the advice.)
                try:  # noqa: SIM105
                    os.posix_fadvise(fd, 0, HEAD_BYTES, _WILLNEED)
                except OSError:
                    pass
            opened.append((fd, st, head))
        return opened

    def _cached_head(self, fd: int, size: int) -> bytes | None:
        """The file's head when the page cache holds all of it (a read that never waits for the
        disk), else None (and the read is left to _examine)."""
        if self._nowait is None:
            return None
        buffer = bytearray(HEAD_BYTES)
        try:
            got = os.preadv(fd, [buffer], 0, self._nowait)
        except BlockingIOError:
            self.heads_uncached += 1
            return None
        except OSError as exc:
            if exc.errno in _NOWAIT_UNSUPPORTED:  # this kernel or filesystem cannot say: not asked again
                self._nowait = None
            return None  # anything else (EIO): the plain read in _examine meets it and says so
        if got < min(HEAD_BYTES, size):  # part of it cached: the rest is on the disk
            self.heads_uncached += 1
            return None
        self.heads_cached += 1
        return bytes(memoryview(buffer)[:got])

    def _examine(
        self,
        path: str,
        name: str,
        relpath: str,
        root: str,
        names: Container[str],
        coverage: Coverage,
        opened: _Opened = None,
    ) -> _Sniffed | None:
        """Sniff one file (`opened`: what open_readonly gave for it ahead, if it was opened ahead;
        the fd is closed here): a _Sniffed for a recording or key material, None for anything else
        (and for a file that cannot be read, which becomes a gap)."""
        head: bytes | None = None
        try:
            if opened is None:
                fd, st = open_readonly(path, follow_symlinks=self.follow_symlinks)
            elif isinstance(opened, OSError):
                raise opened
            else:
                fd, st, head = opened
        except OSError as exc:
            coverage.gaps.append(Gap(display_path(path), gap_for(exc), exc.strerror or str(exc)))
            return None
        reader = FdRangeReader(fd, st.st_size)
        try:
            coverage.candidates += 1
            if head is None:
                head = os.read(fd, HEAD_BYTES)
            coverage.bytes_read += len(head)
            cls = classify(head, name, reader, self.look_further)
            artifact = None
            if cls.kind in RECORDING_KINDS:
                artifact = self._artifact(path, name, relpath, root, st, head, cls, reader, names, coverage)
            elif cls.archive is not None and not cls.archive.complete:
                coverage.gaps.append(
                    Gap(display_path(path), "archive-partly-listed", _partial_listing(cls, self.deep))
                )
            if artifact is None and cls.kind != "key":
                return None  # most sniffed files: nothing more to say about them
            return _Sniffed(name, path, relpath, cls, artifact)
        except OSError as exc:
            coverage.gaps.append(Gap(display_path(path), gap_for(exc), exc.strerror or str(exc)))
            return None
        finally:
            coverage.bytes_read += reader.bytes_read
            os.close(fd)

    def _artifact(
        self,
        path: str,
        name: str,
        relpath: str,
        root: str,
        st: os.stat_result,
        head: bytes,
        cls: Classification,
        reader: FdRangeReader,
        names: Container[str],
        coverage: Coverage,
    ) -> Artifact | None:
        sidecar = self._sidecar(path, name, names, coverage)
        attribution = attribute(relpath, self.config.attribution.patterns, sidecar=sidecar)
        attribution.tried = ["sidecar", "patterns"]
        # An encrypted blob is a recording when its inner name says so or attribution ties it to a session.
        if cls.kind == "encrypted" and cls.inner_media is None and not attribution.client:
            return None
        location = display_path(path)
        artifact = Artifact(
            kind="recording",
            location=location,
            source="local",
            target=display_path(root),
            relpath=display_path(relpath),
            size=st.st_size,
            mtime=datetime.fromtimestamp(st.st_mtime, UTC),
            at_rest="volume",
            media=cls.media if cls.kind != "encrypted" else cls.inner_media,
            format=cls.format,
            attribution=attribution,
        )
        if cls.kind == "encrypted":
            artifact.facts["inner_name"] = cls.inner_name and display_path(cls.inner_name)
        elif cls.archive is not None:
            artifact.facts["archive"] = cls.archive.facts()
            if not cls.archive.complete:
                coverage.gaps.append(Gap(location, "archive-partly-listed", _partial_listing(cls, self.deep)))
        else:
            try:
                artifact.embedded_created = embedded_created(
                    cls.format or "", head, reader, EMBEDDED_DATE_BUDGET
                )
            except (ValueError, IndexError, OverflowError):  # a corrupt header is not a reason to stop
                artifact.embedded_created = None
        directory = path[: len(path) - len(name) - 1] or os.sep  # `path` is always folder + sep + name
        self._encryption_facts(artifact, path, directory, st, cls)
        artifact.exposures = self.exposure.exposures(path, st, directory=directory)
        artifact.facts["mode"] = f"{stat.S_IMODE(st.st_mode):04o}"
        artifact.facts["uid"] = st.st_uid
        artifact.facts["gid"] = st.st_gid
        return artifact

    def _encryption_facts(
        self, artifact: Artifact, path: str, directory: str, st: os.stat_result, cls: Classification
    ) -> None:
        volume = self.volumes.for_path(path, st.st_dev, directory=directory)
        artifact.facts["volume"] = {
            "encrypted": volume.encrypted,
            "method": volume.method,
            "detail": volume.detail,
        }
        if cls.kind == "encrypted":
            artifact.encrypted = True
            artifact.encryption = f"content:{cls.format}"
        elif volume.encrypted:
            artifact.encrypted = True
            artifact.encryption = f"volume:{volume.method}"
        elif volume.encrypted is False:
            artifact.encrypted = False
            artifact.encryption = "none"
        else:
            artifact.encrypted = None
            artifact.encryption = "unknown"

    def _sidecar(self, path: str, name: str, names: Container[str], coverage: Coverage) -> Attribution | None:
        for suffix in SIDECAR_SUFFIXES:
            if name + suffix not in names:
                continue
            sidecar_path = path + suffix
            try:
                fd, _ = open_readonly(sidecar_path, follow_symlinks=self.follow_symlinks)
                try:
                    raw = os.read(fd, SIDECAR_MAX_BYTES + 1)
                finally:
                    os.close(fd)
                coverage.bytes_read += len(raw)
                if len(raw) > SIDECAR_MAX_BYTES:
                    raise SidecarError(f"larger than {SIDECAR_MAX_BYTES} bytes")
                return parse_sidecar(raw, json_format=suffix.endswith("json"))
            except OSError as exc:
                coverage.gaps.append(Gap(display_path(sidecar_path), gap_for(exc), exc.strerror or str(exc)))
            except SidecarError as exc:
                coverage.gaps.append(Gap(display_path(sidecar_path), "sidecar-invalid", str(exc)))
        return None

    def _note_keys_beside(
        self,
        directory: str,
        files: list[str],
        candidates: list[str],
        sniffed: list[_Sniffed],
        recordings: list[_Sniffed],
        coverage: Coverage,
    ) -> None:
        """HIPAA's safe harbor needs the key kept apart: record key material found in the same folder.
        The candidates were sniffed already (their key material is in `sniffed`): only the rest
        with a key-like name are read here."""
        keys = {s.name for s in sniffed if s.cls.kind == "key"}
        looked = set(candidates)
        for name in files:
            if name in looked or not KEY_LIKE_NAME.search(name):
                continue
            path = os.path.join(directory, name)
            try:
                fd, _ = open_readonly(path, follow_symlinks=self.follow_symlinks)
                try:
                    head = os.read(fd, HEAD_BYTES)
                finally:
                    os.close(fd)
            except OSError:
                continue  # not a reason for a gap: the file itself is not a recording
            coverage.bytes_read += len(head)
            if classify(head, name).kind == "key":
                keys.add(name)
        if keys:
            for s in recordings:
                if s.cls.kind == "encrypted" and s.artifact is not None:
                    s.artifact.facts["keys_beside"] = sorted(display_path(k) for k in keys)


def _partial_listing(cls: Classification, deep: bool) -> str:
    assert cls.archive is not None
    declared = cls.archive.declared
    of = f" of {declared:,}" if declared is not None else ""
    remedy = "the directory is larger than even --deep reads" if deep else "--deep lists the whole directory"
    return (
        f"zip listing read in part ({cls.archive.listed:,}{of} members, within the read budget): "
        f"a recording listed after them is not seen; {remedy}"
    )


def _without_typescript(candidates: list[str], directory: str) -> list[str]:
    """The candidates less the .ts/.mts files of a folder under node_modules (a package's TypeScript)."""
    if in_node_modules(directory):
        return [n for n in candidates if not is_ambiguous_script(n)]
    return candidates
