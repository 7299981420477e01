"""Fixtures of the flights tests: a spotter log for the observations."""

from __future__ import annotations

import pytest

from tracker.tests import factories as f


@pytest.fixture
def log(db):
    return f.FlightLogFactory()
