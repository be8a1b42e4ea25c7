"""Long control-API work that stops when its caller leaves.

The work runs in a worker thread (so the event loop keeps serving) under a small limiter (so a flood of
listings queues instead of taking every thread), and gets a `stop()` to call between items: it turns true
once the client has disconnected. A thread cannot be killed, so the work must look; `Stopped` ends it.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread
from starlette.requests import Request

T = TypeVar("T")
POLL_SECONDS = 0.05
WORKERS = 2  # listings at once; the rest wait their turn (they are control-API calls, not service calls)

# one limiter per event loop (a limiter is tied to the loop it first waits in; tests run several loops)
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = weakref.WeakKeyDictionary()


class Stopped(Exception):
    """Raised inside the work when `stop()` says the caller has gone."""


def _capacity() -> anyio.CapacityLimiter:
    loop = asyncio.get_running_loop()
    if loop not in _limiters:
        _limiters[loop] = anyio.CapacityLimiter(WORKERS)
    return _limiters[loop]


async def run_while_connected(request: Request, work: Callable[[Callable[[], None]], T]) -> T | None:
    """`work(check)` in a thread; `check()` raises Stopped once the client has gone. None when it stopped."""
    gone = threading.Event()

    def check() -> None:
        if gone.is_set():
            raise Stopped

    async def watch() -> None:
        while not await request.is_disconnected():
            await anyio.sleep(POLL_SECONDS)
        gone.set()

    result: T | None = None
    failure: Exception | None = None
    async with anyio.create_task_group() as group:
        group.start_soon(watch)
        try:
            result = await anyio.to_thread.run_sync(work, check, limiter=_capacity())
        except Stopped:
            result = None
        except Exception as exc:  # raised as itself below, not wrapped in the task group's ExceptionGroup
            failure = exc
        finally:
            group.cancel_scope.cancel()
    if failure is not None:
        raise failure
    return result
