"""The checker against a local farm of HTTP routes: each outcome as a curator would see it."""

import asyncio
import ipaddress
import itertools
import socket
import sys
import threading
import time

import pytest

from apps.linkhealth.checker import (
    CHALLENGE_MARKERS,
    CheckerConfig,
    HostGate,
    LinkChecker,
    Outcome,
    _quick_lock_handover,
    address_is_public,
    check_url,
    check_urls,
    check_urls_in_batches,
    looks_like_challenge,
)
from tests.linkhealth.farm import Reply


def test_ok_page_takes_one_get(farm, config):
    result = check_url(farm.route("/page"), config)

    assert result.outcome == Outcome.OK
    assert result.status_code == 200
    assert result.redirects == 0
    assert farm.hits == {("GET", "/page"): 1}


def test_ok_page_takes_one_head_when_asked_head_first(farm, link_settings):
    link_settings.LINK_CHECK_HEAD_FIRST = True

    result = check_url(farm.route("/page"), CheckerConfig.from_settings())

    assert (result.outcome, result.chain[-1]["method"]) == (Outcome.OK, "HEAD")
    assert farm.hits == {("HEAD", "/page"): 1}


@pytest.mark.parametrize("status", [405, 501, 400, 403])
def test_a_server_refusing_head_is_checked_with_one_get(farm, config, status):
    def answer(method, target):
        return Reply(status=status) if method == "HEAD" else Reply(status=200)

    farm.routes["/no-head"] = answer

    result = check_url(farm.url("/no-head"), config)

    assert result.outcome == Outcome.OK
    assert farm.hits == {("GET", "/no-head"): 1}


@pytest.mark.parametrize("status", [404, 410])
def test_missing_page_is_broken(farm, config, status):
    result = check_url(farm.route("/gone", status=status), config)

    assert result.outcome == Outcome.BROKEN
    assert result.status_code == status


def test_unknown_host_name_is_broken(config, fake_dns):
    fake_dns["no-such-site.test"] = None

    result = check_url("https://no-such-site.test/course", config)

    assert result.outcome == Outcome.BROKEN
    assert "not found" in result.detail


@pytest.mark.parametrize("status", [401, 403, 999])
def test_refusing_sites_are_blocked_never_broken(farm, config, status):
    result = check_url(farm.route("/members", status=status), config)

    assert result.outcome == Outcome.BLOCKED
    assert "could not verify" in result.detail


def test_bot_challenge_page_is_blocked(farm, config):
    url = farm.route(
        "/guarded",
        status=503,
        headers={"cf-mitigated": "challenge"},
        body=b"<title>Just a moment...</title>",
    )

    result = check_url(url, config)

    assert result.outcome == Outcome.BLOCKED
    assert farm.hit_count("/guarded") == 1  # a challenge is not retried


@pytest.mark.parametrize("gzip", ["if-accepted", "always"])
def test_compressed_bot_challenge_page_is_blocked(farm, link_settings, gzip):
    # A challenge page served with 200 (only GET shows it), compressed when the
    # client accepts gzip, or whatever the client says.
    link_settings.LINK_CHECK_GET_ONLY_HOSTS = ["127.0.0.1"]
    body = b"<html><title>Just a moment...</title><div id=cf-chl-widget></div></html>"
    url = farm.route("/guarded", status=200, body=body, gzip=gzip)

    result = check_url(url, CheckerConfig.from_settings())

    assert result.outcome == Outcome.BLOCKED
    assert result.detail == "bot challenge: could not verify"


@pytest.mark.parametrize("status", [405, 501, 400, 403])
def test_head_refused_falls_back_to_get(farm, link_settings, status):
    link_settings.LINK_CHECK_HEAD_FIRST = True
    config = CheckerConfig.from_settings()

    def answer(method, target):
        return Reply(status=status) if method == "HEAD" else Reply(status=200)

    farm.routes["/no-head"] = answer

    result = check_url(farm.url("/no-head"), config)

    assert result.outcome == Outcome.OK
    assert farm.hits[("HEAD", "/no-head")] == 1
    assert farm.hits[("GET", "/no-head")] == 1
    assert result.chain[-1]["method"] == "GET"


def test_host_known_to_refuse_head_is_asked_with_get(farm, link_settings):
    link_settings.LINK_CHECK_HEAD_FIRST = True
    link_settings.LINK_CHECK_GET_ONLY_HOSTS = ["127.0.0.1"]
    result = check_url(farm.route("/page"), CheckerConfig.from_settings())

    assert result.outcome == Outcome.OK
    assert farm.hits[("HEAD", "/page")] == 0
    assert farm.hits[("GET", "/page")] == 1


