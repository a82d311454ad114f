// The query page: saved queries with parameters, free SPARQL, a results table.
// Data from the server is put on the page as text (textContent), never as HTML, and a
// term becomes a link only where KGLinks.safeHref (links.js) allows it.
"use strict";

const $ = (id) => document.getElementById(id);
let saved = Object.create(null);  // by name; no inherited names (?saved=__proto__)
let PREFIXES = {};
let pageOffset = 0;  // a saved query's answer comes in pages of the server's row limit

function shorten(iri) {
  // the short name the command line shows (visit:1985-…), where a prefix fits
  let best = null;
  for (const [prefix, ns] of Object.entries(PREFIXES)) {
    const local = iri.slice(ns.length);
    if (iri.startsWith(ns) && local && /^[\w.-]+$/.test(local) && (!best || ns.length > PREFIXES[best].length)) best = prefix;
  }
  return best ? best + ":" + iri.slice(PREFIXES[best].length) : iri;
}

function savedInUse() {
  // the saved query the form runs: its text, or an edit that still uses a parameter of
  // it; a new text typed over it (no parameter of it left) is a query of one's own
  const q = saved[$("saved").value];
  if (!q) return null;
  const text = $("query").value;
  if (text === q.text) return q;
  return q.params.some((p) => usesVariable(text, p.name)) ? q : null;
}

function currentRequest(format) {
  // A saved query keeps its parameters bound where the edited text still uses them: the
  // edited text goes with them (query=); the server drops a parameter the pattern no
  // longer binds and says so (KG-Warning), so no column shows a value it was not given.
  const q = savedInUse();
  const name = q ? q.name : "";
  const text = $("query").value;
  if (q) {
    const params = new URLSearchParams();
    for (const input of $("params").querySelectorAll("input")) params.set(input.name, input.value);
    if (text !== q.text) params.set("query", text);
    if (format) params.set("format", format);
    params.set("paged", "1");  // the server pages a long answer instead of refusing it
    if (pageOffset) params.set("offset", String(pageOffset));
    return { url: "/api/queries/" + encodeURIComponent(name) + "?" + params, init: {} };
  }
  const params = new URLSearchParams({ query: text });
  if (format) params.set("format", format);
  params.set("paged", "1");  // pages of the row limit, as a saved query's, not a 413
  params.set("lint", "1");  // the lint's warnings even beside a full answer
  if (pageOffset) params.set("offset", String(pageOffset));
  return { url: "/sparql?" + params, init: {} };
}

function fileName() {
  // a download's name: the saved query's, else "query" (the server names a DESCRIBE
  // of one resource describe-NAME); the extension is the format's
  const q = savedInUse();
  return q ? q.name : "query";
}

function usesVariable(text, name) {
  return new RegExp("[?$]" + name + "(?![\\w])").test(text);
}

function markUnusedParams() {
  // say so where an edit removed a parameter's variable (the server refuses to run it)
  const text = $("query").value;
  for (const input of $("params").querySelectorAll("input")) {
    const unused = !usesVariable(text, input.name);
    input.setAttribute("aria-invalid", unused ? "true" : "false");
    const note = $("note-" + input.name);
    if (note) note.textContent = unused ? " — not in the edited query: it will be dropped" : "";
  }
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
    const note = document.createElement("span");
    note.id = "note-" + p.name;
    note.className = "note";
    label.appendChild(note);
    label.appendChild(document.createElement("br"));
    label.appendChild(input);
    box.appendChild(label);
  }
}

const NUMERIC = /#(integer|decimal|double|float|int|long|short|byte|nonNegativeInteger|positiveInteger|gYear)$/;
const DATED = /#(date|dateTime|gYear|gYearMonth)$/;

function yearOf(value) {
  // a date as a fractional year (1985-05 → 1985.37), for placing it on a line
  const m = /^(-?\d{4})(?:-(\d\d))?(?:-(\d\d))?/.exec(value);
  if (!m) return null;
  const month = m[2] ? Number(m[2]) : 6.5, day = m[3] ? Number(m[3]) : 15;
  return Number(m[1]) + (month - 1) / 12 + (day - 1) / 365;
}

