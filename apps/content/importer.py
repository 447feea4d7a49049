"""Turning a roadmap article (Markdown) into a draft track a curator reviews.

Pure reading: the importer parses the text, looks up which of its links are already
resources (one query) and proposes a ``Draft``. It writes nothing and never fetches a URL
(a link in an article is data, not something to visit: the link checker visits resources
later, on its own terms). The admin's import pages and ``import_article`` both start
here; ``draft_document`` turns a reviewed draft into the mapping a roadmap file holds,
which the content services load (``track_import``) or ``import_article --yaml`` writes.

Markdown is read with markdown-it-py (CommonMark, with linkify-it-py for bare URLs: it
knows where a URL ends next to punctuation and brackets, which a regular expression gets
wrong). HTML inside the article is never rendered: its text is kept as plain text, the
contents of ``<script>``, ``<style>`` and the like are dropped, and only the ``href`` of
its ``<a>`` tags is read. Front matter is split off by hand (a ``---`` fence at the very
top, read with ``yaml.safe_load``): ten lines, not worth a plugin.
"""

import ipaddress
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import yaml
from django.conf import settings
from django.utils.text import slugify
from markdown_it import MarkdownIt
from markdown_it.token import Token

from apps.content.models import Resource, Track
from apps.content.urls_normalize import url_normalize
from apps.core.errors import ApplicationError

MAX_TITLE = 200
MAX_SUMMARY = 300
MAX_NOTE = 300
MAX_SHORT = 100
MAX_URL = 500
MAX_KEY = 80
#: The description proposed for a step: the article's own words, cut short, for the
#: curator to rewrite.
MAX_STEP_DESCRIPTION = 1000
MAX_TRACK_DESCRIPTION = 2000


# --- what the importer proposes -----------------------------------------------------


@dataclass
class DraftResource:
    url: str
    title: str
    kind: str = Resource.Kind.WEBSITE
    cost: str = Resource.Cost.UNKNOWN
    duration: str = ""
    provider: str = ""
    #: The resource already stored under this URL: it is reused as it is, never changed.
    existing_id: int | None = None


@dataclass
class DraftLink:
    url: str
    note: str = ""


@dataclass
class DraftStep:
    key: str
    title: str
    minutes: int
    description: str = ""
    optional: bool = False
    #: Steps with the same label are alternatives: one choice group, "choose one".
    choice: str = ""
    links: list[DraftLink] = field(default_factory=list)
    #: False for a section proposed to be left out (no links, no duration).
    keep: bool = True
    #: Fold this step into the kept step above it (title dropped; links, text and time
    #: added to that step).
    merge: bool = False
    #: Why the importer suggests what it does ("from “about 10 hours”").
    hint: str = ""


@dataclass
class Draft:
    title: str
    slug: str
    summary: str = ""
    description: str = ""
    level: str = Track.Level.BEGINNER
    goal: str = ""
    steps: list[DraftStep] = field(default_factory=list)
    #: By normalized URL, in the order the article first mentions them.
    resources: dict[str, DraftResource] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


# --- reading numbers in prose: durations and prices ---------------------------------

_WORD_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
_NUM = r"\d+(?:[.,]\d+)?|" + "|".join(_WORD_NUMBERS)
_APPROX = r"(?:(?:about|around|roughly|approximately|approx\.|some|nearly|almost|over)\s+|~\s*)"
_RATE_RE = re.compile(
    rf"\b(?P<n>{_NUM})\s*(?:hours?|hrs?|h)\s*(?:a|per|/|each)\s*week\s*(?:for|over)\s*"
    rf"(?P<m>{_NUM})\s*(?P<unit>weeks?|months?)\b",
    re.IGNORECASE,
)
_SPAN_RE = re.compile(
    rf"(?:{_APPROX})?(?:\b(?P<half>half an hour)\b|\b(?P<an>an hour)\b|"
    rf"\b(?P<n>{_NUM})(?:\s*(?:-|\u2013|to)\s*(?P<m>{_NUM}))?\s*"
    r"(?P<unit>minutes?|mins?|hours?|hrs?|h|days?|weeks?|wks?|months?)\b)",
    re.IGNORECASE,
)
_PRICE_RE = re.compile(
    r"(?P<price>(?:[$€£]\s?\d+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?\s?(?:USD|EUR|GBP))"
    r"(?:\s*(?:/|per\s+|a\s+)(?:month|mo|year|yr|week))?)",
    re.IGNORECASE,
)
_FREE_RE = re.compile(r"(?<!feel )\bfree\b(?!\s+time)", re.IGNORECASE)
_FREEMIUM_RE = re.compile(r"\b(?:audit|free trial|free tier|freemium)\b", re.IGNORECASE)


