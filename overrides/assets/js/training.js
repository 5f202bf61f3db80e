/* CSBP training tools: My progress (export, import, completion record), Assign modules (a
   link that holds the assignment) and the learner's assignment checklist.
   Plain JavaScript, no network, no server: everything lives in the URL or in this browser's
   storage, through window.csbpProgress from csbp.js. Text from the URL is untrusted and only
   ever reaches the page as textContent. */
(function () {
  "use strict";

  var FILE_FORMAT = "csbp-progress";
  var DATE = /^\d{4}-\d{2}-\d{2}$/;

  function store() {
    return window.csbpProgress;
  }

  function today() {
    return store().today();
  }

  function field(root, name) {
    return root.querySelector('[data-field="' + name + '"]');
  }

  /* The hidden module catalogue every tool page carries: id → {title, href, minutes, passMark, item}. */
  function catalogue(root) {
    var modules = {};
    root.querySelectorAll(".csbp-catalogue li[data-module]").forEach(function (item) {
      var link = item.querySelector("a");
      modules[item.getAttribute("data-module")] = {
        title: link.textContent,
        href: link.getAttribute("href"),
        minutes: parseInt(item.getAttribute("data-minutes") || "0", 10),
        passMark: parseInt(item.getAttribute("data-pass-mark") || "0", 10),
        item: item,
      };
    });
    return modules;
  }

  function reveal(root) {
    root.querySelectorAll(".csbp-needs-script").forEach(function (note) {
      note.hidden = true;
    });
  }

  function minutesText(minutes) {
    var hours = Math.floor(minutes / 60);
    var rest = minutes % 60;
    if (!hours) return rest + " min";
    return rest ? hours + " h " + rest + " min" : hours + " h";
  }

  /* ---------- My progress ---------- */

  function fillProgressTable(table) {
    var data = store().read();
    table.querySelectorAll("tr[data-module]").forEach(function (row) {
      var entry = data.modules[row.getAttribute("data-module")];
      field(row, "best").textContent = entry ? entry.best + "%" : "–";
      field(row, "attempts").textContent = entry ? String(entry.attempts) : "0";
      field(row, "completedDate").textContent = entry && entry.passed ? entry.completedDate : "–";
    });
  }

  /* Merge two progress stores: the best score, the most attempts, the earliest completion. */
  function merge(current, incoming) {
    var merged = { modules: {} };
    Object.keys(current.modules).forEach(function (id) {
      merged.modules[id] = current.modules[id];
    });
    Object.keys(incoming.modules).forEach(function (id) {
      var theirs = incoming.modules[id];
      var ours = merged.modules[id];
      if (!ours) {
        merged.modules[id] = theirs;
        return;
      }
      var both = {
        best: Math.max(ours.best, theirs.best),
        attempts: Math.max(ours.attempts, theirs.attempts),
        passed: ours.passed || theirs.passed,
        last: ours.lastDate >= theirs.lastDate ? ours.last : theirs.last,
        lastDate: ours.lastDate >= theirs.lastDate ? ours.lastDate : theirs.lastDate,
      };
      var dates = [ours, theirs]
        .filter(function (e) {
          return e.passed && e.completedDate;
        })
        .map(function (e) {
          return e.completedDate;
        })
        .sort();
      if (dates.length) both.completedDate = dates[0];
      merged.modules[id] = both;
    });
    merged.learner = current.learner || incoming.learner || "";
    return merged;
  }

  /* Only well-formed entries are taken from a file: numbers in range, ISO dates, known keys. */
  function parseProgressFile(text, known) {
    var data = JSON.parse(text);
    if (!data || data.format !== FILE_FORMAT || typeof data.modules !== "object") {
      throw new Error("not a progress file");
    }
    var clean = { modules: {}, learner: typeof data.learner === "string" ? data.learner.slice(0, 80) : "" };
    var skipped = 0;
    Object.keys(data.modules).forEach(function (id) {
      var e = data.modules[id];
      var ok =
        known[id] && e && typeof e.best === "number" && e.best >= 0 && e.best <= 100 &&
        typeof e.attempts === "number" && e.attempts >= 0 && typeof e.passed === "boolean" &&
        (!e.passed || DATE.test(e.completedDate || "")) && DATE.test(e.lastDate || "");
      if (!ok) {
        skipped += 1;
        return;
      }
      clean.modules[id] = {
        best: Math.round(e.best),
        attempts: Math.round(e.attempts),
        passed: e.passed,
        last: typeof e.last === "number" ? Math.round(e.last) : Math.round(e.best),
        lastDate: e.lastDate,
      };
      if (e.passed) clean.modules[id].completedDate = e.completedDate;
    });
    return { data: clean, skipped: skipped };
  }

  function download(name, text) {
    var blob = new Blob([text], { type: "application/json" });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.appendChild(link);
    link.click();
    setTimeout(function () {
      URL.revokeObjectURL(link.href);
      link.remove();
    }, 0);
  }

  function fillRecord(tool, modules) {
    var data = store().read();
    field(tool, "learner").textContent = data.learner || "(name not entered)";
    field(tool, "today").textContent = today();
    field(tool, "site").textContent = document.title.split(" - ").pop();
    var rows = field(tool, "rows");
    rows.textContent = "";
    var done = Object.keys(modules).filter(function (id) {
      return data.modules[id] && data.modules[id].passed;
    });
    done.forEach(function (id) {
      var entry = data.modules[id];
      var row = document.createElement("tr");
      [modules[id].title, entry.best + "%", modules[id].passMark + "%", entry.completedDate].forEach(function (text) {
        var cell = document.createElement("td");
        cell.textContent = text;
        row.appendChild(cell);
      });
      rows.appendChild(row);
    });
    field(tool, "empty").hidden = done.length > 0;
  }

  function initProgressPage(root) {
    var table = root.querySelector('[data-tool="progress-table"]');
    if (!table || table.hasAttribute("data-enhanced")) return;
    table.setAttribute("data-enhanced", "");
    var modules = catalogue(root);
    var fileTool = root.querySelector('[data-tool="progress-file"]');
    var recordTool = root.querySelector('[data-tool="record"]');
    var status = fileTool.querySelector(".csbp-tool-status");
    var name = recordTool.querySelector("#csbp-learner-name");

    function refresh() {
      fillProgressTable(table);
      store().show(root);
      fillRecord(recordTool, modules);
    }

    fileTool.querySelector('[data-action="export"]').addEventListener("click", function () {
      var data = store().read();
      var file = { format: FILE_FORMAT, version: 1, exported: today(), learner: data.learner || "", modules: data.modules };
      download("csbp-progress-" + today() + ".json", JSON.stringify(file, null, 2) + "\n");
      status.textContent = "Progress file downloaded: " + Object.keys(data.modules).length + " module(s).";
    });
    fileTool.querySelector("input[type=file]").addEventListener("change", function (event) {
      var file = event.target.files && event.target.files[0];
      if (!file) return;
      var reader = new FileReader();
      reader.onload = function () {
        var parsed;
        try {
          parsed = parseProgressFile(String(reader.result), modules);
        } catch (e) {
          status.textContent = "That file is not a CSBP progress file; nothing was changed.";
          return;
        }
        var merged = merge(store().read(), parsed.data);
        if (!store().write(merged)) {
          status.textContent = "This browser does not allow saving progress; nothing was changed.";
          return;
        }
        name.value = merged.learner || "";
        refresh();
        status.textContent =
          "Loaded results for " + Object.keys(parsed.data.modules).length + " module(s)" +
          (parsed.skipped ? "; " + parsed.skipped + " unknown or damaged entries were left out." : ".");
      };
      reader.readAsText(file);
      event.target.value = "";
    });
    name.value = store().read().learner || "";
    name.addEventListener("input", function () {
      var data = store().read();
      data.learner = name.value.slice(0, 80);
      store().write(data);
      fillRecord(recordTool, modules);
    });
    recordTool.querySelector('[data-action="print"]').addEventListener("click", function () {
      document.body.classList.add("csbp-printing-record");
      window.print();
      document.body.classList.remove("csbp-printing-record");
    });
    fileTool.hidden = false;
    recordTool.hidden = false;
    reveal(root);
    refresh();
  }

  /* ---------- Assign modules (trainer) ---------- */

  function initAssignPage(root) {
    var form = root.querySelector('form[data-tool="assign"]');
    if (!form || form.hasAttribute("data-enhanced")) return;
    form.setAttribute("data-enhanced", "");
    var result = form.querySelector(".csbp-assign-result");
    var boxes = Array.prototype.slice.call(form.querySelectorAll('input[name="module"]'));

    form.querySelectorAll("[data-path-modules]").forEach(function (button) {
      button.addEventListener("click", function () {
        var ids = button.getAttribute("data-path-modules").split(/\s+/);
        boxes.forEach(function (box) {
          box.checked = ids.indexOf(box.value) >= 0;
        });
      });
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var chosen = boxes.filter(function (box) {
        return box.checked;
      });
      result.textContent = "";
      if (!chosen.length) {
        result.textContent = "Pick at least one module.";
        result.focus();
        return;
      }
      var query = new URLSearchParams();
      var group = form.elements.group.value.trim();
      if (group) query.set("group", group.slice(0, 80));
      if (DATE.test(form.elements.due.value)) query.set("due", form.elements.due.value);
      query.set("modules", chosen.map(function (box) {
        return box.value;
      }).join(","));
      var url = new URL(form.getAttribute("data-target"), window.location.href);
      url.search = query.toString();
      url.hash = "";
      var minutes = chosen.reduce(function (sum, box) {
        return sum + parseInt(box.getAttribute("data-minutes") || "0", 10);
      }, 0);

      var summary = document.createElement("p");
      summary.textContent =
        "Link ready: " + chosen.length + " module(s), about " + minutesText(minutes) + " of study. Send it to your group.";
      var label = document.createElement("label");
      label.setAttribute("for", "csbp-assign-link");
      label.textContent = "Link to send";
      var output = document.createElement("input");
      output.type = "text";
      output.id = "csbp-assign-link";
      output.readOnly = true;
      output.value = url.href;
      var copy = document.createElement("button");
      copy.type = "button";
      copy.className = "md-button csbp-small-button";
      copy.textContent = "Copy the link";
      var open = document.createElement("a");
      open.href = url.href;
      open.textContent = "Open the assignment as a learner sees it";
      var copied = document.createElement("span");
      copy.addEventListener("click", function () {
        output.select();
        var done = function () {
          copied.textContent = " Copied.";
        };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(url.href).then(done, function () {
            copied.textContent = " Select the link and copy it with your keyboard.";
          });
        } else {
          done();
        }
      });
      var line = document.createElement("p");
      line.appendChild(label);
      line.appendChild(document.createElement("br"));
      line.appendChild(output);
      line.appendChild(copy);
      line.appendChild(copied);
      var opener = document.createElement("p");
      opener.appendChild(open);
      result.appendChild(summary);
      result.appendChild(line);
      result.appendChild(opener);
      result.focus();
    });
    form.hidden = false;
    reveal(root);
  }

  /* ---------- Your assignment (learner) ---------- */

  function initAssignmentPage(root) {
    var tool = root.querySelector('[data-tool="assignment"]');
    if (!tool || tool.hasAttribute("data-enhanced")) return;
    tool.setAttribute("data-enhanced", "");
    var modules = catalogue(root);
    var query = new URLSearchParams(window.location.search);
    var requested = (query.get("modules") || "").split(",").map(function (id) {
      return id.trim();
    }).filter(Boolean);
    tool.hidden = false;
    reveal(root);
    if (!requested.length) return;

    tool.querySelector(".csbp-assignment-none").hidden = true;
    tool.querySelector(".csbp-assignment-details").hidden = false;
    var group = (query.get("group") || "").slice(0, 80);
    var due = query.get("due") || "";
    field(tool, "group").textContent = group ? "Group: " + group + ". " : "";
    if (DATE.test(due)) {
      var late = due < today();
      field(tool, "due").textContent = "Due " + due + (late ? ": the due date has passed." : ".");
      field(tool, "due").className = late ? "csbp-overdue" : "";
    }

    var list = field(tool, "list");
    var seen = {};
    var unknown = [];
    var known = [];
    requested.forEach(function (id) {
      if (seen[id]) return;
      seen[id] = true;
      if (modules[id]) known.push(id);
      else unknown.push(id);
    });
    known.forEach(function (id) {
      var item = modules[id].item.cloneNode(true);
      list.appendChild(item);
    });
    if (unknown.length) {
      var note = field(tool, "unknown");
      note.hidden = false;
      note.textContent =
        "Not in this edition of the handbook (ask your trainer): " + unknown.slice(0, 20).join(", ") + ".";
    }
    function count() {
      var data = store().read();
      var done = known.filter(function (id) {
        return data.modules[id] && data.modules[id].passed;
      }).length;
      field(tool, "count").textContent = done + " of " + known.length + " module(s) completed" +
        (done === known.length && known.length ? ": assignment complete." : ".");
    }
    store().show(tool);
    count();
  }

  /* A print button beside the handout's print hint (the hint alone still works without script). */
  function initPrintButtons(root) {
    root.querySelectorAll(".csbp-print-action:not([data-enhanced])").forEach(function (hint) {
      hint.setAttribute("data-enhanced", "");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "md-button csbp-small-button";
      button.textContent = "Print this handout";
      button.addEventListener("click", function () {
        window.print();
      });
      hint.insertBefore(button, hint.firstChild);
    });
  }

  function init() {
    initPrintButtons(document);
    if (!store()) return;
    initProgressPage(document);
    initAssignPage(document);
    initAssignmentPage(document);
  }

  window.csbpOnPage(init); /* from csbp.js, loaded first */
})();
