# SPDX-License-Identifier: LGPL-2.1-or-later
"""The TAP runner of the Python tests that meson runs with protocol
'tap': one line per test function, a traceback as a comment, a Skip
reported as skipped (as failed under CI=true, where a skip is a failure
to investigate)."""

import os
import sys
import traceback


class Skip(Exception):
    pass


def run(tests):
    print("1..%d" % len(tests))
    failed = 0
    for i, t in enumerate(tests, 1):
        try:
            t()
        except Skip as e:
            if os.environ.get("CI") == "true":
                failed += 1
                print("not ok %d - %s # skipped under CI=true: %s" % (i, t.__name__, e))
            else:
                print("ok %d - %s # SKIP %s" % (i, t.__name__, e))
        except Exception:
            failed += 1
            print("# " + traceback.format_exc().replace("\n", "\n# "))
            print("not ok %d - %s" % (i, t.__name__))
        else:
            print("ok %d - %s" % (i, t.__name__))
    sys.exit(1 if failed else 0)