def test_huge_body_is_not_read_in_full(farm, config):
    size = 200 * 1024 * 1024
    farm.routes["/video.mp4"] = lambda method, target: (
        Reply(status=405) if method == "HEAD" else Reply(stream_bytes=size)
    )

    result = check_url(farm.url("/video.mp4"), config)

    assert result.outcome == Outcome.OK
    # The server stops when the checker hangs up: far less than the file went out.
    # The server's thread may not have written its first chunk when the checker returns.
    farm.wait_idle()
    assert farm.bytes_sent["/video.mp4"] < size // 10


def test_redirect_chain_is_followed_and_recorded(farm, config):
    farm.route("/a", status=302, headers={"Location": "/b"})
    farm.route("/b", status=307, headers={"Location": farm.url("/c")})
    farm.route("/c", status=303, headers={"Location": "/final"})
    farm.route("/final")

    result = check_url(farm.url("/a"), config)

    assert result.outcome == Outcome.OK  # temporary redirects are not a move
    assert result.redirects == 3
    assert result.final_url == farm.url("/final")
    assert [hop["status"] for hop in result.chain] == [302, 307, 303, 200]
    assert result.suggested_url == ""


@pytest.mark.parametrize("status", [301, 308])
def test_permanent_redirect_is_moved_with_new_url(farm, config, status):
    farm.route("/old-course", status=status, headers={"Location": "/new-course"})
    farm.route("/new-course")

    result = check_url(farm.url("/old-course"), config)

    assert result.outcome == Outcome.MOVED
    assert result.suggested_url == farm.url("/new-course")


def test_permanent_redirect_to_same_url_spelled_differently_is_ok(farm, config):
    farm.route("/docs", status=301, headers={"Location": "/docs/"})
    farm.route("/docs/")

    result = check_url(farm.url("/docs"), config)

    assert result.outcome == Outcome.OK


def test_deep_link_landing_on_home_page_is_moved(farm, config):
    farm.route("/courses/deep-learning/week-1", status=302, headers={"Location": "/"})
    farm.route("/")

    result = check_url(farm.url("/courses/deep-learning/week-1"), config)

    assert result.outcome == Outcome.MOVED
    assert result.suggested_url == farm.url("/")
    assert "home page" in result.detail


def test_redirect_loop_stops(farm, config):
    farm.route("/ping", status=302, headers={"Location": "/pong"})
    farm.route("/pong", status=302, headers={"Location": "/ping"})

    result = check_url(farm.url("/ping"), config)

    assert result.outcome == Outcome.ERROR
    assert result.detail == "redirect loop"
    assert farm.hit_count("/ping") == 1


def test_more_than_ten_redirects_stop(farm, config):
    for n in range(12):
        farm.route(f"/hop{n}", status=302, headers={"Location": f"/hop{n + 1}"})
    farm.route("/hop12")

    result = check_url(farm.url("/hop0"), config)

    assert result.outcome == Outcome.ERROR
    assert "more than 10 redirects" in result.detail
    assert farm.hit_count("/hop11") == 0


@pytest.mark.parametrize("target", ["http://10.0.0.1/admin", "http://169.254.169.254/latest/"])
def test_redirect_to_private_address_is_refused_before_connecting(farm, config, target):
    farm.route("/innocent", status=302, headers={"Location": target})

    result = check_url(farm.url("/innocent"), config)

    assert result.outcome == Outcome.REFUSED
    assert "not a public address" in result.detail
    assert [hop["status"] for hop in result.chain] == [302]


def test_redirect_to_name_resolving_privately_is_refused(farm, config, fake_dns):
    fake_dns["intranet.example.org"] = "192.168.1.10"
    farm.route("/out", status=301, headers={"Location": "http://intranet.example.org/"})

    result = check_url(farm.url("/out"), config)

    assert result.outcome == Outcome.REFUSED


def test_name_with_one_private_address_among_public_ones_is_refused(config, monkeypatch):
    def getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::ffff:127.0.0.1", port, 0, 0)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    result = check_url("https://mixed.example.org/", config)

    assert result.outcome == Outcome.REFUSED
    assert "::ffff:7f00:1" in result.detail  # 127.0.0.1, IPv4-mapped


