"""Links to Wikidata, kept in ``data/wikidata.ttl``: ``skos:exactMatch`` from a resource to
``http://www.wikidata.org/entity/Q…`` plus one ``ij:WikidataLink`` record per linkable
resource saying how the link was established (or why there is none).

- :mod:`kg.wikidata.client` — a polite client of the Wikidata API;
- :mod:`kg.wikidata.records` — the link records, and writing an accepted link;
- :mod:`kg.wikidata.check` — offline checks and online verification;
- :mod:`kg.wikidata.reconcile` — ranked candidates for unlinked resources.
"""
