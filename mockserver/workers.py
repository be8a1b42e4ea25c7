"""`serve --workers N`: one listening socket, N forked server processes, one shared state.

The parent builds the app once (the population, keys and registry are then shared copy-on-write), binds
the socket, and forks the workers; the kernel spreads connections among them. The state they must agree
on lives in the store (state/): SQLite in WAL mode by default, Redis with `--state redis://…`. The parent
only supervises: it restarts a worker that dies, forwards SIGINT/SIGTERM and waits for all to stop.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from types import FrameType

RESTART_PAUSE = 0.5  # seconds before a dead worker is replaced, so a crash loop does not spin
STOP_GRACE = 10.0  # seconds the workers have to finish their calls before they are killed


def default_workers() -> int:
    """1: the embedded default is one process (the least memory, nothing to share); --workers 0 means one
    per core."""
    return 1


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def supervise(count: int, serve: Callable[[], None], on_ready: Callable[[], None] | None = None) -> int:
    """Fork `count` workers, each running `serve()` (which returns when the worker is told to stop), and
    keep them running until SIGINT or SIGTERM. Returns the exit status for the command."""
    workers: dict[int, int] = {}  # pid -> worker number
    stopping = False

    def spawn(number: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker: default signal handling, then serve until told to stop
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            code = 0
            try:
                serve()
            except BaseException as exc:  # noqa: BLE001 - a worker must never return into the parent's code
                print(f"ske-sandbox: worker {number} stopped: {exc!r}", file=sys.stderr, flush=True)
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        workers[pid] = number

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(workers):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for number in range(count):
            spawn(number)
        if on_ready is not None:
            on_ready()
        deadline = None
        while workers:
            if stopping and deadline is None:
                deadline = time.monotonic() + STOP_GRACE
            if deadline is not None and time.monotonic() > deadline:
                for pid in list(workers):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.1)
                continue
            number = workers.pop(pid, -1)
            if number >= 0 and not stopping:
                print(f"ske-sandbox: worker {number} (pid {pid}) ended with status {status}; starting another",
                      file=sys.stderr, flush=True)
                time.sleep(RESTART_PAUSE)
                spawn(number)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def wait_until_listening(sock: socket.socket, timeout: float = 30.0) -> bool:
    """Whether a worker listens on the shared socket within `timeout`: a connection is then accepted by
    whichever worker is ready first (TLS or not, nothing is sent)."""
    address = sock.getsockname()
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(address[0], address[0])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, address[1]), timeout=1.0):
                return True
        except OSError:
            time.sleep(0.05)
    return False
