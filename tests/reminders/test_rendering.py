"""Rendering by shape: every reminder reads exactly as the templates render it plainly."""

import itertools
import logging

import pytest

from apps.accounts.models import User
from apps.content.models import Track
from apps.progress.selectors import Completion, Streak
from apps.reminders import emails
from apps.reminders.emails import reminder_message_render
from apps.reminders.selectors import EmailContext, NextStepInfo

KINDS = ("reminder", "goal", "paused", "test")


def context(n: int, kind: str, *, track: bool, step: bool, resource: bool, streak: int,
            at_risk: bool, goal: int | None, to_goal: int | None) -> EmailContext:  # fmt: skip
    """A learner's email facts; ``n`` varies every value shown (with characters to escape)."""
    user = User(pk=n, email=f"l{n}@example.org", display_name=f"Zoë <{n}> & co", timezone="UTC")
    the_track = Track(pk=n, slug=f"t-{n}", title=f"Track “{n}” <b>&amp;</b>") if track else None
    return EmailContext(
        user=user,
        kind=kind,
        track=the_track,
        completion=Completion(user_id=n, track_id=n, required_total=10 + n, required_done=n % 10)
        if track
        else None,
        next_step=NextStepInfo(
            f"Step {n} <i>",
            5 + n,
            f"Course {n} & more" if resource else "",
            f"https://r.example/{n}?a=1&b=2" if resource else "",
        )
        if step
        else None,
        streak=Streak(current=streak, longest=streak + n, active_today=not at_risk),
        weekly_goal=goal,
        done_this_week=n % 4,
        steps_to_goal=to_goal,
    )


SHAPES = [
    {
        "kind": kind,
        "track": track,
        "step": step,
        "resource": resource,
        "streak": streak,
        "at_risk": at_risk,
        "goal": goal,
        "to_goal": to_goal,
    }
    for kind, track, step, resource, streak, at_risk, goal, to_goal in itertools.product(
        KINDS,
        (True, False),
        (True, False),
        (True, False),
        (0, 1, 3),
        (True, False),
        (None, 5),
        (1, 4),
    )
    if not (step and not track) and not (resource and not step)
]


@pytest.fixture(autouse=True)
def no_shapes_yet():
    emails._shapes.clear()
    yield
    emails._shapes.clear()


@pytest.mark.parametrize("shape", SHAPES[:: max(1, len(SHAPES) // 60)])
def test_every_email_of_a_shape_reads_as_its_plain_rendering(settings, shape):
    settings.SITE_URL = "https://stepwise.example"
    # The first of the shape, then others with other values (some of them 0, or empty).
    for n in (1, 2, 4, 10, 13):
        c = context(n, **shape)
        email = reminder_message_render(c)
        values = {"c": c}
        plain_subject, plain_text, plain_html = _plain(email, values)
        assert email.subject == plain_subject
        assert email.body == plain_text
        assert email.alternatives[0][0] == plain_html
    assert len(emails._shapes) == 1
    assert next(iter(emails._shapes.values())) is not None  # it is rendered by shape


def _plain(email, values):
    """The same email's parts, rendered plainly with the values it was rendered with."""
    unsubscribe = email.extra_headers["List-Unsubscribe"].split(">, <")[0].lstrip("<")
    c = values["c"]
    track_url = f"/tracks/{c.track.slug}/" if c.track else "/tracks/"
    keep_on = next(
        line for line in (email.body + "\n").splitlines() if "/reminders/keep-on/" in line
    ) if c.kind == "paused" else "unused"  # fmt: skip
    return emails._parts_render_plainly(
        {
            "c": c,
            "name": c.user.name,
            "continue_url": "https://stepwise.example" + track_url,
            "preferences_url": "https://stepwise.example/reminders/preferences/",
            "unsubscribe_url": unsubscribe,
            "keep_on_url": keep_on.strip(),
            "site_url": "https://stepwise.example",
        }
    )


def test_a_shape_the_markers_do_not_cover_is_rendered_plainly(settings, monkeypatch, caplog):
    settings.SITE_URL = "https://stepwise.example"
    marked = emails._marked

    def forgetting_the_name(values, shown):
        out = marked(values, shown)
        out["name"] = ""  # as if a template showed a value the markers do not stand for
        return out

    monkeypatch.setattr(emails, "_marked", forgetting_the_name)
    shape = SHAPES[0]

    with caplog.at_level(logging.WARNING, logger="apps.reminders.emails"):
        first, second = (reminder_message_render(context(n, **shape)) for n in (1, 2))

    assert "Zoë &lt;2&gt; &amp; co" in second.alternatives[0][0]
    assert "Zoë <1> & co" in first.body
    assert list(emails._shapes.values()) == [None]
    assert "rendered plainly" in caplog.text


@pytest.mark.parametrize(
    ("name", "argument"),
    [
        ("reminders:unsubscribe", "MTIz:1vXyZq:aBc-Def_0123456789"),
        ("reminders:keep_on", "MTIz:1vXyZq:aBc-Def_0123456789"),
        ("learning:track", "generative-ai_2"),
        ("reminders:unsubscribe", "needs quoting é?"),
        ("learning:catalog", None),
        ("reminders:preferences", None),
    ],
)
def test_a_link_reads_as_reverse_makes_it(name, argument):
    from django.urls import reverse

    expected = reverse(name, args=[argument] if argument is not None else [])
    assert emails._reverse(name, argument) == expected
    assert emails._reverse(name, argument) == expected  # from the cache this time


def test_a_link_follows_the_script_prefix():
    from django.urls import get_script_prefix, set_script_prefix

    before = get_script_prefix()
    try:
        set_script_prefix("/stepwise/")
        assert emails._reverse("learning:track", "t") == "/stepwise/tracks/t/"
    finally:
        set_script_prefix(before)
    assert emails._reverse("learning:track", "t") == "/tracks/t/"