const PAGE = 200;  // rows shown at first; "Show more" adds as many again

function termText(term) {
  // a term as N-Triples writes it: for the parts of an RDF 1.2 triple term
  if (term.type === "uri") return "<" + term.value + ">";
  if (term.type === "bnode") return "_:" + term.value;
  if (term.type === "triple") {
    const { subject, predicate, object } = term.value;
    return "<<( " + [subject, predicate, object].map(termText).join(" ") + " )>>";
  }
  return JSON.stringify(term.value) + (term["xml:lang"] ? "@" + term["xml:lang"] :
    term.datatype ? "^^<" + term.datatype + ">" : "");
}

function cell(term) {
  const td = document.createElement("td");
  if (!term) return td;
  if (term.type === "triple") {  // an RDF 1.2 triple term: its text, never a link
    td.textContent = termText(term);
    td.dataset.key = td.textContent;
    return td;
  }
  const href = term.type === "uri" ? KGLinks.safeHref(term.value) : null;
  if (href !== null) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = shorten(term.value);
    a.dataset.iri = term.value;
    td.appendChild(a);
    td.dataset.key = a.textContent;
  } else if (term.type === "uri") {  // not a web address: its text, never a link
    td.textContent = term.value;
    td.className = "iri";
    td.title = "not an http(s) address, so not a link";
    td.dataset.key = term.value;
  } else {
    td.textContent = term.value;
    if (term["xml:lang"]) td.lang = term["xml:lang"];
    if (term.datatype && NUMERIC.test(term.datatype)) {
      td.className = "num";
      td.dataset.number = term.value;
    }
    const when = term.datatype && DATED.test(term.datatype) ? yearOf(term.value) : null;
    if (when !== null) td.dataset.year = when;
    td.dataset.key = term.value;
  }
  return td;
}

function sortBy(index, header) {
  // click a column's header to sort by it; click again to reverse
  const table = $("results");
  const rows = [...table.querySelectorAll("tr")].slice(1);
  const down = header.getAttribute("aria-sort") !== "ascending";
  for (const th of table.querySelectorAll("th")) th.removeAttribute("aria-sort");
  header.setAttribute("aria-sort", down ? "ascending" : "descending");
  const key = (tr) => tr.children[index];
  const numeric = rows.every((tr) => !key(tr).textContent || key(tr).dataset.number !== undefined);
  rows.sort((a, b) => {
    const x = key(a), y = key(b);
    const c = numeric ? Number(x.dataset.number ?? -Infinity) - Number(y.dataset.number ?? -Infinity)
                      : (x.dataset.key ?? "").localeCompare(y.dataset.key ?? "");
    return down ? c : -c;
  });
  for (const tr of rows) table.appendChild(tr);
  showRows(PAGE);
}

function showRows(count) {
  const rows = [...$("results").querySelectorAll("tr")].slice(1);
  rows.forEach((tr, i) => { tr.hidden = i >= count; });
  const more = $("more");
  more.hidden = rows.length <= count;
  more.onclick = () => showRows(count + PAGE);
  more.textContent = "Show more (" + Math.min(PAGE, rows.length - count) + " of " +
                     (rows.length - count) + " left)";
}

function header(names) {
  const head = document.createElement("tr");
  names.forEach((v, i) => {
    const th = document.createElement("th");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "sort";
    button.textContent = v;
    button.title = "Sort by " + v;
    button.addEventListener("click", () => sortBy(i, th));
    th.appendChild(button);
    head.appendChild(th);
  });
  return head;
}

function finish(status) {
  // the answer in view after Run (on a phone it is below the editor)
  $("status").textContent = status;
  showRows(PAGE);
  $("status").scrollIntoView({ block: "start" });
}