def test_local_addresses_are_refused_without_allow_list(farm):
    result = check_url(farm.route("/page"), CheckerConfig())

    assert result.outcome == Outcome.REFUSED
    assert farm.hit_count("/page") == 0


@pytest.mark.parametrize(
    "address, public",
    [
        ("93.184.215.14", True),
        ("2606:4700::6810:85e5", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("0.0.0.0", False),  # noqa: S104
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:93.184.215.14", True),
        # 6to4 (2002::/16) is judged by the IPv4 address it embeds
        ("2002:7f00:1::", False),  # 127.0.0.1
        ("2002:a00:1::1", False),  # 10.0.0.1
        ("2002:a9fe:a9fe::", False),  # 169.254.169.254
        ("2002:5db8:d70e::1", True),  # 93.184.215.14
        # NAT64 (64:ff9b::/96) likewise
        ("64:ff9b::7f00:1", False),  # 127.0.0.1
        ("64:ff9b::c0a8:1", False),  # 192.168.0.1
        ("64:ff9b::a9fe:a9fe", False),  # 169.254.169.254
        ("64:ff9b::5db8:d70e", True),  # 93.184.215.14
        # Teredo (2001::/32) hides its client address: never public
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),
        ("2001:0:7f00:1::ffff:ffff", False),  # server 127.0.0.1
        ("2001:0:5db8:d70e::a2ff:fff1", False),  # public server and client
    ],
)
def test_address_is_public(address, public):
    assert address_is_public(ipaddress.ip_address(address)) is public


def test_name_resolving_to_6to4_around_loopback_is_refused(farm, config, fake_dns):
    fake_dns["tunnel.example.org"] = "2002:7f00:1::"
    farm.route("/out", status=301, headers={"Location": "http://tunnel.example.org/"})

    result = check_url(farm.url("/out"), config)

    assert result.outcome == Outcome.REFUSED
    assert "2002:7f00:1::" in result.detail


def test_not_http_is_refused(config):
    assert check_url("ftp://files.example.org/a.pdf", config).outcome == Outcome.REFUSED
    assert check_url("file:///etc/passwd", config).outcome == Outcome.REFUSED


@pytest.mark.parametrize("host", ["2130706433", "127.1"])
def test_address_spelled_in_a_non_canonical_form_is_refused(farm, config, host):
    farm.route("/page")

    result = check_url(f"http://{host}:{farm.port}/page", config)

    assert result.outcome == Outcome.REFUSED
    assert farm.hit_count("/page") == 0


def test_429_with_retry_after_is_retried_then_ok(farm, config):
    farm.route("/busy", Reply(status=429, headers={"Retry-After": "0"}), Reply(status=200))

    result = check_url(farm.url("/busy"), config)

    assert result.outcome == Outcome.OK
    assert farm.hit_count("/busy") == 2


def test_429_slows_the_host_for_the_rest_of_the_run(farm, config):
    farm.route("/busy", Reply(status=429, headers={"Retry-After": "0"}), Reply(status=200))

    async def run():
        async with LinkChecker(config) as checker:
            await checker.check(farm.url("/busy"))
            return checker._gate("127.0.0.1").interval

    assert asyncio.run(run()) == config.slowed_host_interval


def test_429_that_persists_is_blocked(farm, config):
    result = check_url(farm.route("/busy", status=429, headers={"Retry-After": "0"}), config)

    assert result.outcome == Outcome.BLOCKED
    assert farm.hit_count("/busy") == 3  # first try and two retries


def test_server_error_is_retried_then_error(farm, config):
    result = check_url(farm.route("/boom", status=500), config)

    assert result.outcome == Outcome.ERROR
    assert farm.hit_count("/boom") == 3


def test_server_error_that_recovers_is_ok(farm, config):
    farm.route("/flaky", Reply(status=502), Reply(status=200))

    assert check_url(farm.url("/flaky"), config).outcome == Outcome.OK


def test_first_retry_goes_at_once_and_later_ones_back_off(farm, link_settings, monkeypatch):
    link_settings.LINK_CHECK_BACKOFF_SECONDS = 30.0
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(delay, *args, **kwargs):
        slept.append(delay)
        return await real_sleep(0)

    monkeypatch.setattr("apps.linkhealth.checker.asyncio.sleep", sleep)
    farm.route("/flaky", Reply(status=503), Reply(status=503), Reply(status=200))

    result = check_url(farm.url("/flaky"), CheckerConfig.from_settings())

    assert result.outcome == Outcome.OK
    assert farm.hit_count("/flaky") == 3
    # No wait before the first retry; 30 s (with jitter) before the second.
    assert len(slept) == 1 and 15 <= slept[0] <= 45


