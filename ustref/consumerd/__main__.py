"""``python -m ustref.consumerd``: the ustref-consumerd daemon."""

import sys

from ustref.consumerd.cli import main

if __name__ == "__main__":
    sys.exit(main())