function render(doc) {
  const table = $("results");
  table.replaceChildren();
  if (typeof doc.boolean === "boolean") return "Answer: " + doc.boolean;
  table.appendChild(header(doc.head.vars));
  for (const b of doc.results.bindings) {
    const tr = document.createElement("tr");
    for (const v of doc.head.vars) tr.appendChild(cell(b[v]));
    table.appendChild(tr);
  }
  const n = doc.results.bindings.length;
  return n + (n === 1 ? " row" : " rows");
}

// N-Triples, as the server writes it (one triple a line), into SPARQL-JSON-like terms
const NT_TERM = /^(?:<([^>]*)>|_:(\S+)|"((?:[^"\\]|\\.)*)"(?:@([A-Za-z0-9-]+)|\^\^<([^>]*)>)?)\s*/;
const NT_ESCAPES = { t: "\t", b: "\b", n: "\n", r: "\r", f: "\f", '"': '"', "'": "'", "\\": "\\" };

function unescapeNT(text) {
  return text.replace(/\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))/g, (_, u4, u8, c) =>
    u4 || u8 ? String.fromCodePoint(parseInt(u4 || u8, 16)) : (NT_ESCAPES[c] ?? c));
}

function readTerm(line) {
  // the term at the start of line, and the rest; an RDF 1.2 triple term <<( s p o )>> too
  if (line.startsWith("<<(")) {
    let rest = line.slice(3).trimStart();
    const parts = [];
    for (let i = 0; i < 3; i++) [parts[i], rest] = readTerm(rest);
    if (!rest.startsWith(")>>")) throw new Error("cannot read the answer's line: " + line);
    const [subject, predicate, object] = parts;
    return [{ type: "triple", value: { subject, predicate, object } }, rest.slice(3).trimStart()];
  }
  const m = NT_TERM.exec(line);
  if (!m) throw new Error("cannot read the answer's line: " + line);
  let term;
  if (m[1] !== undefined) term = { type: "uri", value: unescapeNT(m[1]) };
  else if (m[2] !== undefined) term = { type: "bnode", value: m[2] };
  else {
    term = { type: "literal", value: unescapeNT(m[3]) };
    if (m[4]) term["xml:lang"] = m[4];
    if (m[5]) term.datatype = m[5];
  }
  return [term, line.slice(m[0].length)];
}

function parseNTriples(text) {
  const triples = [];
  for (let line of text.split("\n")) {
    line = line.trim();
    if (!line || line.startsWith("#")) continue;
    const terms = [];
    while (terms.length < 3) {
      const [term, rest] = readTerm(line);
      terms.push(term);
      line = rest;
    }
    triples.push(terms);
  }
  return triples;
}

function renderTriples(text) {
  const table = $("results");
  table.replaceChildren();
  table.appendChild(header(["subject", "predicate", "object"]));
  const triples = parseNTriples(text);
  for (const t of triples) {
    const tr = document.createElement("tr");
    for (const term of t) tr.appendChild(cell(term));
    table.appendChild(tr);
  }
  const n = triples.length;
  return n + (n === 1 ? " triple" : " triples");
}

// format (the server's name), label, file extension (the registry's)
const DOWNLOADS = {
  solutions: [["json", "JSON", "json"], ["xml", "XML", "xml"], ["csv", "CSV", "csv"],
              ["tsv", "TSV", "tsv"]],
  graph: [["turtle", "Turtle", "ttl"], ["jsonld", "JSON-LD", "jsonld"], ["nt", "N-Triples", "nt"],
          ["rdfxml", "RDF/XML", "rdf"]],
};

function offerDownloads(kind) {
  // plain links, named: the server sends each as an attachment with its file name
  // (Content-Disposition) and neutralises spreadsheet formulas in CSV/TSV cells (the
  // /sparql protocol answer itself stays exact); "download" names it here too
  const box = $("download-links");
  box.replaceChildren();
  $("downloads").hidden = !kind;  // downloads of an answer, only beside one
  if (!kind) return;
  for (const [format, label, ext] of DOWNLOADS[kind]) {
    const a = document.createElement("a");
    a.href = currentRequest(format).url.replace("&lint=1", "") + "&download=1";
    a.download = fileName() + "." + ext;
    a.dataset.format = format;
    a.textContent = label;
    box.append(a, " ");
  }
  const copy = document.createElement("button");
  copy.type = "button";
  copy.id = "copy-tsv";
  copy.textContent = "Copy as TSV";
  copy.addEventListener("click", copyTable);
  box.append(copy);
}