def test_slow_response_past_the_timeout_is_error(farm, link_settings):
    link_settings.LINK_CHECK_TIMEOUT_SECONDS = 0.3
    link_settings.LINK_CHECK_RETRIES = 1
    config = CheckerConfig.from_settings()

    result = check_url(farm.route("/slow", delay=1.5), config)

    assert result.outcome == Outcome.ERROR
    assert "timed out" in result.detail
    assert farm.hit_count("/slow") == 2


def test_slow_dns_lookup_is_an_error_within_the_connect_timeout(farm, link_settings, monkeypatch):
    # A resolver that hangs (far past the connect timeout) for one name.
    link_settings.LINK_CHECK_CONNECT_TIMEOUT_SECONDS = 0.2
    link_settings.LINK_CHECK_RETRIES = 1
    config = CheckerConfig.from_settings()
    released = threading.Event()
    real_getaddrinfo = socket.getaddrinfo
    stalled = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "slow-dns.example.org":
            stalled.append(host)
            released.wait(10)
            return real_getaddrinfo("127.0.0.1", port, *args, **kwargs)
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    try:
        results = {
            r.url: r
            for r in check_urls(
                [
                    f"http://slow-dns.example.org:{farm.port}/a",
                    f"http://slow-dns.example.org:{farm.port}/b",
                    farm.route("/fine"),
                ],
                config,
            )
        }
    finally:
        released.set()

    slow = [results[f"http://slow-dns.example.org:{farm.port}/{p}"] for p in "ab"]
    assert {r.outcome for r in slow} == {Outcome.ERROR}
    assert all(r.detail == "DNS lookup of slow-dns.example.org timed out after 0.2 s" for r in slow)
    assert farm.hit_count("/a") == farm.hit_count("/b") == 0
    assert len(stalled) == 2  # one lookup per attempt, shared by both links
    assert results[farm.url("/fine")].outcome == Outcome.OK


def test_refused_connection_is_error(config):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nobody listens there

    result = check_url(f"http://127.0.0.1:{port}/", config)

    assert result.outcome == Outcome.ERROR
    assert "connection failed" in result.detail


def test_per_host_cap_is_never_exceeded(farm, link_settings):
    link_settings.LINK_CHECK_PER_HOST = 3
    config = CheckerConfig.from_settings()
    urls = [farm.route(f"/p{n}", delay=0.05) for n in range(24)]

    results = list(check_urls(urls, config))

    assert {r.outcome for r in results} == {Outcome.OK}
    assert farm.max_connections <= 3
    assert farm.opened <= 3  # connections are kept alive and reused
    assert farm.max_active <= 3
    assert farm.max_active == 3  # and the cap was actually used


def test_identical_urls_are_checked_once(farm, config):
    url = farm.route("/same")

    results = list(check_urls([url, url, url], config))

    assert len(results) == 1
    assert farm.hit_count("/same") == 1


def test_leaving_a_batched_check_early_stops_the_checks_still_running(farm, link_settings):
    # One request at a time to the host, each answered after 1 s: ten URLs take 10 s.
    link_settings.LINK_CHECK_PER_HOST = 1
    link_settings.LINK_CHECK_TIMEOUT_SECONDS = 5.0
    farm.route("/slow", Reply(delay=1.0))
    urls = [farm.url(f"/slow?page={n}") for n in range(10)]
    batches = check_urls_in_batches(urls, CheckerConfig.from_settings(), size=1, seconds=0)

    first = next(batches)
    batches.close()  # as a task's soft time limit or a failed recording would

    assert [result.outcome for result in first] == [Outcome.OK]
    # The rest were cancelled, not checked to the end behind the caller's back.
    assert farm.hit_count("/slow") <= 3


