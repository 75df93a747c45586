#!/usr/bin/env bash
# pinverify SIPp pack runner: places one real SIP call into the lab and checks where it ended up.
#
#   npm run sipp -- <scenario> [--caller NUMBER] [--service EXTEN] [--pin 4721] [--expect 'exten=2901 result=failed ...']
#   npm run sipp -- list
#
# It starts the agent phone (uas-agent.xml on 127.0.0.1:5080), places the caller's call
# (uac-*.xml) to 127.0.0.1:5060, and compares the agent's line
#   AGENT exten=... result=... reason=... method=... contact=... route=...
# with the expectation: every key=value given must match. Exit 0 only on a match.
# A scenario whose expectation is "no-agent" passes when no agent was called.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SIPP_PBX="${SIPP_PBX:-127.0.0.1:5060}"
# How long hold-then-bail listens in the app before pressing * (SIPp's -d; no other scenario uses it).
HOLD_MS="${SIPP_HOLD_MS:-5000}"
UAC_PORT="${SIPP_UAC_PORT:-5070}"
UAC_MEDIA_PORT="${SIPP_UAC_MEDIA_PORT:-16000}"
AGENT_PORT="${SIPP_AGENT_PORT:-5080}"
AGENT_MEDIA_PORT="${SIPP_AGENT_MEDIA_PORT:-16100}"
OUT="${SIPP_OUT:-$(mktemp -d /tmp/pinverify-sipp.XXXXXX)}"

# name | uac file | caller | service | expectation [| PIN the caller keys]
SCENARIOS="
bail-out|uac-bail-out-expect-failed|+12025550101|7001|exten=2901 result=failed reason=caller_bailed method=none route=pinverify-support-autopin
star-in-greeting|uac-star-in-greeting-expect-bailed|+12025550101|7001|exten=2901 result=failed reason=caller_bailed method=none route=pinverify-support-autopin
bail-out-info|uac-bail-out-info-expect-failed|+12025550101|7002|exten=2902 result=failed reason=caller_bailed method=none route=pinverify-accounting-autopin
no-match|uac-unverifiable-caller-expect-failed|+12025550199|7001|exten=2901 result=failed reason=no_match contact=none
multi-match|uac-unverifiable-caller-expect-failed|+12025550104|7002|exten=2902 result=failed reason=multi_match contact=none
anonymous|uac-unverifiable-caller-expect-failed|anonymous|7003|exten=2900 result=failed reason=no_match route=default
no-route-bail-out|uac-bail-out-expect-failed|+12025550101|7003|exten=2900 result=failed reason=caller_bailed route=default
no-input|uac-no-input-expect-failed|+12025550101|7001|exten=2901 result=failed reason=no_input
wrong-code|uac-wrong-code-expect-failed|+12025550101|7002|exten=2902 result=failed reason=max_attempts method=sms
hangup-mid-entry|uac-hangup-mid-entry-expect-abandoned|+12025550102|7001|no-agent
app-down|uac-app-down-expect-unavailable|+12025550101|7001|exten=2901 result=failed reason=unavailable route=pinverify-support-autopin
pin-right|uac-pin-expect-verified|+12025550101|7005|exten=2005 result=verified reason=ok method=pin route=pinverify-billing-pin|4721
pin-wrong|uac-pin-three-tries-expect-failed|+12025550101|7005|exten=2905 result=failed reason=max_attempts method=pin route=pinverify-billing-pin|1357
pin-unknown|uac-pin-three-tries-expect-failed|+12025550199|7005|exten=2905 result=failed reason=no_match contact=none|4721
pin-not-set|uac-unverifiable-caller-expect-failed|+12025550103|7005|exten=2905 result=failed reason=no_pin method=none
hold-then-bail|uac-hold-then-bail-expect-failed|+12025550101|7001|exten=2901 result=failed reason=caller_bailed method=none route=pinverify-support-autopin
twin-bail-out|uac-bail-out-expect-failed|+12025550101|7801|exten=2901 result=failed reason=caller_bailed method=none route=pinverify-support-autopin
twin-wrong-code|uac-wrong-code-expect-failed|+12025550101|7802|exten=2902 result=failed reason=max_attempts method=sms route=pinverify-accounting-autopin
"

