"""The floor for a cold query: load N-Triples into pyoxigraph, run one query, print."""
import sys

import pyoxigraph as ox

store = ox.Store()
store.load(path=sys.argv[1], format=ox.RdfFormat.N_TRIPLES)
with open(sys.argv[2], encoding="utf-8") as f:
    for row in store.query(f.read()):
        print(",".join("" if t is None else t.value for t in row))
