"""Build caches under build/.cache speed up rebuilds but never change what a build produces.

A pull request can commit files under build/.cache, so a planted cache file must be ignored
(no code runs, no forged HTML reaches a page) and a warm build must equal a cold one.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from csbp import cachefile

GENERATE = """
import json, sys
from pathlib import Path
from csbp.config import HandbookPaths
from csbp.diagnostics import Report
from csbp.pipeline import Progress, generate, validate

paths = HandbookPaths.at(Path(sys.argv[1]))
report, progress = Report(), Progress(quiet=True)
corpus = validate(paths, report, progress)
assert corpus is not None and not report.errors, [d.format(paths.root) for d in report.errors]
generated = generate(paths, corpus, report, progress)
print(json.dumps({"written": generated.stats.written}))
"""


def generate(root: Path, key_dir: Path, **env: str) -> list[str]:
    """The generator stages (no MkDocs) in a fresh process, as `csbp build` runs them; the files it wrote."""
    environment = {**os.environ, "CSBP_CACHE_KEY_DIR": str(key_dir), **env}
    result = subprocess.run(
        [sys.executable, "-c", GENERATE, str(root)], capture_output=True, text=True, env=environment, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])["written"]


def tree_bytes(root: Path) -> dict[str, bytes]:
    docs = root / "build" / "docs"
    return {p.relative_to(docs).as_posix(): p.read_bytes() for p in sorted(docs.rglob("*")) if p.is_file()}


def cold_tree(root: Path, tmp_path: Path) -> dict[str, bytes]:
    """The docs tree of a build without any cache, of a copy of the same sources."""
    import shutil

    copy = tmp_path / "cold"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("build"))
    generate(copy, tmp_path / "cold-key", CSBP_NO_CACHE="1")
    return tree_bytes(copy)


class _Exploit:
    def __reduce__(self):  # unpickling this would create the marker file
        return (os.system, (f"touch {MARKER}",))


MARKER = Path("/tmp/csbp-cache-exploit-ran")


def _signed_wrong_shape(path: Path, stamp: str) -> None:
    cachefile.write(path, stamp, {"parsed": [1, 2], "valid": {"x": ["a", "b"]}, "rendered": {"t": "not a pair"}})


PLANTS = {
    "pickle payload": lambda path, stamp: path.write_bytes(pickle.dumps(_Exploit())),
    "binary junk": lambda path, stamp: path.write_bytes(b"\x80\x04\x00junk\xff\xfe" * 100),
    "unsigned JSON of the wrong shape": lambda path, stamp: path.write_text(json.dumps({"stamp": stamp, "data": []})),
    "signed JSON of the wrong shape": _signed_wrong_shape,
    "truncated signed file": lambda path, stamp: path.write_bytes(path.read_bytes()[:-20]),
}


@pytest.mark.parametrize("plant", PLANTS, ids=list(PLANTS))
def test_a_planted_cache_file_is_ignored_and_the_build_stays_correct(handbook, tmp_path, monkeypatch, plant):
    from csbp.loader import _SOURCE_STAMP
    from csbp.markup import RenderCache

    key_dir = tmp_path / "key"
    monkeypatch.setenv("CSBP_CACHE_KEY_DIR", str(key_dir))
    MARKER.unlink(missing_ok=True)
    generate(handbook, key_dir)  # a real cache first, so "truncated" has something to cut
    cache = handbook / "build" / ".cache"
    for name, stamp in (("sources.json", _SOURCE_STAMP), ("markdown.json", RenderCache._stamp())):
        PLANTS[plant](cache / name, stamp)
    (cache / "sources.pickle").write_bytes(pickle.dumps(_Exploit()))  # an old cache name: never read either
    (handbook / "build" / "docs").joinpath("index.md").write_text("stale")
    generate(handbook, key_dir)
    assert not MARKER.exists()
    assert tree_bytes(handbook) == cold_tree(handbook, tmp_path)


def test_forged_html_in_a_cache_signed_by_someone_else_never_reaches_a_page(handbook, tmp_path):
    generate(handbook, tmp_path / "key")
    saved = handbook / "build" / ".cache" / "markdown.json"
    mac, _, body = saved.read_bytes().partition(b"\n")
    document = json.loads(body)
    assert document["data"]["rendered"], "the fixture has Markdown texts"
    for text in document["data"]["rendered"]:
        document["data"]["rendered"][text] = ['<script>alert("forged")</script>', []]
    forged = json.dumps(document).encode()
    saved.write_bytes(b"0" * len(mac) + b"\n" + forged)  # the attacker does not know this machine's key
    generate(handbook, tmp_path / "key")
    pages = tree_bytes(handbook)
    assert not any(b"forged" in content for content in pages.values())
    assert pages == cold_tree(handbook, tmp_path)


def _saved_renderings(handbook: Path) -> set[str]:
    body = (handbook / "build" / ".cache" / "markdown.json").read_bytes().partition(b"\n")[2]
    return set(json.loads(body)["data"]["rendered"])


def test_a_warm_build_that_renders_nothing_keeps_the_saved_markdown(handbook, tmp_path):
    generate(handbook, tmp_path / "key")
    cold = _saved_renderings(handbook)
    assert cold, "the fixture has Markdown texts"
    generate(handbook, tmp_path / "key")  # nothing changed: nothing validated or rendered again
    assert _saved_renderings(handbook) == cold
    practice = next((handbook / "practices").glob("*.yaml"))
    practice.write_text(practice.read_text().replace("title: ", "title: Edited ", 1))
    generate(handbook, tmp_path / "key")  # one entry validated again: the others' renderings stay
    assert _saved_renderings(handbook) == cold


def test_a_repeated_build_that_changes_nothing_rewrites_no_file(handbook, tmp_path):
    # Neither a page, the generated config nor a cache file: a repeated build costs reads only.
    generate(handbook, tmp_path / "key")
    generate(handbook, tmp_path / "key")  # the second run may store what the first could not know yet

    def stamps() -> dict[str, int]:
        return {p.relative_to(handbook).as_posix(): p.stat().st_mtime_ns for p in (handbook / "build").rglob("*")}

    before = stamps()
    assert any(name.startswith("build/.cache/") for name in before)
    assert generate(handbook, tmp_path / "key") == []
    assert stamps() == before


def test_cache_files_are_plain_json_behind_a_signature(handbook, tmp_path):
    generate(handbook, tmp_path / "key")
    for name in ("sources.json", "markdown.json"):
        mac, newline, body = (handbook / "build" / ".cache" / name).read_bytes().partition(b"\n")
        assert newline and len(mac) == 64
        assert set(json.loads(body)) == {"stamp", "data"}
    assert (tmp_path / "key" / "cache.key").stat().st_mode & 0o077 == 0


SERVE_LIKE = """
import sys
from pathlib import Path
from csbp.config import HandbookPaths
from csbp.diagnostics import Report
from csbp.pipeline import Progress, generate, validate

