"""The friendly SERVICE check against pyoxigraph itself (a differential test).

Hundreds of generated queries mix comments, line endings (LF, CR, CRLF),
Unicode spaces, escapes in IRIs and strings, glued tokens and keyword cases.
Each is run by pyoxigraph in a forked child confined by the seccomp sandbox:
the child dies of SIGSYS exactly when the query tried to open a connection.
Whenever it tried, the text check must have refused the query; and queries
that only mention "service" (variables, prefixed names, strings, IRIs,
comments) must never be refused.
"""

from __future__ import annotations

import random

import pytest

from kg.sparqltext import MAX_NESTING, mask, refusal, too_deep

URL = "http://127.0.0.1:8111/"  # never reached: the child is killed at socket()
KEYWORDS = ["SERVICE", "service", "SeRvIcE", "sERVICE"]
SEPARATORS = [" ", "\t", "\n", "\r", "\r\n", "", "#c\n", "#c\r", "#c\r\n", "#>\n", "#>\r",
              "# SERVICE <x>\r", "\u00a0", "\u2003", "\x0b", "\x0c", "\u3000", "\u2028"]
TARGETS = [f"<{URL}>", "<http://127.0.0.1:8111\\u002F>", f"<{URL}#x>", f"<{URL}?a=b>", ":x", "ex:x",
           "<rel>", "ex:x\\-y", ":x%41"]
SILENT = ["", " SILENT", " silent", "\tSILENT", "SILENT"]
CONTEXTS = ["", "?s ?p ?o", "?s ?p ?o .", "?s ?p ?o.", "?s ?p 1", "?s ?p 1.", "?s ?p 1.0",
            "?s ?p true", "?s ?p false", '?s ?p "x"', "?s ?p 'x'", '?s ?p """x"""',
            "FILTER(true)", "FILTER(?o<?o||true)", "FILTER(1<2)", "BIND(1 AS ?n)",
            "{?s ?p ?o}", "OPTIONAL{?s ?p ?o}", "?s ?p ex:o", "?s ?p ex:o.", "?s ex:p.ex:o ?x",
            "?s ?p ex:a.b", "?s ?p _:b", '?s ?p "a\\"b"', '?s ?p "\\u0022"', "VALUES ?z {1}",
            '?s ?p "x"@en', "?s ?p ?o FILTER(?o>?o)", "MINUS{?a ?b ?c}",
            # '<' after an operand that starts an IRI, not less-than: a VALUES row, a
            # collection, after DISTINCT; the IRI's '#' is no comment
            "VALUES (?z ?y) { (1 <http://x/#>) }", "VALUES ?z { 1 <http://x/#> }",
            "?s ?p (1 <http://x/#>)", "?s ?p (?o <http://x/#>)", "(1 <http://x/#>) ?p ?o",
            '?s ?p ("x" <http://x/#> (2 <http://y/#>))', "FILTER(?o IN (1, <http://x/#>))",
            "FILTER(<http://x/#>(1 <http://x/#>))", "FILTER(EXISTS{?s ?p (1 <http://x/#>)})",
            "{ SELECT ?s (1 AS ?k) { ?s ?p (1 <http://x/#>) } }"]
FORMS = ["SELECT * WHERE {{ {body} }}", "SELECT * {{{body}}}", "ASK {{ {body} }}",
         "DESCRIBE ?s {{ {body} }}", "CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {body} }}",
         "SELECT * {{ ?s ?p ?o FILTER EXISTS {{ {body} }} }}",
         "SELECT * {{ ?s ?p ?o OPTIONAL {{ {body} }} }}",
         "SELECT * {{ {{ SELECT * {{ {body} }} }} }}",
         "SELECT * {{ {{ ?s ?p ?o }} UNION {{ {body} }} }}", "select*{{{body}}}",
         "SELECT (COUNT(*) AS ?n) {{ {body} }} GROUP BY ?s",
         "SELECT (COUNT(DISTINCT <http://x/#>) AS ?n) {{ {body} }}",
         "SELECT ?s (COUNT(DISTINCT <http://x/#>) AS ?n) {{ {body} }} GROUP BY ?s",
         "SELECT * {{ {{ SELECT ?s (COUNT(DISTINCT <http://x/#>) AS ?n) {{ ?s ?p ?o }} "
         "GROUP BY ?s }} {body} }}"]
