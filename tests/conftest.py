"""Every test starts from the same cache environment: the disk cache on, in a temporary
directory (never the user's real cache), whatever another test module set at import; every
function lowered is checked against the IR grammar (``lower.validate``, on by ``SOURCEDIFF_VALIDATE``)."""
import os

import pytest

os.environ["SOURCEDIFF_VALIDATE"] = "1"


@pytest.fixture(autouse=True)
def _cache_env(monkeypatch, tmp_path_factory):
    monkeypatch.delenv("SOURCEDIFF_CACHE", raising=False)
    monkeypatch.setenv("SOURCEDIFF_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "sourcediff-cache"))
