/* CSBP practices index: facet filtering in the browser, no server, no third-party code.
   The generator writes the whole list (each item carries its term ids per facet in
   data-<facet> attributes) and a filter form that stays hidden without JavaScript, so a reader
   without script sees every practice. Here the form is shown and applied: a practice is shown
   when, for every facet with a ticked term, it has at least one ticked term (OR within a facet,
   AND across facets). The ticked terms live in the URL query string (?pillar=protect&pillar=
   prepare&sector=maritime), so a filtered list can be shared and a reload restores it.
   Runs on every page load, including Material's instant navigation. */
(function () {
  "use strict";

  function facetNames(form) {
    return Array.prototype.map.call(form.querySelectorAll("fieldset[data-facet]"), function (fieldset) {
      return fieldset.getAttribute("data-facet");
    });
  }

  function boxes(form) {
    return Array.prototype.slice.call(form.querySelectorAll('input[type="checkbox"]'));
  }

  /* Ticked term ids by facet; facets with nothing ticked are left out (they do not narrow). */
  function selection(form) {
    var chosen = {};
    boxes(form).forEach(function (box) {
      if (box.checked) (chosen[box.name] = chosen[box.name] || []).push(box.value);
    });
    return chosen;
  }

  function matches(item, chosen) {
    return Object.keys(chosen).every(function (facet) {
      var own = (item.getAttribute("data-" + facet) || "").split(/\s+/);
      return chosen[facet].some(function (id) {
        return own.indexOf(id) !== -1;
      });
    });
  }

  /* Read ?facet=id&facet=id (commas also accepted, for hand-typed links) and tick the boxes. */
  function readUrl(form) {
    var params = new URLSearchParams(window.location.search);
    var wanted = {};
    facetNames(form).forEach(function (facet) {
      wanted[facet] = [];
      params.getAll(facet).forEach(function (value) {
        wanted[facet] = wanted[facet].concat(value.split(",").filter(Boolean));
      });
    });
    boxes(form).forEach(function (box) {
      box.checked = (wanted[box.name] || []).indexOf(box.value) !== -1;
    });
  }

  /* Write the ticked terms into the query string, keeping any other parameters and the hash. */
  function writeUrl(form, chosen) {
    var params = new URLSearchParams(window.location.search);
    facetNames(form).forEach(function (facet) {
      params.delete(facet);
      (chosen[facet] || []).forEach(function (id) {
        params.append(facet, id);
      });
    });
    var query = params.toString();
    var url = window.location.pathname + (query ? "?" + query : "") + window.location.hash;
    try {
      window.history.replaceState(window.history.state, "", url);
    } catch (e) {
      /* some file:// setups refuse; filtering still works, only sharing the URL does not */
    }
  }

  function apply(form, list, count, empty) {
    var chosen = selection(form);
    var items = list.querySelectorAll("li.csbp-practice-list__item");
    var shown = 0;
    Array.prototype.forEach.call(items, function (item) {
      var visible = matches(item, chosen);
      item.hidden = !visible;
      if (visible) shown += 1;
    });
    count.textContent = shown + " of " + items.length + " practices shown";
    if (empty) empty.hidden = shown !== 0;
    var ticked = form.querySelector(".csbp-filter__ticked");
    var n = form.querySelectorAll('input[type="checkbox"]:checked').length;
    if (ticked) ticked.textContent = n ? " (" + n + " ticked)" : "";
    return chosen;
  }

  function enhance(form) {
    if (form.hasAttribute("data-enhanced")) return;
    var list = document.querySelector(".csbp-practice-list");
    var count = form.querySelector(".csbp-filter__count");
    if (!list || !count) return;
    var empty = document.querySelector(".csbp-filter__empty");
    form.setAttribute("data-enhanced", "");
    form.hidden = false;

    readUrl(form);
    apply(form, list, count, empty);
    /* On a phone the terms start folded away, so the count and the list are on the first screen. */
    var panel = form.querySelector("details.csbp-filter__panel");
    if (panel && window.matchMedia && window.matchMedia("(max-width: 44.9375em)").matches) panel.open = false;

    form.addEventListener("change", function () {
      writeUrl(form, apply(form, list, count, empty));
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault(); /* Enter in the form must not reload the page */
    });
    form.addEventListener("reset", function (event) {
      /* untick here rather than let the browser do it after this event, so the list, the count
         and the URL change in the same moment as the boxes */
      event.preventDefault();
      form.querySelectorAll('input[type="checkbox"]').forEach(function (box) {
        box.checked = false;
      });
      writeUrl(form, apply(form, list, count, empty));
    });
  }

  function init() {
    document.querySelectorAll("form.csbp-filter").forEach(enhance);
  }

  window.csbpOnPage(init); /* from csbp.js, loaded first */
})();
