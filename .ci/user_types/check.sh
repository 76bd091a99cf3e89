#!/usr/bin/env bash
# Type-check a user's module against the *installed* package (editable or not), from a
# directory outside the repository, as a user's own mypy would see it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/user_module.py" "$here/wrong_module.py" "$work/"
cd "$work"
# A fresh cache of its own (nothing from the repository's): the second run reuses the first's
# analysis of the package and its dependencies.
python -m mypy --strict --cache-dir "$work/.mypy_cache" user_module.py
if out="$(python -m mypy --strict --cache-dir "$work/.mypy_cache" wrong_module.py 2>&1)"; then
  echo "mypy accepted wrong_module.py: the installed package's types are not visible" >&2
  exit 1
fi
if ! grep -q 'Incompatible types in assignment' <<<"$out"; then
  echo "mypy failed on wrong_module.py for another reason:" >&2
  echo "$out" >&2
  exit 1
fi
echo "user types: ok (a user's module type-checks; a wrong one is caught)"