paths = HandbookPaths.at(Path(sys.argv[1]))
for step in range(2):
    if step:
        source = Path(sys.argv[2])
        source.write_text(source.read_text().replace(sys.argv[3], sys.argv[4]))
    report = Report()
    corpus = validate(paths, report, Progress(quiet=True))
    generate(paths, corpus, report, Progress(quiet=True))
"""

EDITS = {
    "title of a linked practice": (
        "practices/vehicle-barriers.yaml",
        "title: Vehicle barriers at crowded frontages",
        "title: Rated vehicle barriers at crowded frontages",
    ),
    "title of a module": (
        "content/modules/frontage-basics.yaml",
        "title: Frontage security basics",
        "title: Frontage security, the basics",
    ),
    "new related link": ("practices/vehicle-barriers.yaml", "summary:", "related: [staff-vetting]\nsummary:"),
    "summary of a listed practice": (
        "practices/staff-vetting.yaml",
        "Check the identity",
        "Check the identity, references",
    ),
    "facet term added": ("practices/staff-vetting.yaml", "pillars: [prevent]", "pillars: [prevent, protect]"),
    "glossary in the vocabularies": (
        "content/vocabularies.yaml",
        "\nglossary:\n",
        "\nglossary:\n  RVB:\n    label: crowded frontages\n    description: A term made up for this test.\n",
    ),
}


@pytest.mark.parametrize("edit", EDITS, ids=list(EDITS))
def test_a_warm_build_after_one_edit_equals_a_cold_build_byte_for_byte(handbook, tmp_path, edit):
    relative, old, new = EDITS[edit]
    key_dir = tmp_path / "key"
    generate(handbook, key_dir)
    source = handbook / relative
    assert old in source.read_text()
    source.write_text(source.read_text().replace(old, new, 1))
    written = generate(handbook, key_dir)  # a second process: caches read from build/.cache
    if relative.startswith("practices/"):
        assert f"practices/{Path(relative).stem}.md" in written
    assert tree_bytes(handbook) == cold_tree(handbook, tmp_path)


def test_serve_style_regeneration_in_one_process_equals_a_cold_build(handbook, tmp_path):
    relative, old, new = EDITS["title of a linked practice"]
    environment = {**os.environ, "CSBP_CACHE_KEY_DIR": str(tmp_path / "key")}
    result = subprocess.run(
        [sys.executable, "-c", SERVE_LIKE, str(handbook), str(handbook / relative), old, new],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert tree_bytes(handbook) == cold_tree(handbook, tmp_path)


# A `csbp serve` session: every edit regenerated in the same process, as serve does it (caches
# saved and garbage collected only once edits pause). Listing pages then reuse the rows of
# unchanged entries from their previous text, and unchanged files are skipped by their stat.
# What both sessions start with: the handbook's sources made old enough for the loader to trust
# their stat. Each then lists its STEPS and ends with SESSION_STEPS, which regenerates after each
# edit as serve does (caches saved every UPKEEP_EVERY steps) and copies sources and tree aside.
SESSION_START = """
import os, shutil, sys, time
from pathlib import Path
from csbp.config import HandbookPaths
from csbp.diagnostics import Report
from csbp.pipeline import Progress, collection_paused, generate, upkeep, validate

