"""``python interop/bench.py``: the side-by-side benchmark, which lives in
:mod:`zmtp.bench` so that ``zmtp bench`` can run it from an installed package.

Imported as ``bench`` (from this directory), this module *is* :mod:`zmtp.bench`, so
code that reuses the benchmark's pieces keeps working.
"""

import sys

import zmtp.bench as _bench

if __name__ == "__main__":
    sys.exit(_bench.main())
sys.modules[__name__] = _bench
