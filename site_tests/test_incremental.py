"""Regenerations in one process (`csbp serve`) redo only what an edit can change.

Each shortcut is checked against the full work it stands for: a patched model against the
links an edit may change, kept fingerprints against fingerprints worked out afresh, a known
docs-tree listing against a stray file planted behind its back, remembered cross-check
findings against warnings that must come back every time. test_cache.py checks that every
regenerated tree equals a cold build; these tests check that the shortcuts are taken where
they may be, and not where they may not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SESSION = """
import hashlib, json, os, sys, time
from pathlib import Path
from csbp import model, pipeline
from csbp.config import HandbookPaths
from csbp.diagnostics import Report
from csbp.pagecache import Fingerprints
from csbp.pipeline import Progress, collection_paused, generate, validate

root = Path(sys.argv[1])
paths = HandbookPaths.at(root)
an_hour_ago = time.time() - 3600
for path in root.rglob("*"):  # old enough for file stats and folder listings to be trusted
    os.utime(path, (an_hour_ago, an_hour_ago))
facts = []


def regenerate(note, changed=None):
    report = Report()
    with collection_paused():
        corpus = validate(paths, report, Progress(quiet=True), changed=changed)
        assert corpus is not None and not report.errors, [d.format(root) for d in report.errors]
        generated = generate(paths, corpus, report, Progress(quiet=True), save=False, in_place=True)
    # Every entry page's fingerprint as this run took it over or worked it out, against one
    # worked out afresh from the same model and sources.
    kept = pipeline._ENTRY_PRINTS[str(paths.docs_dir)].entries
    digests = {(k, i): doc.digest for k, docs in corpus.documents.items() for i, doc in docs.items()}
    fresh = Fingerprints(generated.handbook, digests, hashlib.sha256(paths.vocabularies.read_bytes()).hexdigest())
    stale = [e.id for e in generated.handbook.entries() if kept[(e.kind, e.id)][0] != fresh.entry(e)]
    afresh = _built_afresh(corpus)
    facts.append({
        "note": note,
        "handbook": generated.handbook,
        "warnings": sorted(d.message for d in report.warnings),
        "stale_fingerprints": stale,
        "written": generated.stats.written,
        "removed": generated.stats.removed,
        "links_as_built_afresh": _links(generated.handbook) == _links(afresh[0]),
        "dropped_as_built_afresh": _dropped(report) == _dropped(afresh[1]),
    })


def _dropped(report):  # the warnings about links to entries left out of the audience
    return sorted(d.format(root) for d in report.warnings if "dropped" in d.message)


def _links(handbook):  # every practice's related practices and backlinks, in order
    return {p.id: ([r.id for r in p.related], [r.id for r in p.related_by]) for p in handbook.practices.values()}


def _built_afresh(corpus):  # the model of the same corpus built with nothing kept, and its report
    kept, report = model._MADE, Report()
    model._MADE = model._Made("")
    try:
        return model.build_model(corpus, "public", pipeline.build_date(), report), report
    finally:
        model._MADE = kept


def replace(relative, old, new):
    path = root / relative
    text = path.read_text()
    assert old in text, (relative, old)
    path.write_text(text.replace(old, new, 1))


regenerate("first")
page, folder = paths.docs_dir / "practices" / "staff-vetting.md", paths.docs_dir / "practices"
before = (page.stat().st_ino, page.read_bytes(), folder.stat().st_mtime_ns)
replace("practices/staff-vetting.yaml", "Check the identity", "Check the identity, references")
# The first edit after a build: the model compares the content of the edited file alone, the others
# are the very documents it was built from.
compared, made_from = [], model.SourceDocument.made_from


def _compared(doc):  # made_from, noting the files the model's patching asks it of
    if sys._getframe(1).f_code is model.ModelBuilder._patched.__code__:
        compared.append(doc.path.name)
    return made_from.fget(doc)


