"""The upload forms' shared fields (``ItemDetailsForm``: what every upload tells the
intake about the item it makes) and the evidence upload form: one or many files, sent
through evidence.intake. The flight-log import's form (``evidence/flights/forms.py``)
derives from ``ItemDetailsForm`` too."""

from __future__ import annotations

from django import forms

from evidence.models import EvidenceItem
from tracker import locks
from tracker.access import visible_incidents
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

    relevance = forms.CharField(max_length=300, required=False)
    title = forms.CharField(
        max_length=200, required=False, help_text="Leave empty to use each file's name."
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    source_type = forms.ModelChoiceField(SourceType.objects.filter(active=True), required=False)
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

    files = MultipleFileField(
        help_text="One or many files (a folder's worth is fine). Each is hashed on arrival; a "
        "file already held is linked, not stored twice."
    )
    kind = forms.ChoiceField(choices=EvidenceItem.Kind.choices)
    incident = forms.ModelChoiceField(
        Incident.objects.none(), required=False, help_text="Link every file to it."
    )
    is_graphic = forms.BooleanField(label="graphic", required=False)
    identifies_people = forms.BooleanField(required=False)
    is_protected = forms.BooleanField(label="protected", required=False)

    ONE_FILE = "Choose one file here: the row you came from takes one item."

    def __init__(self, *args, user, single: bool = False, **kwargs) -> None:
        super().__init__(*args, user=user, **kwargs)
        # Only incidents the uploader may see: the id of another is an invalid choice.
        self.fields["incident"].queryset = visible_incidents(user).order_by("code")
        self.single = single  # a pop-up for one row: one file
        if single:
            self.fields["files"].help_text = "One file: it fills the row you came from."

    def clean_files(self):
        files = self.cleaned_data["files"]
        if self.single and len(files) > 1:
            raise forms.ValidationError(self.ONE_FILE)
        return files

    def clean_incident(self) -> Incident | None:
        incident = self.cleaned_data["incident"]
        if incident is not None:
            # intake.ingest refuses it too; here the message sits next to the field.
            locks.check_incident_open(incident.pk, "evidence")
        return incident
