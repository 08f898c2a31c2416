"""Rate limits: wrong pairing attempts, and messages on one connection."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

PER_CLIENT_ATTEMPTS = 5  # wrong pairing codes per client address ...
PER_CLIENT_WINDOW_S = 60.0  # ... in this long
GLOBAL_ATTEMPTS = 20  # wrong codes from anywhere ...
GLOBAL_WINDOW_S = 600.0  # ... in this long void every outstanding code


class PairingGuard:
    """Counts wrong pairing codes. A client address that makes too many is refused for a
    while; too many from everywhere together means someone is guessing, and the caller
    voids every outstanding code (``wrong`` returns True then)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._by_client: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()

    def retry_after(self, client: str) -> float:
        """Seconds this client must wait before trying again (0: it may try now)."""
        now = self.clock()
        attempts = self._by_client.get(client)
        if not attempts:
            return 0.0
        while attempts and attempts[0] <= now - PER_CLIENT_WINDOW_S:
            attempts.popleft()
        if len(attempts) < PER_CLIENT_ATTEMPTS:
            return 0.0
        return attempts[0] + PER_CLIENT_WINDOW_S - now

    def wrong(self, client: str) -> bool:
        """Record a wrong code; True when the global limit has just been reached."""
        now = self.clock()
        self._by_client.setdefault(client, deque()).append(now)
        if len(self._by_client) > 10_000:  # never grow without bound
            self._by_client.pop(next(iter(self._by_client)))
        self._all.append(now)
        while self._all and self._all[0] <= now - GLOBAL_WINDOW_S:
            self._all.popleft()
        if len(self._all) >= GLOBAL_ATTEMPTS:
            self._all.clear()
            return True
        return False


class TokenBucket:
    """Allows ``rate`` events a second on average, in bursts of up to ``burst``."""

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._tokens = burst
        self._at = clock()

    def take(self, amount: float = 1.0) -> bool:
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < amount:
            return False
        self._tokens -= amount
        return True