root, out = Path(sys.argv[1]), Path(sys.argv[2])
paths = HandbookPaths.at(root)
an_hour_ago = time.time() - 3600
for path in root.rglob("*.yaml"):  # old enough for the loader to trust their stat
    os.utime(path, (an_hour_ago, an_hour_ago))
"""

SESSION_STEPS = """
def sources():  # what a watcher would report: the source files whose stat moved
    found = {}
    for folder in (root / "practices", root / "content"):
        for path in folder.rglob("*"):
            if path.is_file():
                status = path.stat()
                found[str(path)] = (status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino)
    return found


WATCHED = sys.argv[3] == "watched"
for number, step in enumerate([lambda: None, *STEPS]):
    before = sources()
    step()
    after = sources()
    reported = {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}
    report = Report()
    with collection_paused():
        corpus = validate(paths, report, Progress(quiet=True), changed=reported if WATCHED and number else None)
        assert corpus is not None and not report.errors, [d.format(root) for d in report.errors]
        generate(paths, corpus, report, Progress(quiet=True), save=False, in_place=True)
    if number % UPKEEP_EVERY == UPKEEP_EVERY - 1:
        upkeep(paths)
    shutil.copytree(root, out / f"step-{number}", ignore=shutil.ignore_patterns("build"))
    shutil.copytree(root / "build" / "docs", out / f"step-{number}-docs")
