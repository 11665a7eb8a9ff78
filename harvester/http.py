"""The one HTTP layer of the harvester: a configured ``httpx.Client``, retries and rate limiting.

* :func:`build_client` / :func:`client_for_source` make the only client (timeouts, limits,
  ``User-Agent``, ``Accept: application/json``, at most 5 redirects). Tests pass
  ``transport=httpx.MockTransport(handler)``, which is used as given.
* :class:`RetryPolicy` says how often and how long to wait; :class:`RateLimiter` is a
  thread-safe token bucket; :class:`Fetcher` combines them around ``client.get``.
* httpx exceptions are translated to :mod:`harvester.exceptions` in one place,
  :func:`_map_httpx_errors`.

What is retried (and what is not):

* transport failures that may go away: ``httpx.TimeoutException`` (connect, read, write, pool),
  ``httpx.NetworkError`` (connect, read, write, close errors) and ``httpx.RemoteProtocolError``
  (the server dropped the connection mid-response);
* the statuses in :attr:`RetryPolicy.retry_statuses`, by default 429, 502, 503 and 504, honouring
  ``Retry-After`` when the server sends it.

Everything else fails at once with :class:`~harvester.exceptions.SourceHTTPError`. That includes
**500**: the OData services we harvest answer 500 for deterministic faults (a ``$filter`` they
cannot evaluate, a record that breaks their serializer), so a retry only repeats the same
failure and adds load. Sources that do fail transiently with 500 can opt in by giving a
``RetryPolicy(retry_statuses=...)`` that contains it. Other 4xx (400, 401, 403, 404...) are
never retried; 404 can be accepted as an answer with ``ok_404=True`` (deletion probes).
"""

from __future__ import annotations

import functools
import logging
import random
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from .exceptions import SourceFormatError, SourceHTTPError
from .settings import SourceConfig

__all__ = [
    "DEFAULT_RETRY_STATUSES",
    "MAX_REDIRECTS",
    "Fetcher",
    "RateLimiter",
    "RetryPolicy",
    "build_client",
    "client_for_source",
]

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
DEFAULT_RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Transport errors worth another attempt; the rest of httpx.HTTPError (unsupported protocol,
# proxy errors, too many redirects, decoding errors...) will fail the same way again.
_TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)
_EXCERPT_CHARS = 200
_DELTA_SECONDS_RE = re.compile(r"^\d+(?:\.\d+)?$")


