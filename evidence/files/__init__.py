"""The bytes of evidence: storage by hash, and the one way to hash, copy while
hashing and walk a tree (``storage``), content sniffing (``sniffing``), image facts
and derivatives (``imaging``, ``derivation``), the hash-chained custody log
(``custody``), fixity and storage audits (``fixity``, ``storage_audit``), the court
bundle and its records (``bagging``, ``bag_records``), files named on a command line
(``local``) and terminal progress for long commands (``progress``). Services; imports
no face."""
