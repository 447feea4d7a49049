from django import forms

from apps.content.models import Track
from apps.learning.public import HANDLE_MAX


class PublicProfileForm(forms.Form):
    """The public page's settings; the service checks the handle and the tracks."""

    is_public = forms.BooleanField(
        label="Show my public page",
        required=False,
        help_text="Off by default. Turned off, the page and its badges answer “not found” at once.",
    )
    handle = forms.CharField(
        label="Handle",
        max_length=HANDLE_MAX,
        help_text="Your page's address, /u/your-handle/: lower-case letters, digits and hyphens.",
    )
    tracks = forms.ModelMultipleChoiceField(
        label="Tracks to show",
        queryset=Track.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Only these tracks' progress shows, with your streak and 12-week chart. "
        "Your notes, email and time zone never do.",
    )

    def __init__(self, *args: object, tracks: list[Track], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["tracks"]
        assert isinstance(field, forms.ModelMultipleChoiceField)  # noqa: S101 - narrows the type
        field.queryset = Track.objects.filter(pk__in=[t.pk for t in tracks]).order_by(
            "position", "title"
        )
