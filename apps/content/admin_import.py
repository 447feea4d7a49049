"""The admin's "Import a roadmap article" pages: paste or upload, review, then save.

The proposal lives in the review form itself (every step and resource is a field posted
back), so nothing is stored until the curator presses "Save as unpublished draft" or
"Publish". Both save through ``track_import``, the service behind roadmap files: a draft
is an unpublished track, which learners never see and curators finish in the ordinary
track admin (then publish with its "Publish" action). No draft model is needed: a draft
track is already everything the admin edits, with nothing to keep in step with.
"""

from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.forms import formset_factory
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from apps.content.importer import (
    Draft,
    DraftLink,
    DraftResource,
    DraftStep,
    article_propose,
    document_yaml,
    draft_document,
    draft_steps_final,
)
from apps.content.models import Resource, Track
from apps.content.roadmaps import RoadmapError, roadmap_data_parse
from apps.content.services import track_import
from apps.content.urls_normalize import url_normalize
from apps.core.errors import ApplicationError

ARTICLE_NAME = "article"


class ArticleForm(forms.Form):
    article = forms.CharField(
        label="Article (Markdown)",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 18, "cols": 100}),
        help_text="Paste the article, with or without its front matter; or upload it below.",
    )
    upload = forms.FileField(
        label="…or upload the file",
        required=False,
        help_text="A Markdown or text file in UTF-8.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload = cleaned.get("upload")
        text = cleaned.get("article") or ""
        if upload and text.strip():
            raise forms.ValidationError("Paste the article or upload it, not both.")
        if upload:
            limit = settings.STEPWISE_IMPORT_MAX_BYTES
            if upload.size > limit:
                raise forms.ValidationError(f"The file is larger than {limit // 1024} KiB.")
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise forms.ValidationError("The file is not UTF-8 text.") from exc
        if not text.strip():
            raise forms.ValidationError("Paste an article or upload its file.")
        cleaned["text"] = text
        return cleaned


class TrackDraftForm(forms.Form):
    title = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"class": "vTextField"}))
    slug = forms.SlugField(
        max_length=80,
        help_text="The track's address; it cannot be one already used.",
        widget=forms.TextInput(attrs={"class": "vTextField"}),
    )
    summary = forms.CharField(
        max_length=300, required=False, widget=forms.TextInput(attrs={"class": "vTextField"})
    )
    level = forms.ChoiceField(choices=Track.Level.choices)
    goal = forms.CharField(max_length=100, required=False)
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4, "cols": 100})
    )

    def clean_slug(self) -> str:
        slug: str = self.cleaned_data["slug"]
        if Track.objects.filter(slug=slug).exists():
            raise forms.ValidationError("A track already uses this address; choose another.")
        return slug


class StepDraftForm(forms.Form):
    keep = forms.BooleanField(required=False)
    merge = forms.BooleanField(required=False, label="merge up")
    title = forms.CharField(max_length=200)
    key = forms.SlugField(max_length=80)
    minutes = forms.IntegerField(min_value=1)
    optional = forms.BooleanField(required=False)
    choice = forms.CharField(
        max_length=200,
        required=False,
        help_text="Steps with the same choice are alternatives (choose one).",
    )
    links = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 50}),
        help_text="One link a line; “URL | note” adds a note.",
    )
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 50})
    )
    hint = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_links(self) -> list[DraftLink]:
        links: list[DraftLink] = []
        for line in self.cleaned_data["links"].splitlines():
            if not line.strip():
                continue
            raw, _, note = line.partition("|")
            try:
                url = url_normalize(raw)
            except ApplicationError as exc:
                raise forms.ValidationError(exc.message) from exc
            if len(note.strip()) > 300:
                raise forms.ValidationError(f"The note of {url} is longer than 300 characters.")
            if url not in [link.url for link in links]:
                links.append(DraftLink(url=url, note=note.strip()))
        return links


