"""Generated derivative code must not rely on ``assert`` (stripped by ``python -O``) and must
work with ``__debug__`` False: a child interpreter run with -O (and -OO, which also strips
docstrings) differentiates a function defined in a file."""
import os
import subprocess
import sys
import textwrap

import pytest

PROGRAM = textwrap.dedent('''
    import math, sys
    import numpy as np
    import sourcediff as sd

    def helper(y, k):
        return y * math.sin(y) + k

    def f(x, a):
        s = 0.0
        for i in range(4):
            if x > 0.5:
                s = s + helper(x, i) * 0.5
            else:
                s = s - x * x
        ys = []
        for j in range(3):
            ys.append(a[j] * x)
        return s + np.sum(np.tanh(a) * x) + ys[2] * ys[1]

    assert sys.flags.optimize >= 1, "not running under -O"
    a = np.array([0.3, -0.2, 0.7])
    for mode in ("reverse", "forward"):
        g = sd.grad(f, wrt=(0, 1), mode=mode)(1.3, a)
        sd.check_grads(f, 1.3, a, wrt=(0, 1))
        v, _ = sd.value_and_grad(f)(1.3, a)
        if v != f(1.3, a):
            raise SystemExit("value mismatch under -O: %r != %r" % (v, f(1.3, a)))
    try:
        sd.grad(lambda_free_refused)(1.0)
    except sd.SourcediffError:
        pass
    print("OK", float(g[0]))
''')

REFUSED = '''
def lambda_free_refused(x):
    yield x
'''


@pytest.mark.parametrize("flag", ["-O", "-OO"])
def test_gradient_under_python_O(tmp_path, flag):
    script = tmp_path / "prog_O.py"
    script.write_text(REFUSED + PROGRAM)
    env = dict(os.environ, SOURCEDIFF_CACHE_DIR=str(tmp_path / "cache"))
    r = subprocess.run([sys.executable, flag, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and "OK" in r.stdout, "exit %d\nstdout:\n%s\nstderr:\n%s" % (r.returncode, r.stdout,
                                                                                        r.stderr)
