#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The replay window on a real bundle: a desync made by loopsim run, then test_replay_view's pixel and key checks,
# headless screenshots from the command line, and the window under Xvfb scrubbed by keys (LOOPSIM_REPLAY_KEYS).
set -u
loopsim=$1
test_bin=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "replay_view_test: $*" >&2; exit 1; }
size_of() { od -An -tu1 -j16 -N8 "$1" | awk '{print $1*16777216+$2*65536+$3*256+$4 "x" $5*16777216+$6*65536+$7*256+$8}'; }

timeout 60 "$loopsim" run --headless --quiet --peers 3 --duration 6 --seed 4 --preset broadband --link '0->1:loss=30' \
	--inject-desync 1@60 --bundle "$dir/b" >/dev/null 2>"$dir/err"
rc=$?
[ $rc = 1 ] || fail "the desync run exited $rc: $(cat "$dir/err")"
[ -s "$dir/b/fates.tsv" ] || fail "the bundle has no fates.tsv"
[ -s "$dir/b/frames.tsv" ] || fail "the bundle has no frames.tsv"

"$test_bin" "$dir/b" || fail "test_replay_view failed"

out=$("$loopsim" replay "$dir/b" --screenshot "$dir/d.png") || fail "replay --screenshot exited $?"
[ "$out" = "frame 60 written to $dir/d.png" ] || fail "replay --screenshot said: $out"
[ "$(size_of "$dir/d.png")" = 1280x720 ] || fail "the screenshot is $(size_of "$dir/d.png")"
"$loopsim" replay "$dir/b" --frame 0 --screenshot "$dir/0.png" >/dev/null || fail "replay --frame 0 exited $?"
"$loopsim" replay "$dir/b" --frame nine --screenshot "$dir/x.png" 2>/dev/null
[ $? = 2 ] || fail "--frame nine was not refused with exit 2"
"$loopsim" replay "$dir/nope" --screenshot "$dir/x.png" 2>/dev/null
[ $? = 2 ] || fail "a missing bundle was not refused with exit 2"

# The window: keys go through SDL's queue as a user's would; the frame shown when it closes is printed. Under
# ASan, SDL's X11 drivers leave a few bytes LeakSanitizer cannot attribute (see the window test): leaks are
# checked headless, above, and not here.
# The X authority file lives here so that xvfb-run's exit code is the program's (see window_test.sh).
xvfb() { xvfb-run -a -f "$dir/xauth" -s "-screen 0 1280x720x24" "$@"; }
[ -z "${CI:-}" ] || command -v xvfb-run >/dev/null || fail "xvfb-run is not installed (.ci/deps installs it)"
if command -v xvfb-run >/dev/null; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	out=$(LOOPSIM_REPLAY_KEYS="Home Right Right Right Escape" xvfb timeout 30 \
		"$loopsim" replay "$dir/b" --view --screenshot "$dir/w.png" 2>"$dir/werr") || fail "the window exited $?: $(cat "$dir/werr")"
	echo "$out" | grep -qx "replay window closed at frame 3" || fail "scrubbed to 3, the window said: $out"
	[ "$(size_of "$dir/w.png")" = 1280x720 ] || fail "the window's screenshot is $(size_of "$dir/w.png")"
	out=$(LOOPSIM_REPLAY_KEYS="Home PageDown D Left Left q" xvfb timeout 30 \
		"$loopsim" replay "$dir/b" --view 2>"$dir/werr") || fail "the window exited $?: $(cat "$dir/werr")"
	echo "$out" | grep -qx "replay window closed at frame 58" || fail "d then Left Left should show 58: $out"
else
	echo "replay_view_test: xvfb-run is not installed: the window is not tested" >&2
fi
echo "replay_view_test: pixels and keys checked on a real bundle; headless and windowed replays scrubbed"
