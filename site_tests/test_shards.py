"""Engine shards: a site built by several engine processes equals the one a single engine builds."""

from __future__ import annotations

import gzip
import os
import shutil
import time
from pathlib import Path

import pathspec
import pytest

from csbp import shards
from csbp.config import HandbookPaths
from csbp.site import SiteBuildError, build_site
from site_tests.support import REPO, csbp

EPOCH = str(int(time.time()) // 86400 * 86400)  # today, midnight UTC: both builds stamp the same dates


def files_of(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


@pytest.fixture
def repository_handbook(tmp_path: Path) -> Path:
    """The repository's own handbook, with a site URL so that the sitemap lists every page."""
    root = tmp_path / "handbook"
    for name in ("practices", "content", "overrides"):
        shutil.copytree(REPO / name, root / name)
    config = (REPO / "mkdocs.yml").read_text("utf-8")
    (root / "mkdocs.yml").write_text("site_url: https://handbook.example.org/\n" + config, "utf-8")
    return root


def single_engine_build(root: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    result = csbp("build", "--root", str(root), env={**os.environ, "CSBP_WORKERS": "1", "SOURCE_DATE_EPOCH": EPOCH})
    assert result.returncode == 0, result.stderr
    return files_of(root / "site")


def test_a_site_built_by_three_engine_shards_equals_the_one_engine_site_byte_for_byte(repository_handbook, monkeypatch):
    single = single_engine_build(repository_handbook, monkeypatch)
    assert b"<loc>https://handbook.example.org/practices/" in single["sitemap.xml"]

    monkeypatch.setattr(shards, "MIN_PAGES_PER_SHARD", 10)
    monkeypatch.setenv("CSBP_WORKERS", "3")
    paths = HandbookPaths.at(repository_handbook)
    split = shards.plan(paths)
    assert split is not None and len(split.runs) == 3
    assert all(len(run) >= 10 for run in split.runs)
    log = build_site(paths, None, int(EPOCH))
    # Entry pages are left out of the nav on purpose: the engine is told, and does not list them.
    assert 'not included in the "nav"' not in log and "Documentation built" in log

    sharded = files_of(repository_handbook / "site")
    assert sorted(sharded) == sorted(single)
    different = [name for name in single if single[name] != sharded[name]]
    assert different == []
    assert gzip.decompress(sharded["sitemap.xml.gz"]) == sharded["sitemap.xml"]
    assert not list(paths.build_dir.glob(".mkdocs-shard-*")), "shard configs are removed after the build"
    assert not list(repository_handbook.glob(".site-*"))


def test_a_failing_engine_shard_stops_the_build_and_leaves_the_previous_site(repository_handbook, monkeypatch):
    before = single_engine_build(repository_handbook, monkeypatch)
    monkeypatch.setattr(shards, "MIN_PAGES_PER_SHARD", 10)
    monkeypatch.setenv("CSBP_WORKERS", "2")
    paths = HandbookPaths.at(repository_handbook)
    written = shards.write_configs

    def second_shard_broken(paths: HandbookPaths, split: shards.Plan) -> list[Path]:
        configs = written(paths, split)
        configs[1].write_text(configs[1].read_text("utf-8") + "theme:\n  name: no-such-theme\n", "utf-8")
        return configs

    monkeypatch.setattr(shards, "write_configs", second_shard_broken)
    with pytest.raises(SiteBuildError, match="no-such-theme"):
        build_site(paths, None, int(EPOCH))
    assert files_of(repository_handbook / "site") == before
    assert not list(repository_handbook.glob(".site-*"))
    assert not list(paths.build_dir.glob(".mkdocs-shard-*"))


def test_shards_that_disagree_on_a_shared_file_fail_the_merge(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    for output, css in ((first, "a{}"), (second, "b{}")):
        (output / "assets").mkdir(parents=True)
        (output / "assets" / "site.css").write_text(css)
    (second / "page").mkdir()
    (second / "page" / "index.html").write_text("<p>page</p>")
    with pytest.raises(shards.MergeError, match=r"different versions of assets/site\.css"):
        shards.merge([first, second])


def test_search_index_records_are_joined_in_shard_order(tmp_path):
    head = '{"config":{"lang":["en"],"separator":"[\\\\s\\\\-]+"},"docs":['
    outputs = []
    for number, records in enumerate(['{"location":"a/"},{"location":"b/"}', "", '{"location":"c/"}']):
        output = tmp_path / str(number)
        (output / "search").mkdir(parents=True)
        (output / shards.SEARCH_INDEX).write_text(head + records + "]}")
        outputs.append(output)
    shards.merge(outputs)
    joined = (outputs[0] / shards.SEARCH_INDEX).read_text()
    assert joined == head + '{"location":"a/"},{"location":"b/"},{"location":"c/"}]}'


def _tree(root: Path, names: list[str]) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("# page\n\n" + "text " * 50)


@pytest.mark.parametrize(
    "names",
    [
        [f"practices/practice-{n:05d}.md" for n in range(60)] + ["index.md", "practices/index.md", "about.md"],
        # names the patterns must escape or leave alone: spaces, brackets, wildcards, a leading `!`,
        # non-ASCII letters, index pages and sub-folders inside the folder that is split
        [f"notes/{prefix}{n:03d}.md" for prefix in ("a b", "[x]", "*", "!bang", "é", "z") for n in range(12)]
        + ["notes/index.md", "notes/README.md", "notes/sub/index.md", "notes/sub/deeper/x.md", "z/last.md"]
        + [f"a/{n}.md" for n in range(15)]
        + ["notes/picture.png", "a/style.css"],
    ],
)
@pytest.mark.parametrize("count", [2, 3, 4])
def test_a_split_gives_every_file_to_exactly_one_shard_in_contiguous_runs(tmp_path, monkeypatch, names, count):
    root = tmp_path / "handbook"
    _tree(root / "build" / "docs", names)
    (root / "build" / "mkdocs.yml").write_text("site_name: x\n")
    monkeypatch.setattr(shards, "MIN_PAGES_PER_SHARD", 5)
    paths = HandbookPaths.at(root)
    split = shards.plan(paths, count)
    assert split is not None
    order = shards.engine_order(paths.docs_dir)
    pages = [name for name in order if name.endswith(".md")]
    assert [page for run in split.runs for page in run] == pages  # contiguous, in the engine's order
    assert len(split.runs) == count
    owners: dict[str, list[int]] = {}
    for number, lines in enumerate(split.excludes):
        spec = pathspec.gitignore.GitIgnoreSpec.from_lines([".*", "/templates/", *lines])
        for name in order:
            if not spec.match_file(name):
                owners.setdefault(name, []).append(number)
    assert {name: len(found) for name, found in owners.items()} == {name: 1 for name in order}
    for number, run in enumerate(split.runs):
        assert all(owners[page] == [number] for page in run)
        assert not shards._is_first(Path(run[0]).name) or number == 0


def test_a_small_docs_tree_is_built_by_one_engine(tmp_path):
    root = tmp_path / "handbook"
    _tree(root / "build" / "docs", [f"p/{n}.md" for n in range(30)])
    (root / "build" / "mkdocs.yml").write_text("site_name: x\n")
    assert shards.plan(HandbookPaths.at(root), 4) is None


def test_a_shard_keeps_the_exclusions_the_handbook_config_sets(tmp_path, monkeypatch):
    root = tmp_path / "handbook"
    _tree(root / "build" / "docs", [f"p/{n:03d}.md" for n in range(40)] + ["drafts/wip.md"])
    (root / "mkdocs.yml").write_text("site_name: x\nexclude_docs: |\n  /drafts/\n")
    (root / "build" / "mkdocs.yml").write_text("INHERIT: ../mkdocs.yml\n")
    monkeypatch.setattr(shards, "MIN_PAGES_PER_SHARD", 5)
    split = shards.plan(HandbookPaths.at(root), 2)
    assert split is not None
    assert all(lines[0] == "/drafts/" for lines in split.excludes)
    assert all("drafts/wip.md" not in run for run in split.runs)
