"""The team's workspace outside the admin: the incident browser and its filters
(``browser``, ``filters``), the incident page, map and timeline (``maps``), the
case report, the exports, text search and the officials' pages, with their URLs
(``urls``). A face: it reads through the visibility policy and the services; no
service imports it."""
