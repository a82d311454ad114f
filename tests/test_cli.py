"""The command line as a whole: help, stats, describe, and docs that cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kg.cli import build_parser
from kg.errors import KGError

README = Path(__file__).resolve().parent.parent / "README.md"


def commands() -> list[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return sorted(sub.choices)


def test_every_command_has_help(project, kg_cli) -> None:
    for name in commands():
        r = kg_cli(name, "--help", root=project.root)
        assert r.code == 0, name
        assert r.out.startswith(f"usage: kg {name}"), name
        assert len(r.out.splitlines()) > 3, name


def test_serve_help_gives_each_default_as_a_plain_number(project, kg_cli) -> None:
    """Byte limits read as bytes (16777216, 16 MiB), never as 1.67772e+07, which hid
    the value the README gives and was not even the exact one."""
    r = kg_cli("serve", "--help", root=project.root)
    text = " ".join(r.out.split())
    assert r.code == 0 and not re.search(r"\de[+-]\d", text), text
    assert "(default 16777216 = 16 MiB)" in text and "(default 67108864 = 64 MiB; 0: no" in text
    assert "(default 10)" in text and "(default 1024)" in text and "(default 65536)" in text


def test_query_help_names_every_format_it_takes(project, kg_cli) -> None:
    """-f rdfxml writes a CONSTRUCT or DESCRIBE answer, but the help listed graph formats
    without it."""
    from kg.registry import QUERY_FORMATS

    r = kg_cli("query", "--help", root=project.root)
    described = " ".join(r.out.split()).split("--format {", 1)[1].split("}", 1)[1]
    described = described.split("--engine", 1)[0]
    assert r.code == 0 and all(re.search(rf"\b{f}\b", described) for f in QUERY_FORMATS), described


def test_every_command_is_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    for name in commands():
        assert re.search(rf"^kg {name}\b", text, re.M), f"README has no example of 'kg {name}'"


def test_readme_quick_start_has_exactly_two_commands_and_ci_runs_the_test_one() -> None:
    text = README.read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:sh|bash)\n(.*?)```", quick, re.S)
    lines = [ln for b in blocks for ln in b.strip().splitlines() if not ln.startswith("#")]
    assert len(lines) == 2, lines
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert lines[1] in ci


def test_no_command_prints_usage(project, kg_cli) -> None:
    r = kg_cli(root=project.root)
    assert r.code == 2 and "COMMAND" in r.out


def test_unknown_command(project, kg_cli) -> None:
    r = kg_cli("frobnicate", root=project.root)
    assert r.code == 2 and r.err.startswith("kg: error: ") and "frobnicate" in r.err


def test_missing_project_is_a_clear_error(tmp_path, kg_cli) -> None:
    r = kg_cli("stats", root=tmp_path, env={"KG_ROOT": str(tmp_path)})
    assert r.code == 2 and "no project found" in r.err


def test_stats(project, kg_cli) -> None:
    r = kg_cli("stats", root=project.root)
    assert r.code == 0
    assert re.search(r"^triples: \d{4,}$", r.out, re.M)
    counts = dict((m[1], int(m[0])) for m in re.findall(r"^\s+(\d+)\s+(.+)$", r.out, re.M))
    assert counts["Visit"] == 27
    assert counts["Agreement"] == 9
    # The last block counts resources drawn from each section, not facts: it was headed
    # "facts per article section" and summed to 307 under 1,207 stated facts.
    assert "facts per article section" not in r.out
    sections = r.out.split("resources drawn from each article section:")[1]
    found = {label: int(n) for n, label in re.findall(r"^\s+(\d+)\s+(.+)$", sections, re.M)}
    assert len(found) == 11
    assert all(found.values()), "every section contributes"
    q = kg_cli("query", "-f", "csv", "-e", "SELECT (COUNT(DISTINCT ?s) AS ?n) "
               "{ ?s prov:wasDerivedFrom section:friendship-leagues }", root=project.root)
    assert found["Friendship leagues"] == int(q.out.split()[1])


@pytest.mark.parametrize("name", ["Shinzo Abe", "person:shinzo-abe",
                                  "https://w3id.org/israel-japan-kg/id/person/shinzo-abe",
                                  # the id /reconcile and /search give (s36-newcomer)
                                  "person/shinzo-abe"])
def test_describe(name, project, kg_cli) -> None:
    r = kg_cli("describe", name, root=project.root)
    assert r.code == 0
    assert "ij:heldOffice  office:prime-minister-of-japan  (Prime Minister of Japan)" in r.out
    assert "visit:2018-shinzo-abe" in r.out and "referred to by:" in r.out


def test_describe_marks_an_uncited_value_with_its_resources_flag(project, kg_cli) -> None:
    """Jericho's city type is general knowledge and its Place type cited: the flag names
    the property, so without a mark the two types read alike (s34-newcomer's note)."""
    r = kg_cli("describe", "place:jericho", root=project.root)
    assert "  rdf:type  schema:City  [general knowledge]\n" in r.out
    assert "  rdf:type  ij:Place  (Place)  [history-10]\n" in r.out
    r = kg_cli("describe", "statement:gilad-cohen-on-working-holiday", root=project.root)
    assert "  ij:date  2023  [inferred]\n" in r.out


def test_describe_shows_other_languages(project, kg_cli) -> None:
    r = kg_cli("describe", "relation:israel-japan", root=project.root)
    assert "日本とイスラエルの関係 @ja" in r.out and "יחסי ישראל יפן @he" in r.out


@pytest.mark.parametrize(("name", "message"), [
    ("Atlantis", "describe: no resource labelled 'Atlantis'"),
    ("person:nobody", "describe: person:nobody is not in the graph"),
    # a slip in a prefixed name is offered the names closest to it, as kg sources offers
    # them (s35-user: describe gave the bare IRI and no hint)
    ("visit:2014-netanyahu", "describe: visit:2014-netanyahu is not in the graph; "
                             "did you mean Benjamin Netanyahu visits Japan, 2014-05?"),
    # a path that is no resource's id is still looked up as a label
    ("person/nobody", "describe: no resource labelled 'person/nobody'"),
    # a Wikidata ID where a label is wanted (s35-user)
    ("Q17", "describe: no resource labelled 'Q17'; "
            "Q17 is Wikidata's item for Japan: give state:japan"),
])
def test_describe_unknown(name, message, project, kg_cli) -> None:
    r = kg_cli("describe", name, root=project.root)
    assert r.code == 2 and r.err.startswith(f"kg: error: {message}") and "Traceback" not in r.err


def test_sources_and_parameters_take_a_reconciliation_id(project, kg_cli) -> None:
    """An editor's column reconciled in OpenRefine holds ids such as visit/2018-shinzo-abe;
    kg sources answered "no resource labelled 'visit/2018-shinzo-abe'" (s36-newcomer)."""
    r = kg_cli("sources", "visit/2018-shinzo-abe", root=project.root)
    assert r.code == 0 and r.out.startswith(
        "<https://w3id.org/israel-japan-kg/id/visit/2018-shinzo-abe>"), r.err
    r = kg_cli("query", "visits-to", "-p", "state=state/japan", "-f", "csv", root=project.root)
    by_label = kg_cli("query", "visits-to", "-p", "state=Japan", "-f", "csv", root=project.root)
    assert r.code == 0 and r.out == by_label.out and "visit/1985" in by_label.out, r.err
    r = kg_cli("query", "visits-to", "-p", "state=person/shinzo-abe", root=project.root)
    assert r.code == 2 and "is a Person, not a State" in r.err


def test_sources_of_several_entities_at_once(project, kg_cli) -> None:
    """A journalist wanting every visit, agreement and figure since 2014 with its sentence
    ran kg sources once per entity, nine times (s36-newcomer). All are resolved before
    anything is printed, so one unknown name prints nothing but the error."""
    one = kg_cli("sources", "visit:2015-shinzo-abe", root=project.root)
    two = kg_cli("sources", "visit:2015-shinzo-abe", "Investment agreement (2017)",
                 root=project.root)
    assert two.code == 0, two.err
    assert two.out.startswith(one.out + "\n<https://w3id.org/israel-japan-kg/id/agreement/")
    bad = kg_cli("sources", "visit:2015-shinzo-abe", "Atlantis", root=project.root)
    assert bad.code == 2 and bad.out == "" and "no resource labelled 'Atlantis'" in bad.err


def test_library_functions_mirror_the_commands() -> None:
    import importlib
    import pkgutil

    import kg

    for mod in pkgutil.iter_modules(kg.__path__):  # a submodule must not shadow a function
        importlib.import_module(f"kg.{mod.name}")
    for name in ("load", "validate", "query", "export", "stats", "describe", "coverage",
                 "list_queries"):
        assert callable(getattr(kg, name))


def test_docs_generates_the_ontology_page(project, tmp_path, kg_cli) -> None:
    out = tmp_path / "ontology.html"
    r = kg_cli("docs", "-o", str(out), root=project.root)
    assert r.code == 0, r.err
    html = out.read_text(encoding="utf-8")
    assert "Israel–Japan relations ontology" in html
    for term in ("Envoy", "Visit", "Agreement", "visitorOffice"):
        assert term in html
    assert oct(out.stat().st_mode & 0o777) == "0o644"


def test_every_engine_name_the_cli_offers_opens_that_engine(project) -> None:
    from kg.registry import ENGINE_NAMES
    from kg.store import open_engine

    for name in ENGINE_NAMES:
        assert open_engine(name, project).name == name
    with pytest.raises(KGError, match="unknown engine"):
        open_engine("sparqlite", project)


def test_query_hot_path_imports_neither_rdflib_nor_pyshacl(project, tmp_path) -> None:
    import subprocess
    import sys

    from kg.store.loading import cached_ntriples

    cached_ntriples(project)  # the store is current
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "kg.cli", "--root",
                           str(project.root), "query", "visits", "-f", "csv"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0]
                for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "pyoxigraph" in imported
    for heavy in ("rdflib", "pyshacl", "dataclasses", "rich", "httpx", "starlette"):
        assert heavy not in imported, f"kg query imports {heavy}"


