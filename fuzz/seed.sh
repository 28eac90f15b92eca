#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seed inputs (see seed.py for the sources). Safe to
# run again: seeds are named by content and nothing found by fuzzing is removed.
set -euo pipefail
cd "$(dirname "$0")"
python3 seed.py
