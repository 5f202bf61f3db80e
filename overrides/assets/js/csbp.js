/* CSBP handbook behaviour: the self-check quiz engine and training progress.
   Plain JavaScript, no third-party code, no network: works offline and from file://.
   Enhances the plain HTML the generator writes (a quiz is a <form> answerable without
   JavaScript) and runs on every page load, including Material's instant navigation. */
(function () {
  "use strict";

  var STORE_KEY = "csbp.progress.v1";

  /* ---------- progress store (localStorage, may be unavailable) ---------- */

  function readProgress() {
    try {
      var data = JSON.parse(window.localStorage.getItem(STORE_KEY) || "{}");
      return data && typeof data === "object" && data.modules ? data : { modules: {} };
    } catch (e) {
      return { modules: {} };
    }
  }

  function writeProgress(data) {
    try {
      window.localStorage.setItem(STORE_KEY, JSON.stringify(data));
      return true;
    } catch (e) {
      return false;
    }
  }

  /* The learner's own calendar date (not UTC): what a completion record and a due date mean. */
  function today() {
    var now = new Date();
    var pad = function (n) {
      return (n < 10 ? "0" : "") + n;
    };
    return now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate());
  }

  function recordAttempt(moduleId, score, passed) {
    var data = readProgress();
    var entry = data.modules[moduleId] || { best: 0, attempts: 0, passed: false };
    entry.attempts += 1;
    entry.best = Math.max(entry.best, score);
    entry.last = score;
    entry.lastDate = today();
    if (passed && !entry.passed) {
      entry.passed = true;
      entry.completedDate = entry.lastDate;
    }
    data.modules[moduleId] = entry;
    return writeProgress(data) ? entry : null;
  }

  function describe(entry) {
    if (!entry) return "Not started";
    if (entry.passed) return "Completed (best " + entry.best + "%)";
    return "Attempted (best " + entry.best + "%)";
  }

  function showProgress(root) {
    var data = readProgress();
    root.querySelectorAll(".csbp-progress[data-module]").forEach(function (el) {
      var entry = data.modules[el.getAttribute("data-module")];
      var inline = !el.textContent.trim() || el.hasAttribute("data-inline");
      el.classList.toggle("csbp-progress--done", !!(entry && entry.passed));
      if (inline) {
        el.setAttribute("data-inline", "");
        el.textContent = entry && entry.passed ? "✓ Completed · " : entry ? "Attempted · " : "";
      } else {
        el.textContent = describe(entry);
      }
    });
    root.querySelectorAll(".csbp-path-progress[data-modules]").forEach(function (el) {
      var ids = el.getAttribute("data-modules").split(/\s+/).filter(Boolean);
      var done = ids.filter(function (id) {
        return data.modules[id] && data.modules[id].passed;
      }).length;
      el.textContent = done === 0 ? "Not started" : done + " of " + ids.length + " completed";
    });
  }

  /* ---------- quiz engine ---------- */

  function shuffle(items) {
    for (var i = items.length - 1; i > 0; i--) {
      var j = Math.floor(Math.random() * (i + 1));
      var t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }

  function make(tag, className, text) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text) el.textContent = text;
    return el;
  }

  function prepareOrdering(question) {
    var list = question.querySelector("ol.csbp-ordering");
    if (!list || list.hasAttribute("data-enhanced")) return;
    list.setAttribute("data-enhanced", "");
    var items = Array.prototype.slice.call(list.children);
    var count = items.length;
    var hint = make("p", "csbp-ordering-hint", "Give each step its position, 1 to " + count + ".");
    hint.id = question.getAttribute("data-question") + "-" + question.closest("form").getAttribute("data-module") + "-hint";
    list.parentNode.insertBefore(hint, list);
    items.forEach(function (item, index) {
      var text = item.textContent;
      item.textContent = "";
      var label = make("label", "csbp-ordering-item");
      var select = make("select");
      select.name = "rank-" + index;
      select.setAttribute("aria-describedby", hint.id);
      select.appendChild(new Option("–", ""));
      for (var n = 1; n <= count; n++) select.appendChild(new Option(String(n), String(n)));
      label.appendChild(select);
      label.appendChild(document.createTextNode(" " + text));
      item.appendChild(label);
      item.appendChild(make("p", "csbp-feedback"));
      item.querySelector(".csbp-feedback").hidden = true;
    });
    list.classList.add("csbp-ordering--interactive");
  }

  function arrange(form) {
    /* Shuffle options and ordering items, and draw the question pool for this attempt. */
    var questions = Array.prototype.slice.call(form.querySelectorAll(".csbp-question"));
    questions.forEach(function (q) {
      var options = Array.prototype.slice.call(q.querySelectorAll(".csbp-option"));
      if (q.getAttribute("data-type") !== "true-false" && options.length) {
        var parent = options[0].parentNode;
        var anchor = options[options.length - 1].nextSibling;
        shuffle(options).forEach(function (o) {
          parent.insertBefore(o, anchor);
        });
      }
      var list = q.querySelector("ol.csbp-ordering");
      if (list) shuffle(Array.prototype.slice.call(list.children)).forEach(function (li) {
        list.appendChild(li);
      });
    });
    var draw = parseInt(form.getAttribute("data-draw") || "0", 10);
    var chosen = draw > 0 && draw < questions.length ? shuffle(questions.slice()).slice(0, draw) : questions;
    var number = 0;
    questions.forEach(function (q) {
      var active = chosen.indexOf(q) !== -1;
      q.hidden = !active;
      q.disabled = !active;
      if (active) {
        number += 1;
        var legend = q.querySelector("legend");
        legend.textContent = legend.textContent.replace(/^Question \d+\./, "Question " + number + ".");
      }
    });
  }

  function clearMarks(form) {
    form.querySelectorAll(".csbp-feedback").forEach(function (p) {
      p.hidden = true;
      if (p.hasAttribute("data-generated")) p.textContent = "";
    });
    form.querySelectorAll(".csbp-option, .csbp-ordering li").forEach(function (o) {
      o.classList.remove("csbp-option--correct", "csbp-option--wrong", "csbp-option--missed");
    });
    form.querySelectorAll(".csbp-question").forEach(function (q) {
      q.classList.remove("csbp-question--right", "csbp-question--wrong");
      var verdict = q.querySelector(".csbp-verdict");
      if (verdict) verdict.remove();
      var explanation = q.querySelector(".csbp-explanation");
      if (explanation) {
        explanation.hidden = true;
        explanation.open = false;
      }
    });
  }

  function showFeedback(option, text, kind) {
    var p = option.querySelector(".csbp-feedback");
    if (text) {
      p.textContent = text;
      p.setAttribute("data-generated", "");
    }
    p.hidden = false;
    option.classList.add("csbp-option--" + kind);
  }

  function markQuestion(q) {
    var type = q.getAttribute("data-type");
    var answered = false;
    var right = true;
    if (type === "ordering") {
      q.querySelectorAll(".csbp-ordering li").forEach(function (li) {
        var select = li.querySelector("select");
        var expected = parseInt(li.getAttribute("data-rank"), 10) + 1;
        if (select.value) answered = true;
        var ok = select.value === String(expected);
        right = right && ok;
        showFeedback(li, ok ? "Right position." : "This step belongs at position " + expected + ".", ok ? "correct" : "wrong");
      });
    } else {
      q.querySelectorAll(".csbp-option").forEach(function (option) {
        var input = option.querySelector("input");
        var correct = option.getAttribute("data-correct") === "true";
        if (input.checked) {
          answered = true;
          showFeedback(option, null, correct ? "correct" : "wrong");
          if (!correct) right = false;
        } else if (correct) {
          right = false;
          if (type === "multiple") showFeedback(option, null, "missed");
        }
      });
    }
    right = right && answered;
    q.classList.add(right ? "csbp-question--right" : "csbp-question--wrong");
    var verdict = make("p", "csbp-verdict", !answered ? "Not answered." : right ? "Correct." : "Not quite.");
    q.querySelector("legend").insertAdjacentElement("afterend", verdict);
    var explanation = q.querySelector(".csbp-explanation");
    if (explanation) {
      explanation.hidden = false;
      explanation.open = true;
    }
    return right;
  }

  function setLocked(form, locked) {
    form.querySelectorAll(".csbp-question:not([hidden]) input, .csbp-question:not([hidden]) select").forEach(function (input) {
      input.disabled = locked;
    });
  }

  function enhanceQuiz(form) {
    if (form.hasAttribute("data-enhanced")) return;
    form.setAttribute("data-enhanced", "");
    var moduleId = form.getAttribute("data-module");
    var passMark = parseInt(form.getAttribute("data-pass-mark") || "80", 10);
    form.querySelectorAll(".csbp-question").forEach(prepareOrdering);

    var status = make("p", "csbp-quiz-status");
    form.parentNode.insertBefore(status, form);
    var controls = make("div", "csbp-quiz-controls");
    var check = make("button", "md-button md-button--primary", "Check answers");
    check.type = "submit";
    var retry = make("button", "md-button", "Try again");
    retry.type = "button";
    retry.hidden = true;
    var result = make("div", "csbp-quiz-result");
    result.setAttribute("role", "status");
    result.setAttribute("aria-live", "polite");
    result.tabIndex = -1;
    controls.appendChild(check);
    controls.appendChild(retry);
    form.appendChild(controls);
    form.appendChild(result);

    function showStored() {
      var entry = readProgress().modules[moduleId];
      status.textContent = entry
        ? "Your best score so far: " + entry.best + "% (" + (entry.passed ? "passed on " + entry.completedDate : "not yet passed") +
          ", " + entry.attempts + " attempt" + (entry.attempts === 1 ? "" : "s") + ")."
        : "";
      status.hidden = !entry;
    }

    function start() {
      clearMarks(form);
      form.querySelectorAll("input").forEach(function (input) {
        input.checked = false;
      });
      form.querySelectorAll("select").forEach(function (select) {
        select.value = "";
      });
      arrange(form);
      setLocked(form, false);
      check.hidden = false;
      retry.hidden = true;
      result.textContent = "";
      result.className = "csbp-quiz-result";
      showStored();
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var active = Array.prototype.slice.call(form.querySelectorAll(".csbp-question:not([hidden])"));
      var right = active.filter(markQuestion).length;
      var score = Math.round((100 * right) / active.length);
      var passed = score >= passMark;
      var saved = recordAttempt(moduleId, score, passed);
      setLocked(form, true);
      check.hidden = true;
      retry.hidden = false;
      result.className = "csbp-quiz-result " + (passed ? "csbp-quiz-result--pass" : "csbp-quiz-result--fail");
      result.textContent =
        "You scored " + right + " of " + active.length + " (" + score + "%). The pass mark is " + passMark + "%: " +
        (passed ? "passed." : "not passed yet. Read the feedback and explanations, then try again.") +
        (saved ? "" : " (Progress could not be saved in this browser.)");
      showStored();
      showProgress(document);
      result.focus();
    });
    retry.addEventListener("click", function () {
      start();
      var first = form.querySelector(".csbp-question:not([hidden]) input, .csbp-question:not([hidden]) select");
      if (first) first.focus();
    });
    start();
  }

  function init() {
    document.querySelectorAll("form.csbp-quiz").forEach(enhanceQuiz);
    showProgress(document);
  }

  window.csbpProgress = { read: readProgress, write: writeProgress, show: showProgress, today: today, key: STORE_KEY };

  /* Run `fn` on every page view: at load, and after each of Material's instant navigations.
     The other handbook scripts (training.js, facets.js) start through this too. */
  function onPage(fn) {
    if (typeof window.document$ !== "undefined" && window.document$.subscribe) {
      window.document$.subscribe(fn);
    } else if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", fn);
    } else {
      fn();
    }
  }

  window.csbpOnPage = onPage;
  onPage(init);
})();
