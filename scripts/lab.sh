#!/usr/bin/env bash
# pinverify lab: a real Asterisk 22, a real PostgreSQL, SMTP and Twilio-API sinks, and the app,
# all on 127.0.0.1. Run as root on Debian 12.
#
#   scripts/lab.sh up       bring everything up (safe to run again: running parts are kept,
#                           configs are re-copied and reloaded, the app is restarted)
#   scripts/lab.sh status   what is running
#   scripts/lab.sh logs [app|asterisk|sinks|all] [-f]
#   scripts/lab.sh down     stop everything the lab started, by pid
#   scripts/lab.sh app-stop | app-start
#                           stop or (re)start only the app (to see the dialplan's fallback)
#   scripts/lab.sh asterisk-stop | asterisk-start
#                           stop or start only Asterisk (the app keeps trying to reconnect)
#   scripts/lab.sh postgres-pause | postgres-resume
#                           stop or start the lab's PostgreSQL cluster under the running app
#   scripts/lab.sh postgres-freeze | postgres-thaw
#                           SIGSTOP / SIGCONT its processes: queries wait instead of failing
#
# Asterisk: an installed Asterisk >= 20 is used when there is one; otherwise Debian sid's
# asterisk package is installed once into a debootstrap root cached in /var/cache/pinverify
# and run under chroot. The repo's asterisk-conf/ and sounds/ are copied in on every start.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lab-env.sh
source "$REPO/scripts/lab-env.sh"
# Whether the operator gave a database; the lab only manages its own.
EXTERNAL_DATABASE_URL="${DATABASE_URL:-}"
LAB_DIR="${LAB_DIR:-$REPO/.lab}"
CACHE_DIR="${PINVERIFY_CACHE_DIR:-/var/cache/pinverify}"
SID_ROOT="${PINVERIFY_ASTERISK_ROOT:-$CACHE_DIR/sid-root}"
AST_ETC=/etc/pinverify-asterisk
AST_CONF="$AST_ETC/asterisk.conf"
mkdir -p "$LAB_DIR"

say() { printf '\033[1mlab:\033[0m %s\n' "$*"; }
die() { printf 'lab: error: %s\n' "$*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "run as root (the lab installs packages, starts PostgreSQL and chroots Asterisk)"; }

apt_updated=""
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]} with apt-get"
  if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local secs=$1 what=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $end ] && return 1
    sleep 0.3
  done
}

# ---------------------------------------------------------------------------------------------
# Asterisk
# ---------------------------------------------------------------------------------------------
system_asterisk_ok() {
  command -v asterisk >/dev/null 2>&1 || return 1
  local v; v=$(asterisk -V 2>/dev/null | sed -n 's/^Asterisk \([0-9]*\).*/\1/p')
  [ -n "$v" ] && [ "$v" -ge 20 ]
}

# AST_ROOT is "" for a host Asterisk, else the chroot.
if system_asterisk_ok && [ -z "${PINVERIFY_ASTERISK_ROOT:-}" ]; then AST_ROOT=""; else AST_ROOT="$SID_ROOT"; fi

ast() { # run a command in Asterisk's root
  if [ -n "$AST_ROOT" ]; then chroot "$AST_ROOT" "$@"; else "$@"; fi
}
ast_rx() { ast /usr/sbin/asterisk -C "$AST_CONF" -rx "$1"; }

debian_mirror() {
  local m
  m=$(grep -rhoE '(https?)://[^ ]*debian[^ ]*' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
    grep -v -e security -e snapshot | head -n1 || true)
  echo "${m:-http://deb.debian.org/debian}"
}

ensure_asterisk_root() {
  [ -z "$AST_ROOT" ] && return 0
  [ -x "$AST_ROOT/usr/sbin/asterisk" ] && return 0
  apt_install debootstrap
  local mirror; mirror=$(debian_mirror)
  say "building an Asterisk root from Debian sid in $AST_ROOT (once, about a minute; mirror $mirror)"
  rm -rf "$AST_ROOT.tmp"
  mkdir -p "$(dirname "$AST_ROOT")"
  debootstrap --variant=minbase --include=asterisk,asterisk-core-sounds-en-gsm sid "$AST_ROOT.tmp" "$mirror" \
    >"$LAB_DIR/debootstrap.log" 2>&1 || die "debootstrap failed; see $LAB_DIR/debootstrap.log"
  mv "$AST_ROOT.tmp" "$AST_ROOT"
}

