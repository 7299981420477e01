"""Flight-spotter logs: the CSV import (``flightlog``), reading it row by row
(``reading``) and what its values mean (``normalise``), the ranking of observations
against an incident (``ranking``), a day of flights next to its strikes
(``timeline``), and their admin faces: the upload form (``forms``), the list filters
(``filters``), the ranked list as HTML (``candidates``) and the admin pages
(``admin``)."""
