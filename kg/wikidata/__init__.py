"""Links to Wikidata, kept in ``data/wikidata.ttl``: ``skos:exactMatch`` from a resource to
``http://www.wikidata.org/entity/Q…`` plus one ``ij:WikidataLink`` record per linkable
resource saying how the link was established (or why there is none).

- :mod:`kg.wikidata.client` — a polite, caching client of the Wikidata API;
- :mod:`kg.wikidata.records` — the link records: reading them, writing an accepted link
  or a "no item" record;
- :mod:`kg.wikidata.check` — offline checks (``kg link check``) and online
  verification (``kg link verify``);
- :mod:`kg.wikidata.candidates` — ranked candidates for unlinked resources
  (``kg link suggest``), accepting one (``kg link accept``), and the search behind a
  "no item" record (``kg link no-item``);
- :mod:`kg.wikidata.report` — linked, candidate, unconfirmed and no item, per kind
  (``kg link report``);
- :mod:`kg.wikidata.statements` — the article's facts as referenced QuickStatements
  (``kg link statements``).
"""