def _number(text: str) -> float:
    lowered = text.lower()
    if lowered in _WORD_NUMBERS:
        return float(_WORD_NUMBERS[lowered])
    return float(lowered.replace(",", "."))


def _unit_minutes(unit: str) -> float:
    """Study minutes in one unit. A day, week or month of a course is not 24 hours of
    study: settings say how many hours a learner puts in."""
    unit = unit.lower()
    week = settings.STEPWISE_IMPORT_HOURS_PER_WEEK * 60
    if unit.startswith("min"):
        return 1
    if unit.startswith("h"):
        return 60
    if unit.startswith("d"):
        return settings.STEPWISE_IMPORT_HOURS_PER_DAY * 60
    if unit.startswith("w"):
        return week
    return week * 52 / 12  # a month


@dataclass(frozen=True)
class Duration:
    minutes: int
    #: As the article says it, e.g. "about 10 hours".
    phrase: str


def durations_find(text: str) -> list[Duration]:
    """Every duration stated in ``text``, in study minutes, in the order found."""
    found: list[Duration] = []
    taken: list[tuple[int, int]] = []
    for match in _RATE_RE.finditer(text):
        hours = _number(match["n"])
        weeks = _number(match["m"]) * (52 / 12 if match["unit"].lower().startswith("mo") else 1)
        found.append(Duration(round(hours * weeks * 60), match.group(0).strip()))
        taken.append(match.span())
    for match in _SPAN_RE.finditer(text):
        if any(start <= match.start() < end for start, end in taken):
            continue
        if match["half"]:
            minutes = 30.0
        elif match["an"]:
            minutes = 60.0
        else:
            # A range ("2-3 hours") is planned at its top.
            amount = _number(match["m"] or match["n"])
            minutes = amount * _unit_minutes(match["unit"])
        if minutes >= 1:
            found.append(Duration(round(minutes), match.group(0).strip()))
    return found


@dataclass(frozen=True)
class Price:
    cost: str
    #: The prices as stated ("$49/month"), for the link's note.
    stated: str


def price_find(text: str) -> Price | None:
    """The cost a text states: ``free``, a price (``paid``), or both (``freemium``)."""
    prices = list(dict.fromkeys(m["price"].strip() for m in _PRICE_RE.finditer(text)))
    free = bool(_FREE_RE.search(text))
    if not prices and not free:
        return None
    if prices and (free or _FREEMIUM_RE.search(text)):
        cost = Resource.Cost.FREEMIUM
    elif prices:
        cost = Resource.Cost.PAID
    else:
        cost = Resource.Cost.FREE
    return Price(cost=cost, stated=", ".join(prices))


# --- guessing a resource's kind and provider from its address -----------------------