model.SourceDocument.made_from = property(_compared)
regenerate("summary")
model.SourceDocument.made_from = made_from
facts[-1]["compared"] = compared
after = (page.stat().st_ino, page.read_bytes(), folder.stat().st_mtime_ns)
facts[-1]["in_place"] = after[0] == before[0] and after[1] != before[1] and after[2] == before[2]
replace("practices/staff-vetting.yaml", "related: [perimeter-patrols]", "related: [vehicle-barriers]")
regenerate("link")
lesson = "content/lessons/frontage-attack.yaml"
replace(lesson, "practices: [vehicle-barriers]", "practices: [vehicle-barriers, staff-vetting]")
regenerate("lesson link")
marked = "related: [green-sharing-practice, vehicle-barriers]"
replace("practices/staff-vetting.yaml", "related: [vehicle-barriers]", marked)
regenerate("link to a marked practice")  # relinked: the link dropped, with its warning
# Edits checked but not generated (a link to no entry is an error), then the error fixed: the
# regeneration covers every edit since the last pages, not only those since the last check.
vetting, barriers = (str(root / "practices" / name) for name in ("staff-vetting.yaml", "vehicle-barriers.yaml"))
replace("practices/staff-vetting.yaml", marked, "related: [no-such-practice]")
assert validate(paths, Report(), Progress(quiet=True), changed={vetting}) is not None
replace("practices/vehicle-barriers.yaml", "known as HVM.", "known as HVM, checked yearly.")
os.utime(barriers, (an_hour_ago, an_hour_ago))  # settled: its next load takes it as it is
checked = Report()
validate(paths, checked, Progress(quiet=True), changed={barriers})
assert checked.errors, "the broken link is still reported"
replace("practices/staff-vetting.yaml", "related: [no-such-practice]", marked)
regenerate("after errors", changed={vetting})
replace("practices/vehicle-barriers.yaml", "title: Vehicle barriers", "title: Anti-ram barriers")
regenerate("title")
(paths.docs_dir / "practices" / "planted.md").write_text("# Planted")
(paths.docs_dir / "planted-folder").mkdir()
(paths.docs_dir / "planted-folder" / "page.md").write_text("# Planted")
regenerate("planted")
# A file planted in the same tick of the file system's clock as the last write in its folder
# leaves the folder's mtime as it was (forced here): the folder is listed all the same.
folder = paths.docs_dir / "practices"
status = folder.stat()
(folder / "same-tick.md").write_text("# Planted")
os.utime(folder, ns=(status.st_atime_ns, status.st_mtime_ns))
regenerate("same tick")
# Another writer replaces a page the tree still holds, and deletes another (as a build for
# another audience, or a clean-up, would): both are put back as this handbook has them.
replaced = paths.docs_dir / "practices" / "vehicle-barriers.md"
kept_text = replaced.read_bytes()
replaced.with_suffix(".tmp").write_text("# Someone else's page")
replaced.with_suffix(".tmp").replace(replaced)
(paths.docs_dir / "glossary.md").unlink()
regenerate("overwritten")
facts[-1]["restored"] = replaced.read_bytes() == kept_text and (paths.docs_dir / "glossary.md").is_file()
# As `csbp serve` with its watcher: the files reported changed are looked at, the others are not.
replace("practices/staff-vetting.yaml", "Check the identity, references", "Check the identity and references")
regenerate("reported", changed={str(root / "practices" / "staff-vetting.yaml")})
# A file whose last stat is trusted (not written in the last seconds), edited unreported.
replace("practices/perimeter-patrols.yaml", "at varied times", "at varied, unannounced times")
regenerate("not reported", changed=set())
regenerate("snapshot")  # what serve does when its snapshot of the sources differs
# An edit the schema turns down is reported, though every other file is taken as it was; then fixed.
replace("practices/staff-vetting.yaml", "tlp: TLP:CLEAR", "tlp: TLP:PURPLE")
turned_down = Report()
validate(paths, turned_down, Progress(quiet=True), changed={str(root / "practices" / "staff-vetting.yaml")})
replace("practices/staff-vetting.yaml", "tlp: TLP:PURPLE", "tlp: TLP:CLEAR")
regenerate("fixed", changed={str(root / "practices" / "staff-vetting.yaml")})
# A file that does not load (over the size limit) is reported at every check, also when the
# watcher reports only another file, until it loads again.
oversized = root / "practices" / "perimeter-patrols.yaml"
kept_text = oversized.read_text()
os.utime(oversized, (an_hour_ago, an_hour_ago))
regenerate("settled", changed={str(oversized)})  # its stat trusted from here on
oversized.write_text(kept_text + "#" * 1_100_000 + "\\n")
too_big = [Report(), Report()]
validate(paths, too_big[0], Progress(quiet=True), changed={str(oversized)})
replace("practices/staff-vetting.yaml", "Check the identity and references", "Check the identity and all references")
validate(paths, too_big[1], Progress(quiet=True), changed={str(root / "practices" / "staff-vetting.yaml")})
oversized.write_text(kept_text)
regenerate("loads again", changed={str(oversized)})