print(number)
"""


def run_session(steps: str, root: Path, tmp_path: Path, watched: bool = False) -> int:
    """Run a session's steps on `root` in a fresh process (`watched`: each regeneration told of
    the files that changed, as serve's watcher tells it); check that after each step the
    regenerated tree equals a cold build of the same sources; the number of steps."""
    out = tmp_path / "session"
    environment = {**os.environ, "CSBP_CACHE_KEY_DIR": str(tmp_path / "key")}
    mode = "watched" if watched else "polled"
    result = subprocess.run(
        [sys.executable, "-c", SESSION_START + steps + SESSION_STEPS, str(root), str(out), mode],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    steps_run = int(result.stdout.strip().splitlines()[-1])
    for number in range(steps_run + 1):
        assert docs_bytes(out / f"step-{number}-docs") == cold_tree(out / f"step-{number}", tmp_path), number
    return steps_run


SERVE_SESSION = """
UPKEEP_EVERY = 3
pristine = out / "pristine"
shutil.copytree(root, pristine)


def replace(relative, old, new):
    path = root / relative
    text = path.read_text()
    assert old in text, (relative, old)
    path.write_text(text.replace(old, new, 1))


def same_size_edit_keeping_mtime(relative, old, new):
    assert len(old) == len(new)
    path = root / relative
    before = path.stat()
    replace(relative, old, new)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # only the ctime tells


def back_to_pristine():
    for path in (root / "practices").glob("*.yaml"):
        path.unlink()
    shutil.copytree(pristine, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns("build"))


STEPS = [
    lambda: replace("practices/staff-vetting.yaml", "Check the identity", "Check the identity, references"),
    lambda: replace("practices/vehicle-barriers.yaml", "title: Vehicle barriers", "title: Anti-ram barriers"),
    lambda: replace("practices/staff-vetting.yaml", "pillars: [prevent]", "pillars: [prevent, protect]"),
    lambda: replace(
        "practices/perimeter-patrols.yaml",
        "change: added}",
        "change: added}\\n  - {date: 2026-03-01, change: revised, note: Patrol times drawn at random}",
    ),
    lambda: shutil.copy(root / "practices/staff-vetting.yaml", root / "practices/badge-checks.yaml"),
    lambda: replace("practices/badge-checks.yaml", "title: Staff vetting before access", "title: Badge checks"),
    lambda: (root / "practices/badge-checks.yaml").rename(root / "practices/gate-badge-checks.yaml"),
    lambda: (root / "practices/gate-badge-checks.yaml").unlink(),
    lambda: same_size_edit_keeping_mtime("content/lessons/frontage-attack.yaml", "by bollards", "by barriers"),
    lambda: replace(  # the whole history gone: What's new drops its lines
        "practices/perimeter-patrols.yaml",
        "history:\\n  - {date: 2026-02-01, change: added}\\n"
        "  - {date: 2026-03-01, change: revised, note: Patrol times drawn at random}\\n",
        "",
    ),
    # Edits that change links, a marking or a quiz: the model is built anew, not patched.
    lambda: replace(
        "practices/staff-vetting.yaml", "related: [perimeter-patrols]", "related: [perimeter-patrols, vehicle-barriers]"
    ),
    lambda: replace("practices/vehicle-barriers.yaml", "tlp: TLP:CLEAR", "tlp: TLP:AMBER"),
    lambda: replace("practices/vehicle-barriers.yaml", "tlp: TLP:AMBER", "tlp: TLP:CLEAR"),
    lambda: replace("content/modules/frontage-basics.yaml", "Crowds gather next to traffic.", "Crowds gather here."),
    lambda: replace(
        "content/modules/frontage-basics.yaml",
        "What keeps a hostile vehicle away from a crowd?",
        "What keeps a vehicle away from a crowd?",
    ),
    back_to_pristine,
]
"""


def docs_bytes(docs: Path) -> dict[str, bytes]:
    return {p.relative_to(docs).as_posix(): p.read_bytes() for p in sorted(docs.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("watched", [False, True], ids=["polled", "watched"])
def test_every_regeneration_of_a_serve_session_equals_a_cold_build(handbook, tmp_path, watched):
    """Edits that change listings (a summary, a title that reorders them, a new facet term, a
    history note, an added, renamed and deleted practice), one the file's stat hides but for its
    ctime, and a return to the original sources: after each, the tree equals a cold build."""
    run_session(SERVE_SESSION, handbook, tmp_path, watched)


def test_a_practice_deleted_between_two_builds_leaves_every_listing(handbook, tmp_path):
    """The second build reuses listing rows saved by the first; the deleted practice's rows go."""
    extra = handbook / "practices" / "badge-checks.yaml"
    extra.write_text(
        (handbook / "practices" / "staff-vetting.yaml").read_text().replace("Staff vetting", "Badge checks")
    )
    generate(handbook, tmp_path / "key")
    extra.unlink()
    written = generate(handbook, tmp_path / "key")
    assert "practices/index.md" in written
    assert tree_bytes(handbook) == cold_tree(handbook, tmp_path)
    assert not any(b"Badge checks" in content for content in tree_bytes(handbook).values())


