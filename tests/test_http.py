"""harvester.http: client configuration, retries, Retry-After, rate limiting, error mapping.

Every test runs over ``httpx.MockTransport`` with a recording ``sleep``: no sockets, no waiting.
"""

from __future__ import annotations

import logging
import random
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from harvester.exceptions import SourceFormatError, SourceHTTPError
from harvester.http import (
    Fetcher,
    RateLimiter,
    RetryPolicy,
    build_client,
    client_for_source,
)
from harvester.settings import SourceConfig

URL = "https://odata.example.org/informea.svc/Decisions"
UA = "MEA-Hub-test/1.0"


def scripted(*steps):
    """A handler playing ``steps`` in order (the last repeats): responses or exception classes."""
    queue = list(steps)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        step = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(step, type):
            raise step(f"scripted {step.__name__}")
        return httpx.Response(step.status_code, headers=step.headers, content=step.content)

    return handler, seen


def make_fetcher(handler, sleeps, *, retries=4, limiter=None):
    client = build_client(
        user_agent=UA,
        timeout=20.0,
        connect_timeout=5.0,
        transport=httpx.MockTransport(handler),
    )
    policy = RetryPolicy(retries=retries)
    return Fetcher(
        client,
        source="ramsar",
        policy=policy,
        limiter=limiter,
        sleep=sleeps.append,
        rng=random.Random(7),
    )


def ok(payload=None):
    return httpx.Response(200, json=payload if payload is not None else {"d": []})


def http_date(when: datetime) -> str:
    return format_datetime(when, usegmt=True)


# --- Retry-After -------------------------------------------------------------------------


def test_429_with_retry_after_seconds_sleeps_that_long():
    handler, _ = scripted(httpx.Response(429, headers={"Retry-After": "3"}), ok())
    sleeps: list[float] = []
    fetcher = make_fetcher(handler, sleeps)
    assert fetcher.get(URL).status_code == 200
    assert sleeps == [3.0]
    assert (fetcher.requests, fetcher.retried) == (2, 1)


def test_retry_after_as_http_date_is_relative_to_the_server_date():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    headers = {"Date": http_date(now), "Retry-After": http_date(now + timedelta(seconds=7))}
    handler, _ = scripted(httpx.Response(503, headers=headers), ok())
    sleeps: list[float] = []
    make_fetcher(handler, sleeps).get(URL)
    assert sleeps == [7.0]


def test_retry_after_in_the_past_means_no_wait():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    headers = {"Date": http_date(now), "Retry-After": http_date(now - timedelta(minutes=1))}
    response = httpx.Response(503, headers=headers)
    assert RetryPolicy().delay(0, response, random.Random(1)) == 0.0


def test_unreadable_retry_after_falls_back_to_backoff():
    response = httpx.Response(503, headers={"Retry-After": "soon"})
    assert RetryPolicy(jitter=0).delay(2, response, random.Random(1)) == 2.0


def test_retry_after_is_capped_at_max_backoff():
    response = httpx.Response(429, headers={"Retry-After": "3600"})
    assert RetryPolicy(max_backoff=60).delay(0, response, random.Random(1)) == 60.0


# --- backoff -----------------------------------------------------------------------------


def test_503_burst_backs_off_exponentially_within_jitter_bounds():
    handler, _ = scripted(*[httpx.Response(503)] * 3, ok())
    sleeps: list[float] = []
    assert make_fetcher(handler, sleeps).get(URL).status_code == 200
    assert len(sleeps) == 3 and sleeps == sorted(sleeps)
    for attempt, slept in enumerate(sleeps):
        assert 0.5 * 2**attempt * 0.75 <= slept <= 0.5 * 2**attempt


def test_delay_without_jitter_is_exact():
    assert RetryPolicy(jitter=0).delay(3, None, random.Random(1)) == 4.0


@pytest.mark.parametrize("attempt", [pytest.param(10, id="10"), pytest.param(5000, id="huge")])
def test_delay_is_capped_at_max_backoff(attempt):
    policy = RetryPolicy(max_backoff=30.0, jitter=0)
    assert policy.delay(attempt, None, random.Random(1)) == 30.0


def test_policy_rejects_bad_values():
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=1.5)


def test_policy_from_source():
    source = SourceConfig(name="s", kind="informea-odata", url=URL, retries=2, max_backoff=9.0)
    policy = RetryPolicy.from_source(source)
    assert (policy.retries, policy.backoff, policy.max_backoff) == (2, 0.5, 9.0)


# --- which failures are retried ----------------------------------------------------------


