// Which addresses the page may turn into a link: a path of this site, or an http/https
// URL. Any other term (javascript:, data:, vbscript:, file:, mailto:, urn:, //host,
// \\host, "java\tscript:") is shown as text. The same rule as kg/links.py, tested on
// the same cases; every renderer of this site takes its links from KGLinks.safeHref.
"use strict";

const KGLinks = (() => {
  const BASE = "https://w3id.org/israel-japan-kg/";
  const ONTOLOGY = BASE + "ontology#";
  // spaces and control characters (a browser strips or skips them), and "\" (read as "/")
  const UNREADABLE = /[\u0000-\u0020\u007f-\u009f\\]/;
  const WEB = /^https?:\/\/[^/]/i;

  function sitePath(iri) {
    // where an IRI of this graph is served here; any other IRI unchanged
    if (iri.startsWith(BASE + "id/") || iri.startsWith(BASE + "link/")) return "/" + iri.slice(BASE.length);
    if (iri.startsWith(ONTOLOGY)) return "/ontology#" + encodeURIComponent(iri.slice(ONTOLOGY.length));
    return iri;
  }

  function safeHref(iri) {
    // the address a link to iri may point at, or null when it must stay text
    if (typeof iri !== "string" || UNREADABLE.test(iri)) return null;
    const href = sitePath(iri);
    if (href.startsWith("/") && !href.startsWith("//")) return href;
    if (!WEB.test(href)) return null;
    try {  // and the browser reads it the same way
      const protocol = new URL(href).protocol;
      return protocol === "http:" || protocol === "https:" ? href : null;
    } catch (e) {
      return null;
    }
  }

  return { safeHref, sitePath };
})();
