"""Alert sinks through the outbox: the events file, the webhook (down, then up: delivered exactly once), the
system-log hint."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from auditor.watch.ledger import Ledger
from auditor.watch.outbox import Outbox
from auditor.watch.sinks import EventsFile, SyslogSink, WebhookSink
from auditor.watch.store import StateStore
from tests.test_watch_helpers import SAMPLE, drop, make_settings, read_events, running, wait_for


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _receiver(port: int, status: int = 200) -> Iterator[list[dict[str, object]]]:
    """A webhook receiver on 127.0.0.1:port; yields the list of (headers, body) it received."""
    received: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"id": self.headers["X-Auditor-Event-Id"], "body": json.loads(body)})
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()


def _event(n: int) -> dict[str, object]:
    return {
        "event": "finding",
        "id": f"id-{n}",
        "fingerprint": f"fp{n}",
        "rule": "recording-unencrypted",
        "category": "unencrypted",
        "severity": "high",
        "location": f"/srv/recordings/Client Name/{n}.m4a",
        "message": "m",
        "time": "2026-01-01T00:00:00+00:00",
    }


@contextmanager
def _outbox(state: Path, *sinks: WebhookSink) -> Iterator[Outbox]:
    store = StateStore(state)
    store.open()
    outbox = Outbox(store, list(sinks))
    outbox.start()
    try:
        yield outbox
    finally:
        outbox.close(timeout=5)
        store.close()


def test_webhook_down_then_up_delivers_each_event_exactly_once_and_the_watch_says_so(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    port = _free_port()
    settings = make_settings(
        tmp_path, tree, webhook_url=f"http://127.0.0.1:{port}/hook", webhook_backoff=(0.1, 0.4)
    )
    with running(settings) as daemon:
        (webhook,) = [w for w in daemon.outbox.workers if isinstance(w.sink, WebhookSink)]
        recording = drop(SAMPLE, tree / "a.amr")
        wait_for(lambda: read_events(settings.events_path), what="events while the webhook is down")
        wait_for(lambda: webhook.failures >= 2, what="failed deliveries")
        assert webhook.delivered == 0
        wait_for(lambda: daemon.health.state == "degraded", what="the watch to say the webhook is failing")
        assert any("webhook to 127.0.0.1: cannot deliver" in r for r in daemon.health.reasons())
        with _receiver(port) as received:
            logged = read_events(settings.events_path)
            wait_for(lambda: len(received) >= len(logged), what="delivery once the receiver is up")
            wait_for(lambda: webhook.backlog() == 0, what="an empty backlog")
            extra = drop(SAMPLE, tree / "b.amr")
            wait_for(lambda: any(r["body"]["location"] == str(extra) for r in received))  # type: ignore[index]
            wait_for(lambda: webhook.backlog() == 0)
            wait_for(
                lambda: daemon.health.state == "healthy", what="healthy once the webhook takes its events"
            )
            delivered = list(received)
    ids = [r["id"] for r in delivered]
    assert len(ids) == len(set(ids)), "an event was delivered twice"
    assert set(ids) == {e["id"] for e in read_events(settings.events_path)}
    assert any(r["body"]["location"] == str(recording) for r in delivered)  # type: ignore[index]
    assert [r["body"]["id"] for r in delivered] == ids  # the header names the body's event


def test_events_waiting_for_the_webhook_survive_a_restart(tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/hook"
    with _outbox(tmp_path, WebhookSink(url, backoff=(0.05, 0.1))) as first:
        first.commit(Ledger(), [_event(1), _event(2)])
        wait_for(lambda: first.workers[0].failures >= 1)
    assert (tmp_path / "watch.sqlite").stat().st_mode & 0o777 == 0o600
    with _receiver(port) as received:
        with _outbox(tmp_path, WebhookSink(url, backoff=(0.05, 0.1))) as second:
            wait_for(lambda: len(received) == 2, what="the waiting events after the restart")
            wait_for(lambda: second.workers[0].backlog() == 0)
        with _outbox(tmp_path, WebhookSink(url, backoff=(0.05, 0.1))) as third:  # nothing left to resend
            third.commit(Ledger(), [_event(3)])
            wait_for(lambda: len(received) == 3)
    assert [r["id"] for r in received] == ["id-1", "id-2", "id-3"]


def test_webhook_drops_an_event_the_receiver_rejects_and_moves_on(tmp_path: Path) -> None:
    port = _free_port()
    with _receiver(port, status=400) as received:
        sink = WebhookSink(f"http://127.0.0.1:{port}/", backoff=(0.05, 0.1))
        with _outbox(tmp_path, sink) as outbox:
            outbox.commit(Ledger(), [_event(1), _event(2)])
            wait_for(lambda: len(received) == 2 and outbox.workers[0].backlog() == 0)
            assert outbox.workers[0].failures == 0 and outbox.reasons() == []
    assert sink.rejected == 2


def test_events_file_is_private_append_only_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"event":"earlier"}\n')
    os.chmod(path, 0o600)
    sink = EventsFile(path)
    sink.deliver([_event(1)])
    sink.deliver([_event(2)])
    sink.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e.get("id") for e in lines] == [None, "id-1", "id-2"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    fresh = tmp_path / "new.jsonl"
    EventsFile(fresh).close()
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


def test_syslog_hint_names_no_folder_or_client(tmp_path: Path) -> None:
    sock = tmp_path / "log.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(sock))
    server.settimeout(5)
    try:
        sink = SyslogSink(["/srv/recordings"], address=str(sock))
        sink.deliver([_event(7)])
        message = server.recv(4096).decode()
        sink.close()
    finally:
        server.close()
    assert "fingerprint=fp7" in message and "rule=recording-unencrypted" in message
    assert "*.m4a in watched folder 1" in message
    assert "Client Name" not in message and "/srv" not in message
