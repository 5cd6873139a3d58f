"""Dask benchmark: `auditor scan --executor dask` on 1, 2 and 4 workers against the single-process
scan of the same buckets, in the same run.

A moto S3 server runs in a child process on 127.0.0.1. It holds --buckets buckets (the units of an
`s3://` scan) and one bucket with --buckets top-level prefixes (the units of an `s3://bucket`
scan: key-range shards, plus its own level), each unit --objects objects of which 5% are real
recordings; the `s3://` scan has that bucket as one more unit. Each
measured scan is a real `auditor scan` process. For each worker count a LocalCluster of that many
processes (one thread each) is started here, timed on its own, and the scan is given its address
(`--executor dask:ADDRESS`); the scan that starts its own cluster (`--executor dask`, one worker
per CPU) is timed too, since that is what a user runs. Every Dask result must hold exactly the
single-process scan's findings (by fingerprint), or the benchmark fails.

On the 2-core project machine the point is correctness and overhead, not speed-up: each task
plans, opens its S3 clients and gathers its bucket's facts again, and the server is one more
Python process on the same two cores. Prints units per second, each run's ratio to the
single-process scan and the overhead in seconds; writes "## Dask" in docs/benchmarks.md.

    python bench/bench_dask.py                       # 8 buckets, 8 prefixes, best of 2
    python bench/bench_dask.py --buckets 6 --runs 1 --no-doc
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import moto_child  # bench/ is the script's own folder
from benchdoc import write_section

REPO = Path(__file__).resolve().parent.parent
MEDIA = REPO / "tests" / "fixtures" / "media"
BIG = "bench-one-bucket"
FIXTURES = ("session.wav", "session.m4a", "session.mp3", "session-dated.wav")
RECORDING_EVERY = 20  # 5%
WORKERS = (1, 2, 4)


def keys(unit: int, objects: int) -> list[tuple[str, str | None]]:
    out = []
    for i in range(objects):
        if i % RECORDING_EVERY == RECORDING_EVERY // 2:
            fixture = FIXTURES[(unit + i) % len(FIXTURES)]
            out.append((f"client-{unit}-{i}/session{Path(fixture).suffix}", fixture))
        else:
            out.append((f"notes/{i:05d}.pdf", None))
    return out


def serve(buckets: int, objects: int) -> None:
    """Child process: start moto, fill the buckets, print the URL, live until stdin closes."""
    from moto.s3.models import s3_backends

    server, url, s3 = moto_child.start()
    backend = s3_backends["123456789012"]["aws"]
    media = {name: (MEDIA / name).read_bytes() for name in FIXTURES}
    s3.create_bucket(Bucket=BIG)
    for unit in range(buckets):
        name = f"bench-clinic-{unit:02d}"
        s3.create_bucket(Bucket=name)
        for bucket, prefix in ((name, ""), (BIG, f"therapist-{unit:02d}/")):
            for key, fixture in keys(unit, objects):
                if fixture is None:  # straight into the store: uploads would measure moto, not us
                    backend.put_object(bucket, prefix + key, b"not media")
                else:
                    s3.put_object(Bucket=bucket, Key=prefix + key, Body=media[fixture])
    moto_child.serve_until_stdin_closes(server, url)


def scan(url: str, target: str, out: Path, *extra: str) -> tuple[float, dict[str, Any]]:
    command = [sys.executable, "-m", "auditor", "scan", target, "--endpoint-url", url, "-q"]
    command += ["--fail-on", "none", "-o", str(out), *extra]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}: {done.stderr[-2000:]}")
    return seconds, json.loads(out.read_text())


def fingerprints(result: dict[str, Any]) -> list[str]:
    return sorted(f["fingerprint"] for f in result["findings"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--buckets", type=int, default=8, help="buckets, and prefixes of the one bucket")
    parser.add_argument("--objects", type=int, default=50, help="objects per bucket or prefix")
    parser.add_argument("--runs", type=int, default=2, help="alternated runs; the best of each is kept")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.buckets, args.objects)
        return 0

    import dask
    from distributed import LocalCluster

    sys.path.insert(0, str(REPO))
    from auditor.executors.on_dask import LOCAL_SCHEDULER

    env = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ.update(env)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    print(f"filling moto: {args.buckets} buckets and {args.buckets} prefixes of {args.objects} objects ...")
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--buckets", str(args.buckets), "--objects", str(args.objects)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    scenarios = {"buckets (s3://)": "s3://", f"prefixes (s3://{BIG})": f"s3://{BIG}"}
    best: dict[tuple[str, str], float] = {}
    tasks: dict[str, int] = {}
    starts: dict[int, float] = {}
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        if not url.startswith("http://"):
            print("the moto server did not start", file=sys.stderr)
            return 1
        # moto serves STS and S3 Control too, named as a user would name them.
        os.environ["AWS_ENDPOINT_URL_STS"] = os.environ["AWS_ENDPOINT_URL_S3_CONTROL"] = url
        out = Path(tempfile.mkdtemp(prefix="bench-dask-"))

        def keep(key: tuple[str, str], seconds: float) -> None:
            best[key] = min(seconds, best.get(key, float("inf")))

        expected: dict[str, list[str]] = {}
        for name, target in scenarios.items():  # warm the server and the page cache, untimed
            expected[name] = fingerprints(scan(url, target, out / "warm.json")[1])
        for run in range(args.runs):
            for workers in WORKERS:
                started = time.perf_counter()
                with (
                    dask.config.set(LOCAL_SCHEDULER),
                    LocalCluster(
                        n_workers=workers,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address="127.0.0.1:0",
                    ) as cluster,
                ):
                    starts[workers] = min(time.perf_counter() - started, starts.get(workers, float("inf")))
                    for name, target in scenarios.items():
                        seconds, single = scan(url, target, out / "single.json")
                        keep((name, "single"), seconds)
                        seconds, fanned = scan(
                            url, target, out / "dask.json", "--executor", f"dask:{cluster.scheduler_address}"
                        )
                        keep((name, f"{workers}"), seconds)
                        tasks[name] = fanned["coverage"]["executor"]["tasks"]
                        if fingerprints(fanned) != expected[name] or fingerprints(single) != expected[name]:
                            print(f"{name}, {workers} workers: findings differ from the single scan's")
                            return 1
                        if fanned["coverage"]["executor"]["failed"]:
                            print(f"{name}, {workers} workers: a task failed")
                            return 1
            for name, target in scenarios.items():
                seconds, fanned = scan(url, target, out / "own.json", "--executor", "dask")
                keep((name, "own"), seconds)
                if fingerprints(fanned) != expected[name]:
                    print(f"{name}, own cluster: findings differ from the single scan's")
                    return 1
            print(f"run {run + 1} of {args.runs} done", flush=True)
    finally:
        if child.stdin:
            child.stdin.close()
        child.wait(timeout=60)

    rows = []
    for name in scenarios:
        units = tasks[name] - 1  # one task per unit, and one for units not planned
        single = best[(name, "single")]
        cells = [name, f"{units}", f"{single:.2f} s ({units / single:.1f}/s)"]
        for workers in WORKERS:
            seconds = best[(name, f"{workers}")]
            cells.append(
                f"{seconds:.2f} s ({units / seconds:.1f}/s, {seconds / single:.2f}x, +{seconds - single:.2f} s)"
            )
        own = best[(name, "own")]
        cells.append(f"{own:.2f} s ({own / single:.2f}x)")
        rows.append("| " + " | ".join(cells) + " |")
    header = (
        "| units | n | single process | Dask, 1 worker | Dask, 2 workers | Dask, 4 workers | `--executor dask` "
        "(starts its own cluster) |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cluster_starts = ", ".join(f"{w} worker{'s' * (w > 1)} {starts[w]:.2f} s" for w in WORKERS)
    text = "\n".join(
        [
            "## Dask",
            "",
            f"`python bench/bench_dask.py --buckets {args.buckets} --objects {args.objects} --runs {args.runs}`: "
            f"`auditor scan` as a real process against moto (its own process), {args.objects} objects per unit "
            f"(5% real recordings), best of {args.runs} alternated runs; each cell is wall time (units per "
            "second, ratio to the single-process scan of the same run, overhead). A LocalCluster started "
            "beforehand is given by address; its start is not in the cell "
            f"({cluster_starts}). Every Dask result held exactly the single scan's findings. Measured "
            f"{date.today().isoformat()} on {platform.machine()} with {os.cpu_count()} CPUs, load average "
            f"{load:.1f} (other engineers' work on the same cores).",
            "",
            header,
            *rows,
            "",
            f"Tasks per run: {', '.join(f'{n}: {t}' for n, t in tasks.items())} (one per unit, one for units not "
            "planned). On two cores Dask buys no speed: each task starts its S3 clients, lists the buckets (or "
            "the bucket's prefixes) and reads its bucket's facts again, the results travel back pickled and "
            "are merged, and the moto server competes for the same CPUs. The overhead column is what the "
            "fan-out costs; the speed-up belongs on a cluster whose workers have their own cores and network.",
        ]
    )
    print(text)
    if not args.no_doc:
        write_section(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