_HOST_KINDS: list[tuple[tuple[str, ...], str]] = [
    (("youtube.com", "youtu.be", "vimeo.com"), Resource.Kind.VIDEO),
    (
        (
            "coursera.org",
            "edx.org",
            "udemy.com",
            "udacity.com",
            "datacamp.com",
            "fast.ai",
            "deeplearning.ai",
            "codecademy.com",
            "brilliant.org",
        ),
        Resource.Kind.COURSE,
    ),
    (
        ("arxiv.org", "doi.org", "nature.com", "nejm.org", "openreview.net", "acm.org"),
        Resource.Kind.PAPER,
    ),
    (("oreilly.com", "manning.com", "nostarch.com", "goodreads.com"), Resource.Kind.BOOK),
    (("reddit.com", "discord.gg", "discord.com", "stackoverflow.com"), Resource.Kind.COMMUNITY),
    (("github.com", "gitlab.com", "colab.research.google.com"), Resource.Kind.TOOL),
]
_PATH_KINDS: list[tuple[str, str]] = [
    ("/datasets", Resource.Kind.DATASET),
    ("/tutorial", Resource.Kind.TUTORIAL),
    ("/course", Resource.Kind.COURSE),
    ("/book", Resource.Kind.BOOK),
]
_TEXT_KINDS: list[tuple[tuple[str, ...], str]] = [
    (("video", "watch", "lecture", "playlist"), Resource.Kind.VIDEO),
    (("course", "specialization", "specialisation", "mooc"), Resource.Kind.COURSE),
    (("book", "textbook"), Resource.Kind.BOOK),
    (("paper", "article in"), Resource.Kind.PAPER),
    (("tutorial", "exercises", "notebook", "walk-through"), Resource.Kind.TUTORIAL),
    (("dataset", "data set"), Resource.Kind.DATASET),
    (("forum", "community"), Resource.Kind.COMMUNITY),
]
_PROVIDERS = {
    "coursera.org": "Coursera",
    "udemy.com": "Udemy",
    "edx.org": "edX",
    "udacity.com": "Udacity",
    "youtube.com": "YouTube",
    "youtu.be": "YouTube",
    "github.com": "GitHub",
    "deeplearning.ai": "DeepLearning.AI",
    "fast.ai": "fast.ai",
    "kaggle.com": "Kaggle",
    "khanacademy.org": "Khan Academy",
    "datacamp.com": "DataCamp",
    "arxiv.org": "arXiv",
    "brilliant.org": "Brilliant",
    "oreilly.com": "O'Reilly",
}


def _host_is(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def kind_guess(url: str, text: str) -> str:
    """A first guess at a resource's kind: its site, then its path, then the link's words."""
    parts = urlsplit(url)
    host, path = (parts.hostname or ""), parts.path.lower()
    for domains, kind in _HOST_KINDS:
        if any(_host_is(host, d) for d in domains):
            return kind
    for fragment, kind in _PATH_KINDS:
        if fragment in path:
            return kind
    if path.endswith(".pdf"):
        return Resource.Kind.PAPER
    words = text.lower()
    for cues, kind in _TEXT_KINDS:
        if any(re.search(rf"\b{re.escape(cue)}", words) for cue in cues):
            return kind
    return Resource.Kind.WEBSITE


def provider_guess(url: str) -> str:
    host = urlsplit(url).hostname or ""
    return next((name for domain, name in _PROVIDERS.items() if _host_is(host, domain)), "")


#: Link texts that say nothing about what they point at.
_GENERIC_TEXTS = re.compile(
    r"^(?:here|link|this|that|click here|see here|source|website|site|resource|"
    r"(?:this|that|the) (?:link|video|course|book|paper|article|repository|repo|site|"
    r"website|resource|page|series of exercises|playlist|one))$",
    re.IGNORECASE,
)
_NUMBERING_RE = re.compile(r"^(?:(?:step|part|stage|phase)\s+)?\d+[a-z]?[.):]?\s+", re.IGNORECASE)
_DULL_SEGMENTS = {"watch", "view", "index", "index.html", "index.htm", "home", "main", "en"}


def _clip(text: str, limit: int) -> str:
    """Cut at a word boundary, with an ellipsis, so the limit of the field is kept."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:.") + "…"


def title_from_url(url: str, fallback: str) -> str:
    """A title for a link without words: its path's last meaningful part, and its site."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    segments = [s for s in parts.path.split("/") if s and s.lower() not in _DULL_SEGMENTS]
    if segments and re.search(r"[A-Za-z]{3}", segments[-1]):
        words = re.sub(r"\.(?:html?|pdf|php)$", "", segments[-1], flags=re.IGNORECASE)
        words = re.sub(r"[-_+]+", " ", words).strip()
        return _clip(f"{words[:1].upper()}{words[1:]} ({host})", MAX_TITLE)
    return _clip(f"{fallback} ({host})" if fallback else host, MAX_TITLE)


# --- reading the article --------------------------------------------------------------

_FRONT_MATTER_RE = re.compile(
    r"\A---[ \t]*\r?\n(?P<yaml>.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S
)
#: Template directives of static site generators ({% include ... %}, {{ page.x }}): not
#: prose, and their arguments are often URLs that are not resources.
_TEMPLATE_TAG_RE = re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.S)
_SKIPPED_HTML = {"script", "style", "template", "iframe", "object", "embed", "noscript", "svg"}
_BLOCK_HTML = {"p", "div", "li", "br", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol"}


class _HtmlReader(HTMLParser):
    """Reads HTML as data: its visible text and its links, nothing else."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.links: list[tuple[str, str]] = []
        self._skipping = 0
        self._href: str | None = None
        self._link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_HTML:
            self._skipping += 1
        elif tag == "a" and not self._skipping:
            self._href = dict(attrs).get("href") or ""
            self._link_text = []
        elif tag in _BLOCK_HTML:
            self.text.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_HTML:
            self._skipping = max(0, self._skipping - 1)
        elif tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join("".join(self._link_text).split())))
            self._href = None
        elif tag in _BLOCK_HTML:
            self.text.append(" ")

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        self.text.append(data)
        if self._href is not None:
            self._link_text.append(data)


def html_read(html: str) -> tuple[str, list[tuple[str, str]]]:
    """The visible text of an HTML fragment and its links as (href, text)."""
    reader = _HtmlReader()
    reader.feed(html)
    reader.close()
    return " ".join("".join(reader.text).split()), reader.links


@dataclass
class _Block:
    """One paragraph, list item, heading or HTML block: where a link's words are."""

    text: str
    links: list[tuple[str, str]]
    depth: int = 0


@dataclass
class _Section:
    level: int
    title: str
    blocks: list[_Block] = field(default_factory=list)


def _inline_read(token: Token) -> _Block:
    text: list[str] = []
    links: list[tuple[str, str]] = []
    href: str | None = None
    link_text: list[str] = []
    for child in token.children or []:
        if child.type == "link_open":
            href, link_text = str(child.attrs.get("href") or ""), []
        elif child.type == "link_close" and href is not None:
            links.append((href, " ".join("".join(link_text).split())))
            href = None
        elif child.type == "html_inline":
            tag = child.content.strip()
            if re.match(r"<a\b", tag, re.IGNORECASE):
                _, found = html_read(tag + "</a>")
                href, link_text = (found[0][0] if found else ""), []
            elif re.match(r"</a\s*>", tag, re.IGNORECASE) and href is not None:
                links.append((href, " ".join("".join(link_text).split())))
                href = None
            elif re.match(r"<br\b", tag, re.IGNORECASE):
                text.append(" ")
        elif child.type in ("text", "code_inline"):
            text.append(child.content)
            if href is not None:
                link_text.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            text.append(" ")
            if href is not None:
                link_text.append(" ")
    if href is not None:  # an <a> never closed
        links.append((href, " ".join("".join(link_text).split())))
    return _Block(text=" ".join("".join(text).split()), links=links)


def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"linkify": True}).enable(["linkify", "table"])


