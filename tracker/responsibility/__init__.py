"""Command responsibility: the unit tree and chain of command, attribution
services and an official's dossier (``chain``), attributed commanders and
overlapping command postings (``commanders``), the postings import
(``postings``), name matching (``names``) and dates known to a precision
(``periods``). Services over the case's models; imports no face."""
