"""Build caches on disk: plain JSON, signed with a key that never lives in the handbook.

A handbook repository is untrusted input: a pull request can commit any file, including
`build/.cache/*`, and CI builds it. So a cache file is never unpickled (that would run
code), and it is not believed merely because it parses: it holds sanitised HTML and
"this file is schema-valid" verdicts, which a planted file could forge. Each file carries
an HMAC-SHA256 under a random key kept in the user's cache directory (outside the
repository, created on first use, mode 0600). A file that is unsigned, signed with another
key, stale, not JSON or of the wrong shape is ignored, and the build starts cold.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

MAX_CACHE_BYTES = 512 * 1024 * 1024


def key_path() -> Path:
    """Where the signing key lives: `$CSBP_CACHE_KEY_DIR`, else `$XDG_CACHE_HOME/csbp`, else ~/.cache/csbp."""
    if os.environ.get("CSBP_CACHE_KEY_DIR"):
        return Path(os.environ["CSBP_CACHE_KEY_DIR"]) / "cache.key"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "csbp" / "cache.key"


_KEYS: dict[Path, bytes] = {}


def signing_key() -> bytes | None:
    """This user's cache key, made on first use; None if it can be neither read nor made (no caching)."""
    path = key_path()
    if path in _KEYS:
        return _KEYS[path]
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError:
        key = b""
    except OSError:
        return None
    if len(key) < 32:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fresh = secrets.token_hex(32).encode()
            temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(fresh)
            os.replace(temporary, path)
            key = fresh
        except OSError:
            return None
    _KEYS[path] = key
    return key


def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).hexdigest().encode()


def read(path: Path, stamp: str) -> dict[str, Any] | None:
    """The payload saved at `path` under `stamp`, or None if absent, forged, stale or malformed."""
    key = signing_key()
    if key is None:
        return None
    try:
        if path.stat().st_size > MAX_CACHE_BYTES:
            return None
        raw = path.read_bytes()
    except OSError:
        return None
    mac, newline, body = raw.partition(b"\n")
    if not newline or not hmac.compare_digest(mac, _mac(key, body)):
        return None
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or document.get("stamp") != stamp or not isinstance(document.get("data"), dict):
        return None
    return document["data"]


def write(path: Path, stamp: str, data: dict[str, Any]) -> None:
    """Save `data` (JSON types only) at `path`, signed; silently skipped when no key is available."""
    key = signing_key()
    if key is None:
        return
    body = json.dumps({"stamp": stamp, "data": data}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(_mac(key, body) + b"\n" + body)
    os.replace(temporary, path)