PREAMBLE = f"PREFIX : <{URL}> PREFIX ex: <http://example.org/> BASE <{URL}> "
# queries that mention "service" without calling one: never refused
MENTIONS = [
    "SELECT ?service { ?service ?p ?o }",
    "SELECT $service { $service ?p ?o }",
    "SELECT * { ?s ex:service ?o }",
    "SELECT * { ?s ex:Service.x ?o }",
    "SELECT * { ?s ex:a.service ?o }",
    'SELECT * { ?s ?p "a SERVICE <x> {}" }',
    "SELECT * { ?s ?p 'SERVICE' }",
    'SELECT * { ?s ?p """multi\nline SERVICE <x> { }""" }',
    "SELECT * { ?s ?p ?o } # SERVICE <http://x/> { }",
    "SELECT * { ?s ?p ?o } #x\r\n",
    "SELECT * { ?s <http://www.w3.org/ns/sparql-service-description#endpoint> ?o }",
    "PREFIX sd: <http://www.w3.org/ns/sparql-service-description#> SELECT * { ?s sd:endpoint ?o }",
    "SELECT * { ?s ?p ?o FILTER(CONTAINS(STR(?o), 'service')) }",
    "SELECT * { ?s ?p ?o } ORDER BY ?service",
    "SELECT * { ?s ?p _:service }",
    'SELECT * { ?s ?p "x"@en-service }',
    "SELECT * { ?s ?p ?o FILTER(?o < <http://x/service>) }",
    "SELECT * { VALUES ?x { <http://x/service> <http://x/from> } }",
    "SELECT ?from ?insert { ?from ?p ?insert }",
    "SELECT * { VALUES ?x { (1 <http://x/#>) } } # SERVICE <x> {}",
    "SELECT * { ?s ?p ?o FILTER(?o<?o) } # SERVICE <x> {}",
    "SELECT * { ?s ex:delete ?o ; ex:drop ?d }",
]


def generate(seed: int = 20261126, n: int = 700) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        def sep() -> str:
            return rnd.choice(SEPARATORS)
        service = (f"{rnd.choice(KEYWORDS)}{rnd.choice(SILENT)}{sep()}{rnd.choice(TARGETS)}"
                   f"{sep()}{{ ?s ?p ?o }}")
        body = f"{rnd.choice(CONTEXTS)}{sep()}{service}"
        out.append(PREAMBLE + rnd.choice(FORMS).format(body=body))
    return out


#: the oracle's process: a small interpreter (pyoxigraph and the sandbox, nothing else) that
#: forks a confined child per query; a fork of pytest's worker, with its rdflib and pyshacl,
#: cost about 80 ms a query, 700 of them most of a minute
ORACLE = r"""
import json, os, signal, sys
import pyoxigraph as ox
from kg.web.sandbox import SandboxUnavailable, confine

store = ox.Store()
s, p = ox.NamedNode("http://example.org/s"), ox.NamedNode("http://example.org/p")
xsd = "http://www.w3.org/2001/XMLSchema#"
for o in (ox.NamedNode("http://example.org/o"), ox.Literal("x"), ox.Literal("x", language="en"),
          ox.Literal("1", datatype=ox.NamedNode(xsd + "integer")),
          ox.Literal("true", datatype=ox.NamedNode(xsd + "boolean"))):
    store.add(ox.Quad(s, p, o))

def child(query):
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    try:
        confine(("seccomp",))
    except SandboxUnavailable:
        os._exit(9)
    try:
        r = store.query(query)
        if not isinstance(r, ox.QueryBoolean):
            list(r)
    except BaseException:
        os._exit(1)
    os._exit(0)

for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        child(json.loads(line))
    _, status = os.waitpid(pid, 0)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 9:
        verdict = "unavailable"
    elif os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSYS:
        verdict = "killed"
    else:
        verdict = "ran"
    print(verdict, flush=True)
"""


