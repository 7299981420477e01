"""The demo case's evidence: every file generated, sent through
``evidence.intake.ingest`` and given its kind-specific details (satellite
scene, flight log and observations, witness and testimony). Videos and the recorded
interview are made by ``demo.clips``; their claims are read from their tags by the
intake, and their keyframes, near-duplicates and playable copies by the background jobs
it asks for.

A mixin for ``demo.build``'s case builder, which provides the records
these steps refer to: ``researcher``, ``source`` (source types by name),
``places``, ``incidents``, ``times`` and ``sites`` (by incident key), the
``items`` index and ``new_keys`` list this module fills, and ``saved()``.
"""

from __future__ import annotations

import io
import math
import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from demo import capture, clips, data, files, flightlog
from demo.grades import PREDATED
from evidence import intake
from evidence.flights.flightlog import import_flight_log
from evidence.models import (
    EvidenceItem,
    EvidenceLink,
    SatelliteImage,
    Testimony,
    Witness,
)
from tracker.models import Place

LOCAL = ZoneInfo(data.TIME_ZONE)
SPECS = {spec.key: spec for spec in data.INCIDENTS}
PLACE_SPECS = {spec.key: spec for spec in data.PLACES}


class DuplicateFile(Exception):
    """A generated file is already held: part of an earlier demo case is in the database."""


def decimal6(value: float) -> Decimal:
    return Decimal(f"{value:.6f}")


