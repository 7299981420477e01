"""Corroboration: the grade the tracker proposes for an incident from the evidence it
relies on, with its reasons (``docs/corroboration.md``).

``facts`` reads what the rules need of many incidents in a constant number of
queries; ``sources`` groups an incident's items into independent sources; ``checks``
holds the consistency checks; ``rules`` the one rule table, the proposal and its
storage; ``decisions`` the reviewer's decision (accept, or another grade with a
reason) and the recomputation when evidence changes. Services; import no face."""
