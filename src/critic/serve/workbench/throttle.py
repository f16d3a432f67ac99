"""Failed logins, counted: after `per_name` failures for one (name, address) pair, or `per_address`
from one address, within `window` seconds, that pair or address waits until the oldest of those
failures leaves the window. Kept in memory per server process (a restart forgets it; N workers
allow N times as many guesses) and bounded: at most `max_keys` keys, the least recently failed
dropped first. A guess already costs one scrypt (~90 ms); this stops the patient ones."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

__all__ = ["LoginThrottle"]


class LoginThrottle:
    def __init__(
        self,
        per_name: int = 5,
        per_address: int = 20,
        window: float = 900.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.per_name, self.per_address, self.window = per_name, per_address, window
        self.max_keys, self.clock = max_keys, clock
        self._failures: OrderedDict[tuple, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _keys(self, name: str, address: str) -> list[tuple[tuple, int]]:
        return [
            (("name", name.lower()[:64], address), self.per_name),
            (("address", address), self.per_address),
        ]

    def wait(self, name: str, address: str) -> float:
        """Seconds before this name may be tried from this address again (0: now)."""
        now = self.clock()
        with self._lock:
            waits = [0.0]
            for key, limit in self._keys(name, address):
                recent = [t for t in self._failures.get(key, ()) if now - t < self.window]
                if len(recent) >= limit:
                    waits.append(self.window - (now - recent[-limit]))
            return max(waits)

    def failed(self, name: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key, limit in self._keys(name, address):
                times = self._failures.setdefault(key, deque(maxlen=limit))
                times.append(now)
                self._failures.move_to_end(key)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, name: str, address: str) -> None:
        """A right password clears that pair's count (not the address's)."""
        with self._lock:
            self._failures.pop(self._keys(name, address)[0][0], None)