class ResourceDraftForm(forms.Form):
    url = forms.CharField(max_length=500, widget=forms.HiddenInput)
    title = forms.CharField(max_length=200, required=False)
    kind = forms.ChoiceField(choices=Resource.Kind.choices)
    cost = forms.ChoiceField(choices=Resource.Cost.choices)
    duration = forms.CharField(max_length=100, required=False)
    provider = forms.CharField(max_length=100, required=False)

    def clean_url(self) -> str:
        try:
            return url_normalize(self.cleaned_data["url"])
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc


StepFormSet = formset_factory(StepDraftForm, extra=0)
ResourceFormSet = formset_factory(ResourceDraftForm, extra=0)


def import_allowed(model_admin: admin.ModelAdmin, request: HttpRequest) -> bool:
    """Importing creates a track, its steps and new resources: staff with all three rights."""
    return model_admin.has_add_permission(request) and request.user.has_perms(
        ["content.add_step", "content.add_resource"]
    )


def _initial(draft: Draft) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    track = {
        "title": draft.title,
        "slug": draft.slug,
        "summary": draft.summary,
        "level": draft.level,
        "goal": draft.goal,
        "description": draft.description,
    }
    steps = [
        {
            "keep": step.keep,
            "merge": step.merge,
            "title": step.title,
            "key": step.key,
            "minutes": step.minutes,
            "optional": step.optional,
            "choice": step.choice,
            "links": "\n".join(
                f"{link.url} | {link.note}" if link.note else link.url for link in step.links
            ),
            "description": step.description,
            "hint": step.hint,
        }
        for step in draft.steps
    ]
    resources = [
        {
            "url": r.url,
            "title": r.title,
            "kind": r.kind,
            "cost": r.cost,
            "duration": r.duration,
            "provider": r.provider,
        }
        for r in draft.resources.values()
    ]
    return track, steps, resources


