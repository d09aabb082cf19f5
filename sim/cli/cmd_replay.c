// SPDX-License-Identifier: MIT
// `loopsim replay BUNDLE`: re-simulate a desync bundle offline and say where each peer left the reference.
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "harness/bundle.h"

int cmd_replay(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("Usage: loopsim replay BUNDLE_DIR\n\n"
		       "Re-simulates every peer's confirmed inputs from frame 0 with the built-in game, and compares\n"
		       "each frame with the checksum that peer reported. Says, for each peer, whether and where it\n"
		       "leaves the reference. Exit codes: 1 the desync reproduces, 0 it does not, 2 a bad bundle.\n");
		return EXIT_CLEAN;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "loopsim replay: expected one bundle directory (see loopsim replay --help)\n");
		return EXIT_USAGE;
	}
	static struct replay_result r;
	char err[512];
	if (bundle_replay(argv[1], &r, err, sizeof err) < 0) {
		fprintf(stderr, "loopsim replay: %s\n", err);
		return EXIT_USAGE;
	}
	printf("replaying %s: %u peers, seed %" PRIu64 "\n", argv[1], r.npeers, r.seed);
	for (uint32_t k = 0; k < r.npeers; k++) {
		const struct replay_peer *p = &r.peer[k];
		if (p->diverges_at < 0)
			printf("  peer %u: follows the reference for all %u confirmed frames\n", k, p->frames);
		else
			printf("  peer %u: LEAVES the reference at frame %" PRId64 " (reported %016" PRIx64
			       ", re-simulated %016" PRIx64 ")\n",
			       k, p->diverges_at, p->logged, p->resim);
	}
	if (r.desync_frame < 0) {
		printf("not reproduced: every peer's checksums follow from its inputs\n");
		return EXIT_CLEAN;
	}
	printf("reproduced: the desync starts at frame %" PRId64 "; see diff.txt for the field\n", r.desync_frame);
	return EXIT_DESYNC;
}
