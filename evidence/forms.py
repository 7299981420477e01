"""The upload forms' shared fields (``ItemDetailsForm``: what every upload tells the
intake about the item it makes) and the evidence upload form: one or many files, sent
through evidence.intake. The flight-log import's form (``evidence/flights/forms.py``)
derives from ``ItemDetailsForm`` too.

Also the admin's forms of an item, a scene and a testimony, for the dates typed into
them (``tracker.admin.kit.DatedForm``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import BinaryIO

from django import forms
from django.utils.html import format_html

from evidence.files import held, storage
from evidence.models import EvidenceItem, Testimony, Witness
from tracker import locks
from tracker.access import visible_incidents
from tracker.admin import kit
from tracker.models import Incident, SourceType

log = logging.getLogger(__name__)
FILE_AGAIN = "The file kept from your last attempt is no longer held: choose it again."
KEPT = (
    "Kept from your last attempt: <strong>{}</strong> ({} bytes). Leave this empty to "
    "use it, or choose another file."
)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data]
        files = [f for f in files if f]
        if not files:
            if not self.required:
                return []
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
        (None, {"fields": ("files", "held", "kind", "incident", "relevance")}),
        ("The items", {"fields": ("title", "description")}),
        ("Source", {"fields": ("source_type", "source_name", "received_from")}),
        ("Sensitivity", {"fields": ("is_graphic", "identifies_people", "is_protected")}),
    )

    files = MultipleFileField(
        required=False,  # the files kept from the last attempt will do (clean)
        help_text="One or many files (a folder's worth is fine). Each is hashed on arrival; a "
        "file already held is linked, not stored twice.",
    )
    # Files kept across an error (evidence.files.held), by their signed tokens.
    held = forms.Field(required=False, widget=forms.MultipleHiddenInput)
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

    ONE_FILE = "Choose one file here: the row you came from takes one item."

    def __init__(self, *args, user, single: bool = False, **kwargs) -> None:
        super().__init__(*args, user=user, **kwargs)
        # Only incidents the uploader may see: the id of another is an invalid choice.
        self.fields["incident"].queryset = visible_incidents(user).order_by("code")
        self.single = single  # a pop-up for one row: one file
        self.kept: list[held.Held] = self._claim_kept() if self.is_bound else []
        if single:
            self.fields["files"].help_text = "One file: it fills the row you came from."

    def clean_files(self):
        files = self.cleaned_data["files"] or []
        if not files and not self.kept:
            raise forms.ValidationError("Choose at least one file.", code="required")
        if self.single and len(files) + (0 if files else len(self.kept)) > 1:
            raise forms.ValidationError(self.ONE_FILE)
        return files

    def _claim_kept(self) -> list[held.Held]:
        tokens = self.data.getlist("held") if hasattr(self.data, "getlist") else []
        found = [held.claim(str(token), user=self.user) for token in tokens[:100]]
        return [one for one in found if one is not None]

    @contextmanager
    def sources(self) -> Iterator[list[tuple[BinaryIO, str]]]:
        """The files to ingest with their names: those chosen now, else those kept."""
        chosen = self.cleaned_data.get("files") or []
        if chosen:
            yield [(upload, upload.name) for upload in chosen]
            return
        with ExitStack() as stack:
            yield [(stack.enter_context(k.path.open("rb")), k.name) for k in self.kept]

    def keep_files(self) -> None:
        """After an error: hold the files chosen now (replacing those held before), so
        that the form shown again carries them and they need not be chosen again."""
        chosen = self.files.getlist("files") if hasattr(self.files, "getlist") else []
        if chosen:
            kept = []
            for upload in chosen:
                try:
                    kept.append(held.hold(upload, name=upload.name, user=self.user))
                except (storage.TooLarge, OSError) as exc:
                    log.warning("upload not held after an error: %s", exc)
            self.release()
            self.kept = kept
        if self.kept:
            self.data = self.data.copy()
            self.data.setlist("held", [k.token for k in self.kept])
            names = ", ".join(k.name for k in self.kept)  # the admin shows help as HTML
            self["files"].help_text = format_html(
                "Kept from your last attempt: {}. Choose files again only to replace them.", names
            )

    def release(self) -> None:
        """The kept files are no longer needed (stored, or replaced)."""
        for one in self.kept:
            held.release(one)
        self.kept = []

    def clean_incident(self) -> Incident | None:
        incident = self.cleaned_data["incident"]
        if incident is not None:
            # intake.ingest refuses it too; here the message sits next to the field.
            locks.check_incident_open(incident.pk, "evidence")
        return incident


class KeepsOneFile(forms.Form):
    """A form of one file (``file_field``, not required) that keeps it across an error
    (``evidence.files.held``): shown again, it carries the file held for the same user in
    its hidden ``held`` field, so that correcting another field does not mean choosing
    the file again. ``self.user`` (whose files these are) must be set by the time the
    base form's ``__init__`` returns: the form sets it first, or a base form does."""

    file_field = "file"
    held = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kept: held.Held | None = None  # the file held from the last attempt, if any
        if self.is_bound:
            self.kept = held.claim(str(self.data.get(self.add_prefix("held"), "")), user=self.user)
        if self.kept is not None:
            self.fields[self.file_field].help_text = format_html(
                KEPT, self.kept.name, self.kept.size
            )

    def clean(self):
        data = super().clean()
        name = self.file_field
        if not data.get(name) and self.kept is None and name not in self.errors:
            required = self.fields[name].error_messages["required"]
            self.add_error(name, FILE_AGAIN if data.get("held") else required)
        return data

    def size(self) -> int:
        """The size of the file (chosen now, else held)."""
        upload = self.cleaned_data.get(self.file_field)
        if upload:
            return upload.size
        return self.kept.size if self.kept is not None else 0

    @contextmanager
    def source(self) -> Iterator[tuple[BinaryIO, str]]:
        """The file, and its name: the one chosen now, else the one held."""
        upload = self.cleaned_data.get(self.file_field)
        if upload:
            yield upload, upload.name
            return
        assert self.kept is not None  # clean() refuses a form with neither
        try:
            stream = self.kept.path.open("rb")
        except OSError:  # released meanwhile (the same form sent twice), or swept
            raise forms.ValidationError(FILE_AGAIN) from None
        with stream:
            yield stream, self.kept.name

    def keep_file(self) -> None:
        """After an error: hold the file chosen now (replacing one held before), so that
        the form shown again carries it. Nothing is held past the upload limit."""
        upload = self.files.get(self.add_prefix(self.file_field))
        if upload:
            try:
                kept = held.hold(upload, name=upload.name, user=self.user)
            except (storage.TooLarge, OSError) as exc:
                log.warning("upload not held after an error: %s", exc)
                return
            self.release()
            self.kept = kept
        if self.kept is not None:
            self.data = self.data.copy()
            self.data[self.add_prefix("held")] = self.kept.token
            # The field's bound copy, made when the form was validated, is what is shown.
            self[self.file_field].help_text = format_html(KEPT, self.kept.name, self.kept.size)

    def release(self) -> None:
        """The held file is no longer needed (stored, or replaced)."""
        if self.kept is not None:
            held.release(self.kept)
            self.kept = None


