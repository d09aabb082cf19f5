// SPDX-License-Identifier: MIT
// `loopsim replay BUNDLE [--view] [--frame F] [--screenshot FILE.png]`: re-simulate a desync bundle, in text or drawn.
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "harness/bundle.h"
#ifdef LOOPSIM_HAVE_VIEW
#include "harness/replay_view.h"
#endif

static void usage(void)
{
	printf("Usage: loopsim replay BUNDLE_DIR [--view] [--frame F|divergence] [--screenshot FILE.png]\n\n"
	       "Re-simulates every peer's confirmed inputs from frame 0 with the built-in game, and compares\n"
	       "each frame with the checksum that peer reported. Says, for each peer, whether and where it\n"
	       "leaves the reference. Exit codes: 1 the desync reproduces, 0 it does not, 2 a bad bundle.\n\n"
	       "  --view                 open the replay window: each peer's game at a frame, the fields that\n"
	       "                         differ, the network lanes from fates.tsv, a scrubber. Left/Right a frame,\n"
	       "                         PgUp/PgDn a second, Home/End the ends, d the divergent frame, a click on\n"
	       "                         the scrubber that frame; Esc or q closes it\n"
	       "  --frame F|divergence   the frame to show first (default: divergence)\n"
	       "  --screenshot FILE.png  write that frame (with --view: the frame shown at the end) as a PNG,\n"
	       "                         rendered without a display\n");
}

static int replay_text(const char *dir)
{
	static struct replay_result r;
	char err[512];
	if (bundle_replay(dir, &r, err, sizeof err) < 0) {
		fprintf(stderr, "loopsim replay: %s\n", err);
		return EXIT_USAGE;
	}
	printf("replaying %s: %u peers, seed %" PRIu64 "\n", dir, r.npeers, r.seed);
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

int cmd_replay(int argc, char **argv)
{
	enum { OPT_VIEW = 1, OPT_FRAME, OPT_SCREENSHOT, OPT_HELP };
	static const struct option longopts[] = { { "view", no_argument, NULL, OPT_VIEW },
						  { "frame", required_argument, NULL, OPT_FRAME },
						  { "screenshot", required_argument, NULL, OPT_SCREENSHOT },
						  { "help", no_argument, NULL, OPT_HELP },
						  { NULL, 0, NULL, 0 } };
	bool view = false;
	int64_t frame = -1;
	const char *screenshot = NULL, *dir = NULL;
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_VIEW:
			view = true;
			break;
		case OPT_FRAME:
			if (strcmp(optarg, "divergence") == 0) {
				frame = -1;
			} else {
				char *end;
				errno = 0;
				long long f = strtoll(optarg, &end, 10);
				if (end == optarg || *end || errno || f < 0 || f > UINT32_MAX) {
					fprintf(stderr, "loopsim replay: --frame: '%s' is not a frame number or 'divergence'\n",
						optarg);
					return EXIT_USAGE;
				}
				frame = f;
			}
			break;
		case OPT_SCREENSHOT:
			screenshot = optarg;
			break;
		case OPT_HELP:
		case 'h':
			usage();
			return EXIT_CLEAN;
		case ':':
			fprintf(stderr, "loopsim replay: %s needs a value (see loopsim replay --help)\n", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "loopsim replay: unknown option %s (see loopsim replay --help)\n", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "loopsim replay: expected one bundle directory (see loopsim replay --help)\n");
		return EXIT_USAGE;
	}
	dir = argv[optind];
	if (!view && !screenshot) {
		if (frame >= 0) {
			fprintf(stderr, "loopsim replay: --frame needs --view or --screenshot\n");
			return EXIT_USAGE;
		}
		return replay_text(dir);
	}
#ifdef LOOPSIM_HAVE_VIEW
	/* LOOPSIM_REPLAY_KEYS queues key names into the window as if typed: the windowed test's way to scrub. */
	struct replay_view_opts o = { .bundle = dir, .window = view, .frame = frame, .screenshot = screenshot,
				      .keys = view ? getenv("LOOPSIM_REPLAY_KEYS") : NULL };
	uint32_t shown = 0;
	char err[1024];
	if (replay_view_run(&o, &shown, err, sizeof err) < 0) {
		fprintf(stderr, "loopsim replay: %s\n", err);
		return EXIT_USAGE;
	}
	if (view)
		printf("replay window closed at frame %u\n", shown);
	if (screenshot)
		printf("frame %u written to %s\n", shown, screenshot);
	return EXIT_CLEAN;
#else
	fprintf(stderr, "loopsim replay: this loopsim was built without the viewer (LOOPSIM_VIEW=OFF): no --view, no "
			"--screenshot\n");
	return EXIT_USAGE;
#endif
}