install_asterisk_files() {
  local etc="$AST_ROOT$AST_ETC"
  mkdir -p "$etc"
  rm -f "$etc"/*.conf
  cp "$REPO"/asterisk-conf/*.conf "$etc/"
  # The drop-in every PBX includes (README, "Install on an existing PBX"), where README puts it.
  rm -rf "$etc/pinverify"
  mkdir -p "$etc/pinverify"
  cp "$REPO"/asterisk-conf/production/extensions_pinverify.conf "$etc/pinverify/"
  # Tone tables (ringing, busy) are data, not policy: take the distribution's.
  cp "$AST_ROOT/etc/asterisk/indications.conf" "$etc/" 2>/dev/null || true
  # Paths that differ between a distribution Asterisk and the chroot.
  local moddir
  moddir=$(sed -n 's/^astmoddir *=> *//p' "$AST_ROOT/etc/asterisk/asterisk.conf" 2>/dev/null | head -n1)
  [ -n "$moddir" ] && sed -i "s|^astmoddir => .*|astmoddir => $moddir|" "$etc/asterisk.conf"
  # Credentials from the environment, never committed.
  umask 077
  cat >"$etc/ari-users.conf" <<EOF
[$ARI_USER]
type = user
read_only = no
password = $ARI_PASSWORD
password_format = plain
EOF
  # Least rights (asterisk-conf/production/manager_pinverify.conf explains each class): the app
  # sends UserEvents (write user), asks ShowDialPlan (write reporting) and reads only DialBegin
  # (read call, filtered: the desk's screen pops); the CLI reads call, dialplan and user events for test-call and asks ShowDialPlan. Neither may
  # Originate, run system commands or change the dialplan.
  cat >"$etc/manager-users.conf" <<EOF
[$AMI_USER]
secret = $AMI_SECRET
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = call
eventfilter = Event: DialBegin
write = user,reporting

[$AMI_CLI_USER]
secret = $AMI_CLI_SECRET
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = call,user,dialplan
write = reporting
EOF
  cat >"$etc/pjsip-softphone-auth.conf" <<EOF
[softphone]
type = auth
auth_type = userpass
username = softphone
password = $LAB_SOFTPHONE_PASSWORD
EOF
  umask 022
  # Prompts: sounds/pinverify/*.wav into Asterisk's English sounds folder.
  local snd
  snd=$(ast readlink -f /usr/share/asterisk/sounds/en 2>/dev/null || echo /usr/share/asterisk/sounds/en)
  mkdir -p "$AST_ROOT$snd/pinverify"
  cp "$REPO"/sounds/pinverify/*.wav "$AST_ROOT$snd/pinverify/"
  mkdir -p "$AST_ROOT/var/run/pinverify-asterisk" "$AST_ROOT/var/log/pinverify-asterisk"
}

prepare_chroot() {
  [ -z "$AST_ROOT" ] && return 0
  mountpoint -q "$AST_ROOT/proc" || mount -t proc proc "$AST_ROOT/proc"
  # Without a line for this host name Asterisk logs getaddrinfo errors on every SIP message.
  cp /etc/hosts "$AST_ROOT/etc/hosts"
  grep -qw "$(hostname)" "$AST_ROOT/etc/hosts" || echo "127.0.1.1 $(hostname)" >>"$AST_ROOT/etc/hosts"
  cp /etc/resolv.conf "$AST_ROOT/etc/resolv.conf" 2>/dev/null || true
}

asterisk_running() { pid_alive "$LAB_DIR/asterisk.pid"; }

start_asterisk() {
  ensure_asterisk_root
  prepare_chroot
  install_asterisk_files
  if asterisk_running; then
    say "Asterisk already running (pid $(cat "$LAB_DIR/asterisk.pid")): reloading configuration"
    ast_rx "core reload" >/dev/null || true
    return 0
  fi
  say "starting Asterisk $(ast /usr/sbin/asterisk -V | cut -d' ' -f2 | cut -d+ -f1)${AST_ROOT:+ (chroot $AST_ROOT)}"
  # Root without -U: -U root drops the capabilities Asterisk needs to read its config.
  if [ -n "$AST_ROOT" ]; then
    setsid chroot "$AST_ROOT" /usr/sbin/asterisk -C "$AST_CONF" -f >"$LAB_DIR/asterisk.out" 2>&1 </dev/null &
  else
    setsid /usr/sbin/asterisk -C "$AST_CONF" -f >"$LAB_DIR/asterisk.out" 2>&1 </dev/null &
  fi
  echo $! >"$LAB_DIR/asterisk.pid"
  wait_for 60 "Asterisk" ast_rx "core waitfullybooted" || die "Asterisk did not boot; see $LAB_DIR/asterisk.out"
  wait_for 30 "ARI" curl -sf -u "$ARI_USER:$ARI_PASSWORD" "$ARI_URL/ari/asterisk/info" ||
    die "ARI does not answer on $ARI_URL; see $(asterisk_log)"
}

asterisk_log() { echo "$AST_ROOT/var/log/pinverify-asterisk/messages.log"; }

stop_asterisk() {
  if asterisk_running; then
    local pid; pid=$(cat "$LAB_DIR/asterisk.pid")
    ast_rx "core stop now" >/dev/null 2>&1 || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    say "Asterisk stopped"
  fi
  rm -f "$LAB_DIR/asterisk.pid"
  if [ -n "$AST_ROOT" ] && mountpoint -q "$AST_ROOT/proc" 2>/dev/null; then umount "$AST_ROOT/proc" || umount -l "$AST_ROOT/proc" || true; fi
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------
pg_cluster() { pg_lsclusters -h 2>/dev/null | sort -k1,1V | tail -n1 | awk '{print $1" "$2" "$4}'; }

start_postgres() {
  if [ -n "$EXTERNAL_DATABASE_URL" ]; then
    say "using DATABASE_URL as given"
    return 0
  fi
  command -v pg_lsclusters >/dev/null 2>&1 && [ -n "$(pg_cluster)" ] || apt_install postgresql
  local ver name status
  read -r ver name status <<<"$(pg_cluster)"
  [ -n "$ver" ] || die "no PostgreSQL cluster found (pg_lsclusters shows none)"
  if [ "$status" != online ]; then
    say "starting PostgreSQL $ver/$name"
    pg_ctlcluster "$ver" "$name" start
    echo "$ver $name" >"$LAB_DIR/postgres.started"
  fi
  wait_for 30 "PostgreSQL" su postgres -c "psql -qAtc 'select 1'" || die "PostgreSQL $ver/$name does not accept connections"
  su postgres -c "psql -v ON_ERROR_STOP=1 -qAt" >/dev/null <<'SQL'
DO $$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pinverify') THEN
    CREATE ROLE pinverify LOGIN PASSWORD 'pinverify';
  END IF;
END$$;
SELECT 'CREATE DATABASE pinverify OWNER pinverify' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'pinverify')\gexec
SELECT 'CREATE DATABASE pinverify_test OWNER pinverify' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'pinverify_test')\gexec
SQL
  export DATABASE_URL="$PINVERIFY_LAB_DATABASE_URL"
}

stop_postgres() {
  if [ -f "$LAB_DIR/postgres.started" ]; then
    local ver name; read -r ver name <"$LAB_DIR/postgres.started"
    pg_ctlcluster "$ver" "$name" stop && say "PostgreSQL $ver/$name stopped" || true
    rm -f "$LAB_DIR/postgres.started"
  fi
}

# ---------------------------------------------------------------------------------------------
# Node processes: sinks and the app
# ---------------------------------------------------------------------------------------------
ensure_node_modules() {
  if [ ! -d "$REPO/node_modules" ] || [ "$REPO/package-lock.json" -nt "$REPO/node_modules/.package-lock.json" ]; then
    say "installing node modules (npm ci)"
    (cd "$REPO" && npm ci --no-audit --no-fund >"$LAB_DIR/npm-ci.log" 2>&1) || die "npm ci failed; see $LAB_DIR/npm-ci.log"
  fi
  say "building (tsc)"
  (cd "$REPO" && npm run -s build) || die "the TypeScript build failed"
}

start_node() { # start_node NAME READY-CHECK... (command from $NODE_CMD)
  local name=$1; shift
  stop_pid "$name"
  # exec: the recorded pid is node's own, and no shell lingers holding the caller's stdout.
  # shellcheck disable=SC2086
  (cd "$REPO" && exec setsid node $NODE_CMD) >>"$LAB_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$LAB_DIR/$name.pid"
  wait_for 30 "$name" "$@" || die "$name did not come up; see $LAB_DIR/$name.log"
}

stop_pid() {
  local f="$LAB_DIR/$1.pid"
  if pid_alive "$f"; then
    local pid; pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
    # 15 s: the app drains its calls first (SHUTDOWN_DRAIN_MS, then routes the rest).
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    say "$1 stopped"
  fi
  rm -f "$f"
}

start_sinks() {
  NODE_CMD="dist/lab/sinks-main.js" start_node sinks curl -sf "http://127.0.0.1:$TWILIO_SINK_PORT/messages"
}

start_app() {
  : "${DATABASE_URL:=$PINVERIFY_LAB_DATABASE_URL}"
  export DATABASE_URL
  # PINVERIFY_APP_MAIN: another build's entry point (npm run bench's BENCH_BASELINE_DIST).
  NODE_CMD="${PINVERIFY_APP_MAIN:-dist/main.js}" start_node app \
    curl -sf -u "$ARI_USER:$ARI_PASSWORD" "$ARI_URL/ari/applications/$ARI_APP"
}

setup_database() {
  (cd "$REPO" && node dist/store/setup-cli.js --demo) || die "database setup failed (DATABASE_URL=${DATABASE_URL%%@*}@...)"
}

# The CLI reads the same settings as the app: write them where `pinverify --env-file` (or
# PINVERIFY_ENV_FILE) finds them, as an operator's /etc/pinverify/pinverify.env holds them. The
# CLI uses its own AMI user (AMI_CLI_*); the app's is there for `pinverify doctor` to check.
# Owner-only: it holds the lab's credentials.
write_cli_env() {
  local f="$LAB_DIR/pinverify.env"
  (umask 077 && cat >"$f" <<EOF
# Written by scripts/lab.sh up: the lab's settings for the pinverify CLI.
DATABASE_URL=${DATABASE_URL:-$PINVERIFY_LAB_DATABASE_URL}
AMI_HOST=$AMI_HOST
AMI_PORT=$AMI_PORT
AMI_USER=$AMI_USER
AMI_SECRET=$AMI_SECRET
AMI_CLI_USER=$AMI_CLI_USER
AMI_CLI_SECRET=$AMI_CLI_SECRET
ARI_URL=$ARI_URL
ARI_USER=$ARI_USER
ARI_PASSWORD=$ARI_PASSWORD
ARI_APP=$ARI_APP
SINK_URL=http://127.0.0.1:$TWILIO_SINK_PORT
# For \`pinverify verifications start\`: the app's code secret and senders (lab values).
PINVERIFY_LAB=1
PINVERIFY_CODE_SECRET=$PINVERIFY_CODE_SECRET
SMTP_HOST=$SMTP_HOST
SMTP_PORT=$SMTP_PORT
SMTP_FROM="$SMTP_FROM"
TWILIO_ACCOUNT_SID=$TWILIO_ACCOUNT_SID
TWILIO_AUTH_TOKEN=$TWILIO_AUTH_TOKEN
TWILIO_FROM=$TWILIO_FROM
TWILIO_API_BASE_URL=$TWILIO_API_BASE_URL
# Desk ticket notes: the lab's Zendesk stand-in.
TICKET_SYSTEM=$TICKET_SYSTEM
ZENDESK_URL=$ZENDESK_URL
ZENDESK_EMAIL=$ZENDESK_EMAIL
ZENDESK_API_TOKEN=$ZENDESK_API_TOKEN
EOF
  )
}

# The lab's webhook sink subscribes to every event once, with the lab's published secret, so
# `curl http://127.0.0.1:$WEBHOOK_SINK_PORT/deliveries` shows signed deliveries (README, "Webhooks").
subscribe_webhook_sink() {
  local url="http://127.0.0.1:$WEBHOOK_SINK_PORT/" cli=(node "$REPO/dist/cli/main.js" --env-file "$LAB_DIR/pinverify.env")
  if ! "${cli[@]}" webhooks list --json | grep -q "\"url\": *\"$url\""; then
    "${cli[@]}" webhooks add "$url" --description "lab webhook sink" \
      --secret "$(cd "$REPO" && node -e 'console.log(require("./dist/lab/webhook-sink").LAB_WEBHOOK_SECRET)')" >/dev/null \
      || die "subscribing the lab webhook sink failed"
  fi
}

# ---------------------------------------------------------------------------------------------
cmd_up() {
  need_root
  apt_install curl
  ensure_node_modules
  start_postgres
  setup_database
  start_asterisk
  start_sinks
  start_app
  write_cli_env
  subscribe_webhook_sink
  cmd_status
  cat <<EOF

Place a test call:
  - SIPp:      npm run sipp -- list, then e.g. npm run sipp -- bail-out  (see test/sipp/README.md)
  - softphone: register user "softphone", password "$LAB_SOFTPHONE_PASSWORD", at 127.0.0.1:5060 (UDP);
               dial 7000 (main IVR), 7001 (Support), 7002 (Accounting), 7003 (no route),
               7005 (security PIN: Alice keys 4721), 7006 (PIN, then a code).
               It calls as demo contact Alice (+12025550101). Agents answer at sip:2xxx@127.0.0.1:5080.
  - Messages with the codes print in:  npm run lab -- logs sinks -f
  - Ops CLI:  export PINVERIFY_ENV_FILE=$LAB_DIR/pinverify.env; npx pinverify --help
              e.g. npx pinverify test-call --caller +12025550101 --sub-ivr pinverify-support-autopin
  - Admin API: http://127.0.0.1:${ADMIN_PORT:-8090}/v1/openapi.json (key: npx pinverify api-keys create <name>)
  - Agent desk: http://127.0.0.1:${ADMIN_PORT:-8090}/desk/ (sam / lab-desk-password: extensions 2001, 2901; lee: 2000, 2900)
  - Stop everything:                   npm run lab -- down
EOF
}

cmd_status() {
  local ok=0
  line() { printf '  %-11s %s\n' "$1" "$2"; }
  echo "pinverify lab:"
  if asterisk_running; then line asterisk "up, pid $(cat "$LAB_DIR/asterisk.pid"); SIP udp 127.0.0.1:5060, ARI $ARI_URL, AMI 127.0.0.1:$AMI_PORT"; else line asterisk down; ok=1; fi
  if [ -n "$EXTERNAL_DATABASE_URL" ]; then line postgres "DATABASE_URL (external)";
  elif su postgres -c "psql -qAtc 'select 1'" >/dev/null 2>&1; then line postgres "up, $PINVERIFY_LAB_DATABASE_URL" | sed 's/:pinverify@/:***@/'; else line postgres down; ok=1; fi
  if pid_alive "$LAB_DIR/sinks.pid"; then line sinks "up, pid $(cat "$LAB_DIR/sinks.pid"); SMTP 127.0.0.1:$SMTP_SINK_PORT, Twilio API + messages http://127.0.0.1:$TWILIO_SINK_PORT, webhooks http://127.0.0.1:$WEBHOOK_SINK_PORT/deliveries, tickets http://127.0.0.1:$TICKET_STAND_IN_PORT/requests"; else line sinks down; ok=1; fi
  if pid_alive "$LAB_DIR/app.pid"; then line app "up, pid $(cat "$LAB_DIR/app.pid"); Stasis app '$ARI_APP'; admin API http://127.0.0.1:${ADMIN_PORT:-8090}; log $LAB_DIR/app.log"; else line app down; ok=1; fi
  return $ok
}

cmd_logs() {
  local which=${1:-all} follow=""
  [ "${2:-}" = -f ] || [ "${1:-}" = -f ] && follow=-f
  [ "$which" = -f ] && which=all
  case $which in
    app) tail -n 100 $follow "$LAB_DIR/app.log" ;;
    sinks) tail -n 100 $follow "$LAB_DIR/sinks.log" ;;
    asterisk) tail -n 100 $follow "$(asterisk_log)" ;;
    all) tail -n 40 $follow "$LAB_DIR/app.log" "$LAB_DIR/sinks.log" "$(asterisk_log)" ;;
    *) die "logs: app, asterisk, sinks or all" ;;
  esac
}

cmd_down() {
  need_root
  stop_pid app
  stop_pid sinks
  stop_asterisk
  stop_postgres
  say "down"
}

case "${1:-up}" in
  up) cmd_up ;;
  status) cmd_status ;;
  logs) shift; cmd_logs "$@" ;;
  down) cmd_down ;;
  app-stop) stop_pid app ;;
  app-start) start_app ;;
  asterisk-stop) need_root; stop_asterisk ;;
  asterisk-start) need_root; start_asterisk ;;
  postgres-pause) need_root; read -r v n _ <<<"$(pg_cluster)"; pg_ctlcluster "$v" "$n" stop -m fast; say "PostgreSQL $v/$n stopped (postgres-resume starts it)" ;;
  postgres-resume) need_root; read -r v n _ <<<"$(pg_cluster)"; pg_ctlcluster "$v" "$n" start; wait_for 30 "PostgreSQL" su postgres -c "psql -qAtc 'select 1'" ;;
  # A slow database, not a dead one: every PostgreSQL process stopped (SIGSTOP) until thawed, so
  # connections stay open and queries simply wait (test/e2e/postgres-slow.test.ts alternates them).
  postgres-freeze) need_root; pkill -STOP -u postgres -x postgres || die "no PostgreSQL process to freeze" ;;
  postgres-thaw) need_root; pkill -CONT -u postgres -x postgres || true ;;
  *) die "usage: lab.sh up|status|logs [app|asterisk|sinks|all] [-f]|down|app-stop|app-start|asterisk-stop|asterisk-start|postgres-pause|postgres-resume|postgres-freeze|postgres-thaw" ;;
esac
