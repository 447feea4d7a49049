"""The link checker: polite to every host, fast over many, safe to point at any URL.

It knows nothing of the database: give it URLs, get back one ``CheckResult`` per
distinct URL. ``services`` records them; ``check_urls`` runs it from sync code.

Politeness: a global cap on requests in flight, a per-host cap, a minimum gap
between two requests to one host (widened for the rest of the run when the host
answers 429), HEAD before GET, a GET that stops after a small body cap, retries
only for transient failures with exponential backoff and jitter.

Safety: before every request (each redirect hop and every provider-rule request)
the host is resolved here, every address must be public (or inside
``LINK_CHECK_ALLOWED_NETWORKS``), and the connection goes to the checked address
with the original ``Host`` header and TLS server name, so no second lookup can
point it elsewhere: the HTTP client (aiohttp, whose C parser keeps the per-request
CPU low) asks ``GuardedResolver`` for addresses, which hands back only the checked ones.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import functools
import ipaddress
import math
import queue
import random
import socket
import sys
import threading
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import urljoin, urlsplit

from apps.content.urls_normalize import url_normalize
from apps.core.errors import ApplicationError
from apps.linkhealth.outcomes import Outcome

if TYPE_CHECKING:
    # Imported where a check starts, not when Django loads: the processes that never check
    # a link (web, the Celery master) are 13 MB lighter without aiohttp.
    import aiohttp
    from aiohttp.abc import AbstractResolver, ResolveResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECT_CODES = frozenset({301, 308})
# HEAD answers that mean "ask me with GET instead".
HEAD_REFUSED_CODES = frozenset({400, 403, 405, 501})
BROKEN_CODES = frozenset({404, 410})
# 999 is LinkedIn's answer to anything it takes for a bot.
BLOCKED_CODES = frozenset({401, 403, 429, 999})
# Markers of a bot challenge page: the site did not say the page is gone.
CHALLENGE_MARKERS = (
    b"cf-chl",
    b"challenge-platform",
    b"just a moment...",
    b"attention required! | cloudflare",
    b"_incapsula_resource",
    b"px-captcha",
    b"please verify you are a human",
    b"g-recaptcha",
    b"h-captcha",
)


@dataclass
class CheckResult:
    url: str
    outcome: Outcome
    status_code: int | None = None
    final_url: str = ""
    redirects: int = 0
    chain: list[dict[str, Any]] = field(default_factory=list)
    elapsed_ms: int = 0
    detail: str = ""
    suggested_url: str = ""
    #: The host asked to be asked again after this many seconds, longer than the checker
    #: waits: the link was not checked this time and is due again at the next run.
    retry_after: float | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["outcome"] = str(self.outcome)
        return data


class ProviderRule(Protocol):
    """A provider's soft-404 knowledge: given a page that answered, is it really there?"""

    @property
    def name(self) -> str: ...

    def applies(self, url: str, result: CheckResult) -> bool: ...

    async def check(
        self, checker: LinkChecker, url: str, result: CheckResult
    ) -> CheckResult | None: ...


