#!/usr/bin/env bash
# A second Asterisk configured as an operator's PBX (test/e2e/operator-pbx/), with pinverify's
# drop-in added the way README's "Install on an existing PBX" says. For the install test and for
# trying the walkthrough by hand. Runs as root, beside the lab, in the lab's Asterisk root.
#
#   scripts/operator-pbx.sh up <pinverify package dir>   copy the operator's configs, add the
#                          drop-in from that package's asterisk-conf/production/ (secrets from
#                          OPERATOR_ARI_PASSWORD, OPERATOR_AMI_SECRET, OPERATOR_AMI_CLI_SECRET)
#                          and the package's prompts, then start Asterisk
#   scripts/operator-pbx.sh rx "<cli command>"
#   scripts/operator-pbx.sh down
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="${PINVERIFY_ASTERISK_ROOT:-${PINVERIFY_CACHE_DIR:-/var/cache/pinverify}/sid-root}"
ETC=/etc/operator-asterisk
STATE="${OPERATOR_PBX_DIR:-$REPO/.lab/operator-pbx}"
mkdir -p "$STATE"

die() { printf 'operator-pbx: error: %s\n' "$*" >&2; exit 1; }
# The lab's root when it has one (scripts/lab.sh builds it), else an Asterisk on the host.
if [ -x "$ROOT/usr/sbin/asterisk" ]; then R="$ROOT"; else R=""; fi
ast() { if [ -n "$R" ]; then chroot "$R" "$@"; else "$@"; fi; }
rx() { ast /usr/sbin/asterisk -C "$ETC/asterisk.conf" -rx "$1"; }
running() { [ -f "$STATE/asterisk.pid" ] && kill -0 "$(cat "$STATE/asterisk.pid")" 2>/dev/null; }

up() {
  local pkg=${1:-}
  [ -d "$pkg/asterisk-conf/production" ] || die "give the installed package's folder (holding asterisk-conf/production/)"
  : "${OPERATOR_ARI_PASSWORD:?}" "${OPERATOR_AMI_SECRET:?}" "${OPERATOR_AMI_CLI_SECRET:?}"
  running && down
  local etc="$R$ETC"
  rm -rf "$etc" && mkdir -p "$etc/pinverify"
  cp "$REPO"/test/e2e/operator-pbx/*.conf "$etc/"
  cp "$R/etc/asterisk/indications.conf" "$etc/" 2>/dev/null || true
  local moddir
  moddir=$(sed -n 's/^astmoddir *=> *//p' "$R/etc/asterisk/asterisk.conf" 2>/dev/null | head -n1)
  [ -n "$moddir" ] && sed -i "s|^astmoddir => .*|astmoddir => $moddir|" "$etc/asterisk.conf"
  # The walkthrough: copy the drop-in, set the secrets (the ARI one hashed, as it advises).
  cp "$pkg"/asterisk-conf/production/*.conf "$etc/pinverify/"
  local hash
  hash=$(openssl passwd -6 "$OPERATOR_ARI_PASSWORD")
  sed -i "s|^password = CHANGE-ME.*|password = $hash|" "$etc/pinverify/ari_pinverify.conf"
  sed -i -e "s|CHANGE-ME-app-secret|$OPERATOR_AMI_SECRET|" -e "s|CHANGE-ME-cli-secret|$OPERATOR_AMI_CLI_SECRET|" \
    "$etc/pinverify/manager_pinverify.conf"
  chmod 600 "$etc/pinverify/ari_pinverify.conf" "$etc/pinverify/manager_pinverify.conf"
  # ... and the prompts, into the sounds folder of this Asterisk.
  local snd
  snd=$(ast readlink -f /usr/share/asterisk/sounds/en 2>/dev/null || echo /usr/share/asterisk/sounds/en)
  mkdir -p "$R$snd/pinverify" && cp "$pkg"/sounds/pinverify/*.wav "$R$snd/pinverify/"
  mkdir -p "$R/var/run/operator-asterisk" "$R/var/log/operator-asterisk" "$R/var/lib/operator-asterisk" \
    "$R/var/spool/operator-asterisk" "$R/var/cache/operator-asterisk"
  if [ -n "$R" ]; then
    mountpoint -q "$R/proc" || mount -t proc proc "$R/proc"
    cp /etc/hosts "$R/etc/hosts"
    grep -qw "$(hostname)" "$R/etc/hosts" || echo "127.0.1.1 $(hostname)" >>"$R/etc/hosts"
    setsid chroot "$R" /usr/sbin/asterisk -C "$ETC/asterisk.conf" -f >"$STATE/asterisk.out" 2>&1 </dev/null &
  else
    setsid /usr/sbin/asterisk -C "$ETC/asterisk.conf" -f >"$STATE/asterisk.out" 2>&1 </dev/null &
  fi
  echo $! >"$STATE/asterisk.pid"
  local end=$((SECONDS + 60))
  until rx "core waitfullybooted" >/dev/null 2>&1; do
    [ $SECONDS -ge $end ] && die "Asterisk did not boot; see $STATE/asterisk.out and $R/var/log/operator-asterisk/messages.log"
    sleep 0.3
  done
  echo "operator-pbx: up (pid $(cat "$STATE/asterisk.pid")): SIP 127.0.0.1:5062, ARI http://127.0.0.1:8098, AMI 5048"
}

down() {
  if running; then
    local pid; pid=$(cat "$STATE/asterisk.pid")
    rx "core stop now" >/dev/null 2>&1 || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    echo "operator-pbx: stopped"
  fi
  rm -f "$STATE/asterisk.pid"
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  rx) rx "$2" ;;
  *) die "usage: $0 up <package dir> | rx <command> | down" ;;
esac
