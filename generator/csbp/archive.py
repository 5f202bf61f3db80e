"""Reproducible zip archives whose members may be compressed anywhere before they are written.

Compressing is most of the work of packing the offline copy, and `zipfile` compresses each
member while it writes it, one at a time. Here a member is deflated first (`deflate`, in any
thread) and written afterwards as it is (`write_zip`), so the offline copy is compressed by
several threads (offline.py). The archive is a plain zip (no Zip64): fixed times, fixed
permissions and the members' order make its bytes depend on its members only.
"""

from __future__ import annotations

import datetime as dt
import errno
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_END = struct.Struct("<4sHHHHIIH")
_VERSION = 20  # 2.0: deflate
_MADE_BY = (3 << 8) | _VERSION  # Unix, so the permissions below are read
_PERMISSIONS = 0o100644 << 16  # a regular file, rw-r--r--
_UTF8 = 0x800  # flag: the name is UTF-8
_LIMIT = 0xFFFFFFFF


@dataclass(frozen=True)
class Member:
    name: str
    crc: int
    size: int
    deflated: bytes


def deflate(name: str, data: bytes, level: int = 6) -> Member:
    """One member, compressed (raw deflate, as zip stores it)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    deflated = compressor.compress(data) + compressor.flush()
    return Member(name, zlib.crc32(data), len(data), deflated)


def _dos_time(epoch: int) -> tuple[int, int]:
    """The archive's one time stamp in the DOS format zip uses (no earlier than 1980)."""
    stamp = max(dt.datetime.fromtimestamp(epoch, tz=dt.UTC), dt.datetime(1980, 1, 1, tzinfo=dt.UTC))
    time = (stamp.hour << 11) | (stamp.minute << 5) | (stamp.second // 2)
    date = ((stamp.year - 1980) << 9) | (stamp.month << 5) | stamp.day
    return time, date


def write_zip(target: IO[bytes], members: Iterable[Member], epoch: int) -> None:
    """Write `members` in the order given, each as soon as it comes (a large archive is never
    held in memory whole), then the central directory."""
    time, date = _dos_time(epoch)
    central: list[bytes] = []
    offset = 0
    for member in members:
        name = member.name.encode("utf-8")
        flags = 0 if member.name.isascii() else _UTF8
        if max(offset, member.size, len(member.deflated)) > _LIMIT or len(central) >= 0xFFFF:
            raise OSError(errno.EFBIG, "the archive is too large for a zip without Zip64")
        header = _LOCAL.pack(
            b"PK\x03\x04",
            _VERSION,
            flags,
            zlib.DEFLATED,
            time,
            date,
            member.crc,
            len(member.deflated),
            member.size,
            len(name),
            0,
        )
        target.write(header + name)
        target.write(member.deflated)
        central.append(
            _CENTRAL.pack(
                b"PK\x01\x02",
                _MADE_BY,
                _VERSION,
                flags,
                zlib.DEFLATED,
                time,
                date,
                member.crc,
                len(member.deflated),
                member.size,
                len(name),
                0,
                0,
                0,
                0,
                _PERMISSIONS,
                offset,
            )
            + name
        )
        offset += len(header) + len(name) + len(member.deflated)
    directory = b"".join(central)
    if offset > _LIMIT:
        raise OSError(errno.EFBIG, "the archive is too large for a zip without Zip64")
    target.write(directory)
    target.write(_END.pack(b"PK\x05\x06", 0, 0, len(central), len(central), len(directory), offset, 0))