@dataclass(frozen=True)
class CheckerConfig:
    concurrency: int = 64
    per_host: int = 4
    host_interval: float = 0.02
    slowed_host_interval: float = 2.0
    connect_timeout: float = 5.0
    timeout: float = 15.0
    max_redirects: int = 10
    retries: int = 2
    backoff: float = 1.0
    retry_after_cap: float = 10.0
    url_deadline: float = 60.0
    body_cap: int = 65536
    user_agent: str = "Stepwise-LinkCheck/1.0"
    allowed_networks: tuple[IPNetwork, ...] = ()
    head_first: bool = False
    get_only_hosts: frozenset[str] = frozenset()
    rules: tuple[ProviderRule, ...] = ()

    @classmethod
    def from_settings(cls, **overrides: Any) -> CheckerConfig:
        from django.conf import settings

        from apps.linkhealth.providers import provider_rules

        values: dict[str, Any] = {
            "concurrency": settings.LINK_CHECK_CONCURRENCY,
            "per_host": settings.LINK_CHECK_PER_HOST,
            "host_interval": settings.LINK_CHECK_HOST_INTERVAL_SECONDS,
            "slowed_host_interval": settings.LINK_CHECK_SLOWED_HOST_INTERVAL_SECONDS,
            "connect_timeout": settings.LINK_CHECK_CONNECT_TIMEOUT_SECONDS,
            "timeout": settings.LINK_CHECK_TIMEOUT_SECONDS,
            "max_redirects": settings.LINK_CHECK_MAX_REDIRECTS,
            "retries": settings.LINK_CHECK_RETRIES,
            "backoff": settings.LINK_CHECK_BACKOFF_SECONDS,
            "retry_after_cap": settings.LINK_CHECK_RETRY_AFTER_CAP_SECONDS,
            "url_deadline": settings.LINK_CHECK_URL_DEADLINE_SECONDS,
            "body_cap": settings.LINK_CHECK_BODY_CAP_BYTES,
            "user_agent": settings.LINK_CHECK_USER_AGENT,
            "allowed_networks": networks_parse(settings.LINK_CHECK_ALLOWED_NETWORKS),
            "head_first": settings.LINK_CHECK_HEAD_FIRST,
            "get_only_hosts": frozenset(h.lower() for h in settings.LINK_CHECK_GET_ONLY_HOSTS),
            "rules": provider_rules(),
        }
        values.update(overrides)
        return cls(**values)


def networks_parse(cidrs: Iterable[str]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip())


NAT64_NETWORK = ipaddress.IPv6Network("64:ff9b::/96")
TEREDO_NETWORK = ipaddress.IPv6Network("2001::/32")


def address_is_public(address: IPAddress) -> bool:
    """True only for addresses on the public internet.

    IPv6 addresses that carry an IPv4 address to a relay or translator are judged by
    that IPv4 address: IPv4-mapped, 6to4 (2002::/16, which ``ipaddress`` calls global
    even around 127.0.0.1) and NAT64 (64:ff9b::/96). Teredo (2001::/32) tunnels to a
    client address hidden in the bits, so it is refused whatever it carries.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address in TEREDO_NETWORK:
            return False
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif address.sixtofour is not None:
            address = address.sixtofour
        elif address in NAT64_NETWORK:
            address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


class RefusedError(Exception):
    """Not fetched: unsafe address or not http(s)."""


class NotFoundError(Exception):
    """The host name does not exist."""


class TransientError(Exception):
    """Worth another try: timeout, reset, refused connection, temporary DNS failure."""


class PermanentError(Exception):
    """Will not get better by trying again (bad certificate, malformed answer)."""


class DeferredError(TransientError):
    """The host asked for a wait longer than the cap or than the URL's time left."""

    def __init__(self, seconds: float, answer: Answer) -> None:
        super().__init__(f"asked to wait {seconds:g} s")
        self.seconds = seconds
        self.answer = answer


@dataclass(slots=True)
class _UrlCheck:
    """The URL being checked, for its requests: when it must be done by, from when its next
    requests stop giving way to new URLs (``time.monotonic()``), and how many it has sent."""

    deadline_at: float
    next_requests_urgent_at: float
    requests: int = 0


_url_check: contextvars.ContextVar[_UrlCheck] = contextvars.ContextVar("link_url_check")


@dataclass
class Answer:
    status: int
    #: Case-insensitive, as HTTP header names are.
    headers: Mapping[str, str]
    body: bytes
    method: str


