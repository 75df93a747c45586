#!/usr/bin/env bash
# `npm run bench [-- --soak MINUTES]`: the benchmark of scripts/bench.ts on this machine (as root;
# brings the lab up, leaves it as it found it). BENCH_RATES, BENCH_WRONG_CODE_RATES (empty: skip that
# path), BENCH_STEP_SECONDS and BENCH_HELD_CALLS (0: skip) tune the run.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
source scripts/lab-env.sh
[ "$(id -u)" = 0 ] || { echo "npm run bench: run as root (it drives the lab)" >&2; exit 1; }
[ -d node_modules ] || npm ci --no-audit --no-fund
command -v sipp >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sip-tester >/dev/null; }
lab_was_up=0
bash scripts/lab.sh status >/dev/null 2>&1 && lab_was_up=1
trap '[ $lab_was_up = 0 ] && bash scripts/lab.sh down' EXIT
bash scripts/lab.sh up
npx --no-install tsx scripts/bench.ts "$@"
