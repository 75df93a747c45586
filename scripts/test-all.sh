#!/usr/bin/env bash
# `npm test`: every test pinverify has, on a fresh Debian 12 machine as root.
#   1. lint (eslint, type-checked rules; prettier) and typecheck (tsc --noEmit)
#   2. unit tests (flow logic with fakes and a fake clock)
#   3. brings up the lab (scripts/lab.sh up: Postgres, Asterisk 22, sinks, the app)
#   4. integration tests against the real Postgres (database pinverify_test)
#   5. end-to-end tests: real SIP calls (SIPp) and ARI-driven calls through the lab Asterisk, and
#      the agent desk in a real browser (Debian's chromium, headless, driven by playwright-core)
# It installs what it needs (npm ci, sip-tester, sox, chromium, PostgreSQL, the Asterisk root) and stops the
# lab afterwards unless the lab was already running before.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
source scripts/lab-env.sh
LAB_DIR="${LAB_DIR:-$REPO/.lab}"
mkdir -p "$LAB_DIR"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

[ "$(id -u)" = 0 ] || { echo "npm test: run as root (it starts PostgreSQL and a chrooted Asterisk)" >&2; exit 1; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
fi
if ! command -v sipp >/dev/null; then
  step "installing sip-tester (SIPp)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sip-tester >/dev/null
fi
if ! command -v sox >/dev/null; then
  step "installing sox (the outbound read-mode test listens to the recorded call audio)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sox >/dev/null
fi
if ! command -v chromium >/dev/null; then
  step "installing chromium (the desk's browser tests)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

step "lint"
npm run -s lint
step "typecheck"
npm run -s typecheck
step "docker-compose.yml (parsed, not run: no Docker engine here)"
command -v docker-compose >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; }
docker-compose -f docker-compose.yml config -q && echo "docker-compose.yml is valid"

rm -f "$LAB_DIR"/jest-*.json
# --experimental-vm-modules: @fastify/cookie (the desk's sessions) loads the ESM-only `cookie`
# package with import(), which Jest's CommonJS sandbox refuses without it. Node runs it natively.
export NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--experimental-vm-modules --no-warnings=ExperimentalWarning"
jest() { # jest PROJECT [args]
  local p=$1; shift
  npx jest --ci --selectProjects "$p" --json --outputFile "$LAB_DIR/jest-$p.json" "$@"
}

step "unit tests"
jest unit

lab_was_up=0
bash scripts/lab.sh status >/dev/null 2>&1 && lab_was_up=1
cleanup() {
  if [ $lab_was_up = 0 ]; then step "lab down"; bash scripts/lab.sh down || true; fi
}
trap cleanup EXIT
step "lab up"
bash scripts/lab.sh up

step "integration tests (PostgreSQL)"
DATABASE_URL="${TEST_DATABASE_URL:-postgres://pinverify:pinverify@127.0.0.1:5432/pinverify_test}" jest integration --runInBand

step "end-to-end tests (Asterisk + SIPp)"
DATABASE_URL="${DATABASE_URL:-$PINVERIFY_LAB_DATABASE_URL}" jest e2e --runInBand

step "summary"
node -e '
  const fs = require("fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const p of ["unit", "integration", "e2e"]) {
    const r = JSON.parse(fs.readFileSync(process.argv[1] + "/jest-" + p + ".json", "utf8"));
    console.log(`  ${p}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`);
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests;
  }
  console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  if (failed > 0 || skipped > 0 || passed === 0) process.exit(1);
' "$LAB_DIR"
