#!/usr/bin/env bash
# Synthesises every prompt of src/flow/prompts.ts into sounds/pinverify/<name>.wav:
# 8 kHz, mono, 16-bit signed PCM WAV, the format Asterisk's "wav" format plays without transcoding
# on a ulaw/alaw/slin call. Same prompt text in, same bytes out (checked by running it twice), so
# regenerating only shows up in a diff where a prompt's words changed.
#
#   bash scripts/make-sounds.sh            # all prompts
#   bash scripts/make-sounds.sh intro sent-sms   # only these
#
# VOICE / SPEED override the espeak-ng voice and words per minute.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT_DIR=sounds/pinverify
VOICE=${VOICE:-en-us}
# espeak-ng's default of 175 wpm is hard to follow over a phone line; 145 is unhurried but not slow.
SPEED=${SPEED:-145}

need() {
  local cmd=$1 pkg=$2
  command -v "$cmd" >/dev/null 2>&1 && return 0
  echo "make-sounds: $cmd missing, installing Debian package $pkg" >&2
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update
  "${sudo[@]}" apt-get install -y --no-install-recommends "$pkg"
}
need espeak-ng espeak-ng
need sox sox

mkdir -p "$OUT_DIR"
prompts=$(npx --no-install tsx scripts/list-prompts.ts)
[ -n "$prompts" ] || { echo "make-sounds: scripts/list-prompts.ts printed nothing" >&2; exit 1; }

known=" $(cut -f1 <<<"$prompts" | tr '\n' ' ') "
for name in "$@"; do
  if [[ "$known" != *" $name "* ]]; then
    echo "make-sounds: no prompt named '$name' in src/flow/prompts.ts" >&2
    exit 1
  fi
done

wanted=" $* "
count=0
tmp=$(mktemp "${TMPDIR:-/tmp}/make-sounds.XXXXXX.wav")
trap 'rm -f "$tmp"' EXIT

while IFS=$'\t' read -r name text; do
  [ -n "$name" ] || continue
  if [ $# -gt 0 ] && [[ "$wanted" != *" $name "* ]]; then continue; fi
  # espeak-ng writes a 22.05 kHz mono WAV; sox then:
  #   -R                  repeatable mode: fixed seeds, no time stamps
  #   -D                  no dither, which would add random noise and change the bytes on every run
  #   -r 8000 -c 1 -b 16 -e signed-integer -t wav
  #                       telephone rate (sox's band-limited resampler), mono, 16-bit PCM, plain
  #                       44-byte WAV header with no metadata chunks
  #   norm -3             the same loudness for every prompt, with headroom for the codec
  #   pad 0.1 0.25        a breath before and after, so the first syllable is not clipped
  espeak-ng -v "$VOICE" -s "$SPEED" -w "$tmp" -- "$text"
  sox -R -D "$tmp" -r 8000 -c 1 -b 16 -e signed-integer -t wav "$OUT_DIR/$name.wav" norm -3 pad 0.1 0.25
  count=$((count + 1))
  echo "$OUT_DIR/$name.wav  $text"
done <<<"$prompts"

echo "make-sounds: wrote $count prompt(s) to $OUT_DIR"
