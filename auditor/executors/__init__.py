"""Executors: where a scan's work runs (`auditor scan --executor`).

- `local` (the default): in this process, with the standard library's threads (S3) and forked
  walkers (large local trees), as it always has. Nothing here is imported for it.
- `dask[:ADDRESS]`: the work is planned as units (auditor.shard), each unit a task on
  dask.distributed (a LocalCluster of processes, or the scheduler at ADDRESS); the results come
  back as they finish and are merged with `auditor merge`'s code into one result. Dask does the
  scheduling, retrying and worker supervision: nothing here is a scheduler, queue or protocol.

plan.py plans the units, task.py is what runs on a worker, combine.py merges the results,
on_dask.py talks to Dask.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

DASK_MISSING = (
    "--executor dask needs Dask, an optional extra of recording-auditor: "
    "pip install 'recording-auditor[dask]'"
)


@dataclass(frozen=True)
class ExecutorSpec:
    """Where the scan runs (`--executor`): in this process, or on Dask."""

    name: str  # "local" or "dask"
    address: str | None = None  # dask: a scheduler's address; None: a LocalCluster of processes

    @classmethod
    def parse(cls, text: str) -> ExecutorSpec:
        """`local`, `dask` or `dask:ADDRESS` (e.g. dask:tcp://10.0.0.5:8786); ValueError otherwise,
        and when Dask is not installed (checked without importing it: a plain scan stays light)."""
        name, sep, address = text.strip().partition(":")
        if name == "local" and not sep:
            return cls("local")
        if name != "dask":
            raise ValueError(f"{text!r}: choose local, dask, or dask:ADDRESS (a scheduler, tcp://host:8786)")
        if sep and not address.strip():
            raise ValueError(f"{text!r}: give the scheduler's address after dask: (dask:tcp://host:8786)")
        if importlib.util.find_spec("distributed") is None:
            raise ValueError(DASK_MISSING)
        return cls("dask", address.strip() or None)
