"""The performance benchmark keeps working: it runs end to end at a tiny size and reports every figure.

Timings are the benchmark's business (benchmarks/README.md); nothing here asserts on them.
"""

from __future__ import annotations

import json
import subprocess
import sys

from site_tests.support import REPO

FIGURES = (
    "generator_cold",
    "generator_warm",
    "entries_per_s_cold",
    "entries_per_s_warm",
    "one_change",
    "build_s",
    "build_peak_mb",
    "plain_mkdocs_s",
    "build_ratio",
    "site_mb",
    "html_median_kb",
    "html_largest_kb",
    "practice_page_median_kb",
    "search_index_bytes_per_entry",
    "search_first_result_kb",
    "search_first_result_gzip_kb",
    "build_stages_s",
    "serve",
)


def test_benchmark_at_a_tiny_size_reports_every_figure(tmp_path):
    out = tmp_path / "results.json"
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "run.py"),
            "--sizes",
            "20",
            "--json",
            str(out),
            "--workdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout or "FAIL" in result.stdout
    payload = json.loads(out.read_text())
    [figures] = payload["results"]
    assert figures["n"] == 20
    assert sum(figures["kinds"].values()) == 20
    for name in FIGURES:
        assert name in figures, name
    for stage in ("load", "validate", "model", "render", "write"):
        assert figures["generator_cold"]["stages_s"][stage] >= 0
    assert figures["generator_cold"]["pages"] > 20
    assert figures["generator_cold"]["cache_save_s"] > 0  # timed apart, as the commands save while the engine works
    assert 0 < figures["practice_page_median_kb"] <= figures["html_largest_kb"]
    assert figures["build_peak_mb"] > 0 and figures["site_mb"] > 0
    assert figures["search_first_result_kb"] > figures["search_index_bytes_per_entry"] * 20 / 1000
    change = figures["one_change"]
    assert f"practices/{change['entry']}.md" in change["rewritten"]
    assert len(change["rewritten"]) < figures["generator_cold"]["pages"]  # only what the change touches
    link = change["link"]  # a related practice added: its page lists the edited one now
    assert f"practices/{link['gained']}.md" in link["rewritten"]
    assert f"practices/{change['entry']}.md" in link["rewritten"]
    assert {"load", "engine", "offline", "site"} <= set(figures["build_stages_s"])
    serve = figures["serve"]
    assert 0 < serve["reload_page_s"] <= serve["reload_index_s"] and not serve["dirty"]  # 20 entries: whole rebuilds
    assert {v["target"] for v in payload["verdicts"]}
