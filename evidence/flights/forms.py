"""The flight-log upload form: the file, how its times are read, what becomes of
invalid rows, the incident to link it to, and the item's details (shared with every
upload: ``evidence.forms.ItemDetailsForm``).

After an error the file is kept (``evidence.files.held``): the form is shown again with
the file held for the same user, so that correcting a time zone or an incident code does
not mean choosing the file again."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from evidence.files import held, storage
from evidence.flights import flightlog
from evidence.forms import ItemDetailsForm
from tracker.access import visible_incidents
from tracker.models import Incident

log = logging.getLogger(__name__)
FILE_AGAIN = "The file kept from your last attempt is no longer held: choose it again."
KEPT = (
    "Kept from your last attempt: <strong>{}</strong> ({} bytes). Leave this empty to "
    "import it, or choose another file."
)


class FlightLogUploadForm(ItemDetailsForm):
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
    held = forms.CharField(required=False, widget=forms.HiddenInput)
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

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kept: held.Held | None = None  # the file held from the last attempt, if any
        if self.is_bound:
            self.kept = held.claim(str(self.data.get(self.add_prefix("held"), "")), user=self.user)
        if self.kept is not None:
            self.fields["file"].help_text = format_html(KEPT, self.kept.name, self.kept.size)

    def clean(self):
        data = super().clean()
        if not data.get("file") and self.kept is None and "file" not in self.errors:
            token = data.get("held")
            self.add_error(
                "file", FILE_AGAIN if token else self.fields["file"].error_messages["required"]
            )
        return data

    def size(self) -> int:
        """The size of the file to import (chosen now, else held)."""
        upload = self.cleaned_data.get("file")
        if upload:
            return upload.size
        return self.kept.size if self.kept is not None else 0

    @contextmanager
    def source(self) -> Iterator[tuple[BinaryIO, str]]:
        """The file to import, and its name: the one chosen now, else the one held."""
        upload = self.cleaned_data.get("file")
        if upload:
            yield upload, upload.name
            return
        assert self.kept is not None  # clean() refuses a form with neither
        with self.kept.path.open("rb") as stream:
            yield stream, self.kept.name

    def keep_file(self) -> None:
        """After an error: hold the file chosen now (replacing one held before), so that
        the form shown again carries it. Nothing is held past the upload limit."""
        upload = self.files.get(self.add_prefix("file"))
        if upload:
            try:
                kept = held.hold(upload, name=upload.name, user=self.user)
            except (storage.TooLarge, OSError) as exc:
                log.warning("flight-log upload not held after an error: %s", exc)
                return
            self.release()
            self.kept = kept
        if self.kept is not None:
            self.data = self.data.copy()
            self.data[self.add_prefix("held")] = self.kept.token
            # The field's bound copy, made when the form was validated, is what is shown.
            self["file"].help_text = format_html(KEPT, self.kept.name, self.kept.size)

    def release(self) -> None:
        """The held file is no longer needed (imported, or replaced)."""
        if self.kept is not None:
            held.release(self.kept)
            self.kept = None

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