def _front_matter(text: str, warnings: list[str]) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER_RE.match(text)
    if not match:
        return {}, text
    body = text[match.end() :]
    try:
        data = yaml.safe_load(match["yaml"])
    except yaml.YAMLError:
        warnings.append("The front matter is not valid YAML; it was ignored.")
        return {}, body
    if not isinstance(data, dict):
        return {}, body
    return data, body


def _sections(body: str) -> list[_Section]:
    tokens = _markdown().parse(_TEMPLATE_TAG_RE.sub(" ", body))
    sections = [_Section(level=0, title="")]
    depth = 0
    pending_heading: int | None = None
    for token in tokens:
        if token.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
        elif token.type == "heading_open":
            pending_heading = int(token.tag[1:])
        elif token.type == "inline" and pending_heading is not None:
            block = _inline_read(token)
            sections.append(_Section(level=pending_heading, title=block.text))
            if block.links:
                sections[-1].blocks.append(block)
            pending_heading = None
        elif token.type == "inline":
            block = _inline_read(token)
            block.depth = depth
            sections[-1].blocks.append(block)
        elif token.type == "html_block":
            text, links = html_read(token.content)
            if text or links:
                sections[-1].blocks.append(_Block(text=text, links=links, depth=depth))
    return sections


def _section_text(section: _Section, limit: int) -> str:
    text = ""
    previous_in_list = False
    for block in section.blocks:
        if not block.text:
            continue
        in_list = block.depth > 0
        line = ("  " * (block.depth - 1) + "- " if in_list else "") + block.text
        # List items one a line; paragraphs (and a list after one) a blank line apart.
        text += ("\n" if in_list and previous_in_list else "\n\n") + line
        previous_in_list = in_list
    text = text.strip("\n")
    return text if len(text) <= limit else _clip(text, limit)


