"""Run planned shards on dask.distributed: one task per unit, streamed back with as_completed.

Failures are Dask's to handle: `retries=1` resubmits a task that raised, and the scheduler's
`allowed-failures` (set to 1 on the LocalCluster made here; an existing scheduler keeps its
own, 3 by default) reschedules a task whose worker died, and fails it with KilledWorker when
its worker dies again. Either way a task still failing is a coverage gap (combine.py), and the
run goes on with the others. Dask is imported here only, when `--executor dask` asks for it.
"""

from __future__ import annotations

import logging
import os
import signal
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from auditor.errors import InputError
from auditor.executors.combine import Failure, combine
from auditor.executors.task import Inputs, ScanJob, scan_shard
from auditor.result import who_runs
from auditor.shard import Shard

CONNECT_TIMEOUT = "10s"
# The LocalCluster's scheduler lives in this process and reads these when it is created. A task
# whose worker dies twice fails (KilledWorker). Every task a dead worker held counts a death, so
# a worker is given one task at a time (saturation 1.0: tasks wait on the scheduler, not on a
# worker beside the one that kills it); the tasks share one group (their keys' "auditor-scan"
# prefix), which is what lets the scheduler queue them.
LOCAL_SCHEDULER = {
    "distributed.scheduler.allowed-failures": 1,
    "distributed.scheduler.worker-saturation": 1.0,
}


@contextmanager
def connected(address: str | None, workers: int | None = None) -> Iterator[Any]:
    """A Client: of the scheduler at `address`, or of a LocalCluster of `workers` worker
    processes (default: one per CPU, at most 8; one thread each, as the scan's own threads do
    the waiting on S3), closed with every worker after."""
    import dask
    from distributed import Client, LocalCluster

    if address is not None:
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:  # refused, unreachable, a malformed address
            raise InputError(
                "--executor", f"cannot reach the Dask scheduler at {address}: {type(exc).__name__}: {exc}"
            ) from exc
        with client:
            yield client
        return
    with dask.config.set(LOCAL_SCHEDULER):
        with _interrupt_deferred() as interrupted:
            try:
                cluster = LocalCluster(
                    host="127.0.0.1",  # the scheduler and workers answer this machine only
                    n_workers=workers or min(os.cpu_count() or 1, 8),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address="127.0.0.1:0",  # its HTTP server always starts: loopback, a free port
                    silence_logs=logging.CRITICAL,  # a worker's death is reported as a gap, not a log page
                )
            except Exception as exc:  # the machine refuses processes or ports: not a bug of ours
                raise InputError(
                    "--executor", f"could not start a local Dask cluster: {type(exc).__name__}: {exc}"
                ) from exc
        if interrupted:  # Ctrl-C while it started: stop it whole, then be interrupted
            cluster.close()
            raise KeyboardInterrupt
        with cluster, Client(cluster) as client:
            yield client


@contextmanager
def _interrupt_deferred() -> Iterator[list[int]]:
    """Ctrl-C held back while a LocalCluster starts (a second or two): one interrupted half-way
    leaves workers Dask then fails to close at exit, with a page of tracebacks."""
    received: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, _frame: received.append(signum))
    except ValueError:  # not the main thread: nothing to defer
        yield received
        return
    try:
        yield received
    finally:
        signal.signal(signal.SIGINT, previous)


def run(
    job: ScanJob,
    inputs: Inputs,
    shards: Sequence[Shard],
    *,
    address: str | None,
    on_done: Callable[[int, int], None] | None = None,
    workers: int | None = None,
    planning_calls: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Every shard as a task; the merged result (combine.py)."""
    from distributed import as_completed

    started = datetime.now(UTC)
    results: list[tuple[Shard, dict[str, Any]]] = []
    failures: list[Failure] = []
    with connected(address, workers) as client:
        run_id = uuid.uuid4().hex[:8]
        # The inputs reach the workers once, as a task's result rather than scattered data: a
        # result whose workers all died is computed again, scattered data would be lost with them.
        shared = client.submit(_inputs, inputs, key=f"auditor-inputs-{run_id}", pure=False)
        futures = {
            client.submit(
                scan_shard,
                job,
                shared,
                shard,
                key=f"auditor-scan-{shard.index}of{shard.count}-{run_id} {_label(shard)}",
                retries=1,
                pure=False,
            ): shard
            for shard in shards
        }
        workers = len(client.scheduler_info().get("workers") or {})
        for done, future in enumerate(as_completed(futures), 1):
            shard = futures[future]
            try:
                results.append((shard, future.result()))
            except Exception as exc:  # the task's own error after its retry, KilledWorker, cancelled
                failures.append(Failure(shard, f"{type(exc).__name__}: {exc}"))
            future.release()
            if on_done is not None:
                on_done(done, len(futures))
    executor = {"name": "dask", "scheduler": address or "LocalCluster", "workers": workers}
    return combine(
        results,
        failures,
        run_by=who_runs(),
        started=started.isoformat(),
        finished=datetime.now(UTC).isoformat(),
        executor=executor,
        planning_calls=planning_calls,
    )


def _inputs(inputs: Inputs) -> Inputs:
    return inputs


def _label(shard: Shard) -> str:
    """The task's unit in its key, as the dashboard shows it."""
    if shard.rest or shard.units is None:
        return "(units not planned)"
    return next(iter(shard.units)) or "(own files)"
