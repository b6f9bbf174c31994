"""The simulator's HTTP client: the platform's public API, a token per actor, retries.

A request that gets no usable answer — the server is down or restarting, a timeout, a 5xx, a
429 rate limit — raises ``Unreachable``; the scripts wait and try again (``retrying``), so a
restart of the web server pauses the demo instead of ending it. Any other answer (2xx, 4xx) is
returned for the script to judge: a 409 usually means a person acted first.
"""

import logging
from collections.abc import Callable, Generator

import requests

log = logging.getLogger("gridmap.demo.simulator")


class Unreachable(Exception):
    """No answer to act on; worth trying again later."""


class Client:
    """``requests`` session against ``base_url`` (e.g. http://127.0.0.1:8000)."""

    def __init__(self, base_url: str, *, timeout_s: float = 20.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "gridmap-demo-simulator"

    def request(
        self, method: str, path: str, *, token: str | None = None, headers=None, **kwargs
    ) -> requests.Response:
        """One request; ``Unreachable`` on a connection error, a timeout, 5xx or 429."""
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Token {token}"
        try:
            answer = self.session.request(
                method, self.base_url + path, headers=headers, timeout=self.timeout_s, **kwargs
            )
        except requests.RequestException as exc:
            raise Unreachable(f"{method} {path}: {exc.__class__.__name__}: {exc}") from exc
        if answer.status_code >= 500 or answer.status_code == 429:
            raise Unreachable(f"{method} {path}: {answer.status_code} {answer.text[:200]}")
        return answer

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def close(self) -> None:
        self.session.close()


def retrying(
    call: Callable[[], requests.Response],
    *,
    what: str,
    first_s: float = 5.0,
    max_s: float = 120.0,
) -> Generator[float, None, requests.Response]:
    """Run ``call`` until it gets an answer, waiting (in simulated seconds, yielded to the
    engine) a little longer after each failure. Use as ``answer = yield from retrying(...)``."""
    delay = first_s
    while True:
        try:
            return call()
        except Unreachable as exc:
            log.warning("%s failed (%s); trying again in %.0f s", what, exc, delay)
            yield delay
            delay = min(delay * 2, max_s)