function tableAsTsv() {
  // the whole table (every row, shown or not): a link's cell as its IRI, tabs and line
  // breaks inside a value as spaces
  const clean = (v) => v.replace(/[\t\r\n]+/g, " ");
  return [...$("results").querySelectorAll("tr")].map((tr) =>
    [...tr.children].map((c) => clean(c.querySelector("a[data-iri]")?.dataset.iri ??
                                      c.textContent)).join("\t")).join("\n") + "\n";
}

async function copyTable() {
  const tsv = tableAsTsv();
  const rows = Math.max(0, $("results").querySelectorAll("tr").length - 1);
  try {
    await navigator.clipboard.writeText(tsv);
    $("copied").textContent = "Copied " + rows + (rows === 1 ? " row" : " rows") + " as TSV.";
  } catch (e) {
    showLink(tsv);  // no clipboard permission: the text, selected, to copy by hand
    $("copied").textContent = "Select and copy the text above (the clipboard is not available).";
  }
}

const SVG = "http://www.w3.org/2000/svg";

function drawChart() {
  // the answer at a glance: dated rows on a time line; counts per group as bars
  const box = $("chart");
  box.replaceChildren();
  const rows = [...$("results").querySelectorAll("tr")].slice(1);
  if (!rows.length) return;
  const width = rows[0].children.length;
  const dated = [...Array(width).keys()].find((i) =>
    rows.every((tr) => tr.children[i].dataset.year !== undefined));
  if (dated !== undefined && rows.length >= 2 && rows.length <= 2000) {
    drawTimeline(rows, dated);
    return;
  }
  drawBars(rows, width);
}

function drawTimeline(rows, column) {
  // one mark per row at its date, a link to the row's first resource, named on hover and
  // focus; marks closer than a mark's width stack upwards
  const years = rows.map((tr) => Number(tr.children[column].dataset.year));
  const first = Math.floor(Math.min(...years)), last = Math.floor(Math.max(...years)) + 1;
  const left = 20, right = 20, chartWidth = 720, base = 110;
  const x = (y) => left + (y - first) * (chartWidth - left - right) / Math.max(1, last - first);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("role", "group");  // it holds links: an image cannot (axe: nested-interactive)
  svg.setAttribute("aria-label", "Time line of the answer's " + rows.length + " rows by " +
    $("results").querySelectorAll("th")[column].textContent);
  const axis = document.createElementNS(SVG, "line");
  axis.setAttribute("x1", left); axis.setAttribute("x2", chartWidth - right);
  axis.setAttribute("y1", base + 8); axis.setAttribute("y2", base + 8);
  axis.setAttribute("stroke", "#8c959f");
  svg.appendChild(axis);
  const step = [1, 2, 5, 10, 20, 25, 50, 100].find((s) => (last - first) / s <= 12) || 200;
  for (let year = Math.ceil(first / step) * step; year <= last; year += step) {
    const tick = document.createElementNS(SVG, "text");
    tick.setAttribute("x", x(year)); tick.setAttribute("y", base + 24);
    tick.setAttribute("text-anchor", "middle");
    tick.textContent = year;
    svg.appendChild(tick);
  }
  // a mark names and links the row's resource: the column of links with most distinct
  // values (the visits, not the state every row shares)
  let named = -1, most = 0;
  for (let i = 0; i < rows[0].children.length; i++) {
    const iris = rows.map((tr) => tr.children[i].querySelector("a[data-iri]")?.dataset.iri);
    const distinct = new Set(iris.filter(Boolean)).size;
    if (distinct > most) { most = distinct; named = i; }
  }
  const taken = [];  // x of the marks in each row of the stack
  let top = base;
  rows.forEach((tr, k) => {
    const cx = x(years[k]);
    let level = 0;
    while ((taken[level] || []).some((other) => Math.abs(other - cx) < 11)) level++;
    (taken[level] = taken[level] || []).push(cx);
    const cy = base - level * 11;
    top = Math.min(top, cy - 8);
    const link = named >= 0 ? tr.children[named].querySelector("a[data-iri]") : null;
    const mark = document.createElementNS(SVG, "a");
    if (link) mark.setAttribute("href", link.getAttribute("href"));
    const name = tr.children[column].textContent + ": " +
      (link ? link.textContent : [...tr.children].map((td) => td.textContent).join(" · "));
    mark.setAttribute("aria-label", name);
    const dot = document.createElementNS(SVG, "circle");
    dot.setAttribute("cx", cx); dot.setAttribute("cy", cy); dot.setAttribute("r", 5);
    dot.setAttribute("fill", "#1d4ed8"); dot.setAttribute("fill-opacity", "0.8");
    const title = document.createElementNS(SVG, "title");
    title.textContent = name;
    dot.appendChild(title);
    mark.appendChild(dot);
    svg.appendChild(mark);
  });
  svg.setAttribute("viewBox", `0 ${top - 4} ${chartWidth} ${base + 30 - top + 4}`);
  svg.classList.add("dated");
  $("chart").appendChild(svg);
}

