"""`auditor scan --executor dask[:ADDRESS]`: one task per unit on a real dask.distributed cluster
of worker processes, against a real S3 server (moto) and a real folder tree, merged into one result
that must say exactly what a single-process scan says; a worker killed mid-task is retried, and
a task that keeps killing its worker is a coverage gap naming its shard and unit."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dask
import psutil
import pytest
from distributed import Client, LocalCluster, WorkerPlugin

from auditor.executors.on_dask import LOCAL_SCHEDULER
from tests.conftest import run_cli
from tests.conftest_s3 import S3World, fake_aws_env, moto_url, s3world
from tests.inventory_files import bucket_rows, write_inventory
from tests.test_merge import essence, practice
from tests.test_shard_s3_keys import PREFIXES, practice_bucket

__all__ = ["moto_url", "s3world"]  # fixtures used by this module

BUCKETS = ("clinic-a", "clinic-b", "clinic-c", "clinic-d")


ROLES = ("arn:aws:iam::111111111111:role/audit", "arn:aws:iam::222222222222:role/audit")


def clinics(w: S3World) -> list[str]:
    """Several buckets in two accounts (reached with --role-arn), each judged differently: public,
    encrypted, versioned, plain; and one in the default account, which those roles do not scan."""
    a, b = (w.as_role(role) for role in ROLES)
    a.bucket("clinic-a", acl="public-read")
    a.bucket("clinic-b", encryption="AES256")
    b.bucket("clinic-c", versioned=True)
    b.bucket("clinic-d")
    for i, (account, name) in enumerate(zip((a, a, b, b), BUCKETS, strict=True)):
        account.put(name, f"2023/client-{i}/session.wav", "session-dated.wav")
        account.put(name, f"notes/client-{i}.mp4", "session-audio.mp4")
        account.put(name, "agenda.txt", "agenda.txt")
    w.bucket("not-in-those-accounts")
    return [arg for role in ROLES for arg in ("--role-arn", role)]


def scan(tmp_path: Path, w: S3World, name: str, *args: str | Path) -> tuple[int, dict[str, Any], str]:
    out = tmp_path / f"{name}.json"
    res = run_cli("scan", "-q", "--fail-on", "critical", "--endpoint-url", w.url, *args, "-o", out)
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, json.loads(out.read_text()), res.output


DISCOVERED = re.compile(r"\(\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\)")


def same(result: dict[str, Any]) -> dict[str, Any]:
    """What an audit says (test_merge.essence), but the minute a breach was discovered: the scans
    compared run one after the other, and may straddle a minute."""
    return json.loads(DISCOVERED.sub("(discovered)", json.dumps(essence(result))))


def children() -> set[int]:
    """This process's children, but multiprocessing's resource tracker (one per process, for life)."""
    return {
        p.pid
        for p in psutil.Process().children(recursive=True)
        if "resource_tracker" not in " ".join(p.cmdline())
    }


def test_dask_scan_equals_a_single_process_scan(tmp_path: Path, s3world: S3World) -> None:
    roles = clinics(s3world)
    tree = practice(tmp_path / "practice")
    before = children()
    code, whole, _ = scan(tmp_path, s3world, "whole", "s3://", tree, *roles)
    dask_code, fanned, _ = scan(
        tmp_path, s3world, "dask", "s3://", tree, *roles, "--executor", "dask", "-j", "3"
    )
    assert children() == before  # the LocalCluster's worker processes are gone with it
    assert same(fanned) == same(whole)
    assert sorted(f["fingerprint"] for f in fanned["findings"]) == sorted(
        f["fingerprint"] for f in whole["findings"]
    )
    # every breach clock starts when the run started, as one scan's do (not when its task did)
    clocks = {f["evidence"]["discovered_at"] for f in fanned["findings"] if "discovered_at" in f["evidence"]}
    assert {datetime.fromisoformat(c) for c in clocks} == {datetime.fromisoformat(fanned["started"])}
    assert dask_code == code == 1  # the public bucket's recordings are critical: the same gate
    # each --role-arn account's buckets, each bucket judged with the account that owns it
    accounts = {b["location"]: b["facts"]["account"] for b in fanned["buckets"]}
    assert accounts == {b["location"]: b["facts"]["account"] for b in whole["buckets"]}
    assert sorted(set(accounts.values())) == ["111111111111", "222222222222"] and len(accounts) == 4
    executor = fanned["coverage"]["executor"]
    # one task per bucket, per top-level entry of the tree (10, its own files one), one for the rest
    assert executor == {
        "name": "dask",
        "scheduler": "LocalCluster",
        "workers": 3,  # -j 3
        "tasks": 4 + 10 + 1,
        "failed": 0,
    }
    # every task lists each account's buckets (that is the fan-out's price), and so did the plan
    calls = fanned["coverage"]["api_calls"]
    assert whole["coverage"]["api_calls"]["s3.ListBuckets"] == 2 and calls["s3.ListBuckets"] == 2 * (15 + 1)
    assert "scopes" not in fanned and not any("scope" in f for f in fanned["findings"])


class KillWorkerOn(WorkerPlugin):
    """Kills the worker process (os._exit, as the OOM killer would) when it starts a task whose
    key names `unit`: once (then the retry runs) when `marker` is given, else every time."""

    def __init__(self, unit: str, marker: str | None) -> None:
        self.unit, self.marker = unit, marker

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if finish != "executing" or not str(key).endswith(" " + self.unit):
            return
        if self.marker is not None:
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return  # killed once already: let the retry run
        sys.stderr.flush()
        os._exit(17)


class RaiseOn(WorkerPlugin):
    """Makes the scan of `unit` raise on the workers, every attempt, each leaving a file in
    `attempts` (the task's code is the real one; its scan is what fails)."""

    def __init__(self, unit: str, attempts: str) -> None:
        self.unit, self.attempts = unit, attempts

    def setup(self, worker: Any) -> None:
        import auditor.executors.task as task

        self.original = original = task.run_scan
        unit, attempts = self.unit, Path(self.attempts)

        def failing(targets: list[str], **kwargs: Any) -> Any:
            shard = kwargs["options"].shard
            if shard.units == {unit} and not shard.rest:
                (attempts / f"{os.getpid()}-{len(list(attempts.iterdir()))}").touch()
                raise RuntimeError("injected: this unit cannot be scanned")
            return original(targets, **kwargs)

        task.run_scan = failing

    def teardown(self, worker: Any) -> None:
        import auditor.executors.task as task

        task.run_scan = self.original


@pytest.fixture(scope="module")
def scheduler(
    moto_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LocalCluster, Client]]:
    """An existing scheduler for the address form: a LocalCluster of 2 worker processes started
    by the test (told, as the tool tells its own, to give up on a task after its second worker
    death), whose workers see the same fake AWS environment as s3world gives each test."""
    env = pytest.MonkeyPatch()
    fake_aws_env(env, tmp_path_factory.mktemp("aws"))
    env.setenv("AWS_ENDPOINT_URL_STS", moto_url)
    env.setenv("AWS_ENDPOINT_URL_S3_CONTROL", moto_url)
    try:
        with (
            dask.config.set(LOCAL_SCHEDULER),
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
            ) as cluster,
            Client(cluster) as client,
        ):
            yield cluster, client
    finally:
        env.undo()