class NewTestimonyForm(KeepsOneFile):
    """A testimony in one form (``evidence.testimony.record``): the transcript, the
    witness (known, or new), the interview and the consent."""

    file_field = "transcript"
    transcript = forms.FileField(
        required=False,  # the file kept from the last attempt will do (KeepsOneFile)
        help_text="The transcript (text or PDF) or the recording (audio or video).",
    )
    witness = forms.ModelChoiceField(
        Witness.objects.none(),
        required=False,
        help_text="A witness already heard, by pseudonym. Leave empty to add a new one below.",
    )
    pseudonym = forms.CharField(
        max_length=80, required=False, help_text="New witness: the only name used in reports."
    )
    role = forms.ChoiceField(choices=Witness.Role.choices, initial=Witness.Role.EYEWITNESS)
    real_name = forms.CharField(
        max_length=200, required=False, help_text="Protected: shown only to those allowed."
    )
    contact = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, help_text="Protected."
    )
    interview_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    method = forms.ChoiceField(choices=Testimony.Method.choices)
    language = forms.CharField(max_length=40, initial="Arabic")
    interviewer = forms.CharField(max_length=100, help_text="Team member who took the interview.")
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What the witness said, without identifying details.",
    )
    consent_given = forms.BooleanField(required=False, label="Consent given")
    consent_quote = forms.BooleanField(required=False, label="May quote")
    consent_name = forms.BooleanField(required=False, label="May name")
    consent_share_courts = forms.BooleanField(required=False, label="May share with courts")
    is_protected = forms.BooleanField(
        required=False,
        initial=True,
        label="Protected item",
        help_text="Its file and file name only for those allowed to see protected identity.",
    )

    INTERVIEW = (
        "interview_date",
        "method",
        "language",
        "interviewer",
        "summary",
        "consent_given",
        "consent_quote",
        "consent_name",
        "consent_share_courts",
    )
    NEW_WITNESS = ("pseudonym", "role", "real_name", "contact")

    def __init__(self, *args, user, **kwargs) -> None:
        self.user = user
        super().__init__(*args, **kwargs)
        from evidence.visibility import visible_to  # the policy imports this app's forms

        self.fields["witness"].queryset = visible_to(user, Witness.objects.all()).order_by(
            "pseudonym"
        )
        self.may_add_witness = user.has_perm("evidence.add_witness")

    def clean_interview_date(self):
        from django.utils import timezone

        day = self.cleaned_data["interview_date"]
        if day > timezone.localdate():
            raise forms.ValidationError("The interview cannot be in the future.")
        return day

    def clean(self):
        data = super().clean()
        chosen, pseudonym = data.get("witness"), (data.get("pseudonym") or "").strip()
        if chosen and pseudonym:
            self.add_error("pseudonym", "Choose a known witness or name a new one, not both.")
        elif not chosen and not pseudonym:
            self.add_error("witness", "Choose the witness, or name a new one below.")
        elif not chosen and not self.may_add_witness:
            self.add_error("pseudonym", "You may not add witnesses: choose a known one.")
        elif not chosen and Witness.objects.filter(pseudonym=pseudonym).exists():
            # Said of any witness, hidden or not: a pseudonym is not a secret, and a
            # second witness may not take it.
            self.add_error("pseudonym", "A witness already has this pseudonym.")
        consent = data.get("consent_given")
        scopes = ("consent_quote", "consent_name", "consent_share_courts")
        if not consent and any(data.get(s) for s in scopes):
            self.add_error("consent_given", "A consent scope needs consent to have been given.")
        return data

    def interview(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.INTERVIEW}

    def new_witness(self) -> dict | None:
        if self.cleaned_data.get("witness"):
            return None
        return {name: self.cleaned_data[name] for name in self.NEW_WITNESS}


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


class CaptureForm(forms.Form):
    """Links to capture (``evidence.capture.capturing``), one a line, for one incident."""

    urls = forms.CharField(
        label="Links",
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        max_length=50 * 2100,
        help_text="One web address a line (at most 50). Each is captured in the background "
        "and kept as a web capture item.",
    )
    incident = forms.ModelChoiceField(
        Incident.objects.none(), required=False, help_text="Link every capture to it."
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only incidents the user may see: the id of another is an invalid choice.
        self.fields["incident"].queryset = visible_incidents(user).order_by("code")

    def clean_urls(self) -> list[str]:
        urls = [line.strip() for line in self.cleaned_data["urls"].splitlines() if line.strip()]
        if not urls:
            raise forms.ValidationError("Give at least one web address.")
        if len(urls) > 50:
            raise forms.ValidationError(f"At most 50 links at once ({len(urls)} given).")
        return urls

    def clean_incident(self) -> Incident | None:
        incident = self.cleaned_data["incident"]
        if incident is not None:
            locks.check_incident_open(incident.pk, "evidence")
        return incident
