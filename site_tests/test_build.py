"""`csbp build` end to end on the fixture handbook: pages, links, matrix, backlinks, safety."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from site_tests.support import REPO, csbp


def page(root: Path, url: str) -> str:
    return (root / "site" / url / "index.html").read_text("utf-8")


def test_every_entry_gets_its_page_at_its_stable_url(built_fixture):
    for url in (
        "practices/vehicle-barriers",
        "practices/perimeter-patrols",
        "practices/staff-vetting",
        "lessons/frontage-attack",
        "modules/frontage-basics",
        "browse/pillar/protect",
        "browse/matrix/protect-physical",
        "glossary",
        "about",
    ):
        assert (built_fixture / "site" / url / "index.html").is_file(), url


_LINK = re.compile(r'(?:href|src)="([^"]*)"')
_MARKDOWN_ESCAPE = re.compile(r"\\[`*_{}\[\]()#+\-.!|~]")


def test_every_link_between_pages_leads_to_a_file_and_anchor_of_the_site(built_fixture):
    # Entry pages and listings link with raw HTML, which the engine does not check: this does.
    site = built_fixture / "site"
    ids: dict[Path, set[str]] = {}
    broken = []
    for path in sorted(site.rglob("*.html")):
        if path.name == "404.html":  # the server's page: its links are root-absolute by design
            continue
        for url in _LINK.findall(path.read_text("utf-8")):
            if not url or url.startswith(("#", "/", "data:")) or re.match(r"[a-z][a-z0-9+.-]*:", url):
                continue
            address, _, fragment = url.replace("&amp;", "&").partition("#")
            address = address.split("?")[0]
            target = (path.parent / address).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{path.relative_to(site)}: {url}")
            elif fragment and target.suffix == ".html":
                if target not in ids:
                    ids[target] = set(re.findall(r'\bid="([^"]+)"', target.read_text("utf-8")))
                if fragment not in ids[target]:
                    broken.append(f"{path.relative_to(site)}: {url} (no such anchor)")
    assert broken == []


def test_no_markdown_escape_shows_on_any_page(built_fixture):
    for path in sorted((built_fixture / "site").rglob("*.html")):
        text = path.read_text("utf-8")
        if "<article" not in text:
            continue
        article = text.split("<article", 1)[1].split("</article>", 1)[0]
        visible = re.sub(r"<[^>]+>", " ", article)
        assert not _MARKDOWN_ESCAPE.search(visible), (path, _MARKDOWN_ESCAPE.search(visible))


def test_restricted_entries_are_absent_from_the_public_site(built_fixture):
    assert not (built_fixture / "site/practices/green-sharing-practice").exists()
    for path in (built_fixture / "site").rglob("*"):
        if path.is_file() and path.suffix in {".html", ".json", ".xml"}:
            text = path.read_text("utf-8", errors="replace")
            assert "green-sharing-practice" not in text and "Community-only sharing" not in text, path


def test_home_matrix_counts_and_links_each_cell(built_fixture):
    home = page(built_fixture, "")
    assert 'href="browse/matrix/protect-physical/">2' in home
    assert 'href="browse/matrix/prepare-cyber/">0' in home
    cell = page(built_fixture, "browse/matrix/protect-physical")
    assert "Vehicle barriers at crowded frontages" in cell and "Perimeter patrols with varied timing" in cell


def test_practice_page_shows_backlinks_and_facet_badges(built_fixture):
    html = page(built_fixture, "practices/vehicle-barriers")
    assert 'href="../../lessons/frontage-attack/"' in html
    assert 'href="../../modules/frontage-basics/"' in html
    assert 'href="../perimeter-patrols/"' in html
    assert 'class="csbp-badge csbp-badge--pillar" href="../../browse/pillar/protect/"' in html


def test_lesson_ties_each_lesson_to_its_practices(built_fixture):
    html = page(built_fixture, "lessons/frontage-attack")
    assert html.index("Lesson 2") < html.index('href="../../practices/staff-vetting/"')


def test_quiz_explanations_link_the_practice_that_teaches_them(built_fixture):
    html = page(built_fixture, "modules/frontage-basics")
    assert 'Learn more: <a href="../../practices/perimeter-patrols/">' in html
    assert html.count('class="csbp-question"') == 4


def test_trainer_pack_and_handout_are_pages_of_their_own_kept_out_of_search(built_fixture):
    module = page(built_fixture, "modules/frontage-basics")
    trainer = page(built_fixture, "modules/frontage-basics/trainer")
    handout = page(built_fixture, "modules/frontage-basics/handout")
    guide_point = "Design authority sits with the owner, advised by a security specialist."
    assert "csbp-answer-key" not in module and guide_point not in module  # no spoilers under the quiz
    assert "Who decides where barriers go on a new frontage?" in module
    assert trainer.count("<strong>Answer:</strong>") == 4 and guide_point in trainer
    assert 'href="../handout/"' in trainer and 'href="../../../downloads/frontage-basics.gift"' in trainer
    assert "Who decides where barriers go on a new frontage?" in handout and guide_point not in handout
    assert "csbp-answer-key" not in handout
    index = json.loads((built_fixture / "site/search/search_index.json").read_text("utf-8"))
    locations = {doc["location"].split("#")[0] for doc in index["docs"]}
    assert "modules/frontage-basics/" in locations
    assert not {"modules/frontage-basics/trainer/", "modules/frontage-basics/handout/"} & locations
    assert "training/assign/" in locations and "training/progress/" not in locations


def test_overdue_review_is_visible_on_the_page(built_fixture):
    assert "Review overdue" in page(built_fixture, "practices/staff-vetting")
    assert "Review overdue" not in page(built_fixture, "practices/vehicle-barriers")


def test_old_ids_redirect_to_the_renamed_page(built_fixture):
    redirect = (built_fixture / "site/practices/old-vehicle-barriers/index.html").read_text()
    assert 'http-equiv="refresh" content="0; url=../vehicle-barriers/"' in redirect


def test_search_index_holds_titles_summaries_and_keywords(built_fixture):
    index = json.loads((built_fixture / "site/search/search_index.json").read_text())
    titles = {doc["title"] for doc in index["docs"]}
    assert "Vehicle barriers at crowded frontages" in titles


def test_adding_one_yaml_file_adds_its_page_cell_facets_and_backlinks(handbook):
    assert csbp("build", "--root", str(handbook)).returncode == 0
    new = handbook / "practices/cyber-fallback.yaml"
    new.write_text(
        (handbook / "practices/vehicle-barriers.yaml")
        .read_text()
        .replace("Vehicle barriers at crowded frontages", "Manual fallback for terminal systems")
        .replace("dimensions: [physical]", "dimensions: [cyber]")
        .replace("pillars: [protect]", "pillars: [prepare]")
        .replace("aliases: [old-vehicle-barriers]", "related: [perimeter-patrols]")
    )
    result = csbp("build", "--root", str(handbook))
    assert result.returncode == 0, result.stderr
    assert "Manual fallback for terminal systems" in page(handbook, "practices/cyber-fallback")
    assert 'href="browse/matrix/prepare-cyber/">1' in page(handbook, "")
    assert "Manual fallback for terminal systems" in page(handbook, "browse/dimension/cyber")
    assert 'href="../cyber-fallback/"' in page(handbook, "practices/perimeter-patrols")
    index = json.loads((handbook / "site/search/search_index.json").read_text())
    assert any(doc["title"] == "Manual fallback for terminal systems" for doc in index["docs"])


def test_unchanged_output_files_are_not_rewritten(handbook):
    assert csbp("build", "--root", str(handbook)).returncode == 0
    docs = handbook / "build/docs"
    before = {p: p.stat().st_mtime_ns for p in docs.rglob("*.md")}
    time.sleep(0.05)
    path = handbook / "practices/staff-vetting.yaml"
    path.write_text(path.read_text().replace("Vet before access", "Vet before any access"))
    result = csbp("build", "--root", str(handbook))
    assert result.returncode == 0
    changed = {p.relative_to(docs).as_posix() for p, t in before.items() if p.stat().st_mtime_ns != t}
    assert changed == {"practices/staff-vetting.md"}


def test_a_failed_build_leaves_the_previous_site_untouched(handbook):
    assert csbp("build", "--root", str(handbook)).returncode == 0
    snapshot = {p: p.read_bytes() for p in (handbook / "site").rglob("*") if p.is_file()}
    (handbook / "practices/broken.yaml").write_text("title: [unclosed\n")
    result = csbp("build", "--root", str(handbook))
    assert result.returncode == 1 and "previous site/ is unchanged" in result.stderr
    assert {p: p.read_bytes() for p in (handbook / "site").rglob("*") if p.is_file()} == snapshot


def test_an_engine_failure_leaves_the_previous_site_untouched(handbook):
    assert csbp("build", "--root", str(handbook)).returncode == 0
    snapshot = sorted(p.relative_to(handbook) for p in (handbook / "site").rglob("*"))
    (handbook / "content/pages/broken-link.md").write_text("# Broken\n\n[missing](nowhere.md)\n")
    shutil.copy(handbook / "content/pages/broken-link.md", handbook / "content/pages/second.md")
    (handbook / "mkdocs.yml").write_text("site_name: x\ntheme: {name: material}\nnot_a_real_option: [\n")
    result = csbp("build", "--root", str(handbook))
    assert result.returncode == 1
    assert sorted(p.relative_to(handbook) for p in (handbook / "site").rglob("*")) == snapshot


def test_a_build_killed_midway_leaves_the_previous_site_intact(handbook):
    assert csbp("build", "--root", str(handbook)).returncode == 0
    snapshot = {p: p.read_bytes() for p in (handbook / "site").rglob("*") if p.is_file()}
    process = subprocess.Popen(
        [sys.executable, "-m", "csbp", "build", "--root", str(handbook)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    for line in process.stderr:
        if "write" in line:  # killed while the engine is building
            break
    time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert {p: p.read_bytes() for p in (handbook / "site").rglob("*") if p.is_file()} == snapshot
    assert csbp("build", "--root", str(handbook)).returncode == 0
    assert not list(handbook.glob(".site-*"))


def test_root_option_builds_another_repository_from_anywhere(handbook, tmp_path):
    result = csbp("build", "--root", str(handbook), cwd=tmp_path)
    assert result.returncode == 0 and (handbook / "site/index.html").is_file()
    assert not (tmp_path / "site").exists()


def test_hand_written_page_links_are_rewritten_and_checked(handbook):
    pages = handbook / "content/pages"
    (pages / "guide").mkdir()
    (pages / "guide/index.md").write_text("# Guide\n\nSee [the barriers](../practices/vehicle-barriers.md#context).\n")
    (pages / "guide/more.md").write_text("# More\n\nBack to [the guide](index.md).\n")
    result = csbp("build", "--root", str(handbook))
    assert result.returncode == 0, result.stderr
    assert 'href="../practices/vehicle-barriers/#context"' in page(handbook, "guide")
    assert 'href="../"' in page(handbook, "guide/more")
    config = (handbook / "build/mkdocs.yml").read_text()
    assert "- Guide:\n  - Guide: guide/index.md\n  - More: guide/more.md" in config
    (pages / "guide/more.md").write_text("# More\n\nA [broken link](missing.md).\n")
    result = csbp("build", "--root", str(handbook))
    assert result.returncode == 1
    assert "content/pages/guide/more.md:1:1: error: the link 'missing.md' points to no page" in result.stderr


def test_learning_path_lists_its_modules_in_order_and_modules_link_back(built_fixture):
    path_page = page(built_fixture, "paths/frontline-basics")
    steps = re.findall(r'<li><span class="csbp-progress" data-module="([a-z-]+)"', path_page)
    assert steps == ["frontage-basics", "patrol-refresher"]
    assert "50 min" in path_page and 'data-modules="frontage-basics patrol-refresher"' in path_page
    assert 'href="../../paths/frontline-basics/"' in page(built_fixture, "modules/patrol-refresher")
    assert 'href="frontline-basics/"' in page(built_fixture, "paths")


def test_whats_new_lists_history_items_newest_first_by_month(built_fixture):
    html = page(built_fixture, "whats-new")
    text = re.sub(r"<[^>]+>", "", html)
    months = re.findall(r"<h2 id=\"[a-z0-9-]+\">([^<]+)", html)
    assert months[:3] == ["June 2026", "February 2026", "November 2025"]
    assert "2026-06-01 · Revised practice: Vehicle barriers at crowded frontages. Rated barriers now required" in text
    assert text.index("2026-06-01 · Revised") < text.index("2026-02-01 · Added") < text.index("2025-11-03 · Added")


def test_a_retired_entry_stays_reachable_and_points_to_its_replacement(handbook):
    path = handbook / "practices/staff-vetting.yaml"
    path.write_text(
        path.read_text().replace("status: approved", "status: retired\nreplaced_by: vehicle-barriers", 1)
        + "history:\n  - {date: 2026-03-01, change: retired, note: Merged into vehicle barriers}\n"
    )
    result = csbp("build", "--root", str(handbook))
    assert result.returncode == 0, result.stderr
    retired = page(handbook, "practices/staff-vetting")
    assert "Retired entry" in retired and 'href="../vehicle-barriers/"' in retired
    assert "(overdue)" not in retired  # a retired entry is no longer due for review
    assert "Retired practice: Staff vetting" in re.sub(r"<[^>]+>", "", page(handbook, "whats-new")).replace("**", "")


def test_the_default_config_for_handbooks_without_one_matches_the_repository_config():
    """A handbook without its own mkdocs.yml gets the packaged copy: it must not lag behind
    (a missing script there silently turns off the quiz, facets or training tools)."""
    repository = yaml.safe_load((REPO / "mkdocs.yml").read_text("utf-8"))
    packaged = yaml.safe_load((REPO / "generator/csbp/defaults/mkdocs.yml").read_text("utf-8"))
    assert packaged == repository