function drawBars(rows, width) {
  // counts per group: one bar a row, when the answer has one numeric column (dates and
  // years are not counts) and at most 40 rows (visits per decade and direction)
  if (rows.length > 40) return;
  const numeric = [...Array(width).keys()].filter((i) =>
    rows.every((tr) => tr.children[i].dataset.number !== undefined &&
                       tr.children[i].dataset.year === undefined));
  if (numeric.length !== 1 || width < 2) return;
  const n = numeric[0];
  const values = rows.map((tr) => Number(tr.children[n].dataset.number));
  const most = Math.max(...values, 1);
  const bar = 18, gap = 4, labelWidth = 220, chartWidth = 560;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${chartWidth} ${rows.length * (bar + gap)}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Bar chart of the answer's " +
    $("results").querySelectorAll("th")[n].textContent);
  rows.forEach((tr, k) => {
    const label = [...tr.children].filter((_, i) => i !== n).map((td) => td.textContent).join(" · ");
    const y = k * (bar + gap);
    const text = document.createElementNS(SVG, "text");
    text.setAttribute("x", labelWidth - 6);
    text.setAttribute("y", y + bar - 5);
    text.setAttribute("text-anchor", "end");
    text.textContent = label;
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("x", labelWidth);
    rect.setAttribute("y", y);
    rect.setAttribute("height", bar);
    rect.setAttribute("width", Math.max(1, (chartWidth - labelWidth - 40) * values[k] / most));
    rect.setAttribute("fill", "#1d4ed8");
    const value = document.createElementNS(SVG, "text");
    value.setAttribute("x", labelWidth + 4 + (chartWidth - labelWidth - 40) * values[k] / most);
    value.setAttribute("y", y + bar - 5);
    value.textContent = tr.children[n].textContent;
    svg.append(text, rect, value);
  });
  $("chart").appendChild(svg);
}

function clearResults() {
  // every control of the answer on screen goes with it: chart, pages, "Show more",
  // warnings, downloads, the copy note
  $("chart").replaceChildren();
  $("pager").replaceChildren();
  $("results").replaceChildren();
  $("warnings").replaceChildren();
  $("copied").textContent = "";
  offerDownloads(null);
  $("more").hidden = true;
  $("status").className = "";
  $("status").textContent = "";
}

