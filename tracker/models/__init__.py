"""The case: incidents, places, vocabularies, forces, units, officials, postings,
attributions and the review log, one module per idea; every model is importable
from ``tracker.models`` as Django expects."""

from tracker.models.attribution import Attribution, ReviewEvent
from tracker.models.base import (
    COORDINATES_PAIR,
    LATITUDE,
    LONGITUDE,
    Audited,
    CodeCounter,
    Coded,
    DatePrecision,
    LocationPrecision,
    ReviewStatus,
    Sensitivity,
    coordinates_pair,
)
from tracker.models.case import (
    AttackType,
    Incident,
    IncidentQuerySet,
    IncidentRelation,
    Place,
    SourceType,
    TargetType,
    Vocabulary,
    Weapon,
)
from tracker.models.discussion import Assignment, Comment
from tracker.models.forces import Force, Official, OfficialAlias, Position, Unit
from tracker.models.jobs import Job
from tracker.models.tokens import ApiToken

__all__ = [
    "ApiToken",
    "Assignment",
    "AttackType",
    "Attribution",
    "Audited",
    "COORDINATES_PAIR",
    "CodeCounter",
    "Coded",
    "Comment",
    "DatePrecision",
    "Force",
    "Incident",
    "Job",
    "IncidentQuerySet",
    "IncidentRelation",
    "LATITUDE",
    "LONGITUDE",
    "LocationPrecision",
    "Official",
    "OfficialAlias",
    "Place",
    "Position",
    "ReviewEvent",
    "ReviewStatus",
    "Sensitivity",
    "SourceType",
    "TargetType",
    "Unit",
    "Vocabulary",
    "Weapon",
    "coordinates_pair",
]
