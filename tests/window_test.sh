#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A real SDL window under Xvfb: a 3 s session that exits 0 and leaves a 1280x720 screenshot.
set -u
loopsim=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "window_test: $*" >&2; exit 1; }
command -v xvfb-run >/dev/null || fail "xvfb-run is not installed (.ci/deps installs it)"

xvfb-run -a -s "-screen 0 1280x720x24" "$loopsim" run --peers 3 --duration 3 --seed 4 --quiet \
	--screenshot "$dir/window.png" --report "$dir/window.json" 2>"$dir/err"
rc=$?
[ $rc = 0 ] || fail "the windowed session exited $rc: $(cat "$dir/err")"
[ -s "$dir/window.png" ] || fail "no screenshot"
# A PNG's IHDR holds the width and height as big-endian 32-bit numbers at bytes 16..23.
size=$(od -An -tu1 -j16 -N8 "$dir/window.png" | awk '{print $1*16777216+$2*65536+$3*256+$4 "x" $5*16777216+$6*65536+$7*256+$8}')
[ "$size" = 1280x720 ] || fail "the screenshot is $size, not 1280x720"
jq -e '.exit_code == 0' "$dir/window.json" >/dev/null || fail "report: $(head -c 300 "$dir/window.json")"
echo "window_test: a real window ran 3 s and left a ${size} screenshot"
