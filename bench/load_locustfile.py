"""Locust load for bench/load_bench.py: learners and visitors on the web and the API at once.

A ``Learner`` is one learner of the plan (LOAD_PLAN, written by load_bench.py) with two
devices: a browser (the web session, cookies) and a phone (an allauth headless session
token, no cookies), both signed in already, as after an earlier sign-in. Two ``SigningIn``
users sign in again and again (web form and headless in turns, 12 a minute in all). A
``Visitor`` browses the catalog and track pages anonymously. Each learner ticks only its
own steps, so the last status it was told was saved is the one the database must hold:
every acknowledged tick is appended to LOAD_ACKS for load_bench.py to check, every request
to LOAD_REQUESTS (start, name, status, milliseconds). At the end, LOAD_STATUSES gets the
count of each answer status per request, and a few unexpected answers.

Cookies: production marks them Secure, and a cookie jar keeps those off plain HTTP. The
browser's jar here sends them over the plain HTTP of loopback, as a browser does over the
TLS that the proxy in front of gunicorn ends.
"""

import itertools
import json
import os
import random
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from http.cookiejar import Cookie, DefaultCookiePolicy

from locust import FastHttpUser, between, constant_pacing, events, task
from locust.contrib.fasthttp import FastHttpSession

with open(os.environ["LOAD_PLAN"]) as plan_file:
    PLAN = json.load(plan_file)
_LEARNERS = itertools.cycle(PLAN["learners"])
_ACKS = open(os.environ["LOAD_ACKS"], "a", buffering=1)  # noqa: SIM115 - open for the run
STATUSES = ["todo", "in_progress", "done", "skipped"]
#: Answers per (request name, HTTP status); 0 is a connection error.
ANSWERS: Counter[tuple[str, int]] = Counter()
#: The first few unexpected answers of each kind, to look into.
EXAMPLES: dict[tuple[str, int], list[str]] = {}
SECURE_OVER_PLAIN_HTTP = DefaultCookiePolicy(secure_protocols=("https", "wss", "http"))
# Seconds a user waits between two actions (a person reading, not a script).
WAIT = [float(s) for s in os.environ.get("LOAD_WAIT", "2,6").split(",")]


def _ack(email: str, step: int, status: str, via: str) -> None:
    _ACKS.write(
        json.dumps({"user": email, "step": step, "status": status, "via": via, "at": time.time()})
        + "\n"
    )


def _check(response, method: str, name: str, expected: tuple[int, ...] = (200,)) -> bool:
    ANSWERS[(f"{method} {name}", response.status_code)] += 1
    if response.status_code in expected:
        response.success()
        return True
    response.failure(f"HTTP {response.status_code}")
    examples = EXAMPLES.setdefault((f"{method} {name}", response.status_code), [])
    if len(examples) < 3:
        examples.append(response.text or repr(getattr(response, "error", None)))
    return False


def _signed_out(response) -> bool:
    """htmx's answer to a signed-out browser: a 200 asking it to go to the sign-in page."""
    if "HX-Redirect" in response.headers:
        response.failure("signed out (HX-Redirect)")
        return True
    return False


def _session_cookie(name: str, value: str) -> Cookie:
    """The cookie Django sets on sign-in, as the jar would have stored it from 127.0.0.1."""
    return Cookie(0, name, value, None, False, "127.0.0.1", False, False, "/", True, True,
                  None, False, None, None, {})  # fmt: skip


_REQUESTS = open(os.environ["LOAD_REQUESTS"], "w", buffering=1 << 16)  # noqa: SIM115


@events.request.add_listener
def _log_request(request_type, name, response_time, response, start_time, **_kwargs) -> None:
    """Every request: when it started, what, its answer and how long it took."""
    status = getattr(response, "status_code", 0) or 0
    _REQUESTS.write(f"{start_time:.3f}\t{request_type} {name}\t{status}\t{response_time:.1f}\n")


