#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A real SDL window under Xvfb: a 3 s session that exits 0 and leaves a 1280x720 screenshot.
set -u
loopsim=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "window_test: $*" >&2; exit 1; }
command -v xvfb-run >/dev/null || fail "xvfb-run is not installed (.ci/deps installs it)"
# The X authority file lives in the test's folder: without -f, xvfb-run makes its own temporary folder and, when
# removing it fails, exits 5 in place of the program's exit code (seen once in CI, where the run had exited 1).
xvfb() { xvfb-run -a -f "$dir/xauth" -s "-screen 0 1280x720x24" "$@"; }

xvfb "$loopsim" run --peers 3 --duration 3 --seed 4 --quiet \
	--screenshot "$dir/window.png" --report "$dir/window.json" 2>"$dir/err"
rc=$?
[ $rc = 0 ] || fail "the windowed session exited $rc: $(cat "$dir/err")"
[ -s "$dir/window.png" ] || fail "no screenshot"
# A PNG's IHDR holds the width and height as big-endian 32-bit numbers at bytes 16..23.
size=$(od -An -tu1 -j16 -N8 "$dir/window.png" | awk '{print $1*16777216+$2*65536+$3*256+$4 "x" $5*16777216+$6*65536+$7*256+$8}')
[ "$size" = 1280x720 ] || fail "the screenshot is $size, not 1280x720"
jq -e '.exit_code == 0' "$dir/window.json" >/dev/null || fail "report: $(head -c 300 "$dir/window.json")"

# A desync with a window and nobody watching (stdin is not a terminal): the run ends at once, exit 1, instead of
# holding the window for ever; the screenshot shows the desync (checked from the report and the file here, and by eye).
start=$(date +%s)
xvfb timeout 60 "$loopsim" run --peers 3 --duration 20 --seed 4 --quiet \
	--inject-desync 1@60 --bundle "$dir/bundle" --screenshot "$dir/desync.png" --report "$dir/desync.json" \
	</dev/null 2>"$dir/derr"
rc=$?
took=$(( $(date +%s) - start ))
[ $rc = 1 ] || fail "the windowed desync exited $rc: $(cat "$dir/derr")"
[ $took -lt 15 ] || fail "the windowed desync held the window for ${took}s with nobody watching"
[ -s "$dir/desync.png" ] || fail "no screenshot of the desync"
jq -e '.verdict == "desync" and .desync.peers == [1]' "$dir/desync.json" >/dev/null || fail "desync report: $(jq -c .desync "$dir/desync.json")"
echo "window_test: a real window ran 3 s and left a ${size} screenshot; a desync ended in ${took}s without a watcher"
