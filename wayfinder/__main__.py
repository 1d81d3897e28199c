"""``python -m wayfinder``: the same command line as the ``wayfinder`` script (for a machine where the script's
folder is not on ``PATH``)."""

import sys

from wayfinder.cli import main

if __name__ == "__main__":
    sys.exit(main())