function showWarnings(header) {
  // the query lint's warnings (KG-Warning: percent-encoded, joined by ", "), beside the answer
  const box = $("warnings");
  box.replaceChildren();
  for (const part of (header || "").split(", ")) {
    if (!part) continue;
    const li = document.createElement("li");
    try { li.textContent = decodeURIComponent(part); } catch (e) { li.textContent = part; }
    box.appendChild(li);
    // a parameter the server dropped (its variable is no longer bound): the form says so
    const dropped = /^the parameter (\S+) \(.*dropped/.exec(li.textContent);
    const note = dropped ? $("note-" + dropped[1]) : null;
    if (note) {
      note.textContent = " — dropped: the edited query no longer binds ?" + dropped[1];
      $("param-" + dropped[1]).setAttribute("aria-invalid", "true");
    }
  }
}

function showLink(text) {
  const field = $("share-link");
  field.value = text;
  field.hidden = false;
  field.focus();
  field.select();
}

async function share() {
  // a link that reopens this query (and its answer): the address bar's, made absolute
  const link = window.location.origin + window.location.pathname + shareableSearch();
  showLink(link);
  try {
    await navigator.clipboard.writeText(link);
    $("copied").textContent = "Link copied.";
  } catch (e) {
    $("copied").textContent = "Copy the link above (the clipboard is not available).";
  }
}

function shareableSearch() {
  // what the address bar shows: ?saved=NAME&param=… (and query= once edited), or ?query=…
  const q = savedInUse();
  const name = q ? q.name : "";
  const params = new URLSearchParams();
  if (q) {
    params.set("saved", name);
    for (const input of $("params").querySelectorAll("input")) params.set(input.name, input.value);
    if ($("query").value !== q.text) params.set("query", $("query").value);
  } else {
    params.set("query", $("query").value);
  }
  return "?" + params;
}

function addressProblem(params) {
  // what is wrong with a link, in a sentence; null when it can run
  const name = params.get("saved");
  const keys = [...new Set(params.keys())];
  if (name !== null && !saved[name]) {
    return "This link asks for a saved query named “" + name + "”, and there is none; " +
      "pick one from the list.";
  }
  const q = saved[name];
  const allowed = new Set(["saved", "query", ...(q ? q.params.map((p) => p.name) : [])]);
  const unknown = keys.filter((k) => !allowed.has(k));
  if (unknown.length) {
    return "This link has the parameter “" + unknown[0] + "”, which " +
      (q ? "the saved query “" + name + "” does not take (it takes: " +
           (q.params.map((p) => p.name).join(", ") || "none") + ")."
         : "names nothing here: a link holds query=… or saved=NAME with its parameters.");
  }
  return null;
}

function openFromAddress() {
  // /?query=… opens the page with that query, /?saved=NAME&param=… with a saved one;
  // a link that names something unknown says so instead of showing an empty page
  const params = new URLSearchParams(window.location.search);
  const name = params.get("saved");
  const problem = addressProblem(params);
  $("saved").value = name && saved[name] ? name : "";
  $("saved").dispatchEvent(new Event("change"));  // its text and parameters, no answer
  if (name && saved[name]) {
    for (const input of $("params").querySelectorAll("input")) {
      if (params.has(input.name)) input.value = params.get(input.name);
    }
  }
  if (params.has("query")) $("query").value = params.get("query");
  else if (!(name && saved[name])) $("query").value = $("query").defaultValue;  // the first page
  KGEditor.paint();
  markUnusedParams();
  if (problem) {
    $("status").className = "error";
    $("status").textContent = problem;
    return false;
  }
  return Boolean((name && saved[name]) || params.has("query"));
}

function showPager(header, rows) {
  // "rows 10,001-20,000", with Previous and Next, when the server answered one page
  const pager = $("pager");
  pager.replaceChildren();
  const m = /limit=(\d+); offset=(\d+)/.exec(header || "");
  if (!m) return "";
  const limit = Number(m[1]), offset = Number(m[2]);
  if (offset === 0 && rows < limit) return "";
  const turn = (label, to) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.addEventListener("click", () => { pageOffset = to; run("turn"); });
    pager.appendChild(b);
  };
  if (offset > 0) turn("Previous page", Math.max(0, offset - limit));
  if (rows === limit) turn("Next page", offset + limit);
  return ` (rows ${(offset + 1).toLocaleString("en")}–${(offset + rows).toLocaleString("en")}` +
    (rows === limit ? "; there may be more" : "") + ")";
}

