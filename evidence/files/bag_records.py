"""The JSON records of a bag (``evidence.files.bagging``): an incident, an evidence
item, and the item's chain of custody, as a court or an archive reads them.

Times are written in UTC and, beside them, in the tracker's time zone; coordinates as
strings, exactly as held. A witness's protected identity and a protected item's file
name are in a record only when the export includes protected identity.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone

from evidence import access
from evidence.models import EvidenceItem
from tracker.models import Incident

PROTECTED_WITNESS_FIELDS = ("real_name", "contact", "notes")
CUSTODY_HASH_METHOD = (
    "event_hash = SHA-256 of the UTF-8 JSON object {item (the EV code), sequence, action, "
    "actor (the actor_id below), at, observed_sha256, details, previous_hash}, "
    'keys sorted, separators "," and ":", non-ASCII characters unescaped; '
    "previous_hash is the event_hash of the event before it (empty for the first)."
)


def utc(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _local(value: datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value is not None else None


def _number(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def _name(value) -> str | None:
    return str(value) if value is not None else None


def _place(place) -> dict[str, Any] | None:
    if place is None:
        return None
    return {
        "name": place.name,
        "district": place.district,
        "governorate": place.governorate,
        "latitude": _number(place.latitude),
        "longitude": _number(place.longitude),
    }


def incident_record(incident: Incident) -> dict[str, Any]:
    return {
        "code": incident.code,
        "title": incident.title,
        "narrative": incident.narrative,
        "status": incident.status,
        "sensitivity": incident.sensitivity,
        "occurred": {
            "start": utc(incident.occurred_start),
            "start_local": _local(incident.occurred_start),
            "start_precision": incident.start_precision,
            "end": utc(incident.occurred_end),
            "end_local": _local(incident.occurred_end),
        },
        "place": _place(incident.place),
        "coordinates": {
            "latitude": _number(incident.latitude),
            "longitude": _number(incident.longitude),
            "precision": incident.location_precision,
        },
        "attack_type": _name(incident.attack_type),
        "weapon": _name(incident.weapon),
        "target_types": sorted(t.name for t in incident.target_types.all()),
        "casualties": {
            "killed": {"min": incident.killed_min, "max": incident.killed_max},
            "injured": {"min": incident.injured_min, "max": incident.injured_max},
            "children_killed": incident.children_killed,
            "women_killed": incident.women_killed,
        },
        "civilian_harm_grade": incident.civilian_harm,
        "attributions": [
            {
                "force": _name(a.force),
                "unit": _name(a.unit),
                "official": _name(a.official),
                "role": a.role,
                "confidence": a.confidence,
                "basis": a.basis,
                "status": a.status,
                "supporting_evidence": sorted(e.code for e in a.supporting_evidence.all()),
            }
            for a in incident.attributions.all()
        ],
        "related_incidents": [
            {"from": incident.code, "to": r.to_incident.code, "kind": r.kind, "note": r.note}
            for r in incident.relations_from.all()
        ]
        + [
            {"from": r.from_incident.code, "to": incident.code, "kind": r.kind, "note": r.note}
            for r in incident.relations_to.all()
        ],
        "evidence": [
            {"code": link.item.code, "relevance": link.relevance, "relied_on": link.relied_on}
            for link in incident.evidence_links.all()
        ],
    }


def item_record(item: EvidenceItem, *, include_protected: bool) -> dict[str, Any]:
    record: dict[str, Any] = {
        "code": item.code,
        "kind": item.kind,
        "title": item.title,
        "description": item.description,
        "sha256": item.sha256,
        "size": item.size,
        "media_type": item.media_type,
        "original_filename": access.file_name(
            item, access.file_name_shown(item, include_protected)
        ),
        "perceptual_hash": item.perceptual_hash,
        "near_duplicates": sorted(other.code for other in item.near_duplicates.all()),
        "derivative_problem": item.derivative_problem,
        "status": item.status,
        "captured": {
            "at": utc(item.captured_at),
            "at_local": _local(item.captured_at),
            "precision": item.captured_precision,
            "place": _place(item.captured_place),
            "latitude": _number(item.captured_latitude),
            "longitude": _number(item.captured_longitude),
        },
        "source": {
            "type": _name(item.source_type),
            "name": item.source_name,
            "url": item.source_url,
        },
        "acquired": {
            "at": utc(item.acquired_at),
            "by": item.acquired_by.get_username() if item.acquired_by else None,
        },
        "verification_method": item.verification_method,
        "graphic": item.is_graphic,
        "identifies_people": item.identifies_people,
        "protected": item.is_protected,
        "links": [
            {
                "incident": link.incident.code,
                "relevance": link.relevance,
                "relied_on": link.relied_on,
            }
            for link in item.links.all()
        ],
    }
    for name, build in (
        ("photo", lambda photo: photo_record(photo, include_protected=include_protected)),
        ("satellite", _satellite),
        ("video", lambda claims: _recording(claims, include_protected=include_protected)),
        ("audio", lambda claims: _recording(claims, include_protected=include_protected)),
        ("flight_log", _flight_log),
        ("testimony", lambda t: _testimony(t, include_protected=include_protected)),
    ):
        try:
            detail = getattr(item, name)
        except ObjectDoesNotExist:
            continue
        record[name] = build(detail)
    return record


def photo_record(photo, *, include_protected: bool) -> dict[str, Any]:
    record = {
        "width": photo.width,
        "height": photo.height,
        "camera_make": photo.camera_make,
        "camera_model": photo.camera_model,
        "taken_at": utc(photo.taken_at),
        "taken_at_offset": photo.taken_at_offset,
        "taken_at_as_recorded": photo.taken_at_as_recorded,
        "gps_latitude": _number(photo.gps_latitude),
        "gps_longitude": _number(photo.gps_longitude),
        "gps_altitude": photo.gps_altitude,
        "orientation": photo.orientation,
    }
    if photo.item.is_protected and not include_protected:
        for name in access.PHOTO_SOURCE:
            record[name] = None
        record["withheld"] = "camera and position of a protected item"
    return record


def _recording(claims, *, include_protected: bool) -> dict[str, Any]:
    """A video's or audio file's claims (``evidence.models.recordings``)."""
    fields = [field.name for field in claims._meta.fields if field.name not in ("id", "item")]
    record = {name: getattr(claims, name) for name in fields}
    record["recorded_at"] = utc(claims.recorded_at)
    for name in ("latitude", "longitude"):
        record[name] = _number(record[name])
    if claims.item.is_protected and not include_protected:
        for name in access.RECORDING_SOURCE:
            record[name] = None
        record["withheld"] = "device and place of a protected item"
    return record


def _satellite(scene) -> dict[str, Any]:
    return {
        "provider": scene.provider,
        "sensor": scene.sensor,
        "scene_id": scene.scene_id,
        "captured_at": utc(scene.captured_at),
        "resolution_m": scene.resolution_m,
        "bounds": {
            "west": _number(scene.west),
            "south": _number(scene.south),
            "east": _number(scene.east),
            "north": _number(scene.north),
        },
        "cloud_cover": scene.cloud_cover,
        "before": scene.before.item.code if scene.before else None,
    }


def _flight_log(log) -> dict[str, Any]:
    return {
        "assumed_time_zone": log.assumed_time_zone,
        "imported_at": utc(log.imported_at),
        "row_count": log.row_count,
    }


def _testimony(testimony, *, include_protected: bool) -> dict[str, Any]:
    witness = testimony.witness
    who: dict[str, Any] = {"pseudonym": witness.pseudonym, "role": witness.role}
    if include_protected:
        who.update({field: getattr(witness, field) for field in PROTECTED_WITNESS_FIELDS})
    return {
        "witness": who,
        "interview_date": testimony.interview_date.isoformat(),
        "method": testimony.method,
        "language": testimony.language,
        "interviewer": testimony.interviewer,
        "summary": testimony.summary,
        "consent": {
            "given": testimony.consent_given,
            "quote": testimony.consent_quote,
            "name": testimony.consent_name,
            "share_with_courts": testimony.consent_share_courts,
        },
    }


def custody_record(
    item: EvidenceItem, *, include_protected: bool, hidden_incidents: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The item's chain. A protected item's file name (protected identity) is withheld
    unless identity is included; the events whose details it was in then say so, as
    their hash covers the full details and can be recomputed only by the holder."""
    shown = access.file_name_shown(item, include_protected)
    events = []
    for event in item.custody_events.all():
        details = access.custody_details(event.details, shown, hidden_incidents)
        events.append(
            {
                "sequence": event.sequence,
                "action": event.action,
                "actor": event.actor.get_username() if event.actor else None,
                "actor_id": event.actor_id,
                "at": event.at.isoformat(),  # as hashed (UTC), so the chain can be recomputed
                "observed_sha256": event.observed_sha256,
                "details": details,
                "details_withheld": details != event.details,
                "previous_hash": event.previous_hash,
                "event_hash": event.event_hash,
            }
        )
    return {
        "item": item.code,
        "sha256": item.sha256,
        "hash_method": CUSTODY_HASH_METHOD,
        "events": events,
    }
