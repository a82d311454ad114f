"""Plain rdflib: parse the N-Triples, run one query, print."""
import sys

from rdflib import Graph

graph = Graph()
graph.parse(sys.argv[1], format="nt")
with open(sys.argv[2], encoding="utf-8") as f:
    for row in graph.query(f.read()):
        print(",".join("" if t is None else str(t) for t in row))