def test_a_failed_task_is_retried_once_then_a_gap_naming_its_unit(
    tmp_path: Path, s3world: S3World, scheduler: tuple[LocalCluster, Client]
) -> None:
    bucket = practice_bucket(s3world)
    target = f"s3://{bucket}"
    _, whole, _ = scan(tmp_path, s3world, "whole", target)
    victim = f"{target}/bob/"
    cluster, client = scheduler
    # the address form: connects to the existing scheduler, and leaves it running
    address = f"dask:{cluster.scheduler_address}"
    client.register_plugin(KillWorkerOn(victim, str(tmp_path / "killed-once")), name="kill-once")
    _, retried, _ = scan(tmp_path, s3world, "retried", target, "--executor", address)
    assert (tmp_path / "killed-once").exists()  # the worker did die on its first attempt
    assert same(retried) == same(whole)
    assert retried["coverage"]["executor"]["failed"] == 0
    # the bucket, yielded by each task with a part of it, counts all of its objects once
    assert [b["facts"]["objects_seen"] for b in retried["buckets"]] == [
        b["facts"]["objects_seen"] for b in whole["buckets"]
    ]
    assert retried["buckets"][0]["facts"]["recordings"] == whole["buckets"][0]["facts"]["recordings"] == 19
    assert retried["coverage"]["executor"]["scheduler"] == cluster.scheduler_address
    assert cluster.status.name == "running" and client.status == "running"  # left as it was found

    client.unregister_worker_plugin("kill-once")
    client.register_plugin(KillWorkerOn(victim, None), name="kill-always")
    _, lost, _ = scan(tmp_path, s3world, "lost", target, "--executor", address)

    client.unregister_worker_plugin("kill-always")
    (tmp_path / "attempts").mkdir()
    raising = f"{target}/carol/"
    client.register_plugin(RaiseOn(raising, str(tmp_path / "attempts")), name="raise")
    _, raised, _ = scan(tmp_path, s3world, "raised", target, "--executor", address)
    client.unregister_worker_plugin("raise")
    assert len(list((tmp_path / "attempts").iterdir())) == 2  # its first attempt, and one retry
    failed = [g for g in raised["coverage"]["skipped"] if g["reason"] == "task-failed"]
    assert [g["location"] for g in failed] == [raising]
    assert "RuntimeError: injected: this unit cannot be scanned" in failed[0]["detail"]
    assert {r["location"] for r in raised["recordings"]} == {
        r["location"] for r in whole["recordings"] if not r["location"].startswith(raising)
    }
    failed = [g for g in lost["coverage"]["skipped"] if g["reason"] == "task-failed"]
    assert [g["location"] for g in failed] == [victim]
    assert "KilledWorker" in failed[0]["detail"] and "Dask task " in failed[0]["detail"]
    assert lost["coverage"]["complete"] is False and lost["coverage"]["executor"]["failed"] == 1
    # the run went on: every other prefix's recordings are there, none of the victim's
    expected = {r["location"] for r in whole["recordings"] if not r["location"].startswith(victim)}
    assert {r["location"] for r in lost["recordings"]} == expected
    assert len(expected) == len(whole["recordings"]) - 3 and len(PREFIXES) == 6