let asked = 0;  // answers arrive in order of asking: a later question wins

async function run(how = "new") {
  // how: "new" (Run: a history entry of its own), "turn" (another page of the same
  // question: the entry is replaced), "restore" (Back, Forward, opening a link)
  if (how !== "turn") pageOffset = 0;  // a new question starts at its first page
  if (!savedInUse() && $("saved").value) {  // typed over a saved query: one's own now
    $("saved").value = "";
    $("description").textContent = "";
    showParams(null);
  }
  const ticket = ++asked;
  clearResults();
  $("status").textContent = "Running…";
  const search = shareableSearch();
  if (how === "new" && search !== window.location.search) history.pushState(null, "", search);
  else if (how !== "restore") history.replaceState(null, "", search);
  const { url } = currentRequest(null);
  const response = await fetch(url, {
    headers: { Accept: "application/sparql-results+json, application/n-triples;q=0.9" },
  });
  const text = await response.text();
  if (ticket !== asked) return;
  if (!response.ok) {
    clearResults();
    $("status").className = "error";
    $("status").textContent = "Error " + response.status + ": " + text;
    return;
  }
  showWarnings(response.headers.get("KG-Warning"));
  const graph = (response.headers.get("Content-Type") || "").startsWith("application/n-triples");
  offerDownloads(graph ? "graph" : "solutions");
  let status;
  try {
    status = graph ? renderTriples(text) : render(JSON.parse(text));
  } catch (e) {  // an answer the page cannot read: say so, rather than "Running…" for ever
    clearResults();
    $("status").className = "error";
    $("status").textContent = "This answer cannot be shown here: " + e.message;
    return;
  }
  const rows = $("results").querySelectorAll("tr").length - 1;
  const where = showPager(response.headers.get("X-KG-Page"), rows);
  await showLabels();
  drawChart();
  finish(status + where);
}

const SAFE_IRI = /^[^\s<>"{}|^`\\]+$/;

async function showLabels() {
  // IRIs read by their English label, with the short name on hover (and used to sort);
  // one more query to the endpoint, for at most 400 distinct IRIs
  const links = [...$("results").querySelectorAll("td a[data-iri]")];
  const iris = [...new Set(links.map((a) => a.dataset.iri))].filter((i) => SAFE_IRI.test(i));
  if (!iris.length) return;
  const text = "SELECT ?s ?l WHERE { VALUES ?s { " +
    iris.slice(0, 400).map((i) => "<" + i + ">").join(" ") +
    ' } ?s rdfs:label ?l FILTER(LANGMATCHES(LANG(?l), "en")) }';
  try {
    const response = await fetch("/sparql", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded",
                 Accept: "application/sparql-results+json" },
      body: new URLSearchParams({ query: text }),
    });
    if (!response.ok) return;  // the short names stay: still right, only less friendly
    const labels = {};
    for (const b of (await response.json()).results.bindings) labels[b.s.value] = b.l.value;
    for (const a of links) {
      const label = labels[a.dataset.iri];
      if (label) { a.title = a.textContent; a.textContent = label; }
    }
  } catch (e) { /* the short names stay */ }
}

async function start() {
  PREFIXES = JSON.parse($("prefixes").textContent);
  KGEditor.attach($("query"), { prefixes: PREFIXES });
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
    KGEditor.paint();
    showParams(q);
    clearResults();  // an answer on screen is always the answer to what the form shows
  });
  $("query").addEventListener("input", markUnusedParams);
  $("query").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); }
  });
  $("run").addEventListener("click", () => run());
  $("share").addEventListener("click", share);
  window.addEventListener("popstate", async () => {
    // Back and Forward step through questions: each comes back with its answer
    if (openFromAddress()) await run("restore");
  });
  if (openFromAddress()) await run("restore");
  document.body.dataset.ready = "yes";
}

start();
