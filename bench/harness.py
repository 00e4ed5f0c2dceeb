"""Plumbing for bench/run.py: child processes with their peak memory, a deployment (anvil,
gunicorn and the worker, from tests/kit) and a small HTTP load generator. No figures are decided
here."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SERVICE = ROOT / "service"
sys.path[:0] = [str(SERVICE), str(ROOT / "tests")]

from kit.anvil import ANVIL_CHAIN_ID, start_anvil, stop_process  # noqa: E402
from kit.service import Service, deploy_service  # noqa: E402

CHAIN_ID = ANVIL_CHAIN_ID
__all__ = ["CHAIN_ID", "Service", "deploy", "load_test", "machine", "run_measured",
           "start_anvil", "start_services", "stop_process"]



def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SERVICE) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH")
                                        else "")
    env.setdefault("NODE_ENV", "development")  # the OA CLI's online version check aborts offline
    env.update(extra or {})
    return env


@dataclass
class Run:
    """A finished child process: its output, wall time and peak RSS (the largest of it and
    its reaped descendants, as the kernel reports through wait4)."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mb: float

    def json(self) -> Any:
        lines = [ln for ln in self.stdout.splitlines() if ln.startswith("{")]
        if self.returncode != 0 or not lines:
            raise RuntimeError(f"child failed ({self.returncode}): {self.stderr[-2000:]}")
        return json.loads(lines[-1])


# Linux keeps a process's peak RSS across exec, and a child starts as a copy of its parent, so
# a child of this process never reported less than this process's own peak (88-104 MB once
# harness and credanchor are imported): `credanchor status` read 91 MB where /usr/bin/time saw
# 31. A launcher of a few MB (python -S) forks the command, reaps it with wait4 and reports the
# command's own peak RSS (and its reaped descendants') and wall time through a pipe.
_LAUNCHER = r"""
import os, sys, time
fd = int(sys.argv[1])
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.close(fd)
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    except OSError as exc:
        os.write(2, f"{sys.argv[2]}: {exc}\n".encode())
    os._exit(127)
_, status, usage = os.wait4(pid, 0)
os.write(fd, f"{usage.ru_maxrss} {time.perf_counter() - t0}".encode())
code = os.waitstatus_to_exitcode(status)
os._exit(code if code >= 0 else 128 - code)
"""


