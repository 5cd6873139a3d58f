"""The moto server a benchmark's child process runs (bench_s3, bench_inventory, bench_dask): the
child fills it, prints its URL and lives until its stdin closes, so the server's own CPU never
counts in the parent's measurements."""

from __future__ import annotations

import sys
from typing import Any


def start() -> tuple[Any, str, Any]:
    """A ThreadedMotoServer on a free port of 127.0.0.1: (server, its URL, an S3 client of it)."""
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    return server, url, boto3.client("s3", endpoint_url=url, region_name="us-east-1")


def serve_until_stdin_closes(server: Any, url: str) -> None:
    """Tell the parent where the filled server is, then keep it up until the parent is done."""
    print(url, flush=True)
    sys.stdin.read()
    server.stop()