SYNTH_SESSION = """
import yaml
UPKEEP_EVERY = 4


def edit(relative, change):
    path = root / relative
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def files(folder):
    return sorted(p.relative_to(root).as_posix() for p in (root / folder).glob("*.yaml"))


practices = files("practices")
by_review = sorted(practices, key=lambda p: yaml.safe_load((root / p).read_text())["last_reviewed"])
oldest, newest, middle = by_review[0], by_review[-1], by_review[len(by_review) // 2]
module = files("content/modules")[0]


def reviewed_now(data):  # into the home page's recently reviewed entries; the newest date of all
    data["last_reviewed"] = "2026-11-20"
    data["history"] = [*data.get("history", []), {"date": "2026-11-20", "change": "revised", "note": "Checked"}]


def reviewed_long_ago(data):  # out of them again; the newest date goes back
    data["last_reviewed"] = "2023-01-05"
    data["history"] = [item for item in data["history"] if item["date"] != "2026-11-20"]


STEPS = [
    lambda: edit(middle, lambda d: d.update(summary=d["summary"] + " Record every exception.")),
    lambda: edit(oldest, reviewed_now),
    lambda: edit(middle, lambda d: d.update(summary=d["summary"] + " Check it again.")),
    lambda: edit(oldest, reviewed_long_ago),
    lambda: edit(newest, lambda d: d.update(summary=d["summary"] + " Keep the log.")),
    lambda: edit(newest, lambda d: d.update(last_reviewed="2023-01-06")),
    lambda: edit(module, lambda d: d["quiz"]["questions"][0].update(prompt="Which step comes first, and why?")),
    lambda: edit(middle, lambda d: d.update(title="Aaa first by title")),
    lambda: edit(middle, lambda d: d.update(summary=d["summary"] + " Ask the owner.")),
    lambda: edit(middle, lambda d: d.update(aliases=["an-older-name"])),  # a redirect page more
    lambda: edit(middle, lambda d: d.pop("aliases")),
]
"""


def test_a_serve_session_on_a_larger_handbook_equals_cold_builds(tmp_path, monkeypatch):
    """With more entries than the home page lists, the results `csbp serve` takes over from the
    last regeneration (recently reviewed entries, What's new, the newest content date of the
    exports, the listings by kind and by term) are worked out from the edited entries only:
    an entry reviewed into and out of the recent list, the newest date moving forward and back,
    a quiz edit, a retitled practice, a former id added and dropped. After each, the tree equals
    a cold build."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import synth

    root = tmp_path / "handbook"
    synth.write_handbook(40, root)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795564800")  # 2026-11-25, for the session and the cold builds
    assert run_session(SYNTH_SESSION, root, tmp_path, watched=True) == 11
