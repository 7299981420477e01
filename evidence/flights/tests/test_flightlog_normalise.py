"""Normalising what spotters write (``evidence.flights.normalise``): headings, aircraft
classes and nationalities, with the text as written kept beside the value.
"""

from __future__ import annotations

import pytest

from evidence.flights import normalise
from evidence.flights.tests.flightlog_helpers import HEADER, csv_file, row, run
from evidence.models import FlightObservation

pytestmark = pytest.mark.django_db


# --- Normalisation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "degrees"),
    [
        ("N", 0),
        ("NNE", 23),  # 22.5 rounds half up, as the demo always did
        ("ne", 45),
        ("ENE", 68),
        ("E", 90),
        ("SSW", 203),
        ("NNW", 338),
        ("045", 45),
        ("359", 359),
        ("0", 0),
        ("12.5", 13),
        ("270°", 270),
        ("", None),
    ],
)
def test_headings_from_degrees_and_compass_points(raw, degrees):
    assert normalise.heading_degrees(raw) == degrees


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Su-24", "jet"),
        ("SU 34", "jet"),
        ("Su-22", "jet"),
        ("MiG-23", "jet"),
        ("L-39", "jet"),
        ("Su-25", "jet"),
        ("unknown jet", "jet"),
        ("Mi-8", "helicopter"),
        ("mi17", "helicopter"),
        ("Mi-24", "helicopter"),
        ("Mi-25", "helicopter"),
        ("Mi-35", "helicopter"),
        ("helicopter", "helicopter"),
        ("drone", "drone"),
        ("UAV", "drone"),
        ("Orlan-10", "drone"),
        ("Shahed-136", "drone"),
        ("An-26", "unknown"),
        ("aircraft", "unknown"),
    ],
)
def test_aircraft_types_to_classes(written, expected):
    assert normalise.aircraft_class(written) == expected


@pytest.mark.parametrize(
    ("written", "code"),
    [("RU", "RU"), ("Russian", "RU"), ("sy", "SY"), ("Syrian", "SY"), ("unknown", "unknown")],
)
def test_nationality_words_to_codes(written, code):
    assert normalise.nationality_code(written) == code


def test_text_as_written_is_kept_beside_the_normalised_value(researcher, tmp_path):
    text = f"{HEADER}\n{row(nationality='Russian', heading='ENE', aircraft_type='SU 34')}\n"
    run("--user", "researcher", str(csv_file(tmp_path, text)))

    obs = FlightObservation.objects.get()
    assert (obs.nationality_raw, obs.nationality) == ("Russian", "RU")
    assert (obs.heading_raw, obs.heading) == ("ENE", 68)
    assert (obs.aircraft_type, obs.aircraft_class) == ("SU 34", "jet")