def _front_text(data: dict[str, Any], *names: str) -> str:
    for name in names:
        value = data.get(name)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            cleaned, _ = html_read(str(value))
            if cleaned:
                return cleaned
    return ""


def _urls_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [u for v in value.values() for u in _urls_in(v)]
    if isinstance(value, list):
        return [u for v in value for u in _urls_in(v)]
    if isinstance(value, str):
        return re.findall(r"https?://[^\s\"'<>]+", value)
    return []


def _unique(base: str, taken: set[str], fallback: str) -> str:
    stem = (slugify(base)[:MAX_KEY].strip("-") or fallback)[: MAX_KEY - 4].strip("-")
    candidate, n = stem, 2
    while candidate in taken:
        candidate, n = f"{stem}-{n}", n + 1
    taken.add(candidate)
    return candidate


def link_refused(url: str) -> str | None:
    """Why a link in an article cannot be a resource, or None when it can.

    A resource's link is visited later by the link checker, so addresses that only make
    sense inside a network (this machine, private ranges) or that are placeholders by
    definition (example.com, .invalid, .test) are left out here.
    """
    host = (urlsplit(url).hostname or "").lower()
    if host in {"localhost", "example.com", "example.org", "example.net"} or host.endswith(
        (".localhost", ".local", ".internal", ".invalid", ".test", ".example", ".example.com")
    ):
        return "a placeholder or local address"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not address.is_global:
        return "a private or local address"
    return None


def article_propose(
    text: str, *, name: str = "", slug: str = "", level: str = "", goal: str = ""
) -> Draft:
    """Read a roadmap article (Markdown, with or without front matter) and propose a track.

    Headings become steps, links resources (one per normalized URL, matched against the
    stored resources so none is duplicated), and the durations and prices in the text
    become suggested minutes, costs and notes. Writes nothing. Raises ``ApplicationError``
    for input that is not an article (empty, binary, too long).
    """
    if "\x00" in text:
        raise ApplicationError("The article contains NUL characters; is it a text file?")
    if len(text.encode("utf-8")) > settings.STEPWISE_IMPORT_MAX_BYTES:
        raise ApplicationError(
            f"The article is longer than {settings.STEPWISE_IMPORT_MAX_BYTES // 1024} KiB."
        )
    if not text.strip():
        raise ApplicationError("The article is empty.")
    warnings: list[str] = []
    front, body = _front_matter(text.lstrip("\ufeff"), warnings)
    for url in _urls_in(front):
        warnings.append(f"Front matter link {url} left out: front matter describes the page.")
    sections = _sections(body)

    title = _front_text(front, "title")
    headed = [s for s in sections if s.level]
    top = [s for s in headed if s.level == 1]
    if not title and len(top) == 1 and headed[0] is top[0]:
        # The article's own title: the track's, not a step.
        title = top[0].title
        sections.remove(top[0])
        sections[0].blocks.extend(top[0].blocks)
    title = _clip(title or name or "Imported roadmap", MAX_TITLE)
    intro = sections[0]
    draft = Draft(
        title=title,
        slug=_unique(slug or _front_text(front, "slug", "permalink") or title, set(), "imported"),
        summary=_clip(_front_text(front, "summary", "description"), MAX_SUMMARY),
        description=_section_text(intro, MAX_TRACK_DESCRIPTION),
        level=level or _level(front),
        goal=goal or _clip(_front_text(front, "goal"), MAX_SHORT),
        warnings=warnings,
    )
    if intro.blocks and any(b.links for b in intro.blocks):
        intro.title = "Before you start"
        intro.level = 1
    steps_from = [s for s in sections if s.level]
    if not steps_from:
        raise ApplicationError("The article has no headings and no links: nothing to propose.")

    keys: set[str] = set()
    parents: list[_Section] = []
    for index, section in enumerate(steps_from):
        parents = [p for p in parents if p.level < section.level]
        step = _step_propose(draft, section, keys)
        previous = steps_from[index - 1] if index else None
        if (
            step.keep
            and previous is not None
            and previous.level == section.level
            and draft.steps[-1].keep
            and re.search(r"\balternative", _section_text(section, 10_000), re.IGNORECASE)
        ):
            # "An alternative to the course above": a choice with the section before, when
            # that is its sibling (not the heading it sits under).
            before = draft.steps[-1]
            label = _heading_title(parents[-1].title) if parents else before.title
            before.choice = before.choice or label
            step.choice = before.choice
        draft.steps.append(step)
        parents.append(section)
    if not any(step.keep for step in draft.steps):
        for step in draft.steps:
            step.keep = True
    _existing_mark(draft)
    if Track.objects.filter(slug=draft.slug).exists():
        draft.warnings.append(
            f"A track already uses the address {draft.slug!r}: choose another before saving."
        )
    return draft


