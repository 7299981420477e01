"""Flight-spotter logs: the CSV import and its normalisation (``flightlog``), the
ranking of observations against an incident (``ranking``) and their admin pages
(``admin``)."""
