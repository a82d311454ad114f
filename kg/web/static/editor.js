// The SPARQL box of the query page: colours and completion, written for this page.
// The <textarea> stays the editor (native undo, selection, phone keyboards, screen
// readers); a <pre> under it, the same size and font, shows the same text in colour.
// Completion offers the graph's prefixed names (from /api/terms) that fit where the caret
// is — properties after a subject, classes after `a` or rdf:type, resources in subject
// and object places — each with its kind and label, besides the predeclared prefixes and
// SPARQL's keywords. Nothing is taken until the arrows highlight an offer; then Tab or
// Enter takes it (a Tab with nothing highlighted leaves the text as it is).
// Text reaches the page as textContent only, never as HTML.
"use strict";

const KGEditor = (() => {
  const KEYWORDS = ("SELECT DISTINCT REDUCED WHERE FILTER OPTIONAL UNION MINUS GRAPH SERVICE BIND " +
    "VALUES AS ORDER BY ASC DESC GROUP HAVING LIMIT OFFSET PREFIX BASE CONSTRUCT DESCRIBE ASK " +
    "FROM NAMED NOT EXISTS IN UNDEF SILENT").split(" ");
  const FUNCTIONS = ("COUNT SUM MIN MAX AVG SAMPLE GROUP_CONCAT SEPARATOR STR LANG LANGMATCHES " +
    "DATATYPE BOUND IRI URI BNODE RAND ABS CEIL FLOOR ROUND CONCAT STRLEN UCASE LCASE " +
    "ENCODE_FOR_URI CONTAINS STRSTARTS STRENDS STRBEFORE STRAFTER YEAR MONTH DAY HOURS MINUTES " +
    "SECONDS TIMEZONE TZ NOW UUID STRUUID MD5 SHA1 SHA256 SHA384 SHA512 COALESCE IF STRLANG " +
    "STRDT sameTerm isIRI isURI isBLANK isLITERAL isNUMERIC REGEX SUBSTR REPLACE").split(" ");
  const WORDS = new Set([...KEYWORDS, ...FUNCTIONS].map((w) => w.toUpperCase()));
  const FUNCTION_SET = new Set(FUNCTIONS.map((w) => w.toUpperCase()));

  // one alternative per token kind, in SPARQL's order of precedence
  const TOKEN = new RegExp([
    /(#[^\n\r]*)/,                                                   // 1 comment
    /("""[\s\S]*?(?:"""|$)|'''[\s\S]*?(?:'''|$)|"(?:[^"\\\n\r]|\\.)*"?|'(?:[^'\\\n\r]|\\.)*'?)/, // 2 string
    /(<[^<>"{}|^`\\\s]*>)/,                                          // 3 IRI
    /([?$][\w\u00B7\u00C0-\uFFFF]+)/,                                // 4 variable
    /((?:[A-Za-z\u00C0-\uFFFF][\w.\u00C0-\uFFFF-]*)?:(?:[\w\u00C0-\uFFFF%:-]|\.(?=[\w%:-]))*)/, // 5 prefixed name
    /(@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*)/,                                // 6 language tag
    /((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/,                        // 7 number
    /([A-Za-z_]\w*)/,                                                // 8 word
  ].map((r) => r.source).join("|"), "g");

  let box, pre, list;
  let prefixes = {};   // predeclared: name -> namespace
  let terms = [];      // {name, kind, label}
  let offers = [];
  let chosen = -1;     // the offer picked with the arrows (-1: none yet)
  let fragment = null; // {start, end} of the text being completed

  function declared(text) {
    const names = new Set(Object.keys(prefixes));
    for (const m of text.matchAll(/PREFIX\s+([A-Za-z][\w.-]*)?:/gi)) names.add(m[1] || "");
    return names;
  }

  function span(cls, text, title) {
    const s = document.createElement("span");
    s.className = cls;
    s.textContent = text;
    if (title) s.title = title;
    return s;
  }

  function paint() {
    const text = box.value;
    const known = declared(text);
    const out = document.createDocumentFragment();
    let at = 0;
    TOKEN.lastIndex = 0;
    for (let m; (m = TOKEN.exec(text)); ) {
      if (m[0] === "") { TOKEN.lastIndex++; continue; }
      if (m.index > at) out.append(text.slice(at, m.index));
      at = m.index + m[0].length;
      if (m[1]) out.append(span("c", m[0]));
      else if (m[2]) out.append(span("s", m[0]));
      else if (m[3]) out.append(span("i", m[0]));
      else if (m[4]) out.append(span("v", m[0]));
      else if (m[5] !== undefined && m[5] !== "") {
        const name = m[5].slice(0, m[5].indexOf(":"));
        out.append(known.has(name) ? span("p", m[0])
          : span("p bad", m[0], "unknown prefix " + name + ": — add a PREFIX line"));
      } else if (m[6]) out.append(span("l", m[0]));
      else if (m[7]) out.append(span("n", m[0]));
      else {
        const upper = m[0].toUpperCase();
        if (m[0] === "a" || (WORDS.has(upper) && !FUNCTION_SET.has(upper))) out.append(span("k", m[0]));
        else if (FUNCTION_SET.has(upper)) out.append(span("f", m[0]));
        else out.append(m[0]);
      }
    }
    out.append(text.slice(at) + "\n");  // a final newline keeps the last line's height
    pre.replaceChildren(out);
    follow();
  }

  function follow() {
    pre.scrollTop = box.scrollTop;
    pre.scrollLeft = box.scrollLeft;
  }

  // -- completion ---------------------------------------------------------------

  function typed() {
    // the prefixed name or word that ends at the caret, if any
    const caret = box.selectionStart;
    if (caret !== box.selectionEnd) return null;
    const before = box.value.slice(0, caret);
    if (/<[^<>"{}|^`\\\s]*$/.test(before)) return null;  // inside an IRI
    let last = null;  // inside a comment or a string
    TOKEN.lastIndex = 0;
    for (let t; (t = TOKEN.exec(before)); ) { if (t[0] === "") TOKEN.lastIndex++; else last = t; }
    if (last && last.index + last[0].length === before.length && (last[1] || last[2])) return null;
    const m = /(?:^|[^\w?$:<.\u00C0-\uFFFF-])((?:[A-Za-z][\w.-]*)?:[\w.-]*|[A-Za-z_]{2,})$/.exec(before);
    return m ? { text: m[1], start: caret - m[1].length, end: caret } : null;
  }

  function place_(start) {
    // what the triple pattern wants where a name starts at ``start``: "property" (the
    // verb, after a subject or ;), "class" (after a or rdf:type), "resource" (a subject
    // or an object), or null where it cannot tell (a FILTER, the projection …)
    const before = box.value.slice(0, start);
    const tokens = [];
    TOKEN.lastIndex = 0;
    let at = 0;
    for (let m; (m = TOKEN.exec(before)); ) {
      if (m[0] === "") { TOKEN.lastIndex++; continue; }
      for (const c of before.slice(at, m.index)) if ("{}.;,()[]".includes(c)) tokens.push(c);
      at = m.index + m[0].length;
      if (!m[1]) tokens.push(m[0]);  // comments do not count
    }
    for (const c of before.slice(at)) if ("{}.;,()[]".includes(c)) tokens.push(c);
    // the terms since the triple's start ({ or . or a keyword)
    const since = [];
    for (let i = tokens.length - 1; i >= 0; i--) {
      const t = tokens[i];
      if (t === "{" || t === "." || t === "}") break;
      if (t === "(" || t === ")") return null;  // an expression or a list
      if (/^[A-Za-z_]\w*$/.test(t) && t !== "a" && WORDS.has(t.toUpperCase())) {
        if (since.length === 0) return null;  // right after a keyword (FILTER, SELECT …)
        break;
      }
      since.unshift(t);
    }
    const last = since[since.length - 1];
    if (last === "a" || last === "rdf:type") return "class";
    if (last === ";" || last === "[") return "property";
    if (last === ",") return "resource";
    const count = since.filter((t) => !"[],;".includes(t)).length;
    if (count === 0) return "resource";
    if (since.includes(";")) {  // after ; a verb, then objects
      const after = since.slice(since.lastIndexOf(";") + 1).length;
      return after === 0 ? "property" : "resource";
    }
    return count === 1 ? "property" : "resource";
  }

  function candidates(text, start) {
    const lower = text.toLowerCase();
    if (text.includes(":")) {
      const want = place_(start);
      const fits = (t) => !want || t.kind === want ||
        (want === "resource" && t.kind === "class");  // a class may be an object too
      const words = lower.split(":")[1];
      const byName = terms.filter((t) => fits(t) && t.name.toLowerCase().startsWith(lower));
      const prefix = lower.split(":")[0] + ":";
      const byLabel = words.length >= 2 ? terms.filter((t) => fits(t) &&
        t.name.toLowerCase().startsWith(prefix) && !t.name.toLowerCase().startsWith(lower) &&
        t.label.toLowerCase().includes(words)) : [];
      return [...byName, ...byLabel].map((t) => ({
        insert: t.name, note: t.kind + (t.label ? " · " + t.label : "") }));
    }
    const fromPrefixes = Object.keys(prefixes).filter((p) => p.toLowerCase().startsWith(lower))
      .map((p) => ({ insert: p + ":", note: prefixes[p] }));
    const fromWords = [...KEYWORDS, ...FUNCTIONS].filter((w) => w.toLowerCase().startsWith(lower))
      .map((w) => ({ insert: w, note: FUNCTION_SET.has(w.toUpperCase()) ? "function" : "keyword" }));
    return [...fromPrefixes, ...fromWords];
  }

  function close() {
    offers = [];
    chosen = -1;
    fragment = null;
    list.hidden = true;
    list.replaceChildren();
    box.removeAttribute("aria-activedescendant");
  }

  function offer() {
    const t = typed();
    const found = t ? candidates(t.text, t.start).slice(0, 12) : [];
    // nothing to offer, or only what is already typed: stay out of the way
    if (!found.length || (found.length === 1 && found[0].insert.toLowerCase() === t.text.toLowerCase())) {
      close();
      return;
    }
    offers = found;
    chosen = -1;
    fragment = t;
    list.replaceChildren(...found.map((o, i) => {
      const li = document.createElement("li");
      li.id = "completion-" + i;
      li.setAttribute("role", "option");
      li.append(span("name", o.insert), " ", span("note", o.note));
      li.addEventListener("mousedown", (e) => { e.preventDefault(); take(i); });
      return li;
    }));
    place();
    list.hidden = false;
  }

  function place() {
    // under the caret: line and column from the text, sizes from the font
    const style = getComputedStyle(box);
    const before = box.value.slice(0, fragment.start);
    const line = before.split("\n").length;
    const column = before.length - before.lastIndexOf("\n") - 1;
    const probe = span("", "0000000000");
    pre.append(probe);
    const charWidth = probe.getBoundingClientRect().width / 10;
    probe.remove();
    const lineHeight = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.45;
    const top = parseFloat(style.paddingTop) + line * lineHeight - box.scrollTop + 2;
    const left = parseFloat(style.paddingLeft) + column * charWidth - box.scrollLeft;
    list.style.top = Math.min(top, box.clientHeight + 4) + "px";
    list.style.left = Math.max(0, Math.min(left, box.clientWidth - 220)) + "px";
  }

  function mark(i) {
    chosen = i;
    for (const [j, li] of [...list.children].entries()) li.setAttribute("aria-selected", String(j === i));
    box.setAttribute("aria-activedescendant", "completion-" + i);
    list.children[i].scrollIntoView({ block: "nearest" });
  }

  function take(i) {
    const o = offers[i];
    const { start, end } = fragment;
    close();
    box.focus();
    box.setSelectionRange(start, end);
    // insertText keeps the browser's undo history; setRangeText where it is missing
    if (!document.execCommand || !document.execCommand("insertText", false, o.insert)) {
      box.setRangeText(o.insert, start, end, "end");
      paint();
    }
    close();
  }

  function keydown(e) {
    if (list.hidden) return;
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { close(); return; }  // runs (app.js)
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const step = e.key === "ArrowDown" ? 1 : -1;
      mark((chosen + step + offers.length) % offers.length);
    } else if (e.key === "Tab" && !e.shiftKey) {
      if (chosen >= 0) {  // only an offer the arrows highlighted: never a guess
        e.preventDefault();
        take(chosen);
      } else {
        close();  // and Tab moves on, as it does everywhere else
      }
    } else if (e.key === "Enter" && chosen >= 0 && !(e.ctrlKey || e.metaKey)) {
      e.preventDefault();  // Enter takes an offer only once the arrows picked it
      take(chosen);
    } else if (e.key === "Escape") {
      e.preventDefault();
      close();
    }
  }

  function attach(textarea, options) {
    box = textarea;
    prefixes = options.prefixes || {};
    const wrap = document.createElement("div");
    wrap.className = "editor";
    pre = document.createElement("pre");
    pre.id = box.id + "-colours";
    pre.setAttribute("aria-hidden", "true");
    list = document.createElement("ul");
    list.id = "completions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Completions");
    list.hidden = true;
    box.replaceWith(wrap);
    wrap.append(pre, box, list);
    box.setAttribute("wrap", "off");
    // a textarea keeps its own role (textbox: combobox is not allowed on it, nor then
    // aria-expanded); the list it controls and the offer highlighted are still announced
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-controls", "completions");
    box.addEventListener("input", () => { paint(); offer(); });
    box.addEventListener("scroll", () => { follow(); if (!list.hidden) place(); });
    box.addEventListener("keydown", keydown);
    box.addEventListener("blur", close);
    box.addEventListener("click", close);
    wrap.classList.add("on");  // colours only once they can be drawn
    paint();
    fetch("/api/terms").then((r) => (r.ok ? r.json() : [])).then((t) => { terms = t; })
      .catch(() => { /* completion offers keywords and prefixes only */ });
  }

  return { attach, paint, close };
})();