def run_measured(cmd: list[str], *, timeout: float, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> Run:
    """Run ``cmd`` to completion through the launcher above: its wall time and its own peak
    RSS (with its reaped descendants'), as wait4 reports them.

    Dirty pages left by the previous measurement (a 1.5 GB ledger, 100,000 files) are flushed
    first: otherwise their writeback lands on this one (a 1M pipeline took 99 s instead of 50).
    """
    import signal
    import threading

    os.sync()
    report_r, report_w = os.pipe()
    try:
        proc = subprocess.Popen([sys.executable, "-S", "-c", _LAUNCHER, str(report_w), *cmd],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env or child_env(), cwd=str(cwd or ROOT), pass_fds=(report_w,),
                                start_new_session=True)  # its own group: a timeout kills both
    finally:
        os.close(report_w)
    chunks: dict[str, bytes] = {}

    def drain(name: str, stream: Any) -> None:
        chunks[name] = stream.read()

    threads = [threading.Thread(target=drain, args=("out", proc.stdout)),
               threading.Thread(target=drain, args=("err", proc.stderr)),
               threading.Thread(target=drain, args=("report", os.fdopen(report_r, "rb")))]
    for t in threads:
        t.start()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for t in threads:
            t.join()
        raise RuntimeError(f"timed out after {timeout:.0f} s: {' '.join(cmd[:4])}") from None
    for t in threads:
        t.join()
    report = chunks.get("report", b"").split()
    if len(report) != 2:
        raise RuntimeError(f"the launcher failed ({proc.returncode}): "
                           f"{chunks.get('err', b'')[-2000:].decode('utf-8', 'replace')}")
    return Run(proc.returncode, chunks.get("out", b"").decode("utf-8", "replace"),
               chunks.get("err", b"").decode("utf-8", "replace"), float(report[1]),
               int(report[0]) / 1024)


# --- anvil and a deployment: tests/kit ----------------------------------------------------------
# anvil start-and-wait, the contract, a funded issuer, gunicorn and the worker are the same
# plumbing the reliability tests use (tests/kit/anvil.py, tests/kit/service.py).

def deploy(data_dir: Path, *, batch_size: int) -> Service:
    """anvil, the contract, one funded and accredited issuer with an API key; ``start`` then
    runs gunicorn and the worker (``procs`` = [gunicorn, worker]), ``close`` stops everything."""
    node = start_anvil()
    try:
        return deploy_service(
            node, data_dir, wei=10**22, password="bench-password",
            CREDANCHOR_CHAIN="rpc",
            CREDANCHOR_BATCH_SIZE=str(batch_size),
            CREDANCHOR_BATCH_MAX_AGE="1",
            CREDANCHOR_WORKER_INTERVAL="0.2",
            CREDANCHOR_RPC_TIMEOUT="10",
            # The load test is one client on loopback; the per-client limit would cap it at 10/s.
            CREDANCHOR_PUBLIC_RATE_LIMIT="100000000/minute",
            CREDANCHOR_LOG_LEVEL="WARNING",
        )
    except BaseException:
        node.stop()
        raise


def start_services(dep: Service, api_workers: int) -> None:
    dep.start(workers=api_workers, log=dep.data_dir / "services.log",
              gunicorn_args=("--backlog", "2048"))


# --- HTTP load generator ----------------------------------------------------------------------
# One thread, non-blocking sockets and epoll: the generator shares the 2 cores with the server
# it measures, so it must cost little. asyncio's streams cost ~525 µs of CPU a request here
# (2026-12-01), a quarter of what the two workers spent; this loop costs a fraction of that.


class _Exchange:
    """One request on its own connection, from connect until the server closes it."""

    __slots__ = ("chunks", "request", "sent", "sock", "started")

    def __init__(self, addr: tuple[str, int], request: bytes) -> None:
        self.request, self.sent = request, 0
        self.chunks: list[bytes] = []
        self.started = time.perf_counter()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.connect_ex(addr)  # EINPROGRESS: writable once connected

    def status(self) -> int:
        """The response's status, or -1 when it is cut short or unreadable."""
        data = b"".join(self.chunks)
        head, sep, body = data.partition(b"\r\n\r\n")
        try:
            status = int(head.split(b" ", 2)[1])
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length" and len(body) < int(value):
                    return -1
        except (IndexError, ValueError):
            return -1
        return status if sep else -1


def _load(host: str, port: int, requests: list[bytes], concurrency: int,
          max_seconds: float) -> tuple[list[float], dict[int, int], float]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = iter(requests)
    addr = (socket.gethostbyname(host), port)
    poller = select.epoll()
    open_: dict[int, _Exchange] = {}
    t0 = time.perf_counter()
    deadline = t0 + max_seconds

    def begin() -> None:
        if time.perf_counter() > deadline:
            return
        request = next(queue, None)
        if request is not None:
            ex = _Exchange(addr, request)
            open_[ex.sock.fileno()] = ex
            poller.register(ex.sock.fileno(), select.EPOLLOUT)

    def end(fd: int, ex: _Exchange, status: int) -> None:
        poller.unregister(fd)
        ex.sock.close()
        del open_[fd]
        if status > 0:
            latencies.append(time.perf_counter() - ex.started)
        statuses[status] = statuses.get(status, 0) + 1
        begin()

    try:
        for _ in range(concurrency):
            begin()
        while open_:
            if time.perf_counter() > deadline + 60:  # a server that stopped answering
                for fd, ex in list(open_.items()):
                    end(fd, ex, -1)
                break
            for fd, events in poller.poll(1.0):
                ex = open_[fd]
                try:
                    if events & select.EPOLLOUT:
                        ex.sent += ex.sock.send(ex.request[ex.sent:])
                        if ex.sent == len(ex.request):
                            poller.modify(fd, select.EPOLLIN)
                        continue
                    data = ex.sock.recv(65536)
                except OSError:
                    end(fd, ex, -1)
                    continue
                if data:
                    ex.chunks.append(data)
                else:  # Connection: close — the response is complete when the server closes
                    end(fd, ex, ex.status())
    finally:
        for ex in open_.values():
            ex.sock.close()
        poller.close()
    return latencies, statuses, time.perf_counter() - t0


def load_test(base: str, path: str, bodies: list[bytes], *, total: int, concurrency: int,
              max_seconds: float) -> dict[str, Any]:
    """POST ``total`` requests (cycling through ``bodies``) with ``concurrency`` connections at
    once, bounded by ``max_seconds``; one new connection per request (gunicorn's sync workers
    close it anyway)."""
    hostport = base.split("//", 1)[1]
    host, port = hostport.rsplit(":", 1)
    reqs = []
    for i in range(total):
        body = bodies[i % len(bodies)]
        reqs.append(
            f"POST {path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
        )
    latencies, statuses, seconds = _load(host, int(port), reqs, concurrency, max_seconds)
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies \
            else float("nan")

    return {"requests": len(latencies), "seconds": seconds,
            "rps": len(latencies) / seconds if seconds else 0.0, "p50_ms": pct(0.50),
            "p99_ms": pct(0.99), "statuses": {str(k): v for k, v in statuses.items()},
            "concurrency": concurrency}


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass

    def version(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "unavailable"

    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem_gib,
            "python": sys.version.split()[0], "node": version(["node", "--version"]),
            "kernel": os.uname().release}
