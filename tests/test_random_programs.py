"""Random programs (tests/programs.py): forward == reverse, both == finite differences,
value_and_grad's value == f(*args). A failure is shrunk by hypothesis and its source shown."""
import os

os.environ.setdefault("SOURCEDIFF_CACHE", "0")   # thousands of one-off programs: keep the disk cache clean

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402

import programs as P  # noqa: E402


@settings(max_examples=300, deadline=None, derandomize=True, print_blob=False, report_multiple_bugs=False,
          suppress_health_check=list(HealthCheck))
@given(P.programs())
def test_random_program(prog):
    try:
        P.check_program(prog)
    except P.Rejected:
        assume(False)
    except Exception as e:
        raise AssertionError("%s: %s\n--- program ---\n%s\nargs = %r" % (type(e).__name__, e, prog.source, prog.args)) \
            from e
