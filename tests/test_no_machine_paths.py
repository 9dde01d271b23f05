"""No test or script reads a path of one machine: the C sources are found under the
repository's ``build/`` (``tests/c_sources.py``) or through an environment variable."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: Prefixes of directories that exist only on some machine (the repository's own checkout
#: and its users' homes); system paths such as ``/usr/include`` and ``/tmp`` are fine.
MACHINE_PREFIXES = ("/work/", "/home/", "/root/", "/srv/", "/opt/")

#: String constants that look like such paths but are data, not paths read.
DATA = {
    "tests/protocol/test_client.py",
    "tests/protocol/test_consumer.py",
}


def test_no_python_file_reads_a_machine_path() -> None:
    found = []
    for path in sorted(
        [*REPO.glob("tests/**/*.py"), *REPO.glob("scripts/*.py"), *REPO.glob("ustref/**/*.py")]
    ):
        rel = path.relative_to(REPO).as_posix()
        if rel in DATA or rel == "tests/test_no_machine_paths.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
                continue
            if node.value.startswith(MACHINE_PREFIXES):
                found.append(f"{rel}:{node.lineno}: {node.value!r}")
    assert not found, "\n".join(found)
