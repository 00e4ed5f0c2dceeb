"""A counting JSON-RPC proxy: a real HTTP hop in front of a real node (anvil) that counts every
request (round trip) and every JSON-RPC call crossing it, for tests that bound chain reads."""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests


class CountingProxy:
    """Forwards JSON-RPC POSTs to ``upstream`` unchanged and counts them."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.requests = 0
        self.methods: Counter[str] = Counter()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                payload = json.loads(body)
                with proxy._lock:
                    proxy.requests += 1
                    for call in payload if isinstance(payload, list) else [payload]:
                        proxy.methods[call["method"]] += 1
                reply = requests.post(proxy.upstream, data=body, timeout=60,
                                      headers={"Content-Type": "application/json"})
                self.send_response(reply.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply.content)))
                self.end_headers()
                self.wfile.write(reply.content)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self) -> None:
        with self._lock:
            self.requests = 0
            self.methods.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
