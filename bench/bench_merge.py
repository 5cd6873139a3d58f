"""Benchmark `auditor merge`: 40 results of 25,000 findings each (not a test).

Writes N synthetic results shaped like a real scan (bench_report's generator, one laptop each),
then, in the same run:

- baseline: a bare JSON load of the same N files (orjson, what any merge must at least pay), its
  time in this process (best of 2) and its peak RSS in a process of its own that keeps every
  parsed input alive (what a merge holding all its inputs at once would need before merging);
- `auditor merge ... -o all.json -o all.html` as a real process: wall time, peak RSS;
- the merged report opened from file:// in headless Chromium: seconds to the first page of
  findings (`html[data-ready]`, on the first scope in a merge this large), against the issue's
  5 s target; a severity filter; and choosing "All scopes" (every scope's part read).

    python bench/bench_merge.py                 # 40 x 25,000; updates "## Merge" in docs/benchmarks.md
    python bench/bench_merge.py 10 5000         # N inputs x findings each (never touches the doc)
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_report import CHROMIUM_ARGS, measure_browser, synthetic_result  # noqa: E402
from benchdoc import write_section  # noqa: E402

from auditor.contract import dumps  # noqa: E402

INPUTS, FINDINGS = 40, 25_000
TARGET_S = 5.0


def write_inputs(folder: Path, inputs: int, findings: int) -> list[Path]:
    paths = []
    for i in range(inputs):
        result = synthetic_result(findings, seed=i)
        result["run_by"] = f"therapist@laptop-{i:02d}"
        path = folder / f"laptop-{i:02d}.json"
        path.write_text(dumps(result), encoding="utf-8")
        paths.append(path)
    return paths


def bare_load(paths: list[Path]) -> float:
    import orjson

    start = time.perf_counter()
    loaded = [orjson.loads(p.read_bytes()) for p in paths]
    took = time.perf_counter() - start
    del loaded
    return took


def bare_load_rss(paths: list[Path]) -> float:
    """Peak RSS in MB of a process that parses every input with orjson and keeps them all."""
    code = (
        "import sys, orjson, resource\n"
        "kept = [orjson.loads(open(p, 'rb').read()) for p in sys.argv[1:]]\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, paths)], capture_output=True, text=True, check=True
    )
    return int(done.stdout.strip()) / 1024


def measure_all_scopes(path: Path) -> float:
    """Seconds from choosing "All scopes" until every scope's findings are counted."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(path.as_uri(), wait_until="commit")
        page.wait_for_selector("html[data-ready]", timeout=60_000)
        start = time.perf_counter()
        page.select_option("#f-group", "")
        page.wait_for_selector("html[data-ready]:not([data-loading])", timeout=120_000)
        took = time.perf_counter() - start
        browser.close()
    return took


def run_merge(paths: list[Path], out: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit code) of a real `auditor merge` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "auditor", "merge", "-q", "--fail-on", "none", *map(str, paths),
         "-o", str(out / "all.json"), "-o", str(out / "all.html")],
        capture_output=True, text=True,
    )  # fmt: skip
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"auditor merge failed ({done.returncode}): {done.stderr[-2000:]}")
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return took, peak, done.returncode


