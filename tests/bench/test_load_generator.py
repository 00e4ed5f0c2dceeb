"""The benchmark's HTTP load generator (bench/harness.py ``load_test``) against a real server on
loopback: every request is sent whole and counted once, a response cut short or a refused
connection is an error (-1) with no latency, and the concurrency is what was asked."""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from harness import load_test  # noqa: E402


class _Server:
    """A threaded HTTP/1.1 server that closes every connection, as gunicorn's sync workers do.
    ``/ok`` echoes the body's length; ``/short`` promises more body than it sends;
    ``/garbled`` sends a Content-Length that is not a number; ``/slow`` answers after 50 ms.
    It records each request's body and the most connections open at once."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=256)
        self.port = self.sock.getsockname()[1]
        self.bodies: list[bytes] = []
        self.open = self.most_open = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with self.lock:
            self.open += 1
            self.most_open = max(self.most_open, self.open)
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            while len(body) < length:
                body += conn.recv(65536)
            path = head.split(b" ")[1]
            with self.lock:
                self.bodies.append(body)
            if path == b"/slow":
                time.sleep(0.05)
            if path == b"/short":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n"
                             b"only ten b")
            elif path == b"/garbled":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\nten bytes!")
            else:
                reply = str(len(body)).encode()
                conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: "
                             + str(len(reply)).encode() + b"\r\nConnection: close\r\n\r\n" + reply)
        finally:
            with self.lock:
                self.open -= 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture()
def server():
    s = _Server()
    yield s
    s.close()


def test_every_request_is_sent_whole_and_counted_once(server):
    bodies = [b"a" * 10, b"b" * 300_000]  # the second takes many partial sends
    result = load_test(f"http://127.0.0.1:{server.port}", "/ok", bodies, total=40,
                       concurrency=8, max_seconds=60)
    assert result["requests"] == 40 and result["statuses"] == {"201": 40}
    assert sorted(server.bodies) == sorted(bodies * 20)
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    assert result["rps"] == pytest.approx(40 / result["seconds"])


def test_concurrency_is_what_was_asked(server):
    result = load_test(f"http://127.0.0.1:{server.port}", "/slow", [b"x"], total=24,
                       concurrency=6, max_seconds=60)
    assert result["statuses"] == {"201": 24}
    assert server.most_open == 6
    assert result["p50_ms"] >= 50  # each waited for the server's 50 ms
    assert result["seconds"] < 24 * 0.05  # not one at a time


@pytest.mark.parametrize("path", ["/short", "/garbled"])
def test_a_response_cut_short_or_garbled_is_an_error_without_a_latency(server, path):
    result = load_test(f"http://127.0.0.1:{server.port}", path, [b"x"], total=5,
                       concurrency=2, max_seconds=60)
    assert result["statuses"] == {"-1": 5} and result["requests"] == 0


def test_a_refused_connection_is_an_error():
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    result = load_test(f"http://127.0.0.1:{port}", "/ok", [b"x"], total=3, concurrency=2,
                       max_seconds=10)
    assert result["statuses"] == {"-1": 3} and result["requests"] == 0


def test_no_request_starts_after_max_seconds(server):
    result = load_test(f"http://127.0.0.1:{server.port}", "/slow", [b"x"], total=1000,
                       concurrency=2, max_seconds=0.3)
    assert 0 < result["requests"] < 1000
    assert sum(result["statuses"].values()) == result["requests"] == len(server.bodies)
