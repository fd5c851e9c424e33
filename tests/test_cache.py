"""The two-level source cache: memory, disk, other processes, tampering, permissions, concurrency.

Every test points ``SOURCEDIFF_CACHE_DIR`` at its own ``tmp_path`` and clears the
memory level, so nothing touches the user's real cache.
"""
import os
import re
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import sourcediff as sd
from tests.helpers import write_module
from sourcediff import cache
from sourcediff.version import VERSION

ROOT = Path(__file__).resolve().parent.parent
TEXT = "def df(x):\n    dx = 2.0 * x  # grad of: y = x * x\n    return dx\n"
posix_only = pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX ownership and modes")


@pytest.fixture
def cdir(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("SOURCEDIFF_CACHE_DIR", str(d))
    monkeypatch.delenv("SOURCEDIFF_CACHE", raising=False)
    cache.clear_memory()
    yield d
    cache.clear_memory()


def entries(d):
    return sorted(p for p in d.iterdir() if not p.name.startswith(".")) if d.is_dir() else []


def child(code, env_dir, *args):
    """Run ``code`` in a fresh interpreter with the cache dir set; return its stdout."""
    env = dict(os.environ, SOURCEDIFF_CACHE_DIR=str(env_dir), PYTHONPATH=str(ROOT))
    env.pop("SOURCEDIFF_CACHE", None)
    p = subprocess.run([sys.executable, "-c", code] + [str(a) for a in args],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout


# -- keys ----------------------------------------------------------------------

def test_key_is_sha256_hex_and_unambiguous():
    k = cache.key("def f(x): return x", "mode=reverse")
    assert re.fullmatch(r"[0-9a-f]{64}", k)
    assert k == cache.key("def f(x): return x", "mode=reverse")
    assert cache.key("ab", "c") != cache.key("a", "bc") != cache.key("abc")
    assert cache.key("a", "") != cache.key("a") and cache.key() != cache.key("")
    assert cache.key("x", "y") != cache.key("y", "x")


def test_key_depends_on_version_and_python(monkeypatch):
    k = cache.key("src")
    monkeypatch.setattr(cache, "VERSION", "999.0")
    assert cache.key("src") != k
    monkeypatch.undo()
    monkeypatch.setattr(sys, "version_info", (2, 7, 0, "final", 0))
    assert cache.key("src") != k


def test_version_is_read_from_one_place():
    text = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^dynamic\s*=\s*\["version"\]', text, re.M)
    assert re.search(r'^version\s*=\s*\{attr\s*=\s*"sourcediff.version.VERSION"\}', text, re.M)
    assert not re.search(r'^version\s*=\s*"', text, re.M)
    assert re.fullmatch(r"\d+\.\d+\.\d+", VERSION)


# -- levels --------------------------------------------------------------------

def test_miss_then_memory_hit(cdir):
    k = cache.key("f")
    assert cache.get(k) is None
    cache.put(k, TEXT)
    assert cache.get(k) == TEXT


def test_disk_round_trip_after_clear_memory(cdir):
    k = cache.key("f")
    cache.put(k, TEXT)
    cache.clear_memory()
    assert cache.get(k) == TEXT
    assert [p.name for p in entries(cdir)] == [k]


def test_unicode_and_empty_text(cdir):
    for i, t in enumerate(["", "# λ → ∂\nx = 'ü'\n", "no newline"]):
        k = cache.key("u", str(i))
        cache.put(k, t)
        cache.clear_memory()
        assert cache.get(k) == t


def test_second_process_finds_entry(cdir):
    k = cache.key("shared")
    cache.put(k, TEXT)
    out = child("import sys; from sourcediff import cache; "
                "t = cache.get(sys.argv[1]); print(repr(t))", cdir, k)
    assert out.strip() == repr(TEXT)


def test_entry_written_by_second_process(cdir):
    k = cache.key("from child")
    child("import sys; from sourcediff import cache; cache.put(sys.argv[1], 'text from child')", cdir, k)
    assert cache.get(k) == "text from child"


def test_cache_dir_selection(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCEDIFF_CACHE_DIR", str(tmp_path / "x"))
    monkeypatch.delenv("SOURCEDIFF_CACHE", raising=False)
    assert cache.cache_dir() == tmp_path / "x"
    monkeypatch.delenv("SOURCEDIFF_CACHE_DIR")
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert cache.cache_dir() == tmp_path / "xdg" / "sourcediff"
        monkeypatch.delenv("XDG_CACHE_HOME")
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        assert cache.cache_dir() == tmp_path / "home" / ".cache" / "sourcediff"
    monkeypatch.setenv("SOURCEDIFF_CACHE", "0")
    assert cache.cache_dir() is None


def test_cache_disabled_keeps_memory_only(cdir, monkeypatch):
    monkeypatch.setenv("SOURCEDIFF_CACHE", "0")
    k = cache.key("off")
    cache.put(k, TEXT)
    assert cache.get(k) == TEXT  # memory still works
    assert not cdir.exists()
    cache.clear_memory()
    assert cache.get(k) is None


# -- tampering -------------------------------------------------------------------

def _stored(cdir, name="victim"):
    k = cache.key(name)
    cache.put(k, TEXT)
    cache.clear_memory()
    return k, cdir / k


@pytest.mark.parametrize("mangle", [
    pytest.param(lambda b: b[:-5], id="truncated"),
    pytest.param(lambda b: b[: len(b) // 3], id="truncated-header"),
    pytest.param(lambda b: b"", id="empty"),
    pytest.param(lambda b: b.replace(b"2.0 * x", b"3.0 * x"), id="content-replaced"),
    pytest.param(lambda b: b.replace(b"sourcediff-cache-v1", b"sourcediff-cache-v0"), id="wrong-format"),
    pytest.param(lambda b: b[:-3] + b"\xff\xfe\xfd", id="garbage-bytes"),
    pytest.param(lambda b: b"\x00" * 200, id="zeros"),
    pytest.param(lambda b: b.split(b"\n", 3)[3], id="no-header"),
])
def test_corrupted_entries_are_misses_and_removed(cdir, mangle):
    k, path = _stored(cdir)
    path.write_bytes(mangle(path.read_bytes()))
    assert cache.get(k) is None
    assert not path.exists()
    cache.put(k, TEXT)  # regenerated entry works again
    cache.clear_memory()
    assert cache.get(k) == TEXT


def test_valid_entry_under_wrong_key_is_a_miss(cdir):
    k_other, other = _stored(cdir, "other")
    k = cache.key("victim")
    (cdir / k).write_bytes(other.read_bytes())  # a whole, self-consistent entry for another key
    assert cache.get(k) is None
    assert cache.get(k_other) == TEXT


def test_non_utf8_content_with_matching_hash_is_a_miss(cdir):
    import hashlib
    k = cache.key("bad utf8")
    cdir.mkdir(mode=0o700)
    body = b"\xff\xfe not utf-8"
    (cdir / k).write_bytes(b"\n".join([b"sourcediff-cache-v1", k.encode(), hashlib.sha256(body).hexdigest().encode(),
                                       body]))
    assert cache.get(k) is None


@posix_only
def test_symlinked_entry_is_not_followed(cdir, tmp_path):
    k_other, other = _stored(cdir, "other")
    outside = tmp_path / "outside"
    outside.write_bytes(other.read_bytes())
    k = cache.key("victim")
    os.symlink(str(outside), str(cdir / k))
    assert cache.get(k) is None


def test_get_put_never_raise_on_odd_input(cdir):
    assert cache.get(None) is None
    assert cache.get("../../etc/passwd") is None
    cache.put("../escape", TEXT)  # unsafe name: memory only, nothing written outside
    assert cache.get("../escape") == TEXT and not (cdir.parent / "escape").exists()
    cache.put(cache.key("surrogate"), "\udcff")  # unencodable: memory only
    cache.put(cache.key("notstr"), 42)  # not text: memory only
    assert all(p.name != cache.key("notstr") for p in entries(cdir))


# -- permissions -----------------------------------------------------------------

@posix_only
def test_directory_and_entries_are_owner_only(cdir):
    old = os.umask(0o022)
    try:
        k, path = _stored(cdir)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(str(cdir)).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(str(path)).st_mode) & 0o077 == 0
    assert not [p for p in cdir.iterdir() if p.name.startswith(".tmp-")]  # no temp files left


@posix_only
def test_nested_default_style_dir_is_created(tmp_path, monkeypatch):
    d = tmp_path / "a" / "b" / "sourcediff"
    monkeypatch.setenv("SOURCEDIFF_CACHE_DIR", str(d))
    cache.clear_memory()
    cache.put(cache.key("n"), TEXT)
    assert stat.S_IMODE(os.stat(str(d)).st_mode) == 0o700 and entries(d)


@posix_only
@pytest.mark.parametrize("mode", [0o777, 0o770, 0o722])
def test_group_or_world_writable_dir_is_not_used(cdir, mode):
    cdir.mkdir()
    os.chmod(str(cdir), mode)
    k = cache.key("insecure")
    (cdir / k).write_bytes(b"planted")  # whatever is there is never read
    cache.put(k, TEXT)
    assert cache.get(k) == TEXT  # memory
    assert (cdir / k).read_bytes() == b"planted"  # and the disk was not touched
    cache.clear_memory()
    assert cache.get(k) is None


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="needs root to chown")
def test_dir_owned_by_someone_else_is_not_used(cdir):
    cdir.mkdir(mode=0o700)
    os.chown(str(cdir), 65534, 65534)
    k = cache.key("foreign")
    cache.put(k, TEXT)
    assert entries(cdir) == []
    cache.clear_memory()
    assert cache.get(k) is None


def test_dir_under_a_regular_file_falls_back_to_memory(tmp_path, monkeypatch):
    blocker = tmp_path / "regular-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("SOURCEDIFF_CACHE_DIR", str(blocker / "cache"))
    cache.clear_memory()
    k = cache.key("nowhere")
    cache.put(k, TEXT)  # must not raise, even as root
    assert cache.get(k) == TEXT
    cache.clear_memory()
    assert cache.get(k) is None


def test_cache_dir_that_is_a_file_falls_back_to_memory(tmp_path, monkeypatch):
    f = tmp_path / "file"
    f.write_text("x")
    monkeypatch.setenv("SOURCEDIFF_CACHE_DIR", str(f))
    cache.clear_memory()
    k = cache.key("file")
    cache.put(k, TEXT)
    assert cache.get(k) == TEXT and f.read_text() == "x"


@posix_only
@pytest.mark.skipif(hasattr(os, "getuid") and os.getuid() == 0, reason="root ignores read-only modes")
def test_read_only_dir_falls_back_to_memory(cdir):
    cdir.mkdir(mode=0o700)
    os.chmod(str(cdir), 0o500)
    try:
        k = cache.key("ro")
        cache.put(k, TEXT)
        assert cache.get(k) == TEXT
    finally:
        os.chmod(str(cdir), 0o700)


def test_write_failure_falls_back_to_memory(cdir, monkeypatch):
    def boom(*a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(cache.os, "replace", boom)
    k = cache.key("full disk")
    cache.put(k, TEXT)
    assert cache.get(k) == TEXT
    assert entries(cdir) == [] and not list(cdir.iterdir())  # temp file cleaned up


# -- concurrency -----------------------------------------------------------------

def test_concurrent_threads(cdir):
    keys = [cache.key("thread", str(i)) for i in range(8)]
    texts = {k: "def d%d(x):\n    return %d * x\n" % (i, i) * 50 for i, k in enumerate(keys)}
    bad = []

    def work(n):
        for j in range(60):
            k = keys[(n + j) % len(keys)]
            cache.put(k, texts[k])
            if j % 7 == 0:
                cache.clear_memory()
            got = cache.get(k)
            if got != texts[k]:
                bad.append((k, got))

    with ThreadPoolExecutor(8) as ex:
        list(ex.map(work, range(16)))
    assert not bad
    cache.clear_memory()
    assert all(cache.get(k) == texts[k] for k in keys)


WORKER = r"""
import sys
from sourcediff import cache
k, me, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
texts = ["# writer %d\n" % i + "x = %d\n" % i * 2000 for i in range(4)]
bad = 0
for j in range(n):
    cache.put(k, texts[me])
    cache.clear_memory()
    got = cache.get(k)
    if got not in texts:  # torn, foreign or missing: never allowed
        bad += 1
print(bad)
"""


def test_concurrent_processes(cdir):
    k = cache.key("processes")
    env = dict(os.environ, SOURCEDIFF_CACHE_DIR=str(cdir), PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, k, str(i), "150"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(4)]
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in results]
    assert [out.strip() for out, _ in results] == ["0"] * 4
    assert [p.name for p in entries(cdir)] == [k]
    assert not [p for p in cdir.iterdir() if p.name.startswith(".tmp-")]
    cache.clear_memory()
    assert cache.get(k).startswith("# writer ")


def test_generated_line_numbers_are_the_source_lines(tmp_path):
    import traceback
    src = "import math\ndef f(x, y):\n    a = x * y\n    b = math.sqrt(a)\n    return b * math.log(y)\n"
    f = write_module(tmp_path, "lines_mod", src).f
    g = sd.grad(f, wrt=(0, 1))
    for args, bad in (((-1.0, 2.0), "math.sqrt(a)"), ((-1.0, -2.0), "math.log(y)")):
        with pytest.raises(ValueError) as e:
            g(*args)
        frame = traceback.extract_tb(e.value.__traceback__)[-1]
        assert frame.filename.startswith("<sourcediff") and frame.name == "f_grad"
        assert bad in g.source.splitlines()[frame.lineno
                                            - 1] and frame.line == g.source.splitlines()[frame.lineno - 1].strip()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tracebacks mark the failing expression from Python 3.11 on")
def test_traceback_carets_mark_the_failing_expression(tmp_path):
    import traceback
    f = write_module(tmp_path, "carets_mod", "import math\ndef f(x):\n    return math.sqrt(x * 2) + x\n").f
    with pytest.raises(ValueError) as e:
        sd.grad(f)(-1.0)
    lines = traceback.format_exception(e.type, e.value, e.value.__traceback__)[-2].splitlines()
    text, carets = lines[1], lines[2]
    assert "math.sqrt(x * 2)" in text and carets.strip() and set(carets.strip()) <= {"^", "~"}
    start = len(carets) - len(carets.lstrip())
    assert text[start:start + len(carets.strip())] == "math.sqrt(x * 2)"