def _level(front: dict[str, Any]) -> str:
    value = _front_text(front, "level").lower()
    return value if value in Track.Level.values else Track.Level.BEGINNER


def _heading_title(text: str) -> str:
    """ "2a. Statistics" and "Step 3: Practice:" are "Statistics" and "Practice"."""
    bare = _NUMBERING_RE.sub("", text).strip().rstrip(":").strip()
    return _clip(bare or text or "Untitled section", MAX_TITLE)


def _step_propose(draft: Draft, section: _Section, keys: set[str]) -> DraftStep:
    full_text = _section_text(section, 10_000)
    title = _heading_title(section.title)
    step = DraftStep(
        key=_unique(title, keys, "step"),
        title=title,
        minutes=settings.STEPWISE_IMPORT_DEFAULT_MINUTES,
        description=_section_text(section, MAX_STEP_DESCRIPTION),
        optional=bool(re.search(r"\b(?:optional|bonus|extra)\b", title, re.IGNORECASE)),
    )
    section_urls: list[str] = []
    uses: list[tuple[str, str, _Block]] = []
    for block in section.blocks:
        for href, text in block.links:
            url = _link_normalize(draft, href, title)
            if url is None:
                continue
            uses.append((url, text, block))
            if url not in section_urls:
                section_urls.append(url)
    one_link = len(section_urls) == 1
    for url, text, block in uses:
        in_block = {u for u, _, b in uses if b is block}
        # The words around a link describe it when nothing else shares them.
        context = full_text if one_link else (block.text if len(in_block) == 1 else "")
        _resource_propose(draft, url, text, context, title)
        if url not in [link.url for link in step.links]:
            price = price_find(context) if context else None
            note = f"Price: {price.stated}" if price and price.stated else ""
            step.links.append(DraftLink(url=url, note=_clip(note, MAX_NOTE)))
    durations = durations_find(f"{section.title}\n{full_text}")
    if durations:
        longest = max(durations, key=lambda d: d.minutes)
        step.minutes = max(1, longest.minutes)
        step.hint = f"from “{longest.phrase}”"
    if not step.links and not durations:
        step.keep = False
        step.hint = "no links or time in this section: proposed to leave out"
    return step


def _link_normalize(draft: Draft, href: str, where: str) -> str | None:
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    try:
        url = url_normalize(href)
    except ApplicationError:
        draft.warnings.append(f"“{where}”: {_clip(href, 80)} left out: not an http(s) link.")
        return None
    if len(url) > MAX_URL:
        draft.warnings.append(f"“{where}”: a link longer than {MAX_URL} characters left out.")
        return None
    if reason := link_refused(url):
        draft.warnings.append(f"“{where}”: {url} left out: {reason}.")
        return None
    return url


def _resource_propose(draft: Draft, url: str, text: str, context: str, where: str) -> None:
    meaningful = text if text and not _GENERIC_TEXTS.match(text) and text != url else ""
    known = draft.resources.get(url)
    if known is not None:
        # A later mention with real words names a resource first linked as "here".
        if meaningful and known.title.endswith(f"({urlsplit(url).hostname or ''})"):
            known.title = _clip(meaningful, MAX_TITLE)
        return
    resource = DraftResource(
        url=url,
        title=_clip(meaningful, MAX_TITLE) if meaningful else title_from_url(url, where),
        kind=kind_guess(url, text),
        provider=provider_guess(url),
    )
    if not meaningful:
        draft.warnings.append(f"{url}: a link without words; its title was made from its address.")
    if context:
        if price := price_find(context):
            resource.cost = price.cost
        if durations := durations_find(context):
            resource.duration = _clip(durations[0].phrase, MAX_SHORT)
    draft.resources[url] = resource


