"""``python -m ustref`` — same as the ``ustref`` console script."""

from __future__ import annotations

import sys

from ustref.cli import main

sys.exit(main())
