#!/usr/bin/env bash
# `npm run faults`: the fault suite against the lab, each case a scripted test with calls in
# flight whose name is its pass condition (jest --verbose prints each). The quick versions run in
# `npm test`; this runs the long ones: PostgreSQL down for 60 s, the app frozen for 30 s, Asterisk
# down for 50 s (past the 43 s after which ari-client's reconnect once gave up).
#
#   app kill -9 and SIGTERM with callers in the app        test/e2e/app-restart.test.ts
#   Asterisk stopped, the app started before it, frozen    test/e2e/ari-faults.test.ts
#   the app frozen (SIGSTOP) with callers in it            test/e2e/app-frozen.test.ts
#   PostgreSQL stopped under incoming calls                test/e2e/postgres-outage.test.ts
#   PostgreSQL slow (frozen 1.5 s of every 2 s)            test/e2e/postgres-slow.test.ts
#   overload beyond the admission ceiling                  test/e2e/overload.test.ts
#   SMTP refusing, the SMS API failing or hanging, live   test/e2e/delivery-faults.test.ts
#   every ARI event delivered twice (a replaying proxy)   test/e2e/ari-duplicate-events.test.ts
#   hangups at every step: test/unit/verification-flow.test.ts, test/unit/stasis-app.test.ts
#   (they run in npm test; see README, "When things fail").
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
source scripts/lab-env.sh
[ "$(id -u)" = 0 ] || { echo "npm run faults: run as root (it drives the lab)" >&2; exit 1; }
[ -d node_modules ] || npm ci --no-audit --no-fund
command -v sipp >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sip-tester >/dev/null; }
lab_was_up=0
bash scripts/lab.sh status >/dev/null 2>&1 && lab_was_up=1
trap '[ $lab_was_up = 0 ] && bash scripts/lab.sh down' EXIT
bash scripts/lab.sh up
export DATABASE_URL="${DATABASE_URL:-$PINVERIFY_LAB_DATABASE_URL}"
PG_OUTAGE_MS="${PG_OUTAGE_MS:-60000}" PG_SLOW_MS="${PG_SLOW_MS:-60000}" FREEZE_MS="${FREEZE_MS:-30000}" \
  ASTERISK_OUTAGE_MS="${ASTERISK_OUTAGE_MS:-50000}" \
  npx jest --ci --selectProjects e2e --runInBand --verbose \
  test/e2e/app-restart.test.ts test/e2e/ari-faults.test.ts test/e2e/app-frozen.test.ts \
  test/e2e/postgres-outage.test.ts test/e2e/postgres-slow.test.ts test/e2e/overload.test.ts \
  test/e2e/delivery-faults.test.ts test/e2e/ari-duplicate-events.test.ts
