#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cmake --install into a temporary prefix, moved elsewhere afterwards (so that nothing can be found by the path it
# was installed to, nor in the build tree), then used from there as a user would: a session with a screenshot,
# a --localhost-ports game through the installed preload library, and a peer of the user's own built against
# the installed peer.h through pkg-config.
set -u
build=$1 src=$2 game=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "install_test: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$dir/staged" >"$dir/install.log" 2>&1 || fail "cmake --install: $(cat "$dir/install.log")"
mv "$dir/staged" "$dir/prefix"
p=$dir/prefix
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$build/CMakeCache.txt")
for f in bin/loopsim bin/loopsim-peer bin/loopsim-bench "$libdir/loopsim/libloopsim-preload.so" \
	include/loopsim/peer.h "$libdir/pkgconfig/loopsim-peer.pc" share/loopsim/python/loopsim_peer.py \
	share/loopsim/python/PROTOCOL.md share/loopsim/fonts/DejaVuSansMono.ttf share/loopsim/scenarios/cable.ini; do
	[ -e "$p/$f" ] || fail "not installed: $f (installed: $(cd "$p" && find . -type f | tr '\n' ' '))"
done

# The installed loopsim names its own files, all under the prefix.
unset LOOPSIM_PEER LOOPSIM_PRELOAD LOOPSIM_DATA_DIR
"$p/bin/loopsim" --version >"$dir/version" || fail "--version failed"
grep -qx "peer: $p/bin/loopsim-peer" "$dir/version" || fail "the peer is not the installed one: $(cat "$dir/version")"
grep -qx "preload: $p/$libdir/loopsim/libloopsim-preload.so" "$dir/version" ||
	fail "the preload library is not the installed one: $(cat "$dir/version")"
grep -qx "data: $p/share/loopsim" "$dir/version" || fail "the data folder is not the installed one: $(cat "$dir/version")"

# A session of the built-in peer, with the font for its screenshot, from the prefix.
timeout 60 "$p/bin/loopsim" run --headless --peers 3 --duration 3 --seed 5 --screenshot "$dir/shot.png" \
	--report "$dir/run.json" >"$dir/run.out" 2>"$dir/run.err"
rc=$?
[ $rc = 0 ] || fail "installed run: exit $rc: $(cat "$dir/run.err")"
[ "$(head -c 8 "$dir/shot.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "no PNG screenshot"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["verdict"]=="clean" and all(p["compared"]>0 for p in r["peers"]), r' \
	"$dir/run.json" || fail "installed run: not every peer compared"

# A user's peer built against the installed header, found through pkg-config (and nothing of the source tree).
cflags=$(PKG_CONFIG_PATH="$p/$libdir/pkgconfig" pkg-config --cflags loopsim-peer) || fail "pkg-config loopsim-peer failed"
cflags=${cflags%% *}
inc=$(realpath -m "${cflags#-I}")
[ "$inc" = "$p/include" ] || fail "pkg-config --cflags loopsim-peer gave '$cflags', not the prefix's include/"
cc -std=c17 -Wall -Werror $cflags -o "$dir/my_peer" "$src/tests/example_peer.c" 2>"$dir/cc.err" ||
	fail "example_peer.c does not build against the installed peer.h: $(cat "$dir/cc.err")"
timeout 60 "$p/bin/loopsim" run --headless --peers 3 --duration 3 --seed 6 \
	--peer-cmd "$dir/my_peer {index} {addr} {peers} {seed}" --report "$dir/own.json" >"$dir/own.out" 2>"$dir/own.err"
rc=$?
[ $rc = 0 ] || fail "user peer from the installed header: exit $rc: $(cat "$dir/own.err")"

# An unmodified localhost game through the installed preload library.
read -r eph_lo _ </proc/sys/net/ipv4/ip_local_port_range
base=$((10000 + (RANDOM * 32768 + RANDOM) % (eph_lo - 10100)))
timeout 60 "$p/bin/loopsim" run --headless --network-only --peers 2 --duration 3 --seed 7 --latency 30 --jitter 0 \
	--localhost-ports "$base" --peer-cmd "$game --index {index} --peers 2 --base $base --seconds 2 --out $dir/game-{index}.json" \
	>"$dir/game.out" 2>"$dir/game.err"
rc=$?
[ $rc = 0 ] || fail "localhost game from the prefix: exit $rc: $(cat "$dir/game.err")"
python3 - "$dir" <<'EOF' || fail "the localhost game did not cross the installed wire (above)"
import json, sys
for k in (0, 1):
    g = json.load(open("%s/game-%d.json" % (sys.argv[1], k)))
    r = g["recv"].get(str(1 - k))
    assert r and r["unique"] > 20, "peer %d heard little from the other: %s" % (k, g)
    # The wire's 30 ms shows in what the game measured itself: the library routed it through the wire.
    assert r["min_ms"] >= 29, "peer %d: min delay %.2f ms, under the 30 ms link" % (k, r["min_ms"])
    print("  game %d: %d datagrams, delay min %.2f p50 %.2f ms" % (k, r["unique"], r["min_ms"], r["p50_ms"]))
EOF
echo "install_test: ok (prefix moved after install; run, screenshot, own peer via pkg-config, localhost game)"