result = []
for before, after in zip(facts, facts[1:]):
    same = [e.id for e in after["handbook"].entries() if e is next(
        (b for b in before["handbook"].entries() if (b.kind, b.id) == (e.kind, e.id)), None)]
    result.append({k: v for k, v in after.items() if k != "handbook"} | {"same_objects": len(same)})
print(json.dumps({"turned_down": [d.format(root) for d in turned_down.errors],
                  "too_big": [[d.format(root) for d in r.errors] for r in too_big],
                  "first_warnings": facts[0]["warnings"], "first_stale": facts[0]["stale_fingerprints"],
                  "entries": len(facts[0]["handbook"].entries()), "steps": result}))
"""


def run_session(handbook: Path, tmp_path: Path) -> dict:
    overdue = handbook / "practices" / "perimeter-patrols.yaml"
    text = overdue.read_text()
    assert "last_reviewed: " in text
    start = text.index("last_reviewed: ")
    overdue.write_text(text[:start] + "last_reviewed: 2001-01-01" + text[text.index("\n", start) :])
    environment = {**os.environ, "CSBP_CACHE_KEY_DIR": str(tmp_path / "key")}
    result = subprocess.run(
        [sys.executable, "-c", SESSION, str(handbook)], capture_output=True, text=True, env=environment, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_kept_shortcuts_give_what_the_full_work_would(handbook, tmp_path):
    session = run_session(handbook, tmp_path)
    steps = {step["note"]: step for step in session["steps"]}
    entries = session["entries"]

    # A summary edit changes no link: the model is the last one, patched; so is an edit of a
    # practice's related practices (relinked in place); another link edit builds it anew.
    assert steps["summary"]["same_objects"] == entries
    assert set(steps["summary"]["compared"]) == {"staff-vetting.yaml"}
    assert steps["link"]["same_objects"] == entries
    assert steps["lesson link"]["same_objects"] == 0
    assert steps["title"]["same_objects"] == entries
    # Patched or built anew, every practice links and is linked back as a full build links it.
    assert steps["link to a marked practice"]["same_objects"] == entries
    assert "practices/vehicle-barriers.md" in steps["after errors"]["written"]
    for step in steps.values():
        assert step["links_as_built_afresh"], step["note"]
        assert step["dropped_as_built_afresh"], step["note"]

    # Fingerprints taken over from the last run equal fingerprints worked out afresh, after every edit.
    assert session["first_stale"] == []
    for step in steps.values():
        assert step["stale_fingerprints"] == [], step["note"]

    # The overdue review is warned about at every regeneration, not only when its file is checked.
    overdue = [w for w in session["first_warnings"] if "review overdue" in w]
    assert overdue
    for step in steps.values():
        assert [w for w in step["warnings"] if "review overdue" in w] == overdue, step["note"]

    # Files planted in the docs tree behind the generator's back are found and removed, though
    # this process knows what it left there.
    assert sorted(steps["planted"]["removed"]) == ["planted-folder/page.md", "practices/planted.md"]
    assert not (handbook / "build" / "docs" / "planted-folder").exists()
    assert steps["same tick"]["removed"] == ["practices/same-tick.md"]
    assert "practices/staff-vetting.md" in steps["summary"]["written"]
    # A changed page is overwritten where it is: its inode and its folder stay as they were.
    assert steps["summary"]["in_place"]
    assert steps["overwritten"]["restored"]

    # With the watcher's list of changed files, the loader takes the others as they were without
    # a stat; the snapshot that serve takes every few seconds finds an edit it was not told of.
    assert "practices/staff-vetting.md" in steps["reported"]["written"]
    assert steps["not reported"]["written"] == []
    assert "practices/perimeter-patrols.md" in steps["snapshot"]["written"]
    assert [e for e in session["turned_down"] if "practices/staff-vetting.yaml" in e and "TLP:PURPLE" in e]
    for errors in session["too_big"]:
        assert [e for e in errors if "practices/perimeter-patrols.yaml" in e and "byte limit" in e], errors
    assert "practices/perimeter-patrols.md" not in steps["loads again"]["written"]  # as it was
    assert {"practices/vehicle-barriers.md", "glossary.md"} <= set(steps["overwritten"]["written"])