def build_client(
    *,
    user_agent: str,
    timeout: float,
    connect_timeout: float,
    concurrency: int = 4,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """The configured client every harvest request goes through.

    :param timeout: seconds for read, write and pool waits.
    :param connect_timeout: seconds to establish a connection.
    :param concurrency: the connection pool size (ignored when ``transport`` is given).
    :param transport: used as given, e.g. ``httpx.MockTransport`` in tests.
    """
    size = max(1, concurrency)
    return httpx.Client(
        headers={"User-Agent": user_agent, "Accept": "application/json"},
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        transport=transport,
        verify=tls_context(),
    )


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The certificate-checking TLS context every client shares, made once per process as
    httpx makes it (certifi's roots, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``): loading the roots
    took about 0.1 s a client, each source's run making one."""
    return httpx.create_ssl_context()


def client_for_source(
    source: SourceConfig, user_agent: str, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """:func:`build_client` with the timeouts and concurrency of ``source``."""
    return build_client(
        user_agent=user_agent,
        timeout=source.timeout,
        connect_timeout=source.connect_timeout,
        concurrency=source.concurrency,
        transport=transport,
    )


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How many extra attempts a transient failure gets, and how long to wait before each.

    :param retries: extra attempts after the first one (0 disables retrying).
    :param backoff: base wait in seconds; attempt ``n`` (0-based) waits ``backoff * 2**n``.
    :param max_backoff: no wait is longer, ``Retry-After`` included.
    :param jitter: fraction of the wait that is randomised downwards (0 none, 1 full jitter).
    :param retry_statuses: HTTP statuses treated as transient.
    :raises ValueError: for negative values or a jitter outside 0..1.
    """

    retries: int = 4
    backoff: float = 0.5
    max_backoff: float = 60.0
    jitter: float = 0.25
    retry_statuses: frozenset[int] = field(default=DEFAULT_RETRY_STATUSES)

    def __post_init__(self) -> None:
        if min(self.retries, self.backoff, self.max_backoff) < 0:
            raise ValueError(f"retry settings must not be negative: {self}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be from 0 to 1, got {self.jitter}")

    @classmethod
    def from_source(cls, source: SourceConfig) -> RetryPolicy:
        """The policy configured for ``source`` (``retries``, ``backoff``, ``max_backoff``)."""
        return cls(retries=source.retries, backoff=source.backoff, max_backoff=source.max_backoff)

    def delay(self, attempt: int, response: httpx.Response | None, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt + 1``.

        A ``Retry-After`` header on ``response`` (delta-seconds or an HTTP-date) wins over the
        exponential backoff; either way the result is at most :attr:`max_backoff`.

        :param attempt: failed attempts so far, minus one (0 before the first retry).
        """
        asked = _retry_after(response) if response is not None else None
        if asked is not None:
            return min(asked, self.max_backoff)
        capped = min(self.max_backoff, self.backoff * 2.0 ** min(attempt, 64))
        return capped * (1.0 - self.jitter * rng.random())


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds asked for by ``Retry-After``, or None when absent or unreadable."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if _DELTA_SECONDS_RE.match(value):
        return float(value)
    when = _http_date(value)
    if when is None:
        log.debug("ignoring unreadable Retry-After %r", value)
        return None
    return max(0.0, (when - _response_time(response)).total_seconds())


def _response_time(response: httpx.Response) -> datetime:
    """The server's ``Date`` (so clock skew does not matter), else our own clock."""
    return _http_date(response.headers.get("Date", "")) or datetime.now(UTC)


def _http_date(value: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class RateLimiter:
    """A thread-safe token bucket: ``rate`` requests per second, bursts of up to ``burst``.

    Callers reserve a token under the lock and sleep outside it, so waiting threads do not
    block each other's bookkeeping.

    :param rate: tokens per second; ``<= 0`` means unlimited.
    :param burst: bucket size (the bucket starts full).
    :param clock: monotonic seconds (injectable for tests).
    :param sleep: blocks for the given seconds (injectable for tests).
    """

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._stamp = clock()

    def acquire(self) -> None:
        """Block until a token is available, then take it."""
        if self.rate <= 0:
            return
        wait = self._reserve()
        if wait > 0:
            self._sleep(wait)

    def _reserve(self) -> float:
        """Take a token (possibly going into debt); return the seconds until it is ours."""
        with self._lock:
            now = self._clock()
            refill = (now - self._stamp) * self.rate
            self._tokens = min(float(self.burst), self._tokens + refill) - 1.0
            self._stamp = now
            return max(0.0, -self._tokens / self.rate)


class _TransientError(SourceHTTPError):
    """A failure worth retrying; never leaves this module (it subclasses for safety only)."""

    def __init__(
        self,
        reason: str,
        *,
        source: str,
        url: str,
        status: int | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(reason, source=source, url=url, status=status)
        self.reason = reason
        self.response = response


@contextmanager
def _map_httpx_errors(source: str, url: str) -> Iterator[None]:
    """Translate httpx exceptions raised inside the block into :mod:`harvester.exceptions`."""
    try:
        yield
    except _TRANSIENT_ERRORS as exc:
        raise _TransientError(_describe(exc), source=source, url=url) from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        message = f"{source}: GET {url} failed: {_describe(exc)}"
        raise SourceHTTPError(message, source=source, url=url) from exc


def _describe(exc: Exception) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _excerpt(response: httpx.Response) -> str:
    """The start of the body on one line, for error messages."""
    text = " ".join(response.text.split())
    return text[:_EXCERPT_CHARS] + ("..." if len(text) > _EXCERPT_CHARS else "")


class Fetcher:
    """GETs from one source with rate limiting and retries of transient failures.

    Safe to share between threads (``httpx.Client`` is; the counters are locked).

    :param client: from :func:`build_client`.
    :param source: the source name, for logs and errors.
    :param limiter: acquired before every attempt, retries included.
    :param sleep: waits between attempts (injectable for tests).
    :param rng: draws the jitter (seedable for tests).

    ``requests`` counts attempts made and ``retried`` the retries among them.
    """

    def __init__(
        self,
        client: httpx.Client,
        *,
        source: str,
        policy: RetryPolicy,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.source = source
        self.policy = policy
        self.limiter = limiter
        self.requests = 0
        self.retried = 0
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        #: called before every request (a page boundary): the harvester's cancellation check
        self.before_request: Callable[[], None] | None = None

    def get(
        self, url: str, params: Mapping[str, str] | None = None, *, ok_404: bool = False
    ) -> httpx.Response:
        """GET ``url`` with ``params`` merged into its query; return a 2xx response.

        :param ok_404: return a 404 response instead of raising (e.g. to probe for deletions).
        :raises SourceHTTPError: at once for a non-transient status or transport error; after
            ``policy.retries`` retries for transient ones (``status`` None for transport errors).
        """
        if self.before_request is not None:
            self.before_request()
        target = self._url(url, params)
        attempt = 0
        while True:
            try:
                return self._attempt(target, ok_404)
            except _TransientError as exc:
                if attempt >= self.policy.retries:
                    raise self._exhausted(exc, attempt + 1) from (exc.__cause__ or exc)
                self._wait(attempt, exc)
                attempt += 1

    def get_json(self, url: str, params: Mapping[str, str] | None = None) -> Any:
        """:meth:`get`, then the body parsed as JSON.

        :raises SourceHTTPError: as :meth:`get`.
        :raises SourceFormatError: when the body is not JSON (an HTML error page, Atom XML...).
        """
        response = self.get(url, params)
        try:
            return response.json()
        except ValueError as exc:
            raise self._not_json(response) from exc

    def _url(self, url: str, params: Mapping[str, str] | None) -> httpx.URL:
        with _map_httpx_errors(self.source, url):
            target = httpx.URL(url)
        if target.scheme not in ("http", "https") or not target.host:
            message = f"{self.source}: not an absolute http(s) URL: {url!r}"
            raise SourceHTTPError(message, source=self.source, url=url)
        return target.copy_merge_params(dict(params)) if params else target

    def _attempt(self, url: httpx.URL, ok_404: bool) -> httpx.Response:
        if self.limiter is not None:
            self.limiter.acquire()
        with self._lock:
            self.requests += 1
        log.debug("%s: GET %s", self.source, url)
        with _map_httpx_errors(self.source, str(url)):
            response = self.client.get(url)
        return self._checked(response, ok_404)

    def _checked(self, response: httpx.Response, ok_404: bool) -> httpx.Response:
        status = response.status_code
        if response.is_success or (ok_404 and status == 404):
            return response
        url = str(response.request.url)
        if status in self.policy.retry_statuses:
            reason = f"HTTP {status} {response.reason_phrase}".rstrip()
            raise _TransientError(
                reason, source=self.source, url=url, status=status, response=response
            )
        message = f"{self.source}: GET {url} returned HTTP {status}: {_excerpt(response)}"
        raise SourceHTTPError(message, source=self.source, url=url, status=status)

    def _wait(self, attempt: int, exc: _TransientError) -> None:
        delay = self.policy.delay(attempt, exc.response, self._rng)
        with self._lock:
            self.retried += 1
        log.warning(
            "%s: GET %s failed (%s); retry %d of %d in %.2fs",
            self.source,
            exc.url,
            exc.reason,
            attempt + 1,
            self.policy.retries,
            delay,
        )
        self._sleep(delay)

    def _exhausted(self, exc: _TransientError, attempts: int) -> SourceHTTPError:
        noun = "attempt" if attempts == 1 else "attempts"
        message = f"{self.source}: GET {exc.url} failed after {attempts} {noun}: {exc.reason}"
        return SourceHTTPError(message, source=self.source, url=exc.url, status=exc.status)

    def _not_json(self, response: httpx.Response) -> SourceFormatError:
        url = str(response.request.url)
        kind = response.headers.get("Content-Type", "no content type")
        message = f"{self.source}: {url} did not return JSON ({kind}): {_excerpt(response)!r}"
        return SourceFormatError(message, source=self.source, url=url)