def _lines(text: str) -> str:
    """Browsers post text areas with CRLF line ends; roadmaps use LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _draft_from_forms(
    track_form: TrackDraftForm, steps: Any, resources: Any, stored: dict[str, Resource]
) -> tuple[Draft | None, list[str]]:
    """The reviewed draft, or the problems that keep it from being one."""
    problems: list[str] = []
    resource_forms = {form.cleaned_data["url"]: form for form in resources.forms}
    draft_steps = []
    for form in steps.forms:
        data = dict(form.cleaned_data)  # add_error below takes fields out of cleaned_data
        for link in data["links"]:
            if link.url not in resource_forms and link.url not in stored:
                form.add_error(
                    "links",
                    f"{link.url} is not one of the article's links; add it to the step "
                    "in the admin once the track is saved.",
                )
                problems.append(f"“{data['title']}”: {link.url} is not one of the article's links.")
        draft_steps.append(
            DraftStep(
                key=data["key"],
                title=data["title"].strip(),
                minutes=data["minutes"],
                description=_lines(data["description"]),
                optional=data["optional"],
                choice=data["choice"].strip(),
                links=data["links"],
                keep=data["keep"],
                merge=data["merge"],
            )
        )
    # Only the resources of the steps kept are saved, so only they need a title.
    used = {
        link.url
        for step in draft_steps_final(Draft(title="", slug="", steps=draft_steps))
        for link in step.links
    }
    proposed: dict[str, DraftResource] = {}
    for url, form in resource_forms.items():
        data = dict(form.cleaned_data)
        if url in used and url not in stored and not data["title"].strip():
            form.add_error("title", "A new resource needs a title.")
            problems.append(f"{url}: a new resource needs a title.")
        proposed[url] = DraftResource(
            url=url,
            title=data["title"].strip(),
            kind=data["kind"],
            cost=data["cost"],
            duration=data["duration"].strip(),
            provider=data["provider"].strip(),
            existing_id=stored[url].pk if url in stored else None,
        )
    if not any(step.keep for step in draft_steps):
        problems.append("Keep at least one step.")
    if problems:
        return None, problems
    track = track_form.cleaned_data
    return (
        Draft(
            title=track["title"].strip(),
            slug=track["slug"],
            summary=track["summary"].strip(),
            description=_lines(track["description"]),
            level=track["level"],
            goal=track["goal"].strip(),
            steps=draft_steps,
            resources=proposed,
        ),
        [],
    )


def _stored_for(resources: Any) -> dict[str, Resource]:
    urls = []
    for form in resources.forms:
        try:
            urls.append(url_normalize(str(form["url"].value() or "")))
        except ApplicationError:
            continue
    return {r.url: r for r in Resource.objects.filter(url__in=urls)}


def article_import_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    if not import_allowed(model_admin, request):
        raise PermissionDenied
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "opts": Track._meta,
        "title": "Import a roadmap article",
    }
    if request.method == "POST" and request.POST.get("stage") == "review":
        return _review(model_admin, request, context)
    form = ArticleForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            draft = article_propose(form.cleaned_data["text"])
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            track, steps, resources = _initial(draft)
            resource_forms = ResourceFormSet(initial=resources, prefix="resources")
            return _render_review(
                request,
                context,
                TrackDraftForm(initial=track, prefix="track"),
                StepFormSet(initial=steps, prefix="steps"),
                resource_forms,
                warnings=draft.warnings,
            )
    return TemplateResponse(
        request, "admin/content/track/import_article.html", {**context, "form": form}
    )


def _review(
    model_admin: admin.ModelAdmin, request: HttpRequest, context: dict[str, Any]
) -> HttpResponse:
    track_form = TrackDraftForm(request.POST, prefix="track")
    steps = StepFormSet(request.POST, prefix="steps")
    resources = ResourceFormSet(request.POST, prefix="resources")
    action = request.POST.get("action", "preview")
    problems: list[str] = []
    preview = ""
    if track_form.is_valid() and steps.is_valid() and resources.is_valid():
        draft, problems = _draft_from_forms(track_form, steps, resources, _stored_for(resources))
        if draft is not None:
            document = draft_document(draft, published=action == "publish")
            if action in ("draft", "publish"):
                try:
                    track = track_import(document=document, name=ARTICLE_NAME)
                except RoadmapError as exc:
                    problems = exc.problems
                except ApplicationError as exc:
                    problems = [exc.message]
                else:
                    state = "published" if track.is_published else "saved as an unpublished draft"
                    model_admin.message_user(
                        request,
                        f"The track “{track.title}” was {state}. Check it here.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(
                        reverse("admin:content_track_change", args=[track.pk])
                    )
            else:
                _, problems = roadmap_data_parse(document, Path(ARTICLE_NAME))
                preview = document_yaml(document)
    else:
        problems = ["Some fields need attention; see below."]
    return _render_review(
        request, context, track_form, steps, resources, problems=problems, preview=preview
    )


def _render_review(
    request: HttpRequest,
    context: dict[str, Any],
    track_form: TrackDraftForm,
    steps: Any,
    resources: Any,
    *,
    warnings: list[str] | None = None,
    problems: list[str] | None = None,
    preview: str = "",
) -> HttpResponse:
    stored = _stored_for(resources)
    rows = []
    for form in resources.forms:
        try:
            url = url_normalize(str(form["url"].value() or ""))
        except ApplicationError:
            url = ""  # never a link to what was posted back unchecked
        rows.append({"form": form, "url": url, "stored": stored.get(url)})
    return TemplateResponse(
        request,
        "admin/content/track/import_review.html",
        {
            **context,
            "title": "Review the imported track",
            "track_form": track_form,
            "steps": steps,
            "resources": resources,
            "resource_rows": rows,
            "warnings": warnings or [],
            "problems": problems or [],
            "preview": preview,
        },
    )
