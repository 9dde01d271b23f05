"""tox inline plugin: let tox find every CPython under pyenv without editing PATH.

The machine image keeps Python 3.10–3.13 in ``~/.pyenv/versions/*``; pyenv's
shims only resolve the global version, so ``py310`` … ``py313`` would not be
found. Prepending each version's ``bin`` to tox's own PATH (not the user's)
fixes discovery; machines without pyenv are left untouched.
"""

from __future__ import annotations

import os
from pathlib import Path

_PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
if _PYENV_VERSIONS.is_dir():
    _bins = [str(p / "bin") for p in sorted(_PYENV_VERSIONS.iterdir()) if (p / "bin").is_dir()]
    os.environ["PATH"] = os.pathsep.join([*_bins, os.environ.get("PATH", "")])
