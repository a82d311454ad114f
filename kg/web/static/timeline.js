// The timeline pictures of the query page as one Tab stop each, with the arrow keys
// moving between their links inside (a roving tabindex): Right or Down to the next mark,
// Left or Up to the one before, Home and End to the first and the last. Without this
// script every mark is its own Tab stop, and the page still works.
"use strict";
(function () {
  function rove(svg) {
    const marks = Array.from(svg.querySelectorAll("a"));
    if (!marks.length) return;
    let current = 0;
    const set = (i) => {
      marks[current].setAttribute("tabindex", "-1");
      current = i;
      marks[current].setAttribute("tabindex", "0");
    };
    marks.forEach((a, i) => {
      a.setAttribute("tabindex", i === 0 ? "0" : "-1");
      a.addEventListener("focus", () => set(i));
    });
    svg.addEventListener("keydown", (event) => {
      const last = marks.length - 1;
      const next = {
        ArrowRight: Math.min(current + 1, last), ArrowDown: Math.min(current + 1, last),
        ArrowLeft: Math.max(current - 1, 0), ArrowUp: Math.max(current - 1, 0),
        Home: 0, End: last,
      }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      set(next);
      marks[next].focus();
    });
  }
  document.querySelectorAll("#timeline svg.kg-timeline").forEach(rove);
})();
