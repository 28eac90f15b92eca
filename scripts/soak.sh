#!/usr/bin/env bash
# The long soak (docs/soak.md): only the :soak scenario of the Docker interop suite,
# for SECONDS (default 1800: 30 minutes) with BEAMNODE_SOAK_QUIET (default 20) seconds
# of undisturbed traffic before each fault. Everything else as scripts/docker-suite.sh
# (it builds what is missing and cleans up).
#
#   bash scripts/soak.sh [SECONDS]
#
# Env: BEAMNODE_SOAK_QUIET, BEAMNODE_SOAK_RATE (messages/s per pair, default 100),
# BEAMNODE_INTEROP_PASSES (default short:soak), and scripts/docker-suite.sh's own.
set -euo pipefail
cd "$(dirname "$0")/.."
export BEAMNODE_SOAK_SECONDS="${1:-${BEAMNODE_SOAK_SECONDS:-1800}}"
export BEAMNODE_SOAK_QUIET="${BEAMNODE_SOAK_QUIET:-20}"
export BEAMNODE_INTEROP_PASSES="${BEAMNODE_INTEROP_PASSES:-short:soak}"
exec bash scripts/docker-suite.sh
