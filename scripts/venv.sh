#!/usr/bin/env bash
# Makes .venv (Python 3.11+) and installs the pinned requirements into it; quick when nothing changed.
# Usage: source scripts/venv.sh [requirements file]   (default requirements.txt)
set -euo pipefail
_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_REQ="${1:-requirements.txt}"
_PY="${PYTHON:-}"
if [[ -z "$_PY" ]]; then
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then _PY="$candidate"; break; fi
  done
fi
[[ -n "$_PY" ]] || { echo "crm needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2; exit 1; }
if [[ ! -x "$_ROOT/.venv/bin/python" ]]; then
  echo "[venv] creating .venv with $("$_PY" --version)"
  "$_PY" -m venv "$_ROOT/.venv"
fi
_STAMP="$_ROOT/.venv/.installed-$(basename "$_REQ")"
_HASH="$(cat "$_ROOT"/requirements*.txt | sha256sum | cut -c1-16)"
if [[ "$(cat "$_STAMP" 2>/dev/null)" != "$_HASH" ]]; then
  echo "[venv] installing $_REQ"
  "$_ROOT/.venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  "$_ROOT/.venv/bin/python" -m pip install -q --disable-pip-version-check -r "$_ROOT/$_REQ"
  echo "$_HASH" >"$_STAMP"
fi
export PATH="$_ROOT/.venv/bin:$PATH"
