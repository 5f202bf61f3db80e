"""Zip archives from members compressed beforehand: readable by any zip reader, reproducible."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from csbp.archive import deflate, write_zip
from csbp.offline import OFFLINE_ZIP, pack_offline_copy

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


def _site(root: Path) -> Path:
    for number in range(450):
        page = root / "practices" / f"p{number:03d}" / "index.html"
        page.parent.mkdir(parents=True)
        page.write_text(f'<html><head></head><body><a href="../p{(number + 1) % 450:03d}/">next</a></body></html>')
    (root / "index.html").write_text('<html><head></head><body><a href="practices/p000/">first</a></body></html>')
    return root


def test_the_offline_zip_is_derived_from_the_site_and_packed_the_same_every_time(tmp_path):
    packed = []
    for name in ("one", "two"):
        site = _site(tmp_path / name)
        pack_offline_copy(site, EPOCH)
        packed.append((site / OFFLINE_ZIP).read_bytes())
    assert packed[0] == packed[1]
    with zipfile.ZipFile(io.BytesIO(packed[0])) as archive:
        assert archive.testzip() is None
        assert len([n for n in archive.namelist() if n.endswith("index.html")]) == 451
        page = archive.read("csbp-handbook/practices/p001/index.html").decode()
        assert 'href="../p002/index.html"' in page  # derived as the offline copy, not only compressed