def test_executor_option_is_checked_before_scanning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    res = run_cli("scan", tmp_path, "--executor", "dask", "--shard", "1/2", "-o", tmp_path / "r.json")
    assert res.exit_code == 2 and "--shard and --executor dask" in res.output
    res = run_cli("scan", tmp_path, "--executor", "dask:", "-o", tmp_path / "r.json")
    assert res.exit_code == 2 and "scheduler's address" in res.output
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    res = run_cli("scan", tmp_path, "--executor", f"dask:tcp://127.0.0.1:{port}", "-o", tmp_path / "r.json")
    assert res.exit_code == 2 and f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in res.output
    monkeypatch.setitem(sys.modules, "distributed", None)  # as Python sees a package not installed
    res = run_cli("scan", tmp_path, "--executor", "dask", "-o", tmp_path / "r.json")
    assert res.exit_code == 2 and "pip install 'recording-auditor[dask]'" in res.output
    assert not (tmp_path / "r.json").exists()


def test_one_task_per_inventory_data_file(
    tmp_path: Path, s3world: S3World, scheduler: tuple[LocalCluster, Client]
) -> None:
    w = s3world
    w.bucket("box")
    w.bucket("inv")
    for i in range(8):
        w.put("box", f"s{i}.wav", "session.wav")
    rows = list(bucket_rows(w.s3, "box", versions=False))
    write_inventory(w.s3, "box", "inv", rows, files=4, created=datetime.now(UTC) + timedelta(minutes=1))
    inventory = ("--inventory", "s3://inv/inventories/")
    _, whole, _ = scan(tmp_path, w, "whole", "s3://box", *inventory)
    address = f"dask:{scheduler[0].scheduler_address}"
    _, fanned, _ = scan(tmp_path, w, "fanned", "s3://box", *inventory, "--executor", address)
    assert same(fanned) == same(whole)
    # four data files and the listing of what is newer than the snapshot, and the rest: no listing
    assert fanned["coverage"]["executor"]["tasks"] == 6
    assert not {"s3.ListObjectsV2", "s3.ListObjectVersions"} & set(fanned["coverage"]["api_calls"])


def test_sessions_of_one_process_share_the_service_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each Dask task opens its own sessions: reading S3's, STS's and S3 Control's models again
    # cost each task ~0.3 s of CPU (bench_dask.py). One loader per process, and no growing
    # search path from boto3 adding its data folder once per session.
    from auditor.sources.s3.client import S3Settings, base_session

    fake_aws_env(monkeypatch, tmp_path)
    sessions = [base_session(S3Settings.from_options({})) for _ in range(3)]
    loaders = {id(s._session.get_component("data_loader")) for s in sessions}
    assert len(loaders) == 1
    paths = sessions[0]._session.get_component("data_loader").search_paths
    assert len(paths) == len(set(paths))
    assert sessions[0].client("s3", region_name="us-east-1").meta.service_model.service_name == "s3"


def test_ctrl_c_while_the_cluster_starts_exits_130_and_leaves_no_worker(tmp_path: Path) -> None:
    tree = practice(tmp_path / "practice")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "auditor",
            "scan",
            str(tree),
            "--executor",
            "dask",
            "-o",
            str(tmp_path / "r.json"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    workers: list[psutil.Process] = []
    while not workers and time.monotonic() < deadline:  # the first worker process being spawned
        workers = [
            p
            for p in psutil.Process(proc.pid).children(recursive=True)
            if "spawn_main" in " ".join(p.cmdline())
        ]
        time.sleep(0.02)
    assert workers, "no worker process appeared"
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert "Traceback" not in out and "interrupted" in out
    assert not (tmp_path / "r.json").exists()
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive


def test_every_task_failing_on_the_same_bad_input_says_that_input() -> None:
    """Found by trying it: `--executor dask` on a bucket that does not exist said "every Dask task
    failed ... is recording-auditor installed on the workers?": the answer is the bucket."""
    from auditor.errors import InputError
    from auditor.executors.combine import Failure, combine
    from auditor.shard import Shard

    missing = "InputError: s3://no-such-bkt: bucket 'no-such-bkt' does not exist"
    shards = [
        Shard.planned(1, 2, frozenset({"s3://no-such-bkt/"})),
        Shard.planned(2, 2, frozenset(), rest=True),
    ]
    with pytest.raises(InputError) as caught:
        combine([], [Failure(s, missing) for s in shards], run_by="u@h", started="", finished="", executor={})
    assert (
        str(caught.value)
        == "--executor dask: nothing was scanned: s3://no-such-bkt: bucket 'no-such-bkt' does not exist"
    )
    with pytest.raises(InputError, match="is recording-auditor installed on the workers"):
        combine(
            [], [Failure(shards[0], "KilledWorker: gone")], run_by="u@h", started="", finished="", executor={}
        )
