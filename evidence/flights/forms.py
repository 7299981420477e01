"""The flight-log upload form: the file, how its times are read, what becomes of
invalid rows, the incident to link it to, and the item's details (shared with every
upload: ``evidence.forms.ItemDetailsForm``).

After an error the file is kept (``evidence.forms.KeepsOneFile``): the form is shown again with
the file held for the same user, so that correcting a time zone or an incident code does
not mean choosing the file again."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from evidence.flights import flightlog
from evidence.forms import ItemDetailsForm, KeepsOneFile
from tracker.access import visible_incidents
from tracker.models import Incident


class FlightLogUploadForm(KeepsOneFile, ItemDetailsForm):
    field_order = ("file", "held", "time_zone", "skip_invalid", "incident")  # then the details
    fieldsets = (
        (None, {"fields": ("file", "held", "time_zone", "skip_invalid", "incident", "relevance")}),
        ("The item", {"fields": ("title", "description")}),
        ("Source", {"fields": ("source_type", "source_name", "received_from", "is_protected")}),
    )
    help_texts = {
        "title": "Leave empty to use the file's name.",
        "source_name": "A pseudonym: spotters are protected sources.",
    }

    file = forms.FileField(
        required=False,  # a file held from the last attempt will do (clean)
        help_text="A flight log in the tracker's CSV format (UTF-8). It is hashed and stored as "
        "an evidence item, then every row is checked before any is imported.",
    )
    time_zone = forms.CharField(
        max_length=64,
        required=False,
        help_text="Zone of times written without a UTC offset, e.g. Asia/Damascus. Leave empty "
        "if every time has its offset; a time without one then refuses the file.",
    )
    skip_invalid = forms.BooleanField(
        required=False,
        help_text="Import the valid rows and list the others, instead of refusing the whole file.",
    )
    incident = forms.CharField(
        max_length=16, required=False, help_text="Incident code (INC-…) to link the log to."
    )
    is_protected = forms.BooleanField(
        label="Protected identity",
        required=False,
        initial=False,
        help_text="Only if the file itself could endanger a source (a spotter named in it): "
        "a protected file opens only for its uploader and holders of the identity permission, "
        "and only they can verify it.",
    )

    def clean_time_zone(self) -> str:
        name = self.cleaned_data["time_zone"].strip()
        if name:
            try:
                flightlog.parse_zone(name)
            except flightlog.FlightLogRefused as exc:
                raise ValidationError(str(exc)) from None
        return name

    def clean_incident(self) -> Incident | None:
        code = self.cleaned_data["incident"].strip().upper()
        if not code:
            return None
        # A restricted incident the user may not see is answered as an unknown code.
        incident = visible_incidents(self.user).filter(code=code).first()
        if incident is None:
            raise ValidationError(f"No incident with code {code}.")
        return incident