@pytest.fixture(scope="module")
def oracle():
    """tried(query) -> True when pyoxigraph, confined, was killed opening a socket."""
    import json
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", ORACLE], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip

    def tried(query: str) -> bool:
        proc.stdin.write(json.dumps(query) + "\n")
        proc.stdin.flush()
        verdict = proc.stdout.readline().strip()
        assert verdict, "the oracle's process ended"
        if verdict == "unavailable":
            pytest.skip("seccomp cannot be applied on this machine")
        return verdict == "killed"

    yield tried
    proc.stdin.close()
    proc.wait(30)


def test_every_query_that_tries_to_connect_is_refused(oracle) -> None:
    queries = generate()
    tried = [q for q in queries if oracle(q)]
    assert len(tried) > 100, "the generator should produce many queries that really try"
    missed = [q for q in tried if refusal(q) is None]
    assert not missed, f"{len(missed)} queries reached the network unrefused, e.g. {missed[0]!r}"


def test_mentions_of_service_are_not_refused(oracle) -> None:
    for q in MENTIONS:
        assert not oracle(PREAMBLE + q), q  # the oracle agrees: nothing to refuse
        assert refusal(PREAMBLE + q) is None, q


@pytest.mark.parametrize(("text", "why"), [
    ("INSERT DATA { <a:b> <a:b> <a:b> }", "read-only"),
    ("select*{}#\rDROP ALL", "read-only"),
    ("SELECT * FROM <http://x/g> { ?s ?p ?o }", "FROM"),
    ("SELECT * FROM NAMED <http://x/g> { GRAPH ?g { ?s ?p ?o } }", "FROM"),
    ("PREFIX SERVICE: <http://x/> SELECT * { SERVICE:x { ?s ?p ?o } }", "SERVICE"),
    # an IRI after an operand that the grammar reads as an IRI, not as less-than
    ("SELECT * { VALUES (?a ?b) { (1 <http://x/#>) } SERVICE <http://y/> {} }", "SERVICE"),
    ("SELECT * { ?s ?p (1 <http://x/#>) SERVICE <http://y/> {} }", "SERVICE"),
    ("SELECT (COUNT(DISTINCT <http://x/#>) AS ?n) { SERVICE <http://y/> {} }", "SERVICE"),
])
def test_refusals_name_what_was_refused(text: str, why: str) -> None:
    assert why in (refusal(text) or "")


def test_nesting_is_bounded() -> None:
    assert too_deep("SELECT * " + "{" * MAX_NESTING + "}" * MAX_NESTING) is None
    deep = "SELECT * { FILTER(" + "(" * 500 + "1" + ")" * 500 + ") }"
    assert "502 levels deep" in (too_deep(deep) or "")
    assert too_deep('SELECT * { ?s ?p "' + "(" * 500 + '" }') is None  # brackets in a string


def test_mask_keeps_positions_and_line_breaks() -> None:
    text = 'SELECT ?x # where?\r\nWHERE { ?x <http://a/b#c> "}" }'
    masked = mask(text)
    assert len(masked) == len(text) and masked.count("\r\n") == 1
    assert masked.index("{") == text.index("WHERE {") + 6
    assert masked.count("}") == 1 and "where?" not in masked


def test_prefixes_used_and_declared_ignore_strings_iris_and_comments() -> None:
    from kg.sparqltext import declare_prefixes, prefixes_declared, prefixes_used

    text = ('PREFIX ex: <http://example.org/a:b>\n'
            'SELECT * { ?s ex:p "ij:no" ; <http://x/y:z> ?o . ?o a schema:Thing } # foaf:no')
    assert prefixes_used(text) == {"ex", "schema"}
    assert prefixes_declared(text) == {"ex"}
    out = declare_prefixes(text, {"ex": "http://wrong/", "schema": "http://schema.org/"})
    assert out.startswith("PREFIX schema: <http://schema.org/> PREFIX ex: <http://example.org/")
    assert out.count("\n") == text.count("\n")  # the user's line numbers are kept