@pytest.mark.parametrize(("args", "message"), [
    (["--per-client", "0"], "--per-client must be positive"),
    (["--queue-wait", "-1", "--max-result-bytes", "0"], "--max-result-bytes, --queue-wait must"),
    (["--cache-bytes", "-1"], "--cache-bytes must be 0 (no cache) or more"),
    (["--base-url", "ftp://kg.example.org"], "is not an http(s) URL"),
    (["--base-url", "https://kg example"], "is not an http(s) URL"),
    (["--port", "99999"], "99999 is not a port: use 1-65535"),  # once an OverflowError, exit 70
    (["--port", "0"], "0 is not a port"),
    (["--client-budget", "-1"], "--client-budget must be 0 (no budget) or more"),
])
def test_serve_refuses_bad_limits_before_starting(args, message, kg_cli) -> None:
    r = kg_cli("serve", "--port", "1", *args)
    assert r.code == 2 and message in r.err
    assert "serving" not in r.err and len(r.err.strip().splitlines()) == 1


def _on_a_terminal(*args: str) -> tuple[int, bytes, bytes]:
    """``kg *args`` with stderr on a pseudo-terminal: exit code, stdout, what the terminal got."""
    import os
    import pty
    import select
    import subprocess

    from .conftest import KG

    master, slave = pty.openpty()
    proc = subprocess.Popen([str(KG), *args], stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    screen = b""
    while True:  # read while it runs, or the terminal's buffer fills and blocks it
        if select.select([master], [], [], 0.1)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed its end
                break
            if not chunk:
                break
            screen += chunk
        elif proc.poll() is not None:
            break
    out = proc.stdout.read() if proc.stdout else b""
    os.close(master)
    return proc.wait(timeout=60), out, screen


def test_long_steps_count_seconds_on_a_terminal_and_stay_quiet_in_a_pipe(scratch, bare, kg_cli,
                                                                           monkeypatch) -> None:
    code, out, screen = _on_a_terminal("--root", str(scratch.root), "validate")
    assert code == 0 and out.startswith(b"conforms")
    assert b"checking " in screen and b" triples against the shapes\xe2\x80\xa6 " in screen
    assert screen.endswith(b"\r\x1b[K")  # the progress line is cleared at the end
    # now with stderr in a pipe, and every step long: each would show from its start
    monkeypatch.setattr("kg.progress.DELAY", 0)
    r = kg_cli("validate", root=bare.root)  # cold: reads the files and validates
    assert r.code == 0 and r.err == ""


def test_the_table_fits_the_terminal_and_folds_between_words(project, kg_cli) -> None:
    r = kg_cli("query", "visits-to", "-p", "state=Israel", root=project.root,
               env={"COLUMNS": "100"})
    lines = r.out.splitlines()
    assert r.code == 0 and max(len(line) for line in lines) <= 100
    office = lines[0].index("office")
    folded = [line[office:].split("  ")[0] for line in lines[2:6]]
    assert folded[:2] == ["Foreign Minister", "of Japan"]  # at a space, not "Foreign Minister o"
    wide = kg_cli("query", "visits-to", "-p", "state=Israel", root=project.root,
                  env={"COLUMNS": ""})  # a pipe, no terminal: nothing folds before 60
    assert "Foreign Minister of Japan" in wide.out


def test_export_says_what_it_wrote(project, kg_cli, tmp_path) -> None:
    target = tmp_path / "graph.ttl"
    r = kg_cli("export", "-o", str(target), root=project.root)
    size = target.stat().st_size
    assert r.code == 0 and r.out == ""
    assert r.err == (f"wrote {target} (turtle, {size:,} bytes) and its description "
                     f"{target}.void.ttl\n")
    assert (tmp_path / "graph.ttl.void.ttl").read_text().count("dcat:Distribution") == 1


def test_serve_on_a_busy_port_says_so_before_serving(kg_cli) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = kg_cli("serve", "--port", str(port))
    assert r.code == 2 and r.out == ""
    assert r.err.startswith(f"kg: error: port {port} on 127.0.0.1 is in use")
    assert "--port" in r.err and "serving" not in r.err and r.err.count("\n") == 1


def test_show_a_saved_query_and_filter_the_list_by_tag(project, kg_cli) -> None:
    from kg.queries import find_query

    r = kg_cli("query", "visits-to", "--show", root=project.root)
    assert r.code == 0 and r.out == find_query("visits-to", project).text.rstrip("\n") + "\n"
    r = kg_cli("queries", "--tag", "visits", root=project.root)
    names = [line.split()[0] for line in r.out.splitlines()]
    assert r.code == 0 and "visits-to" in names and "residents" not in names
    r = kg_cli("queries", "--tag", "nope", root=project.root)
    assert r.code == 2 and "no saved query has the tag 'nope'" in r.err
    r = kg_cli("query", "visits", "--bogus", root=project.root)
    assert r.code == 2 and r.err.count("kg") == 2  # "kg: error: ..." and "see 'kg query --help'"
    assert "see 'kg query --help'" in r.err


def test_the_readmes_syntax_error_example_is_what_kg_prints(project, kg_cli) -> None:
    text = README.read_text(encoding="utf-8")
    block = text.split("```\nkg: error: invalid SPARQL", 1)[1].split("```", 1)[0]
    shown = "kg: error: invalid SPARQL" + block
    query = shown.splitlines()[1].strip()
    r = kg_cli("query", "-e", query, root=project.root)
    assert r.code == 2 and r.err == shown


def test_the_readmes_parameter_examples_are_what_kg_prints(project, kg_cli) -> None:
    import shlex

    lines = README.read_text(encoding="utf-8").splitlines()
    examples = [(line[2:], lines[i + 1]) for i, line in enumerate(lines)
                if line.startswith("$ kg query visits-to --param")]
    assert len(examples) == 3  # Japn, Shinzo Abe, and Q17 (a Wikidata ID)
    for command, printed in examples:
        r = kg_cli(*shlex.split(command)[1:], root=project.root)
        assert r.code == 2 and r.err == printed + "\n"


def test_bad_uses_of_the_new_options_are_one_line_and_write_nothing(project, kg_cli,
                                                                     tmp_path) -> None:
    r = kg_cli("query", "-e", "ASK {}", "--show", root=project.root)
    assert r.code == 2 and "--show wants a saved query name" in r.err and r.out == ""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")  # a file where a folder would have to be, even for root
    r = kg_cli("link", "statements", "--offline", "-o", str(blocker / "qs.tsv"),
               root=project.root)
    assert r.code == 2 and "cannot write" in r.err and blocker.read_text() == "x"
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"]  # no half-written file
    # each task takes its own options, and says whose help to read
    r = kg_cli("link", "check", "-o", str(tmp_path / "x.tsv"), root=project.root)
    assert r.code == 2 and "unrecognized arguments: -o" in r.err
    assert "'kg link check --help'" in r.err
    assert not (tmp_path / "x.tsv").exists()
    r = kg_cli("link", "check", "--markdown", root=project.root)
    assert r.code == 2 and "unrecognized arguments: --markdown" in r.err


@pytest.mark.parametrize(("line", "offers"), [
    ("kg qu", ["queries ", "query "]),
    ("kg query visits-t", ["visits-to "]),
    ("kg query visits-to --param ", ["state="]),
    ("kg query visits-to -p state=state:is", ["israel "]),  # bash breaks words at = and :
    ("kg query visits -f t", ["table ", "tsv ", "turtle "]),
    ("kg export --for", ["--format "]),
    ("kg --root . query agr", ["agreements "]),
    ("kg query visits -o ", []),  # a file: the shell's own completion takes over
])
def test_tab_completion_in_bash(line, offers, project) -> None:
    """The script `kg completion bash` prints, run by bash as on a Tab press."""
    import os
    import subprocess

    from .conftest import KG

    script = subprocess.run([str(KG), "completion", "bash"], capture_output=True, text=True,
                            check=True).stdout
    press_tab = (f'{script}\nCOMP_LINE="{line}"; COMP_POINT=${{#COMP_LINE}}; _kg\n'
                 'printf "%s|" "${COMPREPLY[@]}"')
    env = {**os.environ, "PATH": f"{KG.parent}:{os.environ['PATH']}", "KG_ROOT": str(project.root)}
    shown = subprocess.run(["bash", "-c", press_tab], capture_output=True, text=True, env=env,
                           cwd=project.root, timeout=60).stdout
    assert [o for o in shown.split("|") if o] == offers


def test_tab_completion_in_zsh_takes_whole_words(project, kg_cli) -> None:
    import shutil
    import subprocess

    r = kg_cli("__complete", "zsh", "kg query visits-to -p state=state:j", root=None,
               env={"KG_ROOT": str(project.root)})
    assert r.code == 0 and r.out == "state=state:japan\n"
    script = kg_cli("completion", "zsh").out
    assert script.startswith("#compdef kg") and "compadd" in script
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed: the script's syntax was not checked")
    subprocess.run(["zsh", "-n", "-c", script], check=True, timeout=30)


def test_the_ci_servers_script_refuses_unknown_servers_and_stops_cleanly(tmp_path) -> None:
    import subprocess
    import sys

    script = README.parent / ".ci" / "servers"
    env = {"KG_SERVERS_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    bad = subprocess.run([sys.executable, str(script), "start", "--only", "fuseki"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and "unknown server(s) fuseki" in bad.stderr and not bad.stdout
    idle = subprocess.run([sys.executable, str(script), "stop"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert idle.returncode == 0  # nothing started: nothing to stop