@pytest.mark.parametrize("status", [pytest.param(s, id=str(s)) for s in (429, 502, 503, 504)])
def test_transient_status_forever_fails_after_all_attempts(status):
    handler, seen = scripted(httpx.Response(status))
    sleeps: list[float] = []
    with pytest.raises(SourceHTTPError, match="after 3 attempts") as info:
        make_fetcher(handler, sleeps, retries=2).get(URL)
    assert (info.value.status, info.value.source, info.value.url) == (status, "ramsar", URL)
    assert (len(seen), len(sleeps)) == (3, 2)


@pytest.mark.parametrize(
    "status",
    [
        pytest.param(500, id="500-not-transient"),
        pytest.param(400, id="400"),
        pytest.param(401, id="401"),
        pytest.param(403, id="403"),
        pytest.param(404, id="404"),
        pytest.param(501, id="501"),
    ],
)
def test_other_error_statuses_fail_at_once(status):
    handler, seen = scripted(httpx.Response(status, text="boom"))
    sleeps: list[float] = []
    with pytest.raises(SourceHTTPError, match="boom") as info:
        make_fetcher(handler, sleeps).get(URL)
    assert (info.value.status, len(seen), sleeps) == (status, 1, [])


def test_500_can_be_made_transient_by_policy():
    handler, seen = scripted(httpx.Response(500), ok())
    fetcher = make_fetcher(handler, [])
    fetcher.policy = RetryPolicy(retry_statuses=frozenset({500}))
    assert fetcher.get(URL).status_code == 200 and len(seen) == 2


def test_ok_404_returns_the_response():
    handler, _ = scripted(httpx.Response(404))
    assert make_fetcher(handler, []).get(URL, ok_404=True).status_code == 404


def test_connect_error_twice_then_success():
    handler, seen = scripted(httpx.ConnectError, httpx.ConnectError, ok())
    sleeps: list[float] = []
    fetcher = make_fetcher(handler, sleeps)
    assert fetcher.get(URL).status_code == 200
    assert (len(seen), len(sleeps), fetcher.requests, fetcher.retried) == (3, 2, 3, 2)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(httpx.ConnectTimeout, id="connect-timeout"),
        pytest.param(httpx.ReadTimeout, id="read-timeout"),
        pytest.param(httpx.PoolTimeout, id="pool-timeout"),
        pytest.param(httpx.ReadError, id="read-error"),
        pytest.param(httpx.WriteError, id="write-error"),
        pytest.param(httpx.RemoteProtocolError, id="remote-protocol"),
    ],
)
def test_transient_transport_errors_are_retried(error):
    handler, seen = scripted(error, ok())
    assert make_fetcher(handler, []).get(URL).status_code == 200
    assert len(seen) == 2


def test_read_timeout_forever_fails_with_no_status():
    handler, seen = scripted(httpx.ReadTimeout)
    with pytest.raises(SourceHTTPError, match="after 5 attempts: ReadTimeout") as info:
        make_fetcher(handler, []).get(URL)
    assert info.value.status is None and len(seen) == 5
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(httpx.ProxyError, id="proxy"),
        pytest.param(httpx.UnsupportedProtocol, id="unsupported-protocol"),
        pytest.param(httpx.LocalProtocolError, id="local-protocol"),
    ],
)
def test_other_transport_errors_fail_at_once(error):
    handler, seen = scripted(error)
    with pytest.raises(SourceHTTPError) as info:
        make_fetcher(handler, []).get(URL)
    assert (info.value.status, len(seen)) == (None, 1)
    assert isinstance(info.value.__cause__, error)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(getattr(httpx, name), id=name)
        for name in httpx.__all__
        if isinstance(getattr(httpx, name), type)
        and issubclass(getattr(httpx, name), httpx.TransportError)
    ],
)
def test_every_httpx_transport_error_becomes_source_http_error(error):
    handler, _ = scripted(error)
    with pytest.raises(SourceHTTPError) as info:
        make_fetcher(handler, [], retries=1).get(URL)
    assert isinstance(info.value.__cause__, error) and info.value.status is None


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("Decisions?$top=1", id="relative"),
        pytest.param("ftp://example.org/x", id="ftp"),
        pytest.param("https://:80/x", id="no-host"),
        pytest.param("https://exa\nmple.org/", id="invalid"),
    ],
)
def test_bad_urls_fail_without_a_request(url):
    handler, seen = scripted(ok())
    with pytest.raises(SourceHTTPError, match="URL"):
        make_fetcher(handler, []).get(url)
    assert seen == []


def test_too_many_redirects_fail_at_once():
    handler, seen = scripted(httpx.Response(302, headers={"Location": URL}))
    with pytest.raises(SourceHTTPError, match="TooManyRedirects"):
        make_fetcher(handler, []).get(URL)
    assert len(seen) == 6