def _existing_mark(draft: Draft) -> None:
    """Point each link already stored as a resource at it (one query)."""
    stored = Resource.objects.filter(url__in=list(draft.resources))
    for resource in stored:
        proposed = draft.resources[resource.url]
        proposed.existing_id = resource.pk
        proposed.title = resource.title
        proposed.kind = resource.kind
        proposed.cost = resource.cost
        proposed.duration = resource.duration
        proposed.provider = resource.provider


# --- from a reviewed draft to a roadmap document --------------------------------------


def draft_steps_final(draft: Draft) -> list[DraftStep]:
    """The steps the track will have: the kept ones, with merged steps folded into the
    kept step above them."""
    final: list[DraftStep] = []
    for step in draft.steps:
        if not step.keep:
            continue
        if step.merge and final:
            into = final[-1]
            for link in step.links:
                if link.url not in [k.url for k in into.links]:
                    into.links.append(link)
            into.description = "\n\n".join(d for d in (into.description, step.description) if d)
            into.minutes += step.minutes
            continue
        final.append(
            DraftStep(
                key=step.key,
                title=step.title,
                minutes=step.minutes,
                description=step.description,
                optional=step.optional,
                choice=step.choice,
                links=list(step.links),
            )
        )
    return final


def draft_document(
    draft: Draft, *, published: bool, existing: dict[str, Resource] | None = None
) -> dict[str, Any]:
    """The roadmap document (the mapping a roadmap file holds, ``docs/roadmap-format.md``)
    for a reviewed draft.

    A new resource gives its attributes at its first mention. A stored one is reused as it
    is: by default it is named by its URL only; with ``existing`` (the stored resources by
    URL) its stored attributes are written too, so the file also loads on a database that
    lacks it, and changes nothing on one that has it.
    """
    steps = draft_steps_final(draft)
    described: set[str] = set()
    step_docs: list[dict[str, Any]] = []
    for step in steps:
        resources = []
        for link in step.links:
            entry: dict[str, Any] = {"url": link.url}
            proposed = draft.resources.get(link.url)
            stored = (existing or {}).get(link.url)
            if link.url not in described:
                described.add(link.url)
                if stored is not None:
                    entry.update(_stored_attributes(stored))
                elif proposed is not None and proposed.existing_id is None:
                    entry.update(
                        {
                            k: v
                            for k, v in (
                                ("title", proposed.title),
                                ("kind", str(proposed.kind)),
                                ("provider", proposed.provider),
                                ("cost", str(proposed.cost)),
                                ("duration", proposed.duration),
                            )
                            if v
                        }
                    )
            if link.note:
                entry["note"] = link.note
            resources.append(entry)
        doc: dict[str, Any] = {"key": step.key, "title": step.title}
        if step.description:
            doc["description"] = step.description
        doc["minutes"] = step.minutes
        if step.optional:
            doc["optional"] = True
        if resources:
            doc["resources"] = resources
        step_docs.append(doc)

    taken = {step.key for step in steps}
    groups: dict[str, dict[str, Any]] = {}
    for step in steps:
        if step.choice:
            group = groups.setdefault(
                step.choice.strip().lower(),
                {
                    "key": _unique(f"choose-{step.choice}", taken, "choice"),
                    "title": step.choice.strip(),
                    "choose": 1,
                    "steps": [],
                },
            )
            group["steps"].append(step.key)
    document: dict[str, Any] = {"slug": draft.slug, "title": draft.title}
    if draft.summary:
        document["summary"] = draft.summary
    if draft.description:
        document["description"] = draft.description
    document["level"] = str(draft.level)
    if draft.goal:
        document["goal"] = draft.goal
    document["published"] = published
    document["steps"] = step_docs
    if groups:
        document["groups"] = list(groups.values())
    return document


def _stored_attributes(resource: Resource) -> dict[str, str]:
    values = {
        "title": resource.title,
        "kind": str(resource.kind),
        "provider": resource.provider,
        "cost": str(resource.cost),
        "duration": resource.duration,
        "language": resource.language,
    }
    return {k: v for k, v in values.items() if v}


def document_yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
