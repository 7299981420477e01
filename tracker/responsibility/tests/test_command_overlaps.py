"""Overlapping command postings of one unit are flagged in the admin (the postings'
list filtered to overlaps, and the units' list), reading the postings' dates as
periods as the chain of command does: a clean handover is not flagged, an end known
only to the month or year, or unknown dates, may overlap. The ``tree`` of units is
``conftest.py``'s.
"""

import pytest
from django.urls import reverse

from tracker.admin.attribution import OVERLAP_FLAG
from tracker.responsibility.tests.chains import posting

pytestmark = pytest.mark.django_db


# --- Overlapping command postings are flagged in the admin ----------------------------------


@pytest.mark.parametrize(
    ("first", "second", "flagged"),
    [
        (("2016", "2019-05-14"), ("2019-05-15", ""), False),  # a clean handover
        (("2016", "2019-05"), ("2019-05-15", ""), True),  # ended some day in May
        (("2016", "2019"), ("2019-05-15", ""), True),  # ended some day in 2019
        (("2016", "2019-05-20"), ("2019-05-15", ""), True),  # five days with two commanders
        (("2016", "2019-04-30"), ("2019-05", ""), False),
        (("", "2019-04-30"), ("2019-05", ""), False),  # unknown start, ended before
        (("2019-06", ""), ("", "2019-05-31"), False),
        (("2019-06", ""), ("", ""), True),  # dates unknown: may overlap
    ],
)
def test_overlapping_command_postings_are_flagged(client, editor, tree, first, second, flagged):
    a = posting("First", tree["brigade"], *first)
    b = posting("Second", tree["brigade"], *second)
    posting("Deputy", tree["brigade"], "2016", title="Deputy", is_command=False)
    client.force_login(editor)

    listing = client.get(reverse("admin:tracker_position_changelist"), {"overlap": "yes"})
    units = client.get(reverse("admin:tracker_unit_changelist"))

    shown = {str(p.official) for p in listing.context["cl"].result_list}
    assert shown == ({"First", "Second"} if flagged else set())
    flags = {u.name: u.overlaps_command for u in units.context["cl"].result_list}
    assert flags["71st Brigade"] is flagged
    assert (OVERLAP_FLAG in units.content.decode()) is flagged
    # The flag agrees with the periods the chain uses.
    from tracker.responsibility.chain import tenure

    assert tenure(a).possible.overlaps(tenure(b).possible) is flagged
