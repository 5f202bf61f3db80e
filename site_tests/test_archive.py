"""Zip archives from members compressed beforehand: readable by any zip reader, reproducible."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from csbp.archive import deflate, write_zip
from site_tests.test_parallel import run_fresh

EPOCH = 1767225600  # 2026-01-01T00:00:00Z


def test_a_zip_of_deflated_members_reads_back_with_zipfile():
    members = {"a/page.html": b"<p>page</p>" * 100, "é/ünïcode.txt": "naïve".encode(), "empty": b""}
    buffer = io.BytesIO()
    write_zip(buffer, [deflate(name, data) for name, data in members.items()], EPOCH)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == list(members)
        assert {name: archive.read(name) for name in members} == members
        for info in archive.infolist():
            assert info.date_time == (2026, 1, 1, 0, 0, 0)
            assert info.external_attr >> 16 == 0o100644
            assert info.compress_type == zipfile.ZIP_DEFLATED


def test_the_same_members_give_the_same_bytes_whatever_time_they_are_written():
    def packed() -> bytes:
        buffer = io.BytesIO()
        write_zip(buffer, [deflate("x.txt", b"same"), deflate("y.txt", b"bytes")], EPOCH)
        return buffer.getvalue()

    assert packed() == packed()


PACK = """
import json, sys
from pathlib import Path
from csbp import parallel
from csbp.offline import OFFLINE_ZIP, pack_offline_copy

site = Path(sys.argv[1])
pack_offline_copy(site, 1767225600)
print(json.dumps({"zip": (site / OFFLINE_ZIP).read_bytes().hex(), "forked": parallel.forked_calls}))
"""


def _site(root: Path) -> Path:
    for number in range(450):
        page = root / "practices" / f"p{number:03d}" / "index.html"
        page.parent.mkdir(parents=True)
        page.write_text(f'<html><head></head><body><a href="../p{(number + 1) % 450:03d}/">next</a></body></html>')
    (root / "index.html").write_text('<html><head></head><body><a href="practices/p000/">first</a></body></html>')
    return root


def test_the_offline_zip_is_the_same_packed_on_one_core_or_several(tmp_path):
    one = run_fresh(PACK, str(_site(tmp_path / "one")), CSBP_WORKERS="1")
    several = run_fresh(PACK, str(_site(tmp_path / "several")), CSBP_WORKERS="2")
    assert one["forked"] == 0 and several["forked"] >= 1
    assert one["zip"] == several["zip"]
    with zipfile.ZipFile(io.BytesIO(bytes.fromhex(several["zip"]))) as archive:
        assert archive.testzip() is None
        page = archive.read("csbp-handbook/practices/p001/index.html").decode()
        assert 'href="../p002/index.html"' in page  # derived as the offline copy, not only compressed
