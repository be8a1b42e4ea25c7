"""The request journal: what clients asked and what they got, for tests and the control API."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from starlette.requests import Request


class Journal:
    def __init__(self, size: int = 1000) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()

    def note(self, request: Request, service: str, outcome: str, caller: Any = None) -> None:
        entry = {
            "at": round(time.time(), 3),
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "service": service,
            "outcome": outcome,
            "consumer": getattr(caller, "consumer", None),
        }
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
