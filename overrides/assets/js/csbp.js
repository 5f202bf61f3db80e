/* CSBP handbook behaviour. Plain JavaScript, no third-party code, works offline.
   Runs on every page load, including Material's instant navigation (document$). */
(function () {
  "use strict";
  function init() {}
  if (typeof window.document$ !== "undefined" && window.document$.subscribe) {
    window.document$.subscribe(init);
  } else {
    document.addEventListener("DOMContentLoaded", init);
  }
})();
