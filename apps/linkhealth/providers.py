"""Soft-404 rules, one small class per provider the built-in roadmaps use most.

A page can answer 200 and still be gone: YouTube serves its watch page for a removed
or private video, course sites send a retired course to their catalogue. Each rule
says when it applies and, given what the plain check found, what is really there.
Hosts and endpoints come from settings, so tests point them at local servers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlsplit

from apps.linkhealth.checker import (
    CheckResult,
    NotFoundError,
    PermanentError,
    RefusedError,
    TransientError,
)
from apps.linkhealth.outcomes import Outcome

if TYPE_CHECKING:
    from apps.linkhealth.checker import LinkChecker, ProviderRule

VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{6,20}$")


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


@dataclass(frozen=True)
class YouTubeRule:
    """A removed or private video still gets a 200 watch page; ask oEmbed, then the thumbnail.

    oEmbed answers 404 for a removed video and 401 for a private one or one whose owner
    turned embedding off; the thumbnail tells those two apart (it is gone when private).
    """

    hosts: frozenset[str]
    oembed_url: str
    thumbnail_url: str
    name: str = "youtube"

    def video_id(self, url: str) -> str | None:
        parts = urlsplit(url)
        path = parts.path.rstrip("/")
        candidate: str | None = None
        if path == "/watch":
            candidate = (parse_qs(parts.query).get("v") or [""])[0]
        elif path.startswith(("/embed/", "/shorts/", "/live/", "/v/")):
            candidate = path.split("/")[2]
        elif (parts.hostname or "").endswith("youtu.be") and path.count("/") == 1:
            candidate = path[1:]
        return candidate if candidate and VIDEO_ID.match(candidate) else None

    def applies(self, url: str, result: CheckResult) -> bool:
        return (
            result.outcome in {Outcome.OK, Outcome.MOVED}
            and _host(url) in self.hosts
            and self.video_id(url) is not None
        )

    async def check(self, checker: LinkChecker, url: str, result: CheckResult) -> CheckResult:
        video_id = self.video_id(url) or ""
        query = urlencode({"url": url, "format": "json"})
        try:
            oembed = await checker.fetch(f"{self.oembed_url}?{query}")
            if oembed.status in {404, 400}:
                return replace(result, outcome=Outcome.BROKEN, detail="YouTube: video removed")
            if oembed.status in {401, 403}:
                thumb = await checker.fetch(self.thumbnail_url.format(video_id=video_id))
                if thumb.status == 404:
                    return replace(
                        result, outcome=Outcome.BROKEN, detail="YouTube: video private or removed"
                    )
        except (RefusedError, NotFoundError, TransientError, PermanentError):
            pass  # the rule could not tell; keep what the plain check found
        return result


@dataclass(frozen=True)
class CatalogueRedirectRule:
    """A deep course link that now redirects to the catalogue or search is a soft-404."""

    name: str
    hosts: frozenset[str]
    course_prefixes: tuple[str, ...]
    catalogue_prefixes: tuple[str, ...]

    def applies(self, url: str, result: CheckResult) -> bool:
        return (
            bool(result.redirects)
            and result.outcome in {Outcome.OK, Outcome.MOVED}
            and _host(url) in self.hosts
            and urlsplit(url).path.startswith(self.course_prefixes)
        )

    async def check(self, checker: LinkChecker, url: str, result: CheckResult) -> CheckResult:
        final = urlsplit(result.final_url)
        path = final.path.rstrip("/")
        landed = any(path == p or path.startswith(p + "/") for p in self.catalogue_prefixes)
        searched = bool({"query", "q"} & parse_qs(final.query).keys())
        if landed or searched:
            return replace(
                result,
                outcome=Outcome.BROKEN,
                suggested_url="",
                detail=f"{self.name}: course page now redirects to {result.final_url}",
            )
        return result


def coursera_rule(hosts: Iterable[str]) -> CatalogueRedirectRule:
    return CatalogueRedirectRule(
        name="coursera",
        hosts=frozenset(h.lower() for h in hosts),
        course_prefixes=("/learn/", "/specializations/", "/professional-certificates/"),
        catalogue_prefixes=("/search", "/courses", "/browse"),
    )


def udemy_rule(hosts: Iterable[str]) -> CatalogueRedirectRule:
    return CatalogueRedirectRule(
        name="udemy",
        hosts=frozenset(h.lower() for h in hosts),
        course_prefixes=("/course/",),
        catalogue_prefixes=("/courses", "/courses/search", "/topic"),
    )


def provider_rules() -> tuple[ProviderRule, ...]:
    from django.conf import settings

    return (
        YouTubeRule(
            hosts=frozenset(h.lower() for h in settings.LINK_CHECK_YOUTUBE_HOSTS),
            oembed_url=settings.LINK_CHECK_YOUTUBE_OEMBED_URL,
            thumbnail_url=settings.LINK_CHECK_YOUTUBE_THUMBNAIL_URL,
        ),
        coursera_rule(settings.LINK_CHECK_COURSERA_HOSTS),
        udemy_rule(settings.LINK_CHECK_UDEMY_HOSTS),
    )