@events.test_stop.add_listener
def _write_answers(**_kwargs) -> None:
    _ACKS.flush()
    _REQUESTS.flush()
    with open(os.environ["LOAD_STATUSES"], "w") as out:
        json.dump(
            {
                "answers": [[name, status, n] for (name, status), n in sorted(ANSWERS.items())],
                "examples": [[name, status, e] for (name, status), e in sorted(EXAMPLES.items())],
            },
            out,
        )


class Client(FastHttpUser):
    abstract = True
    wait_time = between(*WAIT)


class Visitor(Client):
    """Not signed in: the catalog and track pages."""

    weight = 1

    @task(1)
    def catalog(self) -> None:
        with self.client.get("/tracks/", name="/tracks/", catch_response=True) as r:
            _check(r, "GET", "/tracks/")

    @task(3)
    def track_page(self) -> None:
        name = "/tracks/<slug>/ (anonymous)"
        slug = random.choice(PLAN["tracks"])
        with self.client.get(f"/tracks/{slug}/", name=name, catch_response=True) as r:
            _check(r, "GET", name)


class SignedIn(Client):
    """One learner of the plan with a browser (cookies) and a phone (a session token)."""

    abstract = True

    def on_start(self) -> None:
        learner = next(_LEARNERS)
        self.email: str = learner["email"]
        # [step id, track slug, step key, resource id], on the tracks the learner follows.
        self.steps: list[list] = learner["steps"]
        self.client.cookiejar.set_policy(SECURE_OVER_PLAIN_HTTP)
        self.client.cookiejar.set_cookie(_session_cookie("sessionid", learner["session"]))
        self.phone = FastHttpSession(
            self.host,
            request_event=self.environment.events.request,
            user=self,
            network_timeout=self.network_timeout,
            connection_timeout=self.connection_timeout,
            max_retries=self.max_retries,
            insecure=self.insecure,
        )
        self.token: str = learner["token"]

    def _csrf(self) -> str:
        return next((c.value for c in self.client.cookiejar if c.name == "csrftoken"), "")

    def _htmx_post(self, url: str, name: str, data: dict[str, str]):
        token = self._csrf()
        return self.client.post(
            url,
            data={**data, "csrfmiddlewaretoken": token},
            headers={"HX-Request": "true", "X-CSRFToken": token},
            name=name,
            catch_response=True,
        )

    def _api(self, method: str, url: str, name: str, **kwargs):
        headers = {"X-Session-Token": self.token, "Accept": "application/json"}
        return self.phone.request(
            method, url, name=name, headers=headers, catch_response=True, **kwargs
        )

    def sign_in_on_the_web(self) -> None:
        """A browser whose session ended signs in: fetch the form (its CSRF cookie), post it,
        follow nothing. Its new session cookie replaces the old one."""
        self.client.cookiejar.clear()
        with self.client.get("/accounts/login/", name="/accounts/login/", catch_response=True) as r:
            if not _check(r, "GET", "/accounts/login/"):
                return
        name = "/accounts/login/"
        with self.client.post(
            "/accounts/login/",
            data={
                "login": self.email,
                "password": PLAN["password"],
                "csrfmiddlewaretoken": self._csrf(),
            },
            name=name,
            allow_redirects=False,
            catch_response=True,
        ) as r:
            _check(r, "POST", name, expected=(302,))

    def sign_in_on_the_phone(self) -> None:
        name = "/_allauth/app/v1/auth/login"
        with self.phone.post(
            "/_allauth/app/v1/auth/login",
            json={"email": self.email, "password": PLAN["password"]},
            name=name,
            catch_response=True,
        ) as r:
            if _check(r, "POST", name):
                self.token = r.json()["meta"]["session_token"]


class SigningIn(SignedIn):
    """Learners whose session ended sign in again, in turns on the web and on the phone: at
    a steady 12 a minute in all (2 users, one sign-in each every 10 s), whatever the load."""

    fixed_count = 2
    wait_time = constant_pacing(10)

    @task
    def sign_in(self) -> None:
        self.on_the_web = not getattr(self, "on_the_web", False)
        if self.on_the_web:
            self.sign_in_on_the_web()
        else:
            self.sign_in_on_the_phone()