def test_zero_retries_means_one_attempt():
    handler, seen = scripted(httpx.Response(503))
    with pytest.raises(SourceHTTPError, match="after 1 attempt:"):
        make_fetcher(handler, [], retries=0).get(URL)
    assert len(seen) == 1


def test_each_retry_logs_a_warning(caplog):
    handler, _ = scripted(httpx.Response(503), httpx.ConnectError, ok())
    with caplog.at_level(logging.WARNING, logger="harvester.http"):
        make_fetcher(handler, []).get(URL)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and "ramsar" in messages[0] and "HTTP 503" in messages[0]
    assert "ConnectError" in messages[1] and URL in messages[1]


# --- JSON --------------------------------------------------------------------------------


def test_get_json_parses_the_body():
    handler, _ = scripted(ok({"d": {"results": [{"id": "1"}]}}))
    assert make_fetcher(handler, []).get_json(URL) == {"d": {"results": [{"id": "1"}]}}


@pytest.mark.parametrize(
    "body, content_type",
    [
        pytest.param("<html><body>Service Unavailable</body></html>", "text/html", id="html"),
        pytest.param("<?xml version='1.0'?><feed xmlns='x'/>", "application/atom+xml", id="atom"),
        pytest.param("", "application/json", id="empty"),
    ],
)
def test_get_json_rejects_non_json(body, content_type):
    handler, _ = scripted(httpx.Response(200, text=body, headers={"Content-Type": content_type}))
    with pytest.raises(SourceFormatError, match=re.escape(content_type)) as info:
        make_fetcher(handler, []).get_json(URL, {"$top": "1"})
    assert (info.value.source, info.value.url) == ("ramsar", URL + "?%24top=1")
    assert body[:20] in str(info.value)


# --- requests and client configuration ---------------------------------------------------


def test_params_are_sent_as_query_params_and_merged():
    handler, seen = scripted(ok())
    make_fetcher(handler, []).get(URL + "?$format=json", {"$top": "100", "$skip": "200"})
    params = seen[0].url.params
    assert (params["$format"], params["$top"], params["$skip"]) == ("json", "100", "200")


def test_requests_carry_user_agent_and_accept():
    handler, seen = scripted(ok())
    make_fetcher(handler, []).get(URL)
    assert seen[0].headers["User-Agent"] == UA
    assert seen[0].headers["Accept"] == "application/json"


def test_client_timeouts_and_redirects():
    client = build_client(user_agent=UA, timeout=20.0, connect_timeout=5.0)
    assert (client.timeout.connect, client.timeout.read, client.timeout.pool) == (5.0, 20.0, 20.0)
    assert client.follow_redirects and client.max_redirects == 5


def test_redirects_are_followed():
    def handler(request):
        if request.url.path.endswith("/old"):
            return httpx.Response(301, headers={"Location": URL})
        return ok()

    assert make_fetcher(handler, []).get(URL + "/old").url == URL


def test_client_for_source_uses_the_source_timeouts():
    source = SourceConfig(name="s", kind="informea-odata", url=URL, timeout=12, connect_timeout=3)
    client = client_for_source(source, UA)
    assert (client.timeout.connect, client.timeout.read) == (3, 12)
    assert client.headers["User-Agent"] == UA


# --- rate limiting -----------------------------------------------------------------------


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_rate_limiter_spaces_acquires():
    clock = FakeClock()
    limiter = RateLimiter(2.0, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        limiter.acquire()
    assert sum(clock.sleeps) == pytest.approx(2.0)


def test_rate_limiter_allows_a_burst_then_refills():
    clock = FakeClock()
    limiter = RateLimiter(1.0, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        limiter.acquire()
    assert clock.sleeps == []
    clock.now += 1.0
    limiter.acquire()
    assert clock.sleeps == []


@pytest.mark.parametrize("rate", [pytest.param(0, id="zero"), pytest.param(-1, id="negative")])
def test_rate_limiter_unlimited(rate):
    clock = FakeClock()
    limiter = RateLimiter(rate, clock=clock, sleep=clock.sleep)
    for _ in range(100):
        limiter.acquire()
    assert clock.sleeps == []


def test_fetcher_acquires_the_limiter_before_every_attempt():
    clock = FakeClock()
    limiter = RateLimiter(1.0, clock=clock, sleep=clock.sleep)
    handler, _ = scripted(httpx.Response(503), httpx.Response(503), ok())
    make_fetcher(handler, [], limiter=limiter).get(URL)
    assert clock.sleeps == [1.0, 1.0]
