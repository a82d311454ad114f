"""The floor for a cold query: load N-Triples into pyoxigraph, run one query, print CSV
(pyoxigraph's own writer, as ``kg query -f csv`` uses)."""
import sys

import pyoxigraph as ox

store = ox.Store()
store.load(path=sys.argv[1], format=ox.RdfFormat.N_TRIPLES)
with open(sys.argv[2], encoding="utf-8") as f:
    store.query(f.read()).serialize(sys.stdout.buffer, format=ox.QueryResultsFormat.CSV)
