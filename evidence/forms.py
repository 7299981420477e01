"""The upload forms' shared fields (``ItemDetailsForm``: what every upload tells the
intake about the item it makes) and the evidence upload form: one or many files, sent
through evidence.intake. The flight-log import's form (``evidence/flights/forms.py``)
derives from ``ItemDetailsForm`` too.

Also the admin's forms of an item, a scene and a testimony, for the dates typed into
them (``tracker.admin.kit.DatedForm``)."""

from __future__ import annotations

from django import forms

from evidence.models import EvidenceItem
from tracker import locks
from tracker.access import visible_incidents
from tracker.admin import kit
from tracker.models import Incident, SourceType


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data]
        files = [f for f in files if f]
        if not files:
            raise forms.ValidationError("Choose at least one file.", code="required")
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class ItemDetailsForm(forms.Form):
    """The details of the item an upload makes, defined once for every upload form.
    ``help_texts`` lets a form word a field's help for its own files."""

    relevance = forms.CharField(
        max_length=300, required=False, help_text="What the files show about the incident."
    )
    title = forms.CharField(
        max_length=200, required=False, help_text="Leave empty to use each file's name."
    )
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="What it shows or says, and its context.",
    )
    source_type = forms.ModelChoiceField(
        SourceType.objects.filter(active=True), required=False, help_text="The kind of source."
    )
    source_name = forms.CharField(
        max_length=200, required=False, help_text="A pseudonym for protected sources."
    )
    received_from = forms.CharField(
        max_length=200, required=False, help_text="How it reached the team (custody log)."
    )

    help_texts: dict[str, str] = {}

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        for name, text in self.help_texts.items():
            self.fields[name].help_text = text


class UploadForm(ItemDetailsForm):
    field_order = ("files", "kind", "incident")  # then the details, then the flags
    fieldsets = (
        (None, {"fields": ("files", "kind", "incident", "relevance")}),
        ("The items", {"fields": ("title", "description")}),
        ("Source", {"fields": ("source_type", "source_name", "received_from")}),
        ("Sensitivity", {"fields": ("is_graphic", "identifies_people", "is_protected")}),
    )

    files = MultipleFileField(
        help_text="One or many files (a folder's worth is fine). Each is hashed on arrival; a "
        "file already held is linked, not stored twice."
    )
    kind = forms.ChoiceField(
        choices=EvidenceItem.Kind.choices,
        help_text="Decides how each file is checked (a photo must be an image).",
    )
    incident = forms.ModelChoiceField(
        Incident.objects.none(), required=False, help_text="Link every file to it."
    )
    is_graphic = forms.BooleanField(
        label="Graphic content",
        required=False,
        help_text="Injuries or bodies: previews are blurred until clicked.",
    )
    identifies_people = forms.BooleanField(
        label="Identifies people",
        required=False,
        help_text="Faces, names or other details that identify someone.",
    )
    is_protected = forms.BooleanField(
        label="Protected identity",
        required=False,
        help_text="Could endanger a source or witness if disclosed: the files open only for "
        "their uploader and holders of the protected-identity permission.",
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, user=user, **kwargs)
        # Only incidents the uploader may see: the id of another is an invalid choice.
        self.fields["incident"].queryset = visible_incidents(user).order_by("code")

    def clean_incident(self) -> Incident | None:
        incident = self.cleaned_data["incident"]
        if incident is not None:
            # intake.ingest refuses it too; here the message sits next to the field.
            locks.check_incident_open(incident.pk, "evidence")
        return incident


# --- Dates typed into the admin's forms -------------------------------------------------


class ItemForm(kit.DatedForm):
    """The claimed capture: a date alone for a capture known to a day or wider; a time
    typed here is not in the future (one read from the file is kept as claimed)."""

    precision_of = {"captured_at": "captured_precision"}
    typed_past = ("captured_at",)


class SceneForm(kit.DatedForm):
    typed_past = ("captured_at",)


class TestimonyForm(kit.DatedForm):
    typed_past = ("interview_date",)
