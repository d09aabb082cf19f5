// SPDX-License-Identifier: MIT
// The desync bundle: everything needed to see, and replay, where a session diverged.
#ifndef LOOPSIM_HARNESS_BUNDLE_H
#define LOOPSIM_HARNESS_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "harness/frame_clock.h"
#include "harness/oracle.h"
#include "harness/report.h"
#include "harness/scenario.h"

/*
 * A bundle directory holds:
 *   scenario.ini          the scenario with every value resolved, the seed included
 *   inputs-K.txt          peer K's confirmed inputs: "frame i0 i1 ..." per line, from frame 0
 *   checksums-K.txt       peer K's confirmed checksums: "frame hex" per line
 *                         (both: frames increase; those a restarted peer missed have no line)
 *   state-K.bin           peer K's serialised state after the divergent frame (when it answered DUMP)
 *   reference-state.bin   the harness's own re-simulation after that frame (built-in game)
 *   diff.txt              per peer, the first entity/field that differs from the reference, both values
 *   fates.tsv, capture.pcap, peer-K.log
 *   frames.tsv            when each frame ran, on fates.tsv's clock (harness/frame_clock.h)
 *   README.txt            what the files are, and `loopsim replay DIR`
 */
struct bundle_input {
	const struct scenario *scn;
	struct run_result *res;       /* desync.bundle and desync.field are filled in */
	struct oracle *oracle;        /* its logs (in workdir) are flushed, then copied */
	const char *pcap, *fates, *workdir;
	const struct frame_clock *clock; /* NULL: no frames.tsv */
	uint64_t start_us;               /* the session's start on the clock of fates.tsv */
	const uint8_t *dump[RUN_MAX_PEERS];
	size_t dump_len[RUN_MAX_PEERS];
};

/*
 * Writes the bundle into dir (NULL: ./loopsim-desync-YYYYmmdd-HHMMSS),
 * which may exist. Each file is written whole through harness/outfile.h,
 * and every write, sync, close or rename error of any of them counts, as
 * does a log or capture that cannot be read back to be copied. On the first
 * failure the rest is still written (a partial bundle helps more than none).
 * A capture that is no regular file (--pcap /dev/null, a FIFO) is not
 * copied; README.txt says so, and what else is missing. Returns 0 with
 * res->desync.bundle set to dir; or -1 with "path: reason" in err for the
 * first failure and res->desync.bundle left as it was.
 */
int bundle_write(const struct bundle_input *in, const char *dir, char *err, size_t errlen);

/* What replaying a bundle found, per peer. */
struct replay_peer {
	uint32_t frames;          /* frames re-simulated: to its last, or the first that no peer's log has */
	int64_t diverges_at;      /* first frame whose logged checksum differs from the re-simulation; -1 none */
	uint64_t logged, resim;   /* the two checksums there */
};

struct replay_result {
	uint32_t npeers;
	uint64_t seed;
	int64_t desync_frame;     /* the earliest divergence over all peers; -1 none */
	struct replay_peer peer[RUN_MAX_PEERS];
};

/*
 * Re-simulates every peer's confirmed inputs from frame 0; a frame a peer
 * missed is stepped with another peer's inputs of it. Returns 0, or -1 with
 * err naming the file.
 */
int bundle_replay(const char *dir, struct replay_result *out, char *err, size_t errlen);

#endif
