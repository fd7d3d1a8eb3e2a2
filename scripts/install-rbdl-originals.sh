#!/usr/bin/env bash
# Install the ORIGINAL rb-deeplearning-lib 0.2.9 and 1.0.5 side by side, for tests only:
# tests/compat compares convscope.compat.rbdl with them and measures their faults.
# Each goes into its own folder (never into site-packages, so nothing imports them by
# accident); tests load them from there under distinct names. Their only dependency,
# numpy>=2.0, is the venv's own NumPy, so --no-deps.
# Usage: scripts/install-rbdl-originals.sh [python]   (default .venv/bin/python)
set -eu
py=${1:-.venv/bin/python}
root=$(dirname "$py")/..
for version in 0.2.9 1.0.5; do
  target="$root/rbdl-$version"
  if [ -f "$target/rb_deeplearning_lib/__init__.py" ]; then
    continue
  fi
  "$py" -m pip install --quiet --no-deps --target "$target" "rb-deeplearning-lib==$version"
done