die() { echo "sipp: $*" >&2; exit 2; }
command -v sipp >/dev/null || die "sipp is not installed (apt-get install sip-tester)"

name="${1:-}"; shift || true
if [ -z "$name" ] || [ "$name" = list ]; then
  echo "scenarios (name: caller -> service, expected at the agent):"
  echo "$SCENARIOS" | awk -F'|' 'NF>=5 {printf "  %-18s %-13s -> %s  %s%s\n", $1, $3, $4, $5, (NF>5 ? "  (keys PIN " $6 ")" : "")}'
  exit 0
fi
row=$(echo "$SCENARIOS" | awk -F'|' -v n="$name" '$1==n')
[ -n "$row" ] || die "unknown scenario '$name' (npm run sipp -- list)"
IFS='|' read -r _ uac caller service expect pin <<<"$row"
while [ $# -gt 0 ]; do
  case $1 in
    --caller) caller=$2; shift 2 ;;
    --service) service=$2; shift 2 ;;
    --expect) expect=$2; shift 2 ;;
    --pin) pin=$2; shift 2 ;;
    *) die "unknown option $1" ;;
  esac
done

# A PIN becomes the SIPp keys p1..p4 the PIN scenarios key as SIP INFO.
pin_keys=()
if [ -n "${pin:-}" ]; then
  [[ "$pin" =~ ^[0-9]{4}$ ]] || die "--pin: the PIN scenarios key exactly 4 digits"
  for i in 1 2 3 4; do pin_keys+=(-key "p$i" "${pin:$((i - 1)):1}"); done
fi

agent_log="$OUT/agent.log"
rm -f "$agent_log"
sipp -sf "$HERE/uas-agent.xml" -i 127.0.0.1 -p "$AGENT_PORT" -mi 127.0.0.1 -mp "$AGENT_MEDIA_PORT" -m 1 \
  -trace_logs -log_file "$agent_log" -trace_err -error_file "$OUT/agent-errors.log" -nostdin -timeout 120 \
  >"$OUT/agent.out" 2>&1 &
agent_pid=$!
trap 'kill $agent_pid 2>/dev/null' EXIT
sleep 0.3

# The caller also as an injection file, for scenarios that take it as [field0] (wrong-code).
printf 'SEQUENTIAL\n%s;\n' "$caller" >"$OUT/callers.csv"

echo "sipp: $name: $caller calls $service ($uac.xml)"
sipp "$SIPP_PBX" -sf "$HERE/$uac.xml" -s "$service" -key caller "$caller" -inf "$OUT/callers.csv" "${pin_keys[@]}" -d "$HOLD_MS" -i 127.0.0.1 -p "$UAC_PORT" \
  -mi 127.0.0.1 -mp "$UAC_MEDIA_PORT" -m 1 -trace_err -error_file "$OUT/caller-errors.log" -nostdin -timeout 120 \
  >"$OUT/caller.out" 2>&1
uac_rc=$?

if [ "$expect" = no-agent ]; then
  sleep 1
  if [ -s "$agent_log" ]; then echo "sipp: FAIL: an agent was called: $(grep '^AGENT ' "$agent_log")"; exit 1; fi
  [ $uac_rc -eq 0 ] || { echo "sipp: FAIL: the caller's scenario failed (rc $uac_rc); see $OUT"; exit 1; }
  echo "sipp: PASS: no agent was called"
  exit 0
fi

wait $agent_pid
agent_rc=$?
trap - EXIT
line=$(grep -m1 '^AGENT ' "$agent_log" 2>/dev/null || true)
echo "sipp: agent saw: ${line:-nothing}"
[ $uac_rc -eq 0 ] || { echo "sipp: FAIL: the caller's scenario failed (rc $uac_rc); see $OUT/caller-errors.log"; exit 1; }
[ $agent_rc -eq 0 ] || { echo "sipp: FAIL: the agent's scenario failed (rc $agent_rc), e.g. a missing X-PinVerify header; see $OUT/agent-errors.log"; exit 1; }
for kv in $expect; do
  case " ${line#AGENT } " in *" $kv "*) ;; *) echo "sipp: FAIL: expected $kv"; exit 1 ;; esac
done
echo "sipp: PASS: $expect"