def test_batches_are_handed_over_whole_by_size_or_age(farm, link_settings):
    link_settings.LINK_CHECK_PER_HOST = 8
    farm.route("/quick", Reply())
    farm.route("/late", Reply(delay=1.0))
    urls = [farm.url(f"/quick?page={n}") for n in range(5)] + [farm.url("/late")]
    switch_interval = sys.getswitchinterval()

    batches = check_urls_in_batches(urls, CheckerConfig.from_settings(), size=2, seconds=0.3)
    sizes = []
    for batch in batches:
        # While the loop's thread runs, the interpreter lock changes hands every 1 ms.
        assert sys.getswitchinterval() == pytest.approx(0.001)
        sizes.append(len(batch))

    # Two full batches, the fifth quick result once its batch is 0.3 s old (long before
    # the late one), then the late one alone.
    assert sizes == [2, 2, 1, 1]
    assert sys.getswitchinterval() == switch_interval


def test_checks_in_two_threads_leave_the_switch_interval_as_they_found_it():
    before = sys.getswitchinterval()
    first, second = _quick_lock_handover(), _quick_lock_handover()

    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the first to start ends first: the second still runs
    assert sys.getswitchinterval() == pytest.approx(0.001)
    second.__exit__(None, None, None)

    assert sys.getswitchinterval() == before


# --- hostile hosts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "location",
    [
        "javascript:alert(1)",
        "data:text/html,<p>hi</p>",
        "mailto:someone@example.org",
        "ftp://files.example.org/a",
    ],
)
def test_redirect_to_a_scheme_other_than_http_is_refused(farm, config, location):
    farm.route("/away", status=302, headers={"Location": location})

    result = check_url(farm.url("/away"), config)

    assert result.outcome == Outcome.REFUSED
    assert result.chain[0]["status"] == 302
    assert "not an http or https URL" in result.detail


def test_slow_loris_cannot_hold_a_check_past_the_deadline(farm, link_settings):
    # Each request may take 2 s, and is tried three times: 6 s and more without a deadline.
    link_settings.LINK_CHECK_TIMEOUT_SECONDS = 2.0
    link_settings.LINK_CHECK_URL_DEADLINE_SECONDS = 0.5
    farm.route("/drip", Reply(drip=0.2))

    result = check_url(farm.url("/drip"), CheckerConfig.from_settings())

    assert result.outcome == Outcome.ERROR
    assert "deadline" in result.detail
    assert result.elapsed_ms < 4000  # less than two requests' own timeouts


def test_retry_after_longer_than_the_cap_is_rescheduled_not_waited_for(farm, link_settings):
    # A host asking for a minute before each of two redirects.
    link_settings.LINK_CHECK_RETRY_AFTER_CAP_SECONDS = 5.0
    wait = Reply(status=503, headers={"Retry-After": "60"})
    farm.route("/a", wait, Reply(status=301, headers={"Location": "/b"}))
    farm.route("/b", wait, Reply(status=301, headers={"Location": "/c"}))
    farm.route("/c")

    result = check_url(farm.url("/a"), CheckerConfig.from_settings())

    assert result.retry_after == 60
    assert result.status_code == 503
    assert "checked again at the next run" in result.detail
    assert farm.hit_count("/a") == 1  # asked once, not waited for, not asked again
    assert result.elapsed_ms < 5000


def test_a_wait_that_would_cross_the_deadline_is_rescheduled(farm, link_settings):
    link_settings.LINK_CHECK_RETRY_AFTER_CAP_SECONDS = 30.0
    link_settings.LINK_CHECK_URL_DEADLINE_SECONDS = 3.0
    farm.route("/busy", Reply(status=429, headers={"Retry-After": "10"}), Reply())

    result = check_url(farm.url("/busy"), CheckerConfig.from_settings())

    assert result.retry_after == 10
    assert farm.hit_count("/busy") == 1


def test_retry_after_within_the_cap_is_waited_for(farm, link_settings):
    link_settings.LINK_CHECK_RETRY_AFTER_CAP_SECONDS = 5.0
    farm.route("/busy", Reply(status=503, headers={"Retry-After": "0"}), Reply())

    result = check_url(farm.url("/busy"), CheckerConfig.from_settings())

    assert (result.outcome, result.retry_after) == (Outcome.OK, None)
    assert farm.hit_count("/busy") == 2


@pytest.mark.parametrize("marker", CHALLENGE_MARKERS)
def test_challenge_markers_are_found_in_any_case_within_the_first_16_kb(marker):
    shouting = marker.upper()
    assert marker == marker.lower()  # the search folds the page, not the markers
    assert looks_like_challenge({}, b"<html>" + shouting + b"</html>")
    assert looks_like_challenge({}, b"x" * (16384 - len(marker)) + marker)
    assert not looks_like_challenge({}, b"x" * 16384 + marker)
    assert not looks_like_challenge({}, b"<html><title>A page</title></html>")


