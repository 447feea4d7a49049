"""Markdown written by curators, rendered to HTML that is safe to show."""

from functools import lru_cache

import markdown as markdown_lib
import nh3
from django.conf import settings
from django.utils.safestring import SafeString, mark_safe


# Descriptions repeat on every page view and change rarely: render each text once per
# process. The key is the text itself, so an edited description is simply a new entry.
@lru_cache(maxsize=8192)
def markdown_render(text: str) -> SafeString:
    """Render Markdown and strip everything outside an allow-list of tags.

    Links keep only ``href`` and ``title``, get ``rel="noopener noreferrer nofollow"``,
    and only http, https and mailto targets survive, so a curator's typo or a
    hostile import can never inject script.
    """
    html = markdown_lib.markdown(text or "", extensions=["sane_lists"], output_format="html")
    clean = nh3.clean(
        html,
        tags=set(settings.STEPWISE_MARKDOWN_ALLOWED_TAGS),
        attributes={"a": {"href", "title"}, "abbr": {"title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # noqa: S308 - sanitized by nh3 just above
