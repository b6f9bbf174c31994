"""A simulated clock running many scripts at once, in one thread.

A script is a generator: it does a step (usually one HTTP request), then yields how many
simulated seconds to wait before its next step. The engine keeps the scripts in a heap by the
time they are due and sleeps in real time until the first is due, ``speed`` simulated seconds
passing per real second. One thread is enough — the platform does the work — and it makes the
story easy to follow in the log. A script that raises is logged and dropped; the others go on.
"""

import heapq
import itertools
import logging
import time
from collections.abc import Callable, Generator

log = logging.getLogger("gridmap.demo.simulator")

Script = Generator[float, None, object]


class Engine:
    def __init__(self, *, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._start = time.monotonic()
        self._heap: list[tuple[float, int, Script, str]] = []
        self._order = itertools.count()
        self.stopping = False

    def now(self) -> float:
        """Simulated seconds since the engine started."""
        return (time.monotonic() - self._start) * self.speed

    def real_s(self, simulated_s: float) -> float:
        """Real seconds that ``simulated_s`` simulated seconds take."""
        return simulated_s / self.speed

    def spawn(self, script: Script, *, name: str, delay_s: float = 0.0) -> None:
        """Run ``script`` from ``delay_s`` simulated seconds from now."""
        heapq.heappush(self._heap, (self.now() + delay_s, next(self._order), script, name))

    def run(self, *, until: Callable[[], bool] = lambda: False, tick_s: float = 0.5) -> None:
        """Step the scripts until ``until()`` holds, none is left or ``stop()`` is called.
        Sleeps at most ``tick_s`` real seconds at a time so that a stop is noticed quickly."""
        while self._heap and not self.stopping and not until():
            due, _, script, name = self._heap[0]
            wait = self.real_s(due - self.now())
            if wait > 0:
                time.sleep(min(wait, tick_s))
                continue
            heapq.heappop(self._heap)
            try:
                delay = next(script)
            except StopIteration:
                continue
            except Exception:
                log.exception("%s stopped on an error", name)
                continue
            heapq.heappush(
                self._heap, (self.now() + max(float(delay), 0.0), next(self._order), script, name)
            )

    def stop(self) -> None:
        self.stopping = True

    def close(self) -> None:
        """Close every script still waiting (their ``finally`` blocks run)."""
        while self._heap:
            _, _, script, _ = heapq.heappop(self._heap)
            script.close()
