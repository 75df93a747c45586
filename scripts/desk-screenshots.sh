#!/usr/bin/env bash
# `npm run desk-screenshots`: retakes README's pictures of the agent desk (docs/desk-*.png) from
# the running lab (`npm run lab` first), by running the desk's browser test with
# DESK_SCREENSHOTS_DIR set: the pictures are of real calls, codes and tickets, not a mock.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
source scripts/lab-env.sh
export DATABASE_URL="${DATABASE_URL:-$PINVERIFY_LAB_DATABASE_URL}"
export DESK_SCREENSHOTS_DIR="$REPO/docs"
export NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--experimental-vm-modules --no-warnings=ExperimentalWarning"
npx jest --selectProjects e2e --runInBand --testPathPattern test/e2e/desk.test.ts
ls -l docs/desk-*.png
