"""Two-level cache of generated derivative *source text*: memory, then disk.

The compiler calls exactly these::

    k = cache.key(src_of_f, src_of_callees, "mode=reverse", "wrt=('x',)")
    text = cache.get(k)            # str or None (memory first, then disk)
    if text is None:
        text = generate(...)
        cache.put(k, text)         # memory + disk; never raises

``key`` hashes the parts unambiguously together with the sourcediff version and
the Python ``major.minor``, so editing a source, changing an option or upgrading
either invalidates the entry.

Disk layout: ``cache_dir()/<key>`` holds a header and the content::

    sourcediff-cache-v1\\n
    <key>\\n
    <sha256 hex of the content bytes>\\n
    <content, UTF-8>

Tamper-proofing: the directory is created owner-only (0o700); an existing one
that is group/world-writable or owned by someone else is not used (memory only).
Entries are opened without following symlinks and must be regular files owned
by us; the header's key must equal the requested key and the content hash must
match. Anything else -- truncation, corruption, decode errors, any exception --
is a miss (the bad file is removed when still the one read), so untrusted text
is never returned. Writes go to an owner-only temp file in the same directory
and are published with ``os.replace`` (atomic), so concurrent threads and
processes only ever see whole entries. OSErrors while writing (read-only or
impossible location) silently leave the entry in memory only.

Environment, read at every call: ``SOURCEDIFF_CACHE=0`` disables the disk level;
``SOURCEDIFF_CACHE_DIR`` overrides the directory (default: the user cache dir,
``$XDG_CACHE_HOME`` or ``~/.cache``, ``~/Library/Caches`` on macOS,
``%LOCALAPPDATA%`` on Windows, then ``sourcediff``).
"""
import hashlib
import os
import re
import stat
import sys
import tempfile
import threading
from pathlib import Path

from .version import VERSION

__all__ = ["key", "get", "put", "cache_dir", "clear_memory"]

_TAG = b"sourcediff-cache-v1"
_SAFE_KEY = re.compile(r"[A-Za-z0-9_-]{1,200}\Z")  # keys usable as file names (key() gives 64 hex)
_OFF = {"0", "false", "no", "off"}
_memory = {}
_lock = threading.Lock()


def key(*parts):
    """sha256 hex over the parts (length-prefixed, so no two part lists collide), the version and Python."""
    h = hashlib.sha256()
    for p in ("sourcediff", VERSION, "py%d.%d" % sys.version_info[:2]) + parts:
        b = p if isinstance(p, bytes) else str(p).encode("utf-8", "surrogatepass")
        h.update(b"%d:" % len(b) + b + b";")
    return h.hexdigest()


def cache_dir():
    """The disk cache directory (a ``Path``), or ``None`` when ``SOURCEDIFF_CACHE=0``."""
    if os.environ.get("SOURCEDIFF_CACHE", "").strip().lower() in _OFF:
        return None
    override = os.environ.get("SOURCEDIFF_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    elif os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "sourcediff"


def clear_memory():
    """Forget the in-memory level (tests use this to force a disk read)."""
    with _lock:
        _memory.clear()


def get(k):
    """The cached source text for ``k``, or ``None``. Never raises, never returns unverified text."""
    try:
        with _lock:
            text = _memory.get(k)
        if text is None:
            text = _disk_get(k)
            if text is not None:
                with _lock:
                    _memory[k] = text
        return text
    except Exception:
        return None


def put(k, text):
    """Store ``text`` under ``k`` in memory and, when possible, on disk. Never raises."""
    try:
        with _lock:
            _memory[k] = text
        _disk_put(k, text)
    except Exception:
        pass


# -- disk level ---------------------------------------------------------------

def _usable_dir():
    """The cache directory if it exists (creating it 0o700) and is safe to use, else ``None``."""
    d = cache_dir()
    if d is None:
        return None
    try:
        if not d.is_dir():
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(str(d), 0o700)  # mkdir's mode is filtered by the umask; make it exact
        st = os.stat(str(d))
        if not stat.S_ISDIR(st.st_mode):
            return None
        if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
            return None  # someone else could plant entries here: memory only
        return d
    except (OSError, ValueError):
        return None


def _entry(d, k):
    return d / k if isinstance(k, str) and _SAFE_KEY.match(k) else None


def _encode(k, text):
    body = text.encode("utf-8")
    return b"\n".join([_TAG, k.encode("ascii"), hashlib.sha256(body).hexdigest().encode("ascii"), body])


def _decode(k, data):
    """The verified content of an entry's bytes, or ``None``."""
    parts = data.split(b"\n", 3)
    if len(parts) != 4 or parts[0] != _TAG or parts[1] != k.encode("ascii"):
        return None
    if hashlib.sha256(parts[3]).hexdigest().encode("ascii") != parts[2]:
        return None
    return parts[3].decode("utf-8")


def _disk_get(k):
    d = _usable_dir()
    path = d and _entry(d, k)
    if path is None:
        return None
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(str(path), flags)
    except OSError:
        return None  # absent (the common miss), a symlink, or unreadable
    st, text = None, None
    try:
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            ok = stat.S_ISREG(st.st_mode) and (not hasattr(os, "getuid") or st.st_uid == os.getuid())
            text = _decode(k, f.read(16 << 20)) if ok and st.st_size <= (16 << 20) else None
    except Exception:
        text = None
    if text is None:
        _remove_if_same(path, st)
    return text


def _remove_if_same(path, st):
    """Remove a bad entry, unless another writer has already replaced it with a new file."""
    try:
        cur = os.lstat(str(path))
        if st is not None and (cur.st_ino, cur.st_dev) == (st.st_ino, st.st_dev):
            os.unlink(str(path))
    except OSError:
        pass


def _disk_put(k, text):
    if not isinstance(text, str):
        return
    d = _usable_dir()
    path = d and _entry(d, k)
    if path is None:
        return
    tmp = None
    try:
        data = _encode(k, text)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=str(d))  # created 0o600
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, str(path))
        tmp = None
    except (OSError, UnicodeError):
        pass
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