def run(inputs: int, findings: int) -> dict[str, Any]:
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = write_inputs(folder, inputs, findings)
        json_mb = sum(p.stat().st_size for p in paths) / 1e6
        baseline = min(bare_load(paths) for _ in range(2))
        baseline_rss = bare_load_rss(paths)
        wall, peak, _ = run_merge(paths, folder)
        html = folder / "all.html"
        first, filtered = measure_browser(html)
        all_scopes = measure_all_scopes(html)
        row = {
            "inputs": inputs,
            "findings": inputs * findings,
            "json_mb": json_mb,
            "html_mb": html.stat().st_size / 1e6,
            "merged_json_mb": (folder / "all.json").stat().st_size / 1e6,
            "baseline_s": baseline,
            "merge_s": wall,
            "ratio": wall / baseline,
            "peak_mb": peak,
            "baseline_rss_mb": baseline_rss,
            "rss_ratio": peak / baseline_rss,
            "first_page_s": first,
            "filter_s": filtered,
            "all_scopes_s": all_scopes,
            "load": load,
        }
    print(
        f"{inputs} inputs x {findings:,} findings ({json_mb:.0f} MB of JSON): bare load {baseline:.2f} s; "
        f"auditor merge -o .json -o .html {wall:.2f} s ({row['ratio']:.1f}x the bare load), peak RSS "
        f"{peak:,.0f} MB ({row['rss_ratio']:.2f}x the {baseline_rss:,.0f} MB of all inputs parsed and kept); "
        f"report {row['html_mb']:.1f} MB, first page in Chromium {first:.2f} s "
        f"(target {TARGET_S:.0f} s), a filter {filtered * 1000:.0f} ms, all scopes read in {all_scopes:.2f} s",
        flush=True,
    )
    return row


def write_docs(row: dict[str, Any]) -> None:
    from datetime import date

    met = row["first_page_s"] <= TARGET_S
    section = (
        "## Merge\n\n"
        f"`python bench/bench_merge.py` writes {row['inputs']} synthetic results (bench_report's generator, one "
        f"laptop each, {row['findings'] // row['inputs']:,} findings each, {row['json_mb']:.0f} MB of JSON), "
        "then in the same run loads them bare (orjson, best of 2: the time baseline; and in a process of its own "
        "that keeps every parsed input: the memory baseline), runs `auditor merge -o all.json -o all.html` as a "
        "real process, and opens the merged report from file:// in headless Chromium: the first page (on the "
        'first scope, `html[data-ready]`), a severity filter, and choosing "All scopes" (every scope\'s part '
        f"read). Measured on the 2-core project machine, {date.today().isoformat()}, load average "
        f"{row['load']:.1f} at the start (other engineers' work).\n\n"
        "| inputs | findings | bare JSON load | `auditor merge` (JSON + HTML) | ratio | all inputs kept (RSS) | "
        "merge peak RSS | ratio | HTML report | Chromium: first page | a filter | all scopes |\n"
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        f"| {row['inputs']} | {row['findings']:,} | {row['baseline_s']:.2f} s | {row['merge_s']:.2f} s | "
        f"{row['ratio']:.1f}x | {row['baseline_rss_mb']:,.0f} MB | {row['peak_mb']:,.0f} MB | "
        f"{row['rss_ratio']:.2f}x | {row['html_mb']:.1f} MB | {row['first_page_s']:.2f} s | "
        f"{row['filter_s'] * 1000:.0f} ms | {row['all_scopes_s']:.2f} s |\n\n"
        + (
            f"The merged report opens in {row['first_page_s']:.2f} s: the 5 s target is met.\n"
            if met
            else f"The merged report takes {row['first_page_s']:.2f} s to open: **the 5 s target is missed**.\n"
        )
        + "\nHow: a merge past 50,000 findings embeds each scope as its own part (gzip in base64, rows as "
        "columns, each fingerprint the script can compute left out) and opens on its first scope, reading that "
        "part alone; the report's summary, scopes table, breaches and coverage are in the page itself "
        "(docs/report.md). Before this (2026-12-02, one block of every row, under a load average above 15): "
        "195 MB, 19.32 s to the first page, 2811 ms a filter, merge peak RSS 4,632 MB; the same file opened "
        "in 6.3 s on a quieter machine. The merge's peak is the merged findings and the rendering of the "
        "outputs, not the inputs: they are read one at a time and let go once merged.\n"
    )
    write_section(section)


def main(argv: list[str]) -> None:
    inputs, findings = (int(argv[0]), int(argv[1])) if len(argv) == 2 else (INPUTS, FINDINGS)
    row = run(inputs, findings)
    if (inputs, findings) == (INPUTS, FINDINGS):
        write_docs(row)
        print("wrote the Merge section of docs/benchmarks.md")
    else:
        print("(chosen sizes: docs/benchmarks.md left alone; a full run updates it)")


if __name__ == "__main__":
    main(sys.argv[1:])
