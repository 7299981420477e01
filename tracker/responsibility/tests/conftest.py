"""Fixtures shared by the test modules of ``tracker/responsibility/tests``: the
``tree`` of units the chain of command is read in."""

import pytest

from tracker.tests import factories as f


@pytest.fixture
def tree():
    """Command -> Northern Group -> Hama Regiment -> 71st Brigade, and a sibling squadron."""
    force = f.ForceFactory(name="Republican Air Force")
    hq = f.UnitFactory(force=force, name="Air Force Command")
    group = f.UnitFactory(force=force, name="Northern Group", parent=hq)
    regiment = f.UnitFactory(force=force, name="Hama Regiment", parent=group)
    brigade = f.UnitFactory(force=force, name="71st Brigade", parent=regiment)
    sibling = f.UnitFactory(force=force, name="678th Squadron", parent=regiment)
    return {"hq": hq, "group": group, "regiment": regiment, "brigade": brigade, "sibling": sibling}
