#!/usr/bin/env bash
# The package works installed: build the wheel, install it (not editable) into
# a fresh virtualenv, and run `ustref demo` from outside the source tree, so
# that nothing is read from the checkout (sample apps and the capture launcher
# ship as package data). Needs root and the LTTng packages, as `make demo`;
# the demo's SessionDaemon waits for the machine's session-daemon lock.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
work=build/wheel-check
rm -rf "$work"
mkdir -p "$work"
"$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" .
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet "$work"/dist/ustref-*.whl
venv=$(cd "$work/venv" && pwd -P)
run_dir=$(mktemp -d)
trap 'rm -rf "$run_dir"' EXIT
cd "$run_dir"
wrapper=$("$venv/bin/ustref" capture wrapper-path)
case "$wrapper" in
    "$venv"/*) ;;
    *) echo "wheel-demo: the capture launcher is not the installed one: $wrapper" >&2; exit 1 ;;
esac
"$venv/bin/ustref" demo