class EvidenceSteps:
    """Adds the case's evidence items (see the module docstring for what it expects)."""

    def add_evidence(self) -> None:
        # Cheap kinds first, so that a failure shows early.
        self._documents()
        self._web_captures()
        self._captured_page()
        self._audio()
        self._satellite()
        self._flight_log()
        self._testimonies()
        self._photos()
        self._videos()
        self._interviews()

    def _ingest(self, content: bytes, incident: str, kind: str, filename: str, **fields):
        """One file through the intake, linked to ``incident``. ``source`` is a pair
        (source type, source name); ``acquired_after`` counts from ``captured_at``."""
        source_type, source_name = fields.pop("source")
        after = fields.pop("acquired_after", timedelta(days=2))
        fields.setdefault("received_from", source_name)
        if fields.get("captured_at") and "acquired_at" not in fields:
            fields["acquired_at"] = fields["captured_at"] + after
        result = intake.ingest(
            io.BytesIO(content),
            filename=filename,
            kind=kind,
            by=self.researcher,
            title=data.TITLE_PREFIX + fields.pop("title"),
            incident=self.incidents[incident],
            source_type=self.source[source_type],
            source_name=source_name,
            **fields,
        )
        if result.duplicate:
            raise DuplicateFile(
                f"{filename} is already held as {result.item.code}: the database holds part "
                "of an earlier demo case. Remove it before loading again."
            )
        self.new_keys.append(result.item.original_path)
        self.items[incident][kind].append(result.item)
        return result.item

    def _link(self, item: EvidenceItem, incident: str, relevance: str) -> None:
        self.saved(EvidenceLink(item=item, incident=self.incidents[incident], relevance=relevance))
        self.items[incident][item.kind].append(item)

    def _where(self, key: str) -> tuple[Place, datetime]:
        return self.places[SPECS[key].place], self.times[key]

    def _documents(self) -> None:
        for spec in data.DOCUMENTS:
            place, when = self._where(spec.incident)
            issued = (when + timedelta(days=1)).replace(hour=9, minute=0)
            header = [("Issued by", spec.source_name), ("Date", f"{issued:%d %B %Y}")]
            header += [("Concerning", self.incidents[spec.incident].title), ("Place", str(place))]
            content = files.text_document(spec.title, header, spec.body)
            self._ingest(
                content,
                spec.incident,
                "document",
                spec.filename,
                title=f"{spec.title}, {place.name}",
                relevance="Record made by a local institution the day after the strike.",
                source=(spec.source_type, spec.source_name),
                received_from=f"{spec.source_name}, by e-mail",
                captured_at=issued,
                captured_precision="day",
            )

    def _web_captures(self) -> None:
        for n, spec in enumerate(data.WEB_CAPTURES, start=1):
            posted = self.times[spec.incident] + timedelta(minutes=spec.minutes_after)
            url = f"https://example.org/sample-posts/{posted:%Y%m%d}-{n:02d}"
            content = files.web_capture_png(
                f"web:{spec.incident}",
                page=spec.page,
                posted=f"{posted:%d %B %Y at %H:%M}",
                text=spec.text,
                url=url,
            )
            self._ingest(
                content,
                spec.incident,
                "web_capture",
                f"capture-{posted:%Y%m%d-%H%M}.png",
                title=f"Web capture of a post by {spec.page}",
                relevance="Public report posted minutes after the strike.",
                source=(data.SRC_SOCIAL, spec.page),
                source_url=url,
                received_from="captured by the team from the public page",
                captured_at=posted,
                acquired_after=timedelta(hours=2),
                verification_method="SAMPLE: post time consistent with other reports.",
            )

    def _captured_page(self) -> None:
        """One page captured by link, from a SAMPLE page the loader serves itself."""
        key = "kfn-hospital"
        place, when = self._where(key)
        posted = (when + timedelta(minutes=40)).astimezone(LOCAL)
        made = capture.capture_statement(
            by=self.researcher,
            incident=self.incidents[key],
            place=str(place),
            posted=f"{posted:%d %B %Y at %H:%M}",
        )
        for item in made:
            self.new_keys.append(item.original_path)
            self.items[key][item.kind].append(item)

    def _audio(self) -> None:
        for spec in data.AUDIO:
            place, when = self._where(spec.incident)
            at = when - timedelta(minutes=spec.minutes_before)
            self._ingest(
                files.radio_wav(f"audio:{spec.incident}"),
                spec.incident,
                "audio",
                f"radio-{at:%Y%m%d-%H%M}.wav",
                title=f"{spec.title}, {place.name}",
                relevance="Spotter radio warning minutes before the strike.",
                source=(data.SRC_SPOTTERS, "SAMPLE spotter network"),
                captured_at=at,
                is_protected=True,
            )

    def _satellite(self) -> None:
        half = files.SATELLITE_PX * files.SATELLITE_RESOLUTION_M / 2 / 111_320  # degrees
        for key in data.SATELLITE_PAIRS:
            (place, when), (lat, lon) = self._where(key), self.sites[key]
            rng = random.Random(f"satellite:{key}")
            wide = half / math.cos(math.radians(lat))
            bounds = {
                "west": lon - wide,
                "south": lat - half,
                "east": lon + wide,
                "north": lat + half,
            }
            day = when.astimezone(UTC).replace(hour=8, second=0, microsecond=0)
            before = None
            for phase, shift in (("before", -rng.randint(3, 9)), ("after", rng.randint(1, 3))):
                at = (day + timedelta(days=shift)).replace(minute=rng.randint(5, 55))
                scene = f"SAMPLE-{at:%Y%m%d%H%M}-{rng.randint(1000, 9999)}"
                content = files.satellite_png(
                    f"satellite:{key}", damaged=phase == "after", captured_at=at
                )
                item = self._ingest(
                    content,
                    key,
                    "satellite",
                    f"{scene}.png",
                    title=f"Satellite image {phase} the strike, {place.name}",
                    relevance=f"Footprint of the site {phase} the strike.",
                    source=(data.SRC_SATELLITE, "SAMPLE imagery"),
                    captured_at=at,
                    acquired_at=day + timedelta(days=5),
                    captured_latitude=decimal6(lat),
                    captured_longitude=decimal6(lon),
                )
                stated = {
                    "provider": "SAMPLE imagery",
                    "sensor": "SAMPLE-Sat optical (0.5 m)",
                    "scene_id": scene,
                    "captured_at": at,
                    "resolution_m": files.SATELLITE_RESOLUTION_M,
                    "cloud_cover": round(rng.uniform(0, 8), 1),
                    **{side: decimal6(value) for side, value in bounds.items()},
                }
                before = self._scene(item, stated, before)

    def _scene(self, item: EvidenceItem, stated: dict, before: SatelliteImage | None):
        """The item's scene details: the intake may have read some from the file
        itself (those are kept); the provider's metadata fills in the rest."""
        row = SatelliteImage.objects.filter(item=item).first() or SatelliteImage(item=item)
        for name, value in stated.items():
            if getattr(row, name) in (None, ""):
                setattr(row, name, value)
        row.before = before
        return self.saved(row)

    def _flight_log(self) -> None:
        follow_ups = {s.follow_up_of: s.key for s in data.INCIDENTS if s.follow_up_of}
        strikes = [
            flightlog.Strike(
                key,
                self.times[key],
                self.sites[key],
                self.places[SPECS[key].place].name,
                actor=SPECS[key].actor,
                helicopter=SPECS[key].attack == data.HELI,
                guided=SPECS[key].weapon == data.GUIDED,
                follow_up_at=self.times.get(follow_ups.get(key, "")),
            )
            for key in data.FLIGHT_DAYS
        ]
        content = flightlog.flight_log_csv(flightlog.plan_sightings(strikes))
        relevance = "Spotter observations of aircraft over the site around the strike."
        first, *others = data.FLIGHT_DAYS
        filename = "SAMPLE-spotter-log-2019-2020.csv"
        # The import goes through the intake and reads the rows back from the stored file.
        result = import_flight_log(
            io.BytesIO(content),
            filename=filename,
            by=self.researcher,
            time_zone=data.TIME_ZONE,
            incident=self.incidents[first],
            relevance=relevance,
            title=data.TITLE_PREFIX + "Spotter network flight log, April 2019 - March 2020",
            description="SAMPLE: invented observations in the flight-log CSV "
            "format (docs/formats/flightlog-csv.md).",
            received_from="SAMPLE spotter network coordinator, encrypted transfer",
            source_type=self.source[data.SRC_SPOTTERS],
            source_name="SAMPLE spotter network",
            is_protected=True,
            acquired_at=datetime(2020, 3, 20, 12, 0, tzinfo=LOCAL),
        )
        item = result.item
        if result.duplicate:
            raise DuplicateFile(
                f"{filename} is already held as {item.code}: the database holds part "
                "of an earlier demo case. Remove it before loading again."
            )
        self.new_keys.append(item.original_path)
        self.items[first]["flight_log"].append(item)
        for key in [*others, *(follow_ups[k] for k in data.FLIGHT_DAYS if k in follow_ups)]:
            self._link(item, key, relevance)

    def _testimonies(self) -> None:
        by = self.researcher
        for n, spec in enumerate(data.WITNESSES, start=1):
            place = self.places[SPECS[spec.incident].place]
            witness = self.saved(
                Witness(
                    pseudonym=f"{data.LABEL} Witness {spec.code}",
                    role=spec.role,
                    real_name=f"SAMPLE real name {n:02d}",
                    contact=f"SAMPLE contact {n:02d}: +000 0000 {n:04d} (fictional)",
                    notes="SAMPLE: a fictional witness invented for the demo case.",
                    created_by=by,
                    updated_by=by,
                )
            )
            role = witness.get_role_display()
            interviewed = date.fromisoformat(spec.interview_date)
            given, quote, name, courts = spec.consent
            scopes = [s for s, ok in (("quote", quote), ("name", name), ("courts", courts)) if ok]
            consent = ("given: " + (", ".join(scopes) or "internal use only")) if given else "no"
            header = [("Witness", witness.pseudonym), ("Role", role), ("Place", str(place))]
            header += [("Incident", self.incidents[spec.incident].title)]
            header += [("Interviewed", f"{interviewed:%d %B %Y}, {spec.method.replace('_', ' ')}")]
            header += [("Interviewer", data.INTERVIEWER), ("Consent", consent)]
            header += [("Language", "Arabic (English translation)")]
            content = files.text_document(f"Testimony of {witness.pseudonym}", header, spec.account)
            source = data.SRC_MEDICAL if spec.role == "medical" else data.SRC_WITNESS
            at = datetime.combine(interviewed, time(data.INTERVIEW_HOUR), tzinfo=LOCAL)
            item = self._ingest(
                content,
                spec.incident,
                "testimony",
                f"testimony-{spec.code}.txt",
                title=f"Testimony of Witness {spec.code} ({role}), {place.name}",
                description=spec.summary,
                relevance=spec.summary,
                source=(source, witness.pseudonym),
                received_from=f"{data.INTERVIEWER}, interview transcript",
                captured_at=at,
                captured_precision="day",
                identifies_people=True,
                is_protected=True,
            )
            self.saved(
                Testimony(
                    item=item,
                    witness=witness,
                    interview_date=interviewed,
                    method=spec.method,
                    language="Arabic",
                    interviewer=data.INTERVIEWER,
                    summary=spec.summary,
                    consent_given=given,
                    consent_quote=quote,
                    consent_name=name,
                    consent_share_courts=courts,
                )
            )

    def _photos(self) -> None:
        for spec in data.INCIDENTS:
            place, (lat, lon) = self.places[spec.place], self.sites[spec.key]
            count = data.PHOTOS_BY_HARM[spec.harm]
            what = spec.what[0].lower() + spec.what[1:]
            rng = random.Random(f"photos:{spec.key}")
            for n in range(1, count + 1):
                minutes, seconds = rng.randint(12, 40) + 35 * n, rng.randint(0, 59)
                taken = self.times[spec.key] + timedelta(minutes=minutes, seconds=seconds)
                if (spec.key, n) == PREDATED:  # a disagreement on purpose (demo/grades.py)
                    taken -= timedelta(days=2, hours=1)
                make, model = rng.choice(data.CAMERAS)
                content = files.photo_jpeg(
                    f"photo:{spec.key}:{n}",
                    target=spec.targets[0],
                    taken_at=taken,
                    latitude=lat + rng.uniform(-4e-4, 4e-4),
                    longitude=lon + rng.uniform(-4e-4, 4e-4),
                    altitude=PLACE_SPECS[spec.place].elevation_m + rng.uniform(-4, 12),
                    make=make,
                    model=model,
                )
                prefix = "DSC_" if make in ("Canon", "NIKON CORPORATION") else "IMG_"
                source = rng.choice(data.PHOTO_SOURCES)
                # captured_at and the coordinates come from the file's EXIF (intake).
                self._ingest(
                    content,
                    spec.key,
                    "photo",
                    f"{prefix}{taken:%Y%m%d_%H%M%S}.jpg",
                    title=f"Photo {n}/{count} after the {what}, {place.name}",
                    description=data.PHOTO_DESCRIPTION,
                    relevance="Shows the damage at the site shortly after the strike.",
                    source=source,
                    received_from=f"{source[1]}, original file sent as a document",
                    acquired_at=taken + timedelta(days=rng.randint(1, 6)),
                    verification_method=data.PHOTO_VERIFICATION,
                )

    def _videos(self) -> None:
        """Phone videos of the aftermath (``data.VIDEOS``), then a channel's re-upload of
        one, which the derivatives job links to it as a near-duplicate."""
        for spec in data.VIDEOS:
            place, (lat, lon) = self.places[SPECS[spec.incident].place], self.sites[spec.incident]
            rng = random.Random(f"video:{spec.incident}")
            seconds = rng.randint(0, 59)
            at = self.times[spec.incident] + timedelta(minutes=spec.minutes_after, seconds=seconds)
            lat, lon = lat + rng.uniform(-3e-4, 3e-4), lon + rng.uniform(-3e-4, 3e-4)
            altitude = PLACE_SPECS[SPECS[spec.incident].place].elevation_m + rng.uniform(-2, 8)
            utc = f"{at.astimezone(UTC):%Y-%m-%dT%H:%M:%S}.000000Z"  # MP4's time is UTC
            if spec.make == "Apple":
                container, filename = "mov", f"IMG_{rng.randint(1000, 9999)}.MOV"
                tags = {
                    "com.apple.quicktime.creationdate": f"{at:%Y-%m-%dT%H:%M:%S%z}",
                    "creation_time": utc,
                    "com.apple.quicktime.make": spec.make,
                    "com.apple.quicktime.model": spec.model,
                    "com.apple.quicktime.location.ISO6709": iso6709(lat, lon, altitude),
                }
            else:
                container, filename = "mp4", f"VID_{at:%Y%m%d_%H%M%S}.mp4"
                tags = {
                    "creation_time": utc,
                    "location": iso6709(lat, lon),
                    "com.android.manufacturer": spec.make,
                    "com.android.model": spec.model,
                }
            content = clips.video(
                seed=f"video:{spec.incident}",
                seconds=spec.seconds,
                size=spec.size,
                container=container,
                tags=tags,
                label=place.name,
            )
            # captured_at and the place come from the file's tags (intake).
            self._ingest(
                content,
                spec.incident,
                "video",
                filename,
                title=f"{spec.title}, {place.name}",
                description=data.VIDEO_DESCRIPTION,
                relevance="Shows the damage at the site minutes after the strike.",
                source=spec.source,
                received_from=f"{spec.source[1]}, original file sent as a document",
                acquired_at=at + timedelta(days=rng.randint(1, 4)),
                verification_method=data.VIDEO_VERIFICATION,
            )
        self._reupload(data.REUPLOAD)

    def _reupload(self, spec: data.ReuploadSpec) -> None:
        """A page's copy of one of the videos: the same pictures, re-encoded."""
        original = next(video for video in data.VIDEOS if video.incident == spec.of)
        place = self.places[SPECS[spec.of].place]
        posted = self.times[spec.of] + timedelta(hours=spec.hours_after)
        url = f"https://example.org/sample-posts/{posted:%Y%m%d}-video"
        content = clips.video(
            seed=f"video:{spec.of}",
            seconds=original.seconds,
            size=spec.size,
            canvas=original.size,
            gop=spec.gop,
            logo=True,
            label=place.name,
        )
        self._ingest(
            content,
            spec.of,
            "video",
            f"video-{posted:%Y%m%d-%H%M}.mp4",
            title=f"Video re-uploaded by {spec.page}, {place.name}",
            description=f"SAMPLE: the page's copy of a phone video, posted {posted:%d %B %Y}: "
            "smaller, re-encoded, with the page's logo, and without tags (the platform "
            "removed them), so it claims no time, place or device.",
            relevance="The same footage as the phone video, as the page published it.",
            source=(data.SRC_SOCIAL, spec.page),
            source_url=url,
            received_from="downloaded by the team from the public page",
            acquired_at=posted + timedelta(hours=2),
        )

    def _interviews(self) -> None:
        """Recordings of witnesses' interviews, protected as their transcripts are."""
        witnesses = {spec.code: spec for spec in data.WITNESSES}
        for spec in data.INTERVIEWS:
            witness = witnesses[spec.witness]
            pseudonym = f"{data.LABEL} Witness {witness.code}"
            transcript = Testimony.objects.select_related("item", "witness").get(
                witness__pseudonym=pseudonym
            )
            place = self.places[SPECS[witness.incident].place]
            interviewed = date.fromisoformat(witness.interview_date)
            at = datetime.combine(interviewed, time(data.INTERVIEW_HOUR), tzinfo=LOCAL)
            at += timedelta(minutes=spec.minutes_in)
            # A recorder's M4A: its creation time in UTC, and nothing that names anyone.
            tags = {"creation_time": f"{at.astimezone(UTC):%Y-%m-%dT%H:%M:%S}.000000Z"}
            role = transcript.witness.get_role_display()
            source = data.SRC_MEDICAL if witness.role == "medical" else data.SRC_WITNESS
            self._ingest(
                clips.audio(seconds=spec.seconds, tags=tags, pitch=spec.pitch),
                witness.incident,
                "audio",
                f"interview-{witness.code}.m4a",
                title=f"Recording of the interview with Witness {witness.code} ({role}), "
                f"{place.name}",
                description="SAMPLE: a generated tone standing in for the recorded "
                f"interview; its transcript is {transcript.item.code}.",
                relevance=witness.summary,
                source=(source, pseudonym),
                received_from=f"{data.INTERVIEWER}, interview recording",
                acquired_at=at + timedelta(hours=3),
                identifies_people=True,
                is_protected=True,
            )


def iso6709(lat: float, lon: float, altitude: float | None = None) -> str:
    """A point as phones write it in a video's location tag: ``+35.6235+036.6380/``."""
    height = f"{altitude:+.3f}" if altitude is not None else ""
    return f"{lat:+08.4f}{lon:+09.4f}{height}/"