class Learner(SignedIn):
    """Reads, ticks and syncs; never signs in (its sessions come from an earlier sign-in)."""

    weight = 4

    def on_start(self) -> None:
        super().on_start()
        self.reported: set[int] = set()
        self.cursor = 0
        self.dashboard()  # opening the site: also gives the browser its CSRF cookie

    @task(20)
    def track_page(self) -> None:
        name = "/tracks/<slug>/ (signed in)"
        slug = random.choice(self.steps)[1]
        with self.client.get(
            f"/tracks/{slug}/", name=name, allow_redirects=False, catch_response=True
        ) as r:
            _check(r, "GET", name)

    @task(10)
    def dashboard(self) -> None:
        """Signed-in pages: a redirect (to the sign-in page) is a failure here."""
        with self.client.get(
            "/dashboard/", name="/dashboard/", allow_redirects=False, catch_response=True
        ) as r:
            _check(r, "GET", "/dashboard/")

    @task(15)
    def tick_on_the_web(self) -> None:
        """The step's status form, as htmx posts it (a 200 fragment, or 4xx with the reason)."""
        name = "/tracks/<slug>/steps/<key>/status/"
        step, slug, key, _ = random.choice(self.steps)
        status = random.choice(STATUSES)
        url = f"/tracks/{slug}/steps/{key}/status/"
        with self._htmx_post(url, name, {"status": status}) as r:
            if _check(r, "POST", name) and not _signed_out(r):
                _ack(self.email, step, status, "web")

    @task(1)
    def report_a_link(self) -> None:
        """Queued work: a report schedules a re-check through the outbox."""
        name = "/links/report/<id>/"
        fresh = [s[3] for s in self.steps if s[3] and s[3] not in self.reported]
        if not fresh:
            return
        resource = random.choice(fresh)
        self.reported.add(resource)
        with self._htmx_post(f"/links/report/{resource}/", name, {}) as r:
            if _check(r, "POST", name) and not _signed_out(r) and "Thank you" not in r.text:
                r.failure("report not taken")

    @task(8)
    def progress(self) -> None:
        name = "/api/v1/progress/"
        with self._api("GET", "/api/v1/progress/", name) as r:
            _check(r, "GET", name)

    @task(12)
    def tick_on_the_phone(self) -> None:
        name = "/api/v1/progress/steps/<id>/"
        step = random.choice(self.steps)[0]
        status = random.choice(STATUSES)
        with self._api(
            "PUT", f"/api/v1/progress/steps/{step}/", name, json={"status": status}
        ) as r:
            if _check(r, "PUT", name):
                if r.json()["status"] == status:
                    _ack(self.email, step, status, "api")
                else:
                    r.failure("the answer holds another status")

    @task(8)
    def sync(self) -> None:
        """Changes made offline on the phone (1 to 5), sent when it is back online."""
        name = "/api/v1/progress/sync/"
        now = datetime.now(UTC).isoformat()
        operations = [
            {"op_id": str(uuid.uuid4()), "step": s[0], "status": random.choice(STATUSES),
             "occurred_at": now}
            for s in random.sample(self.steps, random.randint(1, 5))
        ]  # fmt: skip
        with self._api(
            "POST", "/api/v1/progress/sync/", name, json={"operations": operations}
        ) as r:
            if not _check(r, "POST", name):
                return
            for op, result in zip(operations, r.json()["results"], strict=True):
                if result["result"] == "applied":
                    _ack(self.email, op["step"], op["status"], "sync")
                else:
                    r.failure(f"operation {result['result']}")

    @task(8)
    def changes(self) -> None:
        """What changed elsewhere since the phone's cursor (0 at first: everything)."""
        name = "/api/v1/progress/changes/"
        with self._api("GET", f"/api/v1/progress/changes/?since={self.cursor}", name) as r:
            if _check(r, "GET", name):
                self.cursor = r.json()["cursor"]
