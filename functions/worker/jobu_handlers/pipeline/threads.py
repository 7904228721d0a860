"""Blocking work run off the event loop, told when its run is cancelled."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable


async def in_thread[T](work: Callable[[threading.Event], T]) -> T:
    """Run `work` in a thread. A thread cannot be stopped, so when this task is cancelled (the
    run's timeout expired) the event is set and the work must publish or commit nothing."""
    cancelled = threading.Event()
    try:
        return await asyncio.to_thread(work, cancelled)
    except asyncio.CancelledError:
        cancelled.set()
        raise
