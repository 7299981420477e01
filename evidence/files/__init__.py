"""The bytes of evidence: storage by hash (``storage``), content sniffing
(``sniffing``), image facts and derivatives (``imaging``, ``derivation``), the
hash-chained custody log (``custody``), fixity and storage audits (``fixity``,
``storage_audit``), the court bundle (``bagging``) and terminal progress for long
commands (``progress``). Services; imports no face."""
