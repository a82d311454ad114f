"""Publishing the validated graph to a SPARQL server, atomically, and checking it arrived.

1. Load the graph into a fresh temporary named graph: Graph Store Protocol
   ``PUT`` (N-Triples) where the server has one, else SPARQL Update
   ``INSERT DATA`` in batches.
2. Swap it in with one SPARQL Update ``MOVE GRAPH <tmp> TO <graph>`` (a single
   operation: readers see the old graph or the new one, never half).
3. Read the graph back and compare it, triple by triple, with the local one.

For Oxigraph's server, ``--endpoint http://host:7878/query`` is enough: its
update (``/update``) and graph store (``/store``) endpoints are derived from it.
Credentials come from the environment as for queries (see kg.store.remote.RemoteEngine).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from kg import sparql
from kg.errors import EXIT_FAILED, KGError
from kg.namespaces import GRAPH_IRI
from kg.project import Project
from kg.sparqltext import inline_values
from kg.store.loading import cached_ntriples
from kg.store.remote import RemoteEngine
from kg.validation import validate as run_validation


@dataclass
class PublishReport:
    graph: str
    triples: int
    method: str
    verified: bool
    #: (sent, read back) for each literal the server stored in another form: the same
    #: subject and property, one value each way (Virtuoso 7 writes durations as month
    #: counts and integers beyond 2^31 as decimals)
    rewritten: list[tuple[Any, Any]] = field(default_factory=list)


def _derive(endpoint: str, last: str) -> str:
    return endpoint[: -len("/query")] + "/" + last if endpoint.endswith("/query") else endpoint


def publish(
    endpoint: str,
    *,
    graph: str = GRAPH_IRI,
    update: str | None = None,
    store: str | None = None,
    validate: bool = True,
    batch: int = 5000,
    project: Project | None = None,
    timeout: float = 120.0,
) -> PublishReport:
    """Replace ``graph`` on the server by the project's graph; verify it afterwards."""
    import httpx
    import pyoxigraph as ox

    try:
        ox.NamedNode(graph)
    except ValueError:
        raise KGError(f"--graph {graph!r} is not a valid IRI") from None
    project = project or Project.find()
    if validate:
        report = run_validation(project=project)
        if not report.conforms:
            raise KGError(
                "the graph does not conform; run 'kg validate' (or publish with --no-validate)",
                EXIT_FAILED,
            )
    update = update or _derive(endpoint, "update")
    store = (
        store
        if store is not None
        else (_derive(endpoint, "store") if endpoint.endswith("/query") else None)
    )
    nt = cached_ntriples(project)
    body = nt.read_text(encoding="utf-8").partition("\n")[2]
    local = {q.triple for q in ox.parse(body.encode(), format=ox.RdfFormat.N_TRIPLES)}
    tmp = f"{graph}-loading-{uuid.uuid4().hex}"
    remote = RemoteEngine(endpoint, timeout=timeout)
    auth = remote._auth()
    client = httpx.Client(timeout=timeout, headers=auth.get("headers", {}), auth=auth.get("auth"))

    def sparql_update(text: str) -> None:
        r = _call(client.post, update, data={"update": text})
        if r.status_code >= 300:
            raise KGError(f"{update} refused the update (HTTP {r.status_code}): {r.text[:300]}")

    try:
        method = "graph store protocol"
        loaded = False
        if store:
            r = _call(
                client.put,
                store,
                params={"graph": tmp},
                content=body.encode(),
                headers={"Content-Type": "application/n-triples"},
            )
            loaded = r.status_code in (200, 201, 204)
        if not loaded:
            method = "SPARQL Update"
            lines = [line for line in body.splitlines() if line.strip()]
            for i in range(0, len(lines), batch):
                chunk = "\n".join(lines[i : i + batch])
                sparql_update(f"INSERT DATA {{ GRAPH <{tmp}> {{\n{chunk}\n}} }}")
        sparql_update(f"MOVE GRAPH <{tmp}> TO GRAPH <{graph}>")
        remote_lines = _read_back(client, endpoint, graph)
    finally:
        client.close()
    missing, extra, rewritten = compare(local, remote_lines)
    if missing or extra:
        raise KGError(
            f"published, but {graph} on the server differs from the local graph "
            f"({len(missing)} triples missing, {len(extra)} extra)",
            EXIT_FAILED,
        )
    return PublishReport(graph, len(local), method, not rewritten, rewritten)


def compare(local: set[Any], remote: set[Any]) -> tuple[set[Any], set[Any], list[tuple[Any, Any]]]:
    """Triples missing on the server, extra there, and literals it rewrote: a triple
    missing and one extra with the same subject and property, each the only such, and
    both literals."""
    import pyoxigraph as ox

    missing, extra = local - remote, remote - local

    def alone(triples: set[Any]) -> dict[tuple[Any, Any], Any]:
        seen: dict[tuple[Any, Any], list[Any]] = {}
        for t in triples:
            seen.setdefault((t.subject, t.predicate), []).append(t)
        return {k: v[0] for k, v in seen.items() if len(v) == 1}

    sent, back = alone(missing), alone(extra)
    rewritten = [
        (sent[k], back[k])
        for k in sorted(sent.keys() & back.keys(), key=str)
        if isinstance(sent[k].object, ox.Literal) and isinstance(back[k].object, ox.Literal)
    ]
    for old, new in rewritten:
        missing.discard(old)
        extra.discard(new)
    return missing, extra, rewritten


def _call(method: Any, url: str, **kwargs: Any) -> Any:
    import httpx

    try:
        return method(url, **kwargs)
    except httpx.HTTPError as e:
        raise KGError(f"cannot reach {url}: {e}") from None


def _read_back(client: Any, endpoint: str, graph: str) -> set[Any]:
    """The graph's triples on the server, as pyoxigraph triples."""
    import pyoxigraph as ox

    q = inline_values(sparql.load("graph-triples"), {"g": str(ox.NamedNode(graph))})
    r = _call(client.post, endpoint, data={"query": q}, headers={"Accept": "application/n-triples"})
    if r.status_code >= 300:
        raise KGError(f"{endpoint} could not return the published graph (HTTP {r.status_code})")
    triples = ox.parse(r.content, format=ox.RdfFormat.N_TRIPLES)
    return {t.triple for t in triples}
