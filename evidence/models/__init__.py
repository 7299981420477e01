"""Evidence items, their files and kind-specific details, witnesses, custody and
flight logs, one module per idea; every model is importable from
``evidence.models`` as Django expects."""

from evidence.models.anchors import Anchor, AnchorLeaf, AnchorToken
from evidence.models.captures import CapturePart, WebCapture
from evidence.models.custody import APPEND_ONLY, AppendOnlyError, CustodyEvent, CustodyEventQuerySet
from evidence.models.fixity import FixityCheck
from evidence.models.flights import FlightLog, FlightMatch, FlightObservation
from evidence.models.items import (
    Derivative,
    EvidenceItem,
    EvidenceLink,
    PhotoMetadata,
    SatelliteImage,
)
from evidence.models.proposals import GradeProposal
from evidence.models.recordings import AudioMetadata, VideoMetadata
from evidence.models.witnesses import Testimony, Witness

__all__ = [
    "Anchor",
    "AnchorLeaf",
    "AnchorToken",
    "APPEND_ONLY",
    "AppendOnlyError",
    "AudioMetadata",
    "CustodyEvent",
    "CustodyEventQuerySet",
    "Derivative",
    "EvidenceItem",
    "EvidenceLink",
    "FixityCheck",
    "FlightLog",
    "FlightMatch",
    "FlightObservation",
    "GradeProposal",
    "PhotoMetadata",
    "SatelliteImage",
    "Testimony",
    "VideoMetadata",
    "WebCapture",
    "CapturePart",
    "Witness",
]
