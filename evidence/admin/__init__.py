"""Evidence in the admin: items (``items``) and the records about them (``records``);
the flight-log pages are ``evidence.flights.admin``; the Fixity page is ``fixity`` (its
URL is in ``tracker/project/urls.py``). Importing this package registers
them all (Django's admin autodiscovery imports ``evidence.admin``)."""

import evidence.flights.admin  # noqa: F401 - registers the flight-log admins
from evidence.admin import items, records  # noqa: F401 - register the evidence admins
