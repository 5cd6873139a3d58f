"""The local-disk source: walk each target (walker) and examine what it holds (examiner).

Large trees are shared out to forked workers (`--jobs`): the parent walks breadth-first until
the frontier is wide enough, then hands chunks of folders out, and puts what comes back in the
order a walk in one process has: the output is the same whatever --jobs. Each worker gets the
source through the pool's initializer.
"""

from __future__ import annotations

import os
import signal
import stat
from collections import deque
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any

from auditor.config import Config
from auditor.errors import SourceError
from auditor.models import Artifact, Coverage, Gap
from auditor.paths import display_path
from auditor.shard import ROOT_FILES
from auditor.sources.base import SourceOptions
from auditor.sources.local.examiner import PROBE_NOTE, Examiner
from auditor.sources.local.walker import Visited, Walker

# Parallel walk: how wide the breadth-first frontier gets before it is shared out, and into
# how many chunks per worker (small chunks balance uneven subtrees).
FRONTIER_PER_JOB = 64
CHUNKS_PER_JOB = 16
# The scan's default --jobs walks in-process until it has listed this many files (and the
# frontier is wide enough): a tree that ends sooner is done in one process. Measured on a quiet
# 2-core host, each setting alternated with the others (docs/benchmarks.md, Parallelism): every
# file walked before the fork is walked on one core, so the earlier the better on a large tree
# (100,000 files, medians of 10: 0.337 s forking after 5,000 files, 0.329 s after 2,000, 0.326 s
# after 1,000); trees of 2,500 to 20,000 files took the same time whichever the setting (a small
# tree seldom has the FRONTIER_PER_JOB folders per job waiting that a fork needs too).
AUTO_FORK_AFTER = 1_000
MAX_DEFAULT_JOBS = 8
# A folder the parallel walk's parent listed: its recordings, its gaps and its subfolders.
_Listed = tuple[list[Artifact], list[Gap], list[str]]
# What a worker returns for a chunk: each subtree's (artifacts, coverage), and its probe notes.
_ChunkResult = tuple[list[tuple[list[Artifact], Coverage]], list[Gap]]
_CAN_FORK = hasattr(os, "fork")  # multiprocessing's "fork" start method; imported only to fork


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity, which a container or `taskset` narrows (the
    machine's count where that cannot be read)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):  # not on macOS or Windows
        return os.cpu_count() or 1


def default_jobs() -> int:
    """The scan's default --jobs where the page cache cannot be asked (a filesystem without
    RWF_NOWAIT reads: tmpfs, some network and FUSE ones; or too few heads read before the fork to
    tell): twice the usable CPUs, at most MAX_DEFAULT_JOBS, between the warm and the cold counts."""
    return min(2 * usable_cpus(), MAX_DEFAULT_JOBS)


def default_cold_jobs() -> int:
    """The scan's default --jobs on a cold disk: four times the usable CPUs, at most
    MAX_DEFAULT_JOBS. More processes than CPUs keep more reads in flight on a cold disk, which a
    first audit meets, and a worker waiting on the disk costs no CPU: with the caches dropped
    before each run, on two cores, a 300,000-file tree took 6.9-8.1 s in one process, 4.7-5.6 s
    in two, 2.2-2.3 s in four, 2.0-2.2 s in six, 1.9-2.0 s in eight and 2.4-2.6 s in twelve; a
    1,000,000-file tree 6.4-7.9 s in four, 5.8-6.2 s in eight (find -type f: 4.3-6.4 s)."""
    return min(4 * usable_cpus(), MAX_DEFAULT_JOBS)


def default_warm_jobs() -> int:
    """The scan's default --jobs when the heads read before the fork came from the page cache: one
    process per CPU (at least two), at most MAX_DEFAULT_JOBS. Warm, more processes than CPUs only
    share the CPUs out (300,000 files on two cores: 1.10 s in two, 1.20 s in four)."""
    return min(max(usable_cpus(), 2), MAX_DEFAULT_JOBS)


# The page cache held at least this share of the heads read before the fork (and at least
# WARM_SAMPLE of them were asked about): the disk is warm, and default_warm_jobs() are forked;
# less of them: it is cold, and default_cold_jobs() are.
WARM_SHARE = 0.9
WARM_SAMPLE = 16


class LocalSource:
    def __init__(
        self, config: Config, options: SourceOptions, settings: Mapping[str, Any] | None = None
    ) -> None:
        # `settings` (sources.file) is empty: the local walk's options are the common SourceOptions.
        self.config = config
        self.options = options
        self.walker = Walker(
            excludes=options.excludes,
            follow_symlinks=options.follow_symlinks,
            one_file_system=options.one_file_system,
            shard=options.shard,
        )
        self.examiner = Examiner(config, follow_symlinks=options.follow_symlinks, deep=options.deep)

    def check(self, target: str) -> None:
        if not os.path.lexists(target):
            raise SourceError(target, "no such file or folder")

    def scan(self, target: str, coverage: Coverage) -> Iterator[Artifact]:
        root = os.path.abspath(target)
        st = self.walker.open_root(root, coverage)
        if st is None:
            return
        if stat.S_ISDIR(st.st_mode) or (stat.S_ISLNK(st.st_mode) and os.path.isdir(root)):
            yield from self._walk(root, coverage)
        elif self._in_shard(root, coverage):
            yield from self.examine_file(root, coverage)
        self.examiner.report_probe_notes(coverage)

    def units(self, target: str, coverage: Coverage) -> list[str]:
        """The --shard units of `target` (auditor.shard), for a planner giving each its own task:
        a folder's top-level entries by name (its own files one unit), or a file by its path.
        A folder that cannot be listed now plans nothing: the task for unplanned units meets it."""
        root = os.path.abspath(target)
        if not os.path.isdir(root):
            return [root]
        units = {ROOT_FILES}
        try:
            with os.scandir(root) as entries:
                for entry in entries:
                    try:
                        units.add(ROOT_FILES if entry.is_file(follow_symlinks=False) else entry.name)
                    except OSError:
                        units.add(entry.name)
        except OSError:
            return []
        return sorted(units)

    def _in_shard(self, path: str, coverage: Coverage) -> bool:
        """A file given as a target is a unit of its own, by its absolute path."""
        shard = self.options.shard
        if shard is None:
            return True
        mine = shard.owns(path)
        coverage.shard_units += mine
        coverage.shard_other_units += not mine
        return mine

    def examine_file(self, path: str, coverage: Coverage, root: str | None = None) -> Iterator[Artifact]:
        """One file on its own (a file target, or a watch event under `root`): the same checks as in a walk."""
        parent, name = os.path.split(os.path.abspath(path))
        yield from self.examiner.examine_files(parent, [name], coverage, root=root)

    def examine_files(
        self,
        directory: str,
        names: list[str],
        coverage: Coverage,
        root: str | None = None,
        *,
        text_by_policy: bool = False,
    ) -> Iterator[Artifact]:
        """Some files of one folder (watch events), with the walk's checks (Examiner.examine_files)."""
        yield from self.examiner.examine_files(
            directory, names, coverage, root=root, text_by_policy=text_by_policy
        )

    # -- walking -------------------------------------------------------------------------------

    def _walk(self, root: str, coverage: Coverage) -> Iterator[Artifact]:
        jobs = self.options.jobs
        # Links can join subtrees, so a walk that follows them stays in one process (one `visited`).
        if jobs > 1 and not self.options.follow_symlinks and _CAN_FORK:
            yield from self._walk_parallel(root, jobs, coverage)
            return
        for folder in self.walker.walk(root, coverage):
            yield from self.examiner.examine_folder(folder, root, coverage)
            self._progress(coverage)

    def _visit(
        self, directory: str, root: str, push: Callable[[str], None], visited: Visited, coverage: Coverage
    ) -> Iterator[Artifact]:
        """List one folder (pushing its subfolders) and examine its files."""
        folder = self.walker.visit(directory, root, push, visited, coverage)
        if folder is not None:
            yield from self.examiner.examine_folder(folder, root, coverage)
            self._progress(coverage)

    def _progress(self, coverage: Coverage) -> None:
        if self.options.progress:  # once per folder; the callback itself throttles how often it prints
            self.options.progress(coverage)

    def _walk_parallel(self, root: str, jobs: int, coverage: Coverage) -> Iterator[Artifact]:
        """Breadth-first here until there are enough folders to share out (and, by default, until
        the tree has shown it is big enough to repay the forks: options.fork_after files), then
        forked workers walk those subtrees. A small tree is walked here alone.

        Whatever --jobs and however many CPUs, the recordings and gaps come out in the order of a
        walk in one process (depth first, as Walker.walk goes): what the parent lists is held until
        that order is known, and each subtree a worker walks is returned on its own and put in its
        place. Only the exposure probe's notes, facts about the machine said once, come last."""
        visited: Visited = set()
        listed: dict[str, _Listed] = {}
        frontier: deque[str] = deque([root])
        fork_after = coverage.files_seen + self.options.fork_after
        while frontier and (len(frontier) < FRONTIER_PER_JOB * jobs or coverage.files_seen < fork_after):
            directory = frontier.popleft()
            listed[directory] = here = self._list_here(directory, root, visited, coverage)
            frontier.extend(here[2])
        order = _depth_first(root, listed)
        # Settings the exposure probe could not read are facts about the machine: this process's
        # are taken now, or every worker would inherit them and report them again, and a note
        # each worker makes on its own (the accounts could not be listed) is kept once.
        notes = Coverage()
        self.examiner.report_probe_notes(notes)
        noted = {gap.detail for gap in coverage.gaps + notes.gaps if gap.reason == PROBE_NOTE}
        workers = self._workers_for(jobs)
        subtrees = self._subtrees([d for d in order if d not in listed], root, workers, notes.gaps, noted)
        try:
            for directory in order:
                if directory in listed:
                    artifacts, gaps, _ = listed.pop(directory)
                    coverage.gaps += gaps
                else:
                    artifacts, part = next(subtrees)
                    coverage.merge(part)
                    self._progress(coverage)
                yield from artifacts
        finally:
            subtrees.close()  # the workers end with the walk, however it ends
        coverage.gaps += notes.gaps

    def _workers_for(self, jobs: int) -> int:
        """How many workers to fork: `jobs`, unless the scan's default lets the disk decide
        (options.jobs_when_warm, jobs_when_cold) and the heads read so far say how warm it is."""
        cached, uncached = self.examiner.heads_cached, self.examiner.heads_uncached
        asked = cached + uncached
        if asked < WARM_SAMPLE:  # the filesystem cannot say, or too few heads were read to tell
            return jobs
        if cached >= WARM_SHARE * asked:
            return self.options.jobs_when_warm or jobs
        return self.options.jobs_when_cold or jobs

    def _list_here(self, directory: str, root: str, visited: Visited, coverage: Coverage) -> _Listed:
        """Visit one folder in this process, holding its recordings and gaps back (they go out in
        the one-process order later) and saying which subfolders it has."""
        subfolders: list[str] = []
        first_gap = len(coverage.gaps)
        artifacts = list(self._visit(directory, root, subfolders.append, visited, coverage))
        gaps = coverage.gaps[first_gap:]
        del coverage.gaps[first_gap:]
        return artifacts, gaps, subfolders

    def _subtrees(
        self, folders: list[str], root: str, jobs: int, notes: list[Gap], noted: set[str]
    ) -> Generator[tuple[list[Artifact], Coverage], None, None]:
        """Each of `folders`' subtrees walked by forked workers, as (artifacts, coverage), in order;
        the workers' own probe notes not yet `noted` are added to `notes`. The pool starts on the
        first request, so a walk with nothing left for workers never forks."""
        # Many small chunks, taken in order: balanced work, and a deterministic output order.
        size = max(1, len(folders) // (jobs * CHUNKS_PER_JOB))
        chunks = [folders[i : i + size] for i in range(0, len(folders), size)]
        # A worker that dies (the OOM killer, a signal) takes its chunk with it: the rest is walked
        # again in fresh workers, once; what a second pool loses too is a hole in the audit, said
        # folder by folder. Never a wait for a result that will not come.
        done = 0
        for _attempt in range(2):
            try:
                for parts, chunk_notes in self._in_workers(chunks[done:], root, jobs):
                    done += 1
                    notes += _first_notes(chunk_notes, noted)
                    yield from parts
                return
            except WorkerDied:
                continue
        detail = (
            "not examined: the worker processes walking this folder ended abruptly twice (killed, or "
            "out of memory?), and what they found was lost; run the scan again, or with -j 1"
        )
        for chunk in chunks[done:]:
            for folder in chunk:
                yield [], Coverage(gaps=[Gap(display_path(folder), "scan-error", detail)])

    def _in_workers(self, chunks: list[list[str]], root: str, jobs: int) -> Iterator[_ChunkResult]:
        """Each chunk's result (_walk_chunk), in order, from `jobs` forked workers; WorkerDied
        when one of them ends before its chunk is done."""
        import multiprocessing

        # Forked, so the initializer's arguments reach the workers as they are, without pickling.
        # Ctrl-C is the parent's to handle: the workers ignore SIGINT, and SIGINT stays blocked
        # from before the forks until then, so none arrives in a worker before it ignores it (a
        # worker that dies of it prints a traceback and loses its chunk). The parent gets a
        # pending one as soon as it unblocks.
        context = multiprocessing.get_context("fork")
        blocked = _block_sigint()
        try:
            pool = context.Pool(jobs, initializer=_start_worker, initargs=(self, root, blocked))
        finally:
            _unblock_sigint(blocked)
        # Leaving this block by an exception (KeyboardInterrupt included), a dead worker or the
        # consumer closing the generator terminates the workers before anything else happens.
        with pool:
            workers = _workers(pool)
            results = pool.imap(_walk_chunk, chunks)
            while True:
                try:
                    yield results.next(timeout=WORKER_CHECK_SECONDS)
                except StopIteration:
                    return
                except multiprocessing.TimeoutError:
                    # A Pool replaces a worker that died and waits for ever on the chunk it held.
                    # Its workers never end on their own while there is work: one that has ended died.
                    if any(worker.exitcode is not None for worker in workers):
                        raise WorkerDied from None


class WorkerDied(Exception):
    """A forked walker ended before its chunk was done; its chunk's result will never come."""


# How often a parent waiting on its workers' next result checks they are all still there.
WORKER_CHECK_SECONDS = 0.25


def _workers(pool: Any) -> list[Any]:
    """The pool's worker processes (multiprocessing.Process), as it started them. multiprocessing.Pool
    keeps them in `_pool` (since Python 2.6; no public accessor)."""
    return list(pool._pool)


def _first_notes(gaps: list[Gap], noted: set[str]) -> list[Gap]:
    """`gaps` less the exposure-probe notes already in `noted` (which the rest are added to)."""
    kept = []
    for gap in gaps:
        if gap.reason == PROBE_NOTE:
            if gap.detail in noted:
                continue
            noted.add(gap.detail)
        kept.append(gap)
    return kept


# In a worker process only: the source and root it was started with (by _start_worker).
_worker: tuple[LocalSource, str] | None = None


def _start_worker(source: LocalSource, root: str, sigint_blocked: bool) -> None:
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends the workers
    _unblock_sigint(sigint_blocked)
    source.options.progress = None  # the parent reports progress as chunks come back
    _worker = (source, root)


def _block_sigint() -> bool:
    """Block SIGINT in this thread (the forks inherit the mask); False where that cannot be done."""
    if not hasattr(signal, "pthread_sigmask"):
        return False
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    return True


def _unblock_sigint(blocked: bool) -> None:
    if blocked:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _walk_chunk(folders: list[str]) -> _ChunkResult:
    """In a worker: walk the subtrees below `folders` with the source it was started with, each
    subtree's (artifacts, coverage) on its own so that the parent can put it in its place; and
    the exposure probe's notes."""
    assert _worker is not None, "only called in workers started by _start_worker"
    source, root = _worker
    visited: Visited = set()
    parts: list[tuple[list[Artifact], Coverage]] = []
    for top in folders:
        coverage = Coverage()
        artifacts: list[Artifact] = []
        stack = [top]
        while stack:
            directory = stack.pop()
            try:
                artifacts.extend(source._visit(directory, root, stack.append, visited, coverage))
            except Exception as exc:  # a bug must not lose the rest of the chunk silently
                coverage.gaps.append(
                    Gap(display_path(directory), "scan-error", f"{type(exc).__name__}: {exc}")
                )
        parts.append((artifacts, coverage))
    notes = Coverage()
    source.examiner.report_probe_notes(notes)
    return parts, notes.gaps


def _depth_first(root: str, listed: Mapping[str, _Listed]) -> list[str]:
    """The folders the parent listed, and those it left to the workers, in the order a walk in one
    process visits them: Walker.walk's stack, so a folder's subfolders in reverse listing order."""
    order: list[str] = []
    stack = [root]
    while stack:
        directory = stack.pop()
        order.append(directory)
        if directory in listed:
            stack.extend(listed[directory][2])
    return order