def test_the_last_batch_is_handed_over_before_the_connections_close(farm, config, monkeypatch):
    # Closing the session (and the lookups' threads) can take a while with many
    # connections open; the last results must not wait for it to be recorded.
    farm.route("/page", Reply())
    closing = threading.Event()
    aexit = LinkChecker.__aexit__

    async def slow_close(self, *exc):
        await asyncio.get_running_loop().run_in_executor(None, closing.wait, 5)
        await aexit(self, *exc)

    monkeypatch.setattr(LinkChecker, "__aexit__", slow_close)
    batches = check_urls_in_batches([farm.url("/page")], config, size=100, seconds=60)
    started = time.monotonic()

    last = next(batches)

    waited = time.monotonic() - started
    closing.set()
    assert [result.outcome for result in last] == [Outcome.OK]
    assert waited < 4
    assert list(batches) == []


def test_a_hosts_requests_start_an_interval_apart_and_never_more_than_its_cap_at_once():
    gate = HostGate(per_host=2, interval=0.05)
    starts: list[float] = []
    in_flight = most = 0

    async def request() -> None:
        nonlocal in_flight, most
        async with gate.slot():
            starts.append(time.monotonic())
            in_flight += 1
            most = max(most, in_flight)
            await asyncio.sleep(0.01)
            in_flight -= 1

    async def stall() -> None:
        # The loop held up (a long callback, the recording thread holding the interpreter
        # lock): the waiters wake late, and must still start an interval apart.
        await asyncio.sleep(0.005)
        time.sleep(0.12)

    async def run() -> None:
        await asyncio.gather(stall(), *(request() for _ in range(6)))

    asyncio.run(run())

    assert len(starts) == 6
    assert min(b - a for a, b in itertools.pairwise(starts)) >= 0.049
    assert most <= 2


def test_a_freed_slot_goes_to_a_new_url_before_a_urls_next_request_until_that_is_urgent():
    gate = HostGate(per_host=1, interval=0)
    order: list[str] = []
    later = time.monotonic() + 60

    async def request(name: str, urgent_at: float | None, hold: asyncio.Event) -> None:
        async with gate.slot(urgent_at=urgent_at):
            order.append(name)
            await hold.wait()

    async def run() -> None:
        held, go = asyncio.Event(), asyncio.Event()
        go.set()
        first = asyncio.create_task(request("holder", None, held))
        await asyncio.sleep(0)
        # Queued while the slot is held, in this order.
        waiting = [
            asyncio.create_task(request("next hop", later, go)),
            asyncio.create_task(request("new url", None, go)),
            asyncio.create_task(request("retry, half its deadline used", 0.0, go)),
            asyncio.create_task(request("another new url", None, go)),
        ]
        await asyncio.sleep(0)
        held.set()
        await asyncio.gather(first, *waiting)

    asyncio.run(run())

    assert order == [
        "holder",
        "retry, half its deadline used",
        "new url",
        "another new url",
        "next hop",
    ]


def test_a_waiter_cancelled_at_the_gate_leaves_no_slot_taken():
    gate = HostGate(per_host=1, interval=0)
    done: list[str] = []
    tasks: dict[str, asyncio.Task[None]] = {}

    async def request(name: str, urgent_at: float | None = None) -> None:
        async with gate.slot(urgent_at=urgent_at):
            await asyncio.sleep(0.01)
            done.append(name)

    async def holder() -> None:
        await request("holder")
        # The slot was just handed to the "handed" waiter, which has not run yet.
        tasks["handed"].cancel()

    async def run() -> None:
        tasks["holder"] = asyncio.create_task(holder())
        await asyncio.sleep(0)
        for name, urgent_at in (("new", None), ("next", 0.0)):
            tasks[name] = asyncio.create_task(request(name, urgent_at))
        await asyncio.sleep(0)
        tasks["new"].cancel()  # cancelled while waiting
        tasks["next"].cancel()
        tasks["handed"] = asyncio.create_task(request("handed"))
        tasks["after"] = asyncio.create_task(request("after"))
        await asyncio.wait_for(asyncio.gather(*tasks.values(), return_exceptions=True), 5)
        # And the gate still lets one in at a time.
        await asyncio.wait_for(asyncio.gather(request("a"), request("b")), 2)

    asyncio.run(run())

    assert done == ["holder", "after", "a", "b"]