class HostGate:
    """At most ``per_host`` requests in flight to one host, starts ``interval`` apart.

    A freed slot goes to a new URL's first request before any URL's next one (a redirect's
    next hop, a retry), oldest first within each. The next requests kept back run when the
    host's new URLs have run out, and fill its last rounds, which the last URLs' own next
    requests would otherwise leave half empty: on the link benchmark, 2.86 s instead of
    2.92 s for a checker that cost nothing (bench/RESULTS.md). A next request gives way
    only until its URL has used half its deadline (``urgent_at``); from then on it goes
    first, so a long host cannot hold it past the deadline.
    """

    def __init__(self, per_host: int, interval: float) -> None:
        self._free = per_host
        self._new: collections.deque[asyncio.Future[None]] = collections.deque()
        self._next: collections.deque[tuple[float, asyncio.Future[None]]] = collections.deque()
        self._next_start = 0.0
        self.interval = interval
        self.head_refused = False

    def slow_down(self, interval: float) -> None:
        self.interval = max(self.interval, interval)

    @asynccontextmanager
    async def slot(self, *, urgent_at: float | None = None) -> AsyncIterator[None]:
        """A slot for a new URL's first request, or for a next request (``urgent_at``)."""
        await self._acquire(urgent_at)
        try:
            # No lock: the loop runs one callback at a time, so between the check and the
            # stamp nothing else starts. A waiter that wakes to find another has started
            # meanwhile waits again; each start is stamped with the time it really went.
            while (wait := self._next_start - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            self._next_start = time.monotonic() + self.interval
            yield
        finally:
            self._release()

    async def _acquire(self, urgent_at: float | None) -> None:
        # Waiters whose task was cancelled leave their entry behind for a moment.
        self._new = collections.deque(f for f in self._new if not f.done())
        self._next = collections.deque(e for e in self._next if not e[1].done())
        if self._free > 0 and not self._new and not self._next:
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if urgent_at is None:
            self._new.append(future)
        else:
            self._next.append((urgent_at, future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release()  # handed the slot just as it was cancelled: pass it on
            raise

    def _release(self) -> None:
        """Hand the slot to the waiter due it, or free it."""
        now = time.monotonic()
        urgent = [entry for entry in self._next if entry[0] <= now and not entry[1].done()]
        if urgent:
            self._next.remove(urgent[0])
            urgent[0][1].set_result(None)
            return
        while self._new:
            future = self._new.popleft()
            if not future.done():
                future.set_result(None)
                return
        while self._next:
            _, future = self._next.popleft()
            if not future.done():
                future.set_result(None)
                return
        self._free += 1


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def looks_like_challenge(headers: Mapping[str, str], body: bytes) -> bool:
    if headers.get("cf-mitigated", "").lower() == "challenge":
        return True
    # The head of the page, ASCII case folded once, then a substring search per marker:
    # a tenth of the CPU of one case-insensitive regular expression over the same bytes.
    head = body[:16384].lower()
    return any(marker in head for marker in CHALLENGE_MARKERS)


#: urlsplit is pure and each URL is split several times per request (host, port, scheme).
_urlsplit = functools.lru_cache(maxsize=4096)(urlsplit)


def _same_url(a: str, b: str) -> bool:
    try:
        return url_normalize(a) == url_normalize(b)
    except ApplicationError:
        return a == b


def _is_home(path: str) -> bool:
    return path.strip("/") in {"", "index.html", "index.php", "home", "en", "en-us"}


class GuardedResolver:
    """aiohttp's only source of addresses: the checker's own lookups, already checked.

    ``_request`` resolves (and refuses) every host before sending, so the connection
    is made to an address that passed the check, never to a second lookup's answer.
    """

    def __init__(self, checker: LinkChecker) -> None:
        self._checker = checker

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            addresses = await self._checker._resolve(host.lower(), port)
        except (RefusedError, NotFoundError, TransientError) as exc:
            raise OSError(str(exc)) from exc
        return [
            {
                "hostname": host,
                "host": str(address),
                "port": port,
                "family": socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in addresses
        ]

    async def close(self) -> None:
        return None


class LinkChecker:
    """Check many URLs concurrently. Use as ``async with LinkChecker(config) as checker``."""

    def __init__(self, config: CheckerConfig) -> None:
        self.config = config
        self._global: asyncio.Semaphore | None = None
        self._gates: dict[str, HostGate] = {}
        self._session: aiohttp.ClientSession | None = None
        self._dns: dict[tuple[str, int], list[IPAddress] | BaseException] = {}
        self._dns_locks: dict[tuple[str, int], asyncio.Lock] = {}
        #: Lookups finished per name, and the last one that failed for now: callers
        #: who queued behind a failing lookup share its answer instead of waiting again.
        self._dns_lookups: dict[tuple[str, int], int] = {}
        self._dns_failed: dict[tuple[str, int], TransientError] = {}
        self._resolver: ThreadPoolExecutor | None = None

    async def __aenter__(self) -> LinkChecker:
        self._global = asyncio.Semaphore(self.config.concurrency)
        # getaddrinfo blocks a thread; the loop's default pool has a handful, so a slow
        # resolver would hold every other lookup behind it.
        self._resolver = ThreadPoolExecutor(
            max_workers=max(1, self.config.concurrency), thread_name_prefix="link-dns"
        )
        import aiohttp

        connector = aiohttp.TCPConnector(
            resolver=cast("AbstractResolver", GuardedResolver(self)),
            use_dns_cache=False,  # the resolver keeps the run's checked answers itself
            limit=self.config.concurrency,
            # A pool is per (host, port, TLS): a connection made for one server name is
            # never reused for another name that happens to share the address.
            limit_per_host=self.config.per_host,
            # aiohttp's own verifying context, made once when it is imported: loading the
            # CA bundle anew would cost every chunk its start-up.
            ssl=True,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            trust_env=False,  # a proxy from the environment would undo the address check
            auto_decompress=False,  # the body is read raw and capped (see _read_capped)
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(
                total=self.config.timeout, sock_connect=self.config.connect_timeout
            ),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        if self._resolver is not None:
            # A lookup stuck in the resolver must not hold the end of the run.
            self._resolver.shutdown(wait=False, cancel_futures=True)
            self._resolver = None

    # --- public ---------------------------------------------------------------------

    async def check_many(
        self, urls: Iterable[str], on_result: Callable[[CheckResult], None] | None = None
    ) -> dict[str, CheckResult]:
        """Check each distinct URL once; ``on_result`` hears of each as soon as it is done.

        Returns the results by URL, unless ``on_result`` is given: then it alone gets them,
        and none is kept here (a worker's memory stays flat over a chunk of thousands).

        Each host's URLs are taken in order by a few workers of its own (twice the
        per-host cap, so a URL waiting out a backoff leaves its slot to the next),
        rather than one task per URL: thousands of tasks queued at the gates would
        cost their start-up before the first request goes out.
        """
        results: dict[str, CheckResult] = {}
        by_host: dict[str, collections.deque[str]] = {}
        for url in dict.fromkeys(urls):
            # Not the cached split: a chunk's thousands of URLs would push out the entries
            # the checks themselves are about to look up.
            host = (urlsplit(url).hostname or "").lower()
            by_host.setdefault(host, collections.deque()).append(url)

        async def worker(queue: collections.deque[str]) -> None:
            while queue:
                url = queue.popleft()
                result = await self.check(url)
                if on_result is None:
                    results[url] = result
                else:
                    on_result(result)

        workers_per_host = 2 * max(1, self.config.per_host)
        await asyncio.gather(
            *(
                worker(queue)
                for queue in by_host.values()
                for _ in range(min(len(queue), workers_per_host))
            )
        )
        return results

    async def check(self, url: str) -> CheckResult:
        """Check one URL within ``url_deadline`` seconds, redirects, retries and waits included."""
        started = time.monotonic()
        deadline = self.config.url_deadline
        token = _url_check.set(_UrlCheck(started + deadline, started + deadline / 2))
        try:
            async with asyncio.timeout(deadline):
                result = await self._check(url)
                for rule in self.config.rules:
                    if rule.applies(url, result):
                        result = await rule.check(self, url, result) or result
                        break
        except TimeoutError:
            result = CheckResult(
                url=url,
                outcome=Outcome.ERROR,
                final_url=url,
                detail=f"no answer within the {deadline:g} s deadline "
                "(redirects, retries and waits included)",
            )
        except Exception as exc:  # one bad URL must never stop a run
            result = CheckResult(url=url, outcome=Outcome.ERROR, detail=f"checker failed: {exc!r}")
        finally:
            _url_check.reset(token)
        result.elapsed_ms = int((time.monotonic() - started) * 1000)
        return result

    async def fetch(self, url: str, *, method: str = "GET") -> Answer:
        """One guarded request (with retries), no redirects followed. For provider rules."""
        return await self._request(url, method)

    # --- one URL --------------------------------------------------------------------

    async def _check(self, url: str) -> CheckResult:
        chain: list[dict[str, Any]] = []
        result = CheckResult(url=url, outcome=Outcome.ERROR, final_url=url)
        current = url
        suggested = ""
        only_permanent = True
        seen = {url}
        answer: Answer | None = None
        for _hop in range(self.config.max_redirects + 1):
            try:
                answer = await self._request_head_then_get(current)
            except RefusedError as exc:
                result.outcome, result.detail = Outcome.REFUSED, str(exc)
                break
            except NotFoundError as exc:
                result.outcome, result.detail = Outcome.BROKEN, str(exc)
                break
            except DeferredError as exc:
                waited = exc.answer
                chain.append({"url": current, "status": waited.status, "method": waited.method})
                result.status_code, result.retry_after = waited.status, exc.seconds
                result.outcome = Outcome.ERROR
                result.detail = (
                    f"HTTP {waited.status}: the host asked to wait {exc.seconds:g} s, longer "
                    "than the checker waits; checked again at the next run"
                )
                break
            except (TransientError, PermanentError) as exc:
                result.outcome, result.detail = Outcome.ERROR, str(exc)
                break
            chain.append({"url": current, "status": answer.status, "method": answer.method})
            result.status_code = answer.status
            location = answer.headers.get("location")
            if answer.status not in REDIRECT_CODES or not location:
                result = self._classify(result, answer)
                break
            target = urljoin(current, location.strip())
            if urlsplit(target).scheme.lower() not in {"http", "https"}:
                # javascript:, data:, mailto:, ftp: ... nothing a learner's browser should
                # be sent to from a resource link, and nothing the checker fetches.
                chain.append({"url": target, "status": None, "method": ""})
                result.outcome = Outcome.REFUSED
                result.detail = f"redirected to {target[:200]}: not an http or https URL"
                break
            if answer.status in PERMANENT_REDIRECT_CODES and only_permanent:
                suggested = target
            else:
                only_permanent = False
            if target in seen:
                chain.append({"url": target, "status": None, "method": ""})
                result.outcome, result.detail = Outcome.ERROR, "redirect loop"
                break
            seen.add(target)
            current = target
            result.final_url = current
        else:
            result.outcome = Outcome.ERROR
            result.detail = f"more than {self.config.max_redirects} redirects"
        result.chain = chain
        result.redirects = max(0, len([h for h in chain if h["status"] in REDIRECT_CODES]))
        result.final_url = current
        if result.outcome == Outcome.OK and result.redirects:
            if suggested and not _same_url(suggested, url):
                result.outcome = Outcome.MOVED
                result.suggested_url = suggested
                result.detail = f"permanently redirected to {suggested}"
            elif not _is_home(urlsplit(url).path) and _is_home(urlsplit(current).path):
                result.outcome = Outcome.MOVED
                result.suggested_url = current
                result.detail = "deep link now lands on the home page"
        return result

    def _classify(self, result: CheckResult, answer: Answer) -> CheckResult:
        status = answer.status
        if looks_like_challenge(answer.headers, answer.body):
            result.outcome = Outcome.BLOCKED
            result.detail = "bot challenge: could not verify"
        elif 200 <= status < 300:
            result.outcome = Outcome.OK
        elif status in BROKEN_CODES:
            result.outcome, result.detail = Outcome.BROKEN, f"HTTP {status}"
        elif status in BLOCKED_CODES:
            result.outcome = Outcome.BLOCKED
            result.detail = f"HTTP {status}: the site refused the checker; could not verify"
        elif status in REDIRECT_CODES:
            result.outcome, result.detail = Outcome.ERROR, f"HTTP {status} without Location"
        elif status >= 500:
            result.outcome, result.detail = Outcome.ERROR, f"HTTP {status} after retries"
        else:
            result.outcome, result.detail = Outcome.ERROR, f"unexpected HTTP {status}"
        return result

    async def _request_head_then_get(self, url: str) -> Answer:
        host = (_urlsplit(url).hostname or "").lower()
        gate = self._gate(host)
        # GET by default: one request per link whatever the server makes of HEAD (many
        # refuse it, some answer it wrongly), and the body is what tells a bot challenge
        # or a soft-404 page; its reading stops at body_cap.
        head = self.config.head_first and host not in self.config.get_only_hosts
        if head and not gate.head_refused:
            try:
                answer = await self._request(url, "HEAD")
            except PermanentError:
                answer = None  # some servers break on HEAD; GET decides
            if answer is not None and answer.status not in HEAD_REFUSED_CODES:
                return answer
            gate.head_refused = True
        return await self._request(url, "GET")

    # --- one request, with retries -----------------------------------------------------

    async def _request(self, url: str, method: str) -> Answer:
        parts = _urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in {"http", "https"}:
            raise RefusedError(f"not an http or https URL: {url}")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError as exc:
            raise PermanentError(f"invalid URL: {exc}") from exc
        host = (parts.hostname or "").lower()
        if not host:
            raise RefusedError(f"no host name: {url}")
        gate = self._gate(host)
        check = _url_check.get(None)
        attempts = self.config.retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            wait: float | None = None
            urgent_at = None
            if check is not None:  # the URL's first request is new; the others are next ones
                urgent_at = check.next_requests_urgent_at if check.requests else None
                check.requests += 1
            try:
                await self._resolve(host, port)  # refused or unknown names stop here
                async with gate.slot(urgent_at=urgent_at), self._global_slots():
                    answer = await self._send(url, method)
            except TransientError:
                if last:
                    raise
            else:
                if answer.status == 429:
                    gate.slow_down(self.config.slowed_host_interval)
                    wait = retry_after_seconds(answer.headers.get("retry-after"))
                elif answer.status == 503:
                    wait = retry_after_seconds(answer.headers.get("retry-after"))
                transient = answer.status == 429 or (answer.status >= 500 and answer.status != 501)
                if transient and not last and not looks_like_challenge(answer.headers, answer.body):
                    left = (check.deadline_at if check else math.inf) - time.monotonic()
                    if wait is not None and (wait > self.config.retry_after_cap or wait >= left):
                        raise DeferredError(wait, answer)
                    await self._backoff(attempt, wait)
                    continue
                return answer
            await self._backoff(attempt, None)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _backoff(self, attempt: int, retry_after: float | None) -> None:
        if retry_after is not None:
            delay = retry_after  # within the cap: longer waits are deferred (DeferredError)
        elif attempt == 0:
            # The first retry goes at once (through the host's gate, so still spaced), as
            # urllib3's Retry does: one failed answer among many good ones is most often
            # a blip, and waiting for it would hold the end of a run.
            return
        else:
            # Then exponential, with full jitter around the nominal delay.
            delay = self.config.backoff * (2 ** (attempt - 1)) * random.uniform(0.5, 1.5)  # noqa: S311
        await asyncio.sleep(delay)

    async def _send(self, url: str, method: str) -> Answer:
        import aiohttp

        if self._session is None:
            raise RuntimeError("use LinkChecker as an async context manager")
        headers = {
            "User-Agent": self.config.user_agent,
            "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
            "Accept-Language": "en",
            # The body is read raw and capped; a compressed one would hide every marker.
            "Accept-Encoding": "identity",
        }
        try:
            # The session's ClientTimeout bounds the whole request, body reading included.
            async with self._session.request(
                method, url, headers=headers, allow_redirects=False
            ) as response:
                # Reading to the end (empty for HEAD) keeps the connection reusable;
                # a body cut at the cap closes it instead.
                body = await self._read_capped(response)
        except TimeoutError as exc:
            raise TransientError(f"timed out after {self.config.timeout:g} s") from exc
        except aiohttp.InvalidUrlClientError as exc:
            # e.g. 2130706433 or 127.1 for 127.0.0.1: spellings that only hide an address.
            raise RefusedError(f"not a URL the checker will fetch: {exc}") from exc
        except aiohttp.ClientSSLError as exc:
            raise PermanentError(f"TLS failed: {exc}") from exc
        except aiohttp.ClientConnectorError as exc:
            raise TransientError(f"connection failed: {exc.os_error or exc}") from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            raise TransientError(f"connection reset: {exc or type(exc).__name__}") from exc
        except aiohttp.ClientPayloadError as exc:
            raise TransientError(f"connection reset: {exc}") from exc
        except (aiohttp.ClientError, ValueError) as exc:
            raise PermanentError(f"{type(exc).__name__}: {exc}") from exc
        return Answer(status=response.status, headers=response.headers, body=body, method=method)

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes:
        """Up to ``body_cap`` bytes of the body, gunzipped if the server compressed it anyway.

        Decompression is bounded by the cap too, so a small compressed bomb stays small.
        """
        cap = self.config.body_cap
        encoding = response.headers.get("content-encoding", "").strip().lower()
        decoder = None
        if encoding in {"gzip", "x-gzip", "deflate"}:
            decoder = zlib.decompressobj(wbits=zlib.MAX_WBITS | 32)  # gzip or zlib header
        chunks: list[bytes] = []
        size = 0
        while raw := await response.content.readany():
            chunk = raw
            if decoder is not None:
                try:
                    chunk = decoder.decompress(raw, cap - size)
                except zlib.error:
                    break
            chunks.append(chunk)
            size += len(chunk)
            if size >= cap:
                break
        return b"".join(chunks)[:cap]

    # --- hosts, names, clients ----------------------------------------------------------

    def _global_slots(self) -> asyncio.Semaphore:
        if self._global is None:
            raise RuntimeError("use LinkChecker as an async context manager")
        return self._global

    def _gate(self, host: str) -> HostGate:
        gate = self._gates.get(host)
        if gate is None:
            gate = self._gates[host] = HostGate(self.config.per_host, self.config.host_interval)
        return gate

    def _allowed(self, address: IPAddress) -> bool:
        if any(address in network for network in self.config.allowed_networks):
            return True
        return address_is_public(address)

    async def _resolve(self, host: str, port: int) -> list[IPAddress]:
        key = (host, port)
        cached = self._dns.get(key)
        if cached is not None:  # the common case, without queueing on the lock
            if isinstance(cached, BaseException):
                raise cached
            return cached
        lock = self._dns_locks.setdefault(key, asyncio.Lock())
        lookups_before = self._dns_lookups.get(key, 0)
        async with lock:
            cached = self._dns.get(key)
            if cached is None and self._dns_lookups.get(key, 0) != lookups_before:
                cached = self._dns_failed.get(key)  # the lookup we waited for just failed
            if cached is None:
                cached = await self._lookup(host, port)
                self._dns_lookups[key] = self._dns_lookups.get(key, 0) + 1
                if isinstance(cached, TransientError):  # a later retry may resolve
                    self._dns_failed[key] = cached
                else:
                    self._dns[key] = cached
        if isinstance(cached, BaseException):
            raise cached
        return cached

    async def _lookup(self, host: str, port: int) -> list[IPAddress] | BaseException:
        if self._resolver is None:
            raise RuntimeError("use LinkChecker as an async context manager")
        loop = asyncio.get_running_loop()
        lookup = functools.partial(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        try:
            async with asyncio.timeout(self.config.connect_timeout):
                infos = await loop.run_in_executor(self._resolver, lookup)
        except TimeoutError:
            return TransientError(
                f"DNS lookup of {host} timed out after {self.config.connect_timeout:g} s"
            )
        except socket.gaierror as exc:
            if exc.errno in _NAME_NOT_FOUND:
                return NotFoundError(f"DNS: {host} not found")
            return TransientError(f"DNS lookup of {host} failed: {exc}")
        addresses: list[IPAddress] = []
        for info in infos:
            raw = str(info[4][0]).split("%", 1)[0]
            address = ipaddress.ip_address(raw)
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            return NotFoundError(f"DNS: {host} has no address")
        for address in addresses:
            if not self._allowed(address):
                where = host if host == str(address) else f"{host} resolves to {address}, which"
                return RefusedError(f"{where} is not a public address")
        return addresses


_NAME_NOT_FOUND = {
    code
    for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None))
    if code is not None
}


# --- running from sync code -------------------------------------------------------------


def http_client_preload() -> None:
    """Import what a check needs (aiohttp, uvloop) now, ahead of the first check."""
    import aiohttp  # noqa: F401
    import uvloop  # noqa: F401


def check_urls(urls: Sequence[str], config: CheckerConfig | None = None) -> Iterator[CheckResult]:
    """Check URLs on an event loop in a helper thread; yield results as they finish."""
    for batch in check_urls_in_batches(urls, config, size=1, seconds=0.0):
        yield from batch


def check_urls_in_batches(
    urls: Sequence[str], config: CheckerConfig | None = None, *, size: int, seconds: float
) -> Iterator[list[CheckResult]]:
    """Check URLs on an event loop in a helper thread; yield results in batches.

    A batch is yielded once it holds ``size`` results or its first result is ``seconds``
    old, whichever comes first. The caller's thread stays free for the ORM (which must
    not run inside the loop), so each batch can be recorded the moment it is yielded,
    in a few queries, while the loop goes on checking.

    The loop's thread fills each batch and hands it over whole: the caller's thread
    sleeps until then instead of waking for each result, or to look for them. Whenever
    that thread runs Python, the loop's thread waits for the interpreter lock before it
    can answer a response, which left hosts' request slots idle (bench/RESULTS.md, "Link
    health"); for the same reason the lock changes hands every millisecond while both
    run, instead of every five.
    """
    config = config or CheckerConfig.from_settings()
    done = object()
    batches: queue.SimpleQueue[object] = queue.SimpleQueue()
    running: list[tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]]] = []

    async def run() -> None:
        loop = asyncio.get_running_loop()
        running.append((loop, cast(asyncio.Task[Any], asyncio.current_task())))
        batch: list[CheckResult] = []
        closing: asyncio.TimerHandle | None = None

        def hand_over() -> None:
            nonlocal batch, closing
            if closing is not None:
                closing.cancel()
                closing = None
            if batch:
                batches.put(batch)
                batch = []

        def on_result(result: CheckResult) -> None:
            nonlocal closing
            batch.append(result)
            if len(batch) >= size or seconds <= 0:
                hand_over()
            elif closing is None:
                closing = loop.call_later(seconds, hand_over)

        async with LinkChecker(config) as checker:
            try:
                await checker.check_many(urls, on_result=on_result)
            finally:
                # The last results go to be recorded now, not after the session has
                # closed its connections and the lookups' threads have stopped.
                hand_over()

    def target() -> None:
        try:
            import uvloop  # the same asyncio, its loop in C: less CPU per request

            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(run())
        except asyncio.CancelledError:
            pass  # the caller left early (see below)
        except BaseException as exc:  # handed to the caller's thread
            batches.put(exc)
        finally:
            batches.put(done)

    thread = threading.Thread(target=target, name="link-check", daemon=True)
    with _quick_lock_handover():
        thread.start()
        try:
            while (item := batches.get()) is not done:
                if isinstance(item, BaseException):
                    raise item
                yield cast(list[CheckResult], item)
        finally:
            # The caller may leave before the end (an error recording, a task's soft time
            # limit): stop the checks still running instead of waiting for all of them.
            for loop, task in running:
                with contextlib.suppress(RuntimeError):  # the loop has just closed
                    loop.call_soon_threadsafe(task.cancel)
            thread.join()


#: How long a thread may hold the interpreter lock while the other waits for it, while
#: a check runs (Python's default is 5 ms).
_SWITCH_INTERVAL_SECONDS = 0.001
_checks_running = 0
_checks_running_lock = threading.Lock()
_switch_interval_before = 0.0


@contextlib.contextmanager
def _quick_lock_handover() -> Iterator[None]:
    """``_SWITCH_INTERVAL_SECONDS`` while any check runs in this process; the interval it
    had before once the last one ends (checks in several threads at once included)."""
    global _checks_running, _switch_interval_before
    with _checks_running_lock:
        if _checks_running == 0:
            _switch_interval_before = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_interval_before, _SWITCH_INTERVAL_SECONDS))
        _checks_running += 1
    try:
        yield
    finally:
        with _checks_running_lock:
            _checks_running -= 1
            if _checks_running == 0:
                sys.setswitchinterval(_switch_interval_before)


def check_url(url: str, config: CheckerConfig | None = None) -> CheckResult:
    """Check one URL now and return the result (nothing is recorded)."""
    return next(iter(check_urls([url], config)))
