// The query page: saved queries with parameters, free SPARQL, a results table.
// Data from the server is put on the page as text (textContent), never as HTML.
"use strict";

const BASE = "https://w3id.org/israel-japan-kg/";
const $ = (id) => document.getElementById(id);
let saved = {};

function localHref(iri) {
  if (iri.startsWith(BASE + "id/") || iri.startsWith(BASE + "link/")) return "/" + iri.slice(BASE.length);
  return iri;
}

function currentRequest(format) {
  const name = $("saved").value;
  const q = saved[name];
  if (q && $("query").value === q.text) {
    const params = new URLSearchParams();
    for (const input of $("params").querySelectorAll("input")) params.set(input.name, input.value);
    if (format) params.set("format", format);
    return { url: "/api/queries/" + encodeURIComponent(name) + "?" + params, init: {} };
  }
  const params = new URLSearchParams({ query: $("query").value });
  if (format) params.set("format", format);
  return { url: "/sparql?" + params, init: {} };
}

function showParams(q) {
  const box = $("params");
  box.replaceChildren();
  for (const p of (q ? q.params : [])) {
    const label = document.createElement("label");
    label.textContent = p.name + " (" + p.type + ")";
    const input = document.createElement("input");
    input.name = p.name;
    input.id = "param-" + p.name;
    input.value = p.default || (p.name === "state" ? "Japan" : p.name === "entity" ? "Shinzo Abe" :
                                p.name === "section" ? "History" : "");
    label.appendChild(document.createElement("br"));
    label.appendChild(input);
    box.appendChild(label);
  }
}

function cell(term) {
  const td = document.createElement("td");
  if (!term) return td;
  if (term.type === "uri") {
    const a = document.createElement("a");
    a.href = localHref(term.value);
    a.textContent = term.value.startsWith(BASE) ? term.value.slice(BASE.length) : term.value;
    td.appendChild(a);
  } else {
    td.textContent = term.value;
    if (term["xml:lang"]) td.lang = term["xml:lang"];
  }
  return td;
}

function render(doc) {
  const table = $("results");
  table.replaceChildren();
  if (typeof doc.boolean === "boolean") { $("status").textContent = "Answer: " + doc.boolean; return; }
  const head = document.createElement("tr");
  for (const v of doc.head.vars) { const th = document.createElement("th"); th.textContent = v; head.appendChild(th); }
  table.appendChild(head);
  for (const b of doc.results.bindings) {
    const tr = document.createElement("tr");
    for (const v of doc.head.vars) tr.appendChild(cell(b[v]));
    table.appendChild(tr);
  }
  const n = doc.results.bindings.length;
  $("status").textContent = n + (n === 1 ? " row" : " rows");
}

async function run() {
  $("status").className = "";
  $("status").textContent = "Running…";
  const { url } = currentRequest(null);
  const response = await fetch(url, { headers: { Accept: "application/sparql-results+json" } });
  const text = await response.text();
  if (!response.ok) {
    $("results").replaceChildren();
    $("status").className = "error";
    $("status").textContent = "Error " + response.status + ": " + text;
    return;
  }
  render(JSON.parse(text));
}

async function start() {
  const list = await (await fetch("/api/queries")).json();
  for (const q of list) {
    saved[q.name] = q;
    const option = document.createElement("option");
    option.value = q.name;
    option.textContent = q.name + " — " + q.summary;
    $("saved").appendChild(option);
  }
  $("saved").addEventListener("change", () => {
    const q = saved[$("saved").value];
    $("description").textContent = q ? q.description : "";
    if (q) $("query").value = q.text;
    showParams(q);
  });
  $("run").addEventListener("click", run);
  for (const a of $("downloads").querySelectorAll("a")) {
    // "download": the server marks the file as an attachment and neutralises spreadsheet
    // formulas in CSV/TSV cells (the /sparql protocol answer itself stays exact)
    a.addEventListener("click", (e) => { e.preventDefault(); window.location = currentRequest(a.dataset.format).url + "&download=1"; });
  }
  document.body.dataset.ready = "yes";
}

start();
