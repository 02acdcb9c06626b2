"""``python -m zmtp``: the command line of :mod:`zmtp.cli` (also installed as ``zmtp``)."""

import sys

from zmtp.cli import main

if __name__ == "__main__":
    sys.exit(main())
