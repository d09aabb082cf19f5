// SPDX-License-Identifier: MIT
// loopsim-bench view: frame time of the viewer's software rendering, and what a rendering thread costs the wire.
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bench_wire.h"
#include "game/game.h"
#include "harness/bundle_story.h"
#include "harness/replay_view.h"
#include "view/view.h"
#include "view/view_replay.h"
#include "wire/link.h"
#include "wire/relay.h"

/* The load of the brief: 16 peers in full mesh, 240 links, 5000 datagrams in flight, at 1280 x 720. */
#define BV_PEERS 16u
#define BV_DOTS 5000u
#define BV_MARKS 200u
#define BV_W 1280
#define BV_H 720
#define BV_FRAMES 300u
#define BV_WARMUP_FRAMES 20u
/* Snapshots advance as a 60 Hz session would between frames. */
#define BV_DT_S (1.0 / 60)

/* The wire under load, as bench_wire measures it: 16 peers, each to the next 4, 20 ± 5 ms, 1 % loss. */
#define BV_WIRE_FANOUT 4u
#define BV_WIRE_SIZE 64u
#define BV_WIRE_BURST 8u
#define BV_WIRE_WINDOW 8192u
#define BV_SLICE_S 0.5
/* After the view thread changes what it does, the machine settles for this long before a slice is counted. */
#define BV_SETTLE_NS (100 * (bench_ns)BENCH_NS_PER_MS)
#define BV_WARMUP_NS (500 * (bench_ns)BENCH_NS_PER_MS)

#define BV_TARGET_P50_MS 8.0
/* The replay phase's bundle: 10 s of a 16-peer game, one peer diverging in its middle. */
#define BR_FRAMES 600u
#define BR_DIVERGENCE 300u
#define BV_TARGET_RATIO 0.95

static const char *const prog = "loopsim-bench view";

enum { PH_RENDER = 1, PH_WIRE = 2, PH_REPLAY = 4, PH_ALL = 7 };

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: loopsim-bench view [--frames N] [--seconds S] [--fps F] [--phases LIST]\n"
		"                          [--screenshot FILE.png [--peers N] [--dots N]]\n"
		"\n"
		"Measures the viewer (sim/view) headless, with SDL's software renderer at %dx%d.\n"
		"\n"
		"  render  %u peers (each with 16 ships and 64 bullets), %u directed links, %u packets in flight\n"
		"          moving along them, %u fading drop marks, a timeline: render_ms_p50/p99 over N frames\n"
		"          (default %u, after %u of warm-up), each a new snapshot 1/60 s later\n"
		"  wire    the wire (sim/wire/relay.c) with %u peers each sending %u-byte datagrams to the next\n"
		"          %u, 20 +- 5 ms, 1%% loss, fed by bench_wire's window-controlled generator; beside it a\n"
		"          thread that renders frames from synthetic snapshots. In alternating %.1f s slices the\n"
		"          thread is idle, renders continuously at F frames/s (default 60: a live window draws\n"
		"          at the display's rate), or renders flat out. wire_ratio_with_view = delivered/s with\n"
		"          the live view / with none, the median over rounds of one slice each (pooled over all\n"
		"          slices in detail); detail.wire_ratio_with_view_flat_out the same flat out.\n"
		"          The generator is CPU-bound by design, so flat out on a 2-core machine the ratio shows\n"
		"          a core taken away, whatever a frame costs; detail.wire_ns_per_dgram_* is the wire\n"
		"          thread's own CPU per datagram in each mode, detail.view_cpu_ms_per_frame_* the view\n"
		"          thread's CPU per frame (the synthetic snapshot's step included) and\n"
		"          detail.view_core_share_paced the share of one core the live view takes\n"
		"  replay  the replay window (loopsim replay --view) on a synthetic bundle of %u peers, %u frames\n"
		"          and %u links' fates, peer 3 diverging at frame %u: replay_ms_p50/p99 over N frames\n"
		"          visited out of order (each re-simulated from its checkpoint, compared field by field,\n"
		"          drawn whole); replay_ratio_to_live = replay p50 / the live view's render p50, measured\n"
		"          in the same process just before\n"
		"\n"
		"Options:\n"
		"  --frames N          frames timed in the render phase (default %u)\n"
		"  --seconds S         seconds measured in each of the wire phase's three modes (default 8)\n"
		"  --fps F             the paced mode's frame rate (default 60)\n"
		"  --phases LIST       render, wire, replay or all (default all)\n"
		"  --screenshot FILE   only write the render phase's snapshot as a PNG (with --peers N, --dots N)\n"
		"  --help              this text\n"
		"\n"
		"Targets: render_ms_p50 < %.0f; wire_ratio_with_view >= %.2f; replay_ms_p50 < %.0f. Progress on stderr; the last\n"
		"stdout line is one JSON object. Exit codes: 0 ran (targets met or not), 2 bad usage, 3 setup failure.\n",
		BV_W, BV_H, BV_PEERS, BV_PEERS * (BV_PEERS - 1), BV_DOTS, BV_MARKS, BV_FRAMES, BV_WARMUP_FRAMES,
		BV_PEERS, BV_WIRE_SIZE, BV_WIRE_FANOUT, BV_SLICE_S, BV_PEERS, BR_FRAMES, BV_PEERS * (BV_PEERS - 1),
		BR_DIVERGENCE, BV_FRAMES, BV_TARGET_P50_MS, BV_TARGET_RATIO, BV_TARGET_P50_MS);
}

/* ---- Synthetic snapshots -------------------------------------------------------- */

/* A session that looks alive: every field that the view draws moves from one snapshot to the next. */
struct synth {
	struct view_snapshot *s;
	uint64_t rng;
	uint32_t step;
	float speed[BV_DOTS];
	int32_t vx[VIEW_MAX_PEERS][VIEW_MAX_SHIPS], vy[VIEW_MAX_PEERS][VIEW_MAX_SHIPS];
};

static uint32_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return (uint32_t)(x >> 32);
}

static float unit(uint64_t *s)
{
	return (float)(xorshift(s) >> 8) / (float)(1u << 24);
}

static void synth_init(struct synth *y, uint32_t npeers, uint32_t ndots)
{
	struct view_snapshot *s = y->s;
	memset(s, 0, sizeof *s);
	y->rng = 0x9e3779b97f4a7c15ull;
	y->step = 0;
	s->t_s = 12.0;
	s->duration_s = 60;
	s->netcode = "rollback";
	s->seed = 7;
	s->npeers = npeers;
	for (uint32_t k = 0; k < npeers; k++) {
		struct view_peer *p = &s->peer[k];
		p->index = k;
		snprintf(p->addr, sizeof p->addr, "127.0.0.%u:%u", k + 2, 40000 + 97 * k);
		p->frame = 720 + k % 3;
		p->confirmed = 712;
		p->rollbacks_per_s = 1.5f + (float)k * 0.3f;
		p->last_rollback = 2 + k % 5;
		p->rtt_ms = 40 + 9 * (float)k;
		p->alive = true;
		p->stalled = k == 5;
		p->checksum = 0xa1b2c3d4e5f60718ull * (k % 4 == 3 ? 3 : 1);
		p->checksum_ok = k % 4 != 3;
		p->has_game = k != 7;
		p->game_frame = p->frame;
		p->nships = (uint8_t)(npeers < VIEW_MAX_SHIPS ? npeers : VIEW_MAX_SHIPS);
		p->nbullets = 64;
	}
	for (uint32_t i = 0; i < VIEW_MAX_SHIPS; i++) {
		int32_t x = (int32_t)(unit(&y->rng) * 1000 * 65536), yy = (int32_t)(unit(&y->rng) * 1000 * 65536);
		uint16_t a = (uint16_t)(xorshift(&y->rng) % 1024);
		int32_t vx = (int32_t)((unit(&y->rng) - 0.5f) * 6 * 65536), vy = (int32_t)((unit(&y->rng) - 0.5f) * 6 * 65536);
		for (uint32_t k = 0; k < npeers; k++) {
			/* Each peer's prediction is a little off for the ships it does not own. */
			int32_t jitter = k == i ? 0 : (int32_t)((xorshift(&y->rng) % 9) - 4) * 65536;
			s->peer[k].ship[i] = (struct view_ship){ x + jitter, yy - jitter, a, i != 3, (int16_t)(i * 3) };
			y->vx[k][i] = vx;
			y->vy[k][i] = vy;
		}
	}
	for (uint32_t k = 0; k < npeers; k++)
		for (uint32_t b = 0; b < s->peer[k].nbullets; b++)
			s->peer[k].bullet[b] = (struct view_bullet){ (int32_t)(unit(&y->rng) * 1000 * 65536),
								     (int32_t)(unit(&y->rng) * 1000 * 65536),
								     (uint8_t)(b % s->peer[k].nships) };
	uint32_t l = 0;
	for (uint32_t i = 0; i < npeers; i++)
		for (uint32_t j = 0; j < npeers; j++) {
			if (i == j)
				continue;
			struct view_link *k = &s->link[l++];
			k->from = (uint16_t)i;
			k->to = (uint16_t)j;
			uint32_t h = (i * 7 + j * 3) % 10;
			k->latency_ms = h < 5 ? 20 + 4 * (float)h : h < 8 ? 90 : 320;
			k->jitter_ms = 5 + (float)(h % 3) * 5;
			k->loss_pct = h == 7 ? 4 : h == 9 ? 12 : h == 2 ? 1 : 0;
			k->cut = (i == 1 && j == 2) || (i == 2 && j == 1);
			k->sent = 1000 + 37 * l;
			k->dropped = (uint64_t)((float)k->sent * k->loss_pct / 100);
			k->delivered = k->sent - k->dropped;
			k->p50_ms = k->latency_ms;
			k->p99_ms = k->latency_ms + 1.8f * k->jitter_ms;
		}
	s->nlinks = l;
	s->ndots = l ? ndots : 0;
	for (uint32_t d = 0; d < s->ndots; d++) {
		const struct view_link *k = &s->link[xorshift(&y->rng) % l];
		uint32_t u = xorshift(&y->rng) % 100;
		s->dot[d] = (struct view_dot){ k->from, k->to, unit(&y->rng),
					       (uint8_t)(u < 90 ? VIEW_DOT_NORMAL : u < 94 ? VIEW_DOT_DUP
										: u < 97 ? VIEW_DOT_CORRUPT : VIEW_DOT_REORDER),
					       (uint8_t)(1 + xorshift(&y->rng) % 5) };
		y->speed[d] = 0.02f + 0.04f * unit(&y->rng);
	}
	s->dots_hidden = ndots >= BV_DOTS ? 1234 : 0;
	s->nmarks = l ? (ndots < BV_MARKS ? ndots / 4 + 1 : BV_MARKS) : 0;
	for (uint32_t m = 0; m < s->nmarks; m++) {
		const struct view_link *k = &s->link[xorshift(&y->rng) % l];
		s->mark[m] = (struct view_mark){ k->from, k->to, unit(&y->rng) * 1.6f };
	}
	static const struct {
		float t;
		const char *label;
	} ev[] = { { 0.5f, "start" }, { 3, "preset broadband" }, { 6, "partition 1|2" }, { 8.5f, "1->3 loss 20" },
		   { 10, "heal" } };
	s->nevents = sizeof ev / sizeof ev[0];
	for (uint32_t e = 0; e < s->nevents; e++) {
		s->event[e].t_s = ev[e].t;
		snprintf(s->event[e].label, sizeof s->event[e].label, "%s", ev[e].label);
	}
	snprintf(s->status, sizeof s->status, "running: %u peers, rollback netcode, broadband preset", npeers);
}

/* One frame later: dots travel (and are replaced on arrival), marks age, ships fly, counters count. */
static void synth_step(struct synth *y)
{
	struct view_snapshot *s = y->s;
	y->step++;
	s->t_s += BV_DT_S;
	for (uint32_t d = 0; d < s->ndots; d++) {
		s->dot[d].progress += y->speed[d];
		if (s->dot[d].progress >= 1) {
			const struct view_link *k = &s->link[xorshift(&y->rng) % s->nlinks];
			s->dot[d].from = k->from;
			s->dot[d].to = k->to;
			s->dot[d].progress = 0;
		}
	}
	for (uint32_t m = 0; m < s->nmarks; m++)
		if ((s->mark[m].age_s += (float)BV_DT_S) > 1.6f)
			s->mark[m].age_s = 0;
	for (uint32_t l = 0; l < s->nlinks; l++) {
		struct view_link *k = &s->link[l];
		uint32_t add = 3 + xorshift(&y->rng) % 4;
		uint32_t lost = unit(&y->rng) * 100 < k->loss_pct ? 1 : 0;
		k->sent += add;
		k->dropped += lost;
		k->delivered += add - lost;
	}
	for (uint32_t k = 0; k < s->npeers; k++) {
		struct view_peer *p = &s->peer[k];
		p->frame++;
		if (y->step % 3 == 0)
			p->confirmed = p->frame - 1 - k % 8;
		p->rtt_ms = 40 + 9 * (float)k + 8 * sinf((float)s->t_s + (float)k);
		if (y->step % 20 == k % 20)
			p->last_rollback = 1 + xorshift(&y->rng) % 8;
		for (uint32_t i = 0; i < p->nships; i++) {
			struct view_ship *sh = &p->ship[i];
			sh->x = (int32_t)(((int64_t)sh->x + y->vx[k][i] + 1000 * 65536LL) % (1000 * 65536LL));
			sh->y = (int32_t)(((int64_t)sh->y + y->vy[k][i] + 1000 * 65536LL) % (1000 * 65536LL));
			sh->angle = (uint16_t)((sh->angle + 5) & 1023);
		}
		for (uint32_t b = 0; b < p->nbullets; b++)
			p->bullet[b].x = (int32_t)(((int64_t)p->bullet[b].x + 8 * 65536 + 1000 * 65536LL) % (1000 * 65536LL));
	}
}

static int synth_create(struct synth **out)
{
	struct synth *y = calloc(1, sizeof *y);
	if (!y || !(y->s = calloc(1, sizeof *y->s))) {
		free(y);
		fprintf(stderr, "%s: out of memory for a snapshot\n", prog);
		return -1;
	}
	*out = y;
	return 0;
}

static void synth_destroy(struct synth *y)
{
	if (y)
		free(y->s);
	free(y);
}

static struct view *make_view(void)
{
	struct view_cfg cfg;
	view_cfg_default(&cfg);
	cfg.headless = true;
	cfg.width = BV_W;
	cfg.height = BV_H;
	char err[256];
	struct view *v = view_create(&cfg, err, sizeof err);
	if (!v)
		fprintf(stderr, "%s: view_create: %s\n", prog, err);
	return v;
}

/* ---- Phase: render ----------------------------------------------------------------- */

struct render {
	double p50_ms, p99_ms, max_ms;
	uint32_t frames;
};

static int phase_render(uint32_t frames, struct render *out)
{
	int rc = -1;
	struct synth *y = NULL;
	struct view *v = NULL;
	struct bench_samples ss = { 0 };
	if (synth_create(&y) < 0 || !(v = make_view()) || bench_samples_init(&ss, frames) < 0)
		goto out;
	synth_init(y, BV_PEERS, BV_DOTS);
	for (uint32_t i = 0; i < BV_WARMUP_FRAMES; i++) {
		view_frame(v, y->s);
		synth_step(y);
	}
	for (uint32_t i = 0; i < frames; i++) {
		bench_ns a = bench_now_ns();
		view_frame(v, y->s);
		bench_ns b = bench_now_ns();
		bench_samples_add(&ss, (int64_t)(b - a));
		synth_step(y);
	}
	out->frames = frames;
	out->p50_ms = bench_samples_quantile_us(&ss, 0.50) / 1000;
	out->p99_ms = bench_samples_quantile_us(&ss, 0.99) / 1000;
	out->max_ms = bench_samples_quantile_us(&ss, 1.0) / 1000;
	fprintf(stderr, "%s: render %u frames (%u peers, %u links, %u dots, %dx%d, software): p50 %.2f ms, p99 %.2f ms, "
		"max %.2f ms\n",
		prog, frames, BV_PEERS, y->s->nlinks, y->s->ndots, BV_W, BV_H, out->p50_ms, out->p99_ms, out->max_ms);
	rc = 0;
out:
	bench_samples_fini(&ss);
	view_destroy(v);
	synth_destroy(y);
	return rc;
}

/* ---- Phase: the replay window on a synthetic bundle ------------------------------------- */

/*
 * Writes a bundle as loopsim run would leave it: every peer's inputs (bots)
 * and checksums, each state after BR_DIVERGENCE with peer 3's ship 3.x off
 * by one unit, diff.txt, and a fate per link per frame (20-30 ms, 2% lost).
 */
static int write_bundle(const char *dir)
{
	char path[512];
	FILE *in[BV_PEERS], *sum[BV_PEERS];
	int rc = 0;
	for (uint32_t k = 0; k < BV_PEERS; k++) {
		snprintf(path, sizeof path, "%s/inputs-%u.txt", dir, k);
		in[k] = fopen(path, "w");
		snprintf(path, sizeof path, "%s/checksums-%u.txt", dir, k);
		sum[k] = fopen(path, "w");
		if (!in[k] || !sum[k])
			rc = -1;
	}
	snprintf(path, sizeof path, "%s/scenario.ini", dir);
	FILE *scn = fopen(path, "w"), *fates = NULL;
	snprintf(path, sizeof path, "%s/fates.tsv", dir);
	fates = fopen(path, "w");
	if (!scn || !fates)
		rc = -1;
	struct game_state g;
	game_init(&g, BV_PEERS, 7);
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	for (uint32_t f = 0; f < BR_FRAMES && rc == 0; f++) {
		game_input gi[GAME_MAX_PLAYERS] = { 0 };
		for (uint32_t k = 0; k < BV_PEERS; k++)
			gi[k] = game_bot_input(&g, k, 7);
		game_step(&g, gi);
		uint64_t h = game_hash(&g);
		for (uint32_t k = 0; k < BV_PEERS; k++) {
			fprintf(in[k], "%u", f);
			for (uint32_t j = 0; j < BV_PEERS; j++)
				fprintf(in[k], " %u", gi[j]);
			fputc('\n', in[k]);
			fprintf(sum[k], "%u %016" PRIx64 "\n", f, k == 3 && f >= BR_DIVERGENCE ? h ^ 1 : h);
		}
		for (uint32_t i = 0; i < BV_PEERS; i++)
			for (uint32_t j = 0; j < BV_PEERS; j++) {
				if (i == j)
					continue;
				uint32_t r = xorshift(&rng);
				uint64_t t = (uint64_t)f * 16667 + 200000 + (r & 4095);
				if (r % 50 == 0)
					fprintf(fates, "%" PRIu64 "\t%u\t%u\t%u\t64\tloss\t-\t-\t-\n", t, i, j, f);
				else
					fprintf(fates, "%" PRIu64 "\t%u\t%u\t%u\t64\tdeliver\t%u\t-\t-\n", t, i, j, f,
						20000 + (r >> 12) % 10000);
			}
		if (f == BR_DIVERGENCE) {
			uint8_t buf[GAME_SERIALIZED_MAX];
			for (uint32_t k = 0; k < BV_PEERS; k++) {
				struct game_state d = g;
				if (k == 3)
					d.ship[3].x += 1;
				size_t n = game_serialize(&d, buf, sizeof buf);
				snprintf(path, sizeof path, "%s/state-%u.bin", dir, k);
				FILE *o = fopen(path, "wb");
				if (!o || fwrite(buf, 1, n, o) != n)
					rc = -1;
				if (o)
					fclose(o);
			}
			snprintf(path, sizeof path, "%s/diff.txt", dir);
			FILE *o = fopen(path, "w");
			if (!o)
				rc = -1;
			else {
				fprintf(o, "desync at frame %u: the first state that differs is the one after this frame.\n"
					   "minority: peer 3\ncompared with the reference re-simulation:\n"
					   "  peer 3: ship 3.x: expected %d, peer has %d\n",
					BR_DIVERGENCE, g.ship[3].x, g.ship[3].x + 1);
				fclose(o);
			}
		}
	}
	if (scn)
		fprintf(scn, "[session]\npeers = %u\nseed = 7\n", BV_PEERS);
	for (uint32_t k = 0; k < BV_PEERS; k++) {
		if (in[k] && fclose(in[k]) != 0)
			rc = -1;
		if (sum[k] && fclose(sum[k]) != 0)
			rc = -1;
	}
	if ((scn && fclose(scn) != 0) || (fates && fclose(fates) != 0))
		rc = -1;
	return rc;
}

struct replay_bench {
	double p50_ms, p99_ms, max_ms, open_ms, live_p50_ms;
	uint32_t frames, nfates;
};

static void remove_bundle(const char *dir)
{
	static const char *const names[] = { "scenario.ini", "fates.tsv", "diff.txt" };
	char path[512];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
	for (uint32_t k = 0; k < BV_PEERS; k++) {
		snprintf(path, sizeof path, "%s/inputs-%u.txt", dir, k);
		unlink(path);
		snprintf(path, sizeof path, "%s/checksums-%u.txt", dir, k);
		unlink(path);
		snprintf(path, sizeof path, "%s/state-%u.bin", dir, k);
		unlink(path);
	}
	rmdir(dir);
}

static int phase_replay(uint32_t frames, struct replay_bench *out)
{
	char dir[] = "/tmp/loopsim-bench-replay.XXXXXX", err[512];
	struct render live = { 0 };
	struct bundle_story *st = NULL;
	struct view_replay_snapshot *snap = calloc(1, sizeof *snap);
	struct view *v = NULL;
	struct bench_samples ss = { 0 };
	int rc = -1;
	/* The baseline first, in this process: the live view's frame. */
	if (!snap || phase_render(frames, &live) < 0)
		goto out;
	if (!mkdtemp(dir)) {
		fprintf(stderr, "%s: mkdtemp: %s\n", prog, strerror(errno));
		goto out;
	}
	if (write_bundle(dir) < 0) {
		fprintf(stderr, "%s: cannot write the bundle in %s\n", prog, dir);
		goto out_dir;
	}
	bench_ns a = bench_now_ns();
	st = bundle_story_open(dir, err, sizeof err);
	bench_ns b = bench_now_ns();
	if (!st) {
		fprintf(stderr, "%s: %s\n", prog, err);
		goto out_dir;
	}
	if (!(v = make_view()) || bench_samples_init(&ss, frames) < 0)
		goto out_dir;
	for (uint32_t i = 0; i < BV_WARMUP_FRAMES; i++) {
		replay_view_fill(st, BR_DIVERGENCE, snap);
		view_replay_frame(v, snap);
	}
	/* Frames out of order, as a scrubber's jumps visit them: each one re-simulated from its checkpoint. */
	for (uint32_t i = 0; i < frames; i++) {
		uint32_t f = (i * 37u + BR_DIVERGENCE) % BR_FRAMES;
		bench_ns t0 = bench_now_ns();
		replay_view_fill(st, f, snap);
		view_replay_frame(v, snap);
		bench_ns t1 = bench_now_ns();
		bench_samples_add(&ss, (int64_t)(t1 - t0));
	}
	out->frames = frames;
	out->nfates = st->nfates;
	out->open_ms = (double)(b - a) / 1e6;
	out->live_p50_ms = live.p50_ms;
	out->p50_ms = bench_samples_quantile_us(&ss, 0.50) / 1000;
	out->p99_ms = bench_samples_quantile_us(&ss, 0.99) / 1000;
	out->max_ms = bench_samples_quantile_us(&ss, 1.0) / 1000;
	fprintf(stderr, "%s: replay %u frames (%u peers, %u fates, %dx%d, software): p50 %.2f ms, p99 %.2f ms, max %.2f ms; "
		"live p50 %.2f ms; bundle opened in %.0f ms\n",
		prog, frames, BV_PEERS, st->nfates, BV_W, BV_H, out->p50_ms, out->p99_ms, out->max_ms, live.p50_ms,
		out->open_ms);
	rc = 0;
out_dir:
	remove_bundle(dir);
out:
	bench_samples_fini(&ss);
	view_destroy(v);
	bundle_story_close(st);
	free(snap);
	return rc;
}

/* ---- Phase: the wire beside a rendering thread --------------------------------------- */

enum view_mode { MODE_IDLE, MODE_PACED, MODE_FLAT, MODE_COUNT };
static const char *const mode_name[MODE_COUNT] = { "idle", "paced", "flat out" };

struct viewer {
	pthread_t thread;
	atomic_int mode;
	atomic_bool stop, failed;
	_Atomic pid_t tid;
	_Atomic uint64_t frames;
	bench_ns frame_ns; /* the paced mode's period */
};

static void *viewer_main(void *arg)
{
	struct viewer *w = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	atomic_store(&w->tid, bench_gettid());
	struct synth *y = NULL;
	struct view *v = NULL;
	if (synth_create(&y) < 0 || !(v = make_view())) {
		atomic_store(&w->failed, true);
		synth_destroy(y);
		return NULL;
	}
	synth_init(y, BV_PEERS, BV_DOTS);
	bench_ns next = bench_now_ns();
	while (!atomic_load(&w->stop)) {
		int mode = atomic_load(&w->mode);
		if (mode == MODE_IDLE) {
			bench_sleep_until_ns(bench_now_ns() + BENCH_NS_PER_MS);
			next = bench_now_ns();
			continue;
		}
		view_frame(v, y->s);
		synth_step(y);
		atomic_fetch_add(&w->frames, 1);
		if (mode == MODE_PACED) {
			next += w->frame_ns;
			bench_ns now = bench_now_ns();
			if (next < now)
				next = now; /* late: do not try to catch up */
			bench_sleep_until_ns(next);
		}
	}
	view_destroy(v);
	synth_destroy(y);
	return NULL;
}

static uint32_t link_to(uint32_t from, uint32_t d)
{
	return (from + 1 + d) % BV_PEERS;
}

static uint64_t wire_drops(void *ctx)
{
	uint64_t sum = 0;
	for (uint32_t i = 0; i < BV_PEERS; i++)
		for (uint32_t d = 0; d < BV_WIRE_FANOUT; d++) {
			struct wire_link_stats st;
			if (wire_link_stats(ctx, i, link_to(i, d), &st) == 0)
				for (int f = 0; f < WIRE_FATE_COUNT; f++)
					sum += st.dropped[f];
		}
	struct wire_totals t;
	wire_get_totals(ctx, &t);
	return sum + t.strays + t.pool_full + t.unroutable + t.send_errors + t.kernel_drops;
}

struct wire_result {
	double pps[MODE_COUNT], secs[MODE_COUNT], fps[MODE_COUNT];
	double relay_ns_per_dgram[MODE_COUNT]; /* the wire thread's CPU per datagram delivered; 0 if unknown */
	double view_ms_per_frame[MODE_COUNT];  /* the view thread's CPU per frame (snapshot step included); 0 if unknown */
	double view_core[MODE_COUNT];          /* the view thread's CPU per second: the share of one core it takes */
	double slice_min[MODE_COUNT], slice_max[MODE_COUNT];
	/* The median, over rounds, of a round's slice with the view against its idle slice (see phase_wire). */
	double ratio_paced, ratio_flat;
	uint64_t misrouted, written_off;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, uint32_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int phase_wire(double seconds, double fps, struct wire_result *out)
{
	int rc = -1, e;
	char err[256];
	struct wire *w = NULL;
	struct bench_gen *g = NULL;
	struct viewer vw = { .frame_ns = (bench_ns)(BENCH_NS_PER_S / fps) };
	bool viewer_started = false;
	atomic_init(&vw.mode, MODE_IDLE);

	struct wire_config wc;
	wire_config_default(&wc);
	wc.npeers = BV_PEERS;
	wc.seed = 1;
	wc.link.latency_ms = 20;
	wc.link.jitter_ms = 5;
	wc.link.loss_pct = 1;
	if (wire_create(&wc, &w, err, sizeof err) < 0) {
		fprintf(stderr, "%s: wire_create: %s\n", prog, err);
		return -1;
	}
	uint16_t pub[BV_PEERS];
	for (uint32_t k = 0; k < BV_PEERS; k++)
		pub[k] = wire_public_port(w, k);
	struct bench_gen_cfg gc = {
		.npeers = BV_PEERS,
		.fanout = BV_WIRE_FANOUT,
		.public_port = pub,
		.size = BV_WIRE_SIZE,
		.burst = BV_WIRE_BURST,
		.window = BV_WIRE_WINDOW,
		.relay_drops = wire_drops,
		.ctx = w,
	};
	if (!(g = bench_gen_create(&gc, err, sizeof err))) {
		fprintf(stderr, "%s: %s\n", prog, err);
		goto out;
	}
	for (uint32_t k = 0; k < BV_PEERS; k++)
		wire_register_port(w, k, bench_gen_port(g, k));
	/* The wire's thread is private to relay.c: it is the one thread that wire_start() adds. */
	pid_t before[64], after[64], wire_tid = 0;
	int nb = bench_list_tids(before, 64);
	if ((e = wire_start(w))) {
		fprintf(stderr, "%s: wire_start: %s\n", prog, strerror(-e));
		goto out;
	}
	for (int tries = 0; tries < 1000 && !wire_tid; tries++) {
		int na = bench_list_tids(after, 64);
		for (int i = 0; i < na && !wire_tid; i++) {
			bool known = false;
			for (int j = 0; j < nb && !known; j++)
				known = after[i] == before[j];
			if (!known)
				wire_tid = after[i];
		}
		if (!wire_tid)
			bench_sleep_until_ns(bench_now_ns() + BENCH_NS_PER_MS);
	}
	if ((e = pthread_create(&vw.thread, NULL, viewer_main, &vw))) {
		fprintf(stderr, "%s: cannot start the view thread: %s\n", prog, strerror(e));
		goto out;
	}
	viewer_started = true;
	if ((e = bench_gen_start(g))) {
		fprintf(stderr, "%s: cannot start the load generator: %s\n", prog, strerror(-e));
		goto out;
	}
	bench_sleep_until_ns(bench_now_ns() + BV_WARMUP_NS);

	uint32_t slices = (uint32_t)(seconds / BV_SLICE_S + 0.5);
	if (slices < 1)
		slices = 1;
	bench_ns slice_ns = (bench_ns)(seconds / slices * BENCH_NS_PER_S);
	uint64_t got[MODE_COUNT] = { 0 }, frames[MODE_COUNT] = { 0 }, relay_ns[MODE_COUNT] = { 0 };
	uint64_t view_ns[MODE_COUNT] = { 0 };
	bool cpu_ok = wire_tid != 0, view_cpu_ok = true;
	pid_t view_tid = 0;
	for (int tries = 0; tries < 1000 && !(view_tid = atomic_load(&vw.tid)); tries++)
		bench_sleep_until_ns(bench_now_ns() + BENCH_NS_PER_MS);
	view_cpu_ok = view_tid != 0;
	for (int m = 0; m < MODE_COUNT; m++) {
		out->slice_min[m] = 1e300;
		out->slice_max[m] = 0;
	}
	/*
	 * Each round has one slice of each mode, next to each other in time. The
	 * load generator's own rate drifts by several per cent over seconds on a
	 * shared machine, more than the view costs; a round's ratio cancels the
	 * drift, and the median of the rounds' ratios ignores the odd round that
	 * a neighbour's burst landed in.
	 */
	double *round_pps = calloc((size_t)slices * MODE_COUNT, sizeof *round_pps);
	double *ratios = calloc(slices, sizeof *ratios);
	if (!round_pps || !ratios) {
		free(round_pps);
		free(ratios);
		goto out;
	}
	for (uint32_t s = 0; s < slices; s++) {
		for (int i = 0; i < MODE_COUNT; i++) {
			/* Rotate the order, so that no mode always follows the same other. */
			int m = (int)((s + (uint32_t)i) % MODE_COUNT);
			atomic_store(&vw.mode, m);
			bench_sleep_until_ns(bench_now_ns() + BV_SETTLE_NS);
			if (atomic_load(&vw.failed))
				goto out;
			struct bench_gen_counts a, b;
			uint64_t c0 = 0, c1 = 0, v0 = 0, v1 = 0;
			bench_ns t0 = bench_now_ns();
			bench_gen_counts(g, &a);
			uint64_t f0 = atomic_load(&vw.frames);
			cpu_ok = cpu_ok && bench_thread_cpu_ns(wire_tid, &c0) == 0;
			view_cpu_ok = view_cpu_ok && bench_thread_cpu_ns(view_tid, &v0) == 0;
			bench_sleep_until_ns(t0 + slice_ns);
			bench_gen_counts(g, &b);
			uint64_t f1 = atomic_load(&vw.frames);
			cpu_ok = cpu_ok && bench_thread_cpu_ns(wire_tid, &c1) == 0;
			view_cpu_ok = view_cpu_ok && bench_thread_cpu_ns(view_tid, &v1) == 0;
			relay_ns[m] += c1 - c0;
			view_ns[m] += v1 - v0;
			double dt = (double)(bench_now_ns() - t0) / BENCH_NS_PER_S;
			double pps = (double)(b.received - a.received) / dt;
			got[m] += b.received - a.received;
			frames[m] += f1 - f0;
			out->secs[m] += dt;
			out->slice_min[m] = pps < out->slice_min[m] ? pps : out->slice_min[m];
			out->slice_max[m] = pps > out->slice_max[m] ? pps : out->slice_max[m];
			round_pps[s * MODE_COUNT + (uint32_t)m] = pps;
		}
	}
	for (int m = MODE_PACED; m <= MODE_FLAT; m++) {
		uint32_t n = 0;
		for (uint32_t s = 0; s < slices; s++)
			if (round_pps[s * MODE_COUNT + MODE_IDLE] > 0)
				ratios[n++] = round_pps[s * MODE_COUNT + (uint32_t)m] / round_pps[s * MODE_COUNT + MODE_IDLE];
		*(m == MODE_PACED ? &out->ratio_paced : &out->ratio_flat) = median(ratios, n);
	}
	free(round_pps);
	free(ratios);
	for (int m = 0; m < MODE_COUNT; m++) {
		out->pps[m] = out->secs[m] > 0 ? (double)got[m] / out->secs[m] : 0;
		out->fps[m] = out->secs[m] > 0 ? (double)frames[m] / out->secs[m] : 0;
		out->relay_ns_per_dgram[m] = cpu_ok && got[m] ? (double)relay_ns[m] / (double)got[m] : 0;
		out->view_ms_per_frame[m] = view_cpu_ok && frames[m] ? (double)view_ns[m] / 1e6 / (double)frames[m] : 0;
		out->view_core[m] = view_cpu_ok && out->secs[m] > 0 ? (double)view_ns[m] / 1e9 / out->secs[m] : 0;
		fprintf(stderr,
			"%s: wire with the view thread %-8s %9.0f datagrams/s (slices %.0f..%.0f), wire thread %.0f "
			"ns/datagram, view %.1f frames/s, %.2f ms CPU a frame, %.1f %% of a core\n",
			prog, mode_name[m], out->pps[m], out->slice_min[m], out->slice_max[m], out->relay_ns_per_dgram[m],
			out->fps[m], out->view_ms_per_frame[m], 100 * out->view_core[m]);
	}
	struct bench_gen_counts end;
	bench_gen_counts(g, &end);
	out->misrouted = end.misrouted;
	out->written_off = end.written_off;
	rc = 0;
out:
	if (g)
		bench_gen_stop(g);
	if (viewer_started) {
		atomic_store(&vw.stop, true);
		pthread_join(vw.thread, NULL);
		if (atomic_load(&vw.failed))
			rc = -1;
	}
	bench_gen_destroy(g);
	wire_destroy(w);
	return rc;
}

/* ---- The subcommand ---------------------------------------------------------------------- */

static int screenshot(const char *path, double peers, double dots)
{
	struct synth *y = NULL;
	struct view *v = NULL;
	int rc = BENCH_EXIT_SETUP;
	char err[256];
	if (synth_create(&y) < 0 || !(v = make_view()))
		goto out;
	synth_init(y, (uint32_t)peers, (uint32_t)dots);
	/* Two seconds of history first, so the graphs have something to show. */
	for (int i = 0; i < 120; i++) {
		view_frame(v, y->s);
		synth_step(y);
	}
	view_select_link(v, 0, 1);
	view_frame(v, y->s);
	if (view_screenshot(v, path, err, sizeof err) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		goto out;
	}
	fprintf(stderr, "%s: wrote %s\n", prog, path);
	rc = BENCH_EXIT_OK;
out:
	view_destroy(v);
	synth_destroy(y);
	return rc;
}

static double round_to(double v, double unit_)
{
	return floor(v / unit_ + 0.5) * unit_;
}

int bench_view(int argc, char **argv)
{
	double frames = BV_FRAMES, seconds = 8, fps = 60, peers = BV_PEERS, dots = BV_DOTS;
	const char *shot = NULL;
	unsigned phases = PH_ALL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return BENCH_EXIT_OK;
		} else if (strcmp(a, "--frames") == 0) {
			if (bench_parse_double(prog, a, val, 10, 100000, &frames) < 0)
				return BENCH_EXIT_USAGE;
			i++;
		} else if (strcmp(a, "--seconds") == 0) {
			if (bench_parse_double(prog, a, val, 0.5, 600, &seconds) < 0)
				return BENCH_EXIT_USAGE;
			i++;
		} else if (strcmp(a, "--fps") == 0) {
			if (bench_parse_double(prog, a, val, 1, 1000, &fps) < 0)
				return BENCH_EXIT_USAGE;
			i++;
		} else if (strcmp(a, "--peers") == 0) {
			if (bench_parse_double(prog, a, val, 2, VIEW_MAX_SHIPS, &peers) < 0)
				return BENCH_EXIT_USAGE;
			i++;
		} else if (strcmp(a, "--dots") == 0) {
			if (bench_parse_double(prog, a, val, 0, VIEW_MAX_DOTS, &dots) < 0)
				return BENCH_EXIT_USAGE;
			i++;
		} else if (strcmp(a, "--screenshot") == 0) {
			if (!val) {
				fprintf(stderr, "%s: --screenshot: expected a file name\n", prog);
				return BENCH_EXIT_USAGE;
			}
			shot = val;
			i++;
		} else if (strcmp(a, "--phases") == 0) {
			if (!val) {
				fprintf(stderr, "%s: --phases: expected render, wire, replay or all\n", prog);
				return BENCH_EXIT_USAGE;
			}
			phases = strcmp(val, "render") == 0   ? PH_RENDER
				 : strcmp(val, "wire") == 0   ? PH_WIRE
				 : strcmp(val, "replay") == 0 ? PH_REPLAY
				 : strcmp(val, "all") == 0    ? PH_ALL
							      : 0;
			if (!phases) {
				fprintf(stderr, "%s: --phases: unknown phase '%s' (render, wire, replay, all)\n", prog, val);
				return BENCH_EXIT_USAGE;
			}
			i++;
		} else {
			fprintf(stderr, "%s: unknown option '%s' (see loopsim-bench view --help)\n", prog, a);
			return BENCH_EXIT_USAGE;
		}
	}
	if (shot)
		return screenshot(shot, peers, dots);

	struct render rd = { 0 };
	struct wire_result wr = { 0 };
	if ((phases & PH_RENDER) && phase_render((uint32_t)frames, &rd) < 0)
		return BENCH_EXIT_SETUP;
	if ((phases & PH_WIRE) && phase_wire(seconds, fps, &wr) < 0)
		return BENCH_EXIT_SETUP;
	struct replay_bench rb = { 0 };
	if ((phases & PH_REPLAY) && phase_replay((uint32_t)frames, &rb) < 0)
		return BENCH_EXIT_SETUP;
	bool have_rp = phases & PH_REPLAY;

	bool have_r = phases & PH_RENDER, have_w = (phases & PH_WIRE) && wr.pps[MODE_IDLE] > 0;
	double ratio = have_w ? wr.ratio_paced : 0, ratio_flat = have_w ? wr.ratio_flat : 0;
	double pooled = have_w ? wr.pps[MODE_PACED] / wr.pps[MODE_IDLE] : 0;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "peers", BV_PEERS);
	cJSON_AddNumberToObject(o, "links", BV_PEERS * (BV_PEERS - 1));
	cJSON_AddNumberToObject(o, "dots", BV_DOTS);
	cJSON_AddItemToObject(o, "render_ms_p50", have_r ? cJSON_CreateNumber(round_to(rd.p50_ms, 0.01)) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "render_ms_p99", have_r ? cJSON_CreateNumber(round_to(rd.p99_ms, 0.01)) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "wire_ratio_with_view", have_w ? cJSON_CreateNumber(round_to(ratio, 0.001)) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "replay_ms_p50", have_rp ? cJSON_CreateNumber(round_to(rb.p50_ms, 0.01)) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "replay_ms_p99", have_rp ? cJSON_CreateNumber(round_to(rb.p99_ms, 0.01)) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "replay_ratio_to_live",
			      have_rp && rb.live_p50_ms > 0 ? cJSON_CreateNumber(round_to(rb.p50_ms / rb.live_p50_ms, 0.01))
							    : cJSON_CreateNull());
	if (phases == PH_ALL && have_w)
		cJSON_AddBoolToObject(o, "targets_met", rd.p50_ms < BV_TARGET_P50_MS && ratio >= BV_TARGET_RATIO &&
								rb.p50_ms < BV_TARGET_P50_MS);
	else
		cJSON_AddNullToObject(o, "targets_met");
	cJSON *d = cJSON_AddObjectToObject(o, "detail");
	if (have_r) {
		cJSON_AddNumberToObject(d, "frames", rd.frames);
		cJSON_AddNumberToObject(d, "render_ms_max", round_to(rd.max_ms, 0.01));
	}
	if (have_rp) {
		cJSON_AddNumberToObject(d, "replay_frames", rb.frames);
		cJSON_AddNumberToObject(d, "replay_ms_max", round_to(rb.max_ms, 0.01));
		cJSON_AddNumberToObject(d, "replay_live_render_ms_p50", round_to(rb.live_p50_ms, 0.01));
		cJSON_AddNumberToObject(d, "replay_bundle_open_ms", round_to(rb.open_ms, 0.1));
		cJSON_AddNumberToObject(d, "replay_fates", rb.nfates);
	}
	if (have_w) {
		cJSON_AddNumberToObject(d, "wire_ratio_with_view_flat_out", round_to(ratio_flat, 0.001));
		cJSON_AddNumberToObject(d, "paced_fps", fps);
		cJSON_AddNumberToObject(d, "wire_ns_per_dgram_view_idle", round_to(wr.relay_ns_per_dgram[MODE_IDLE], 0.1));
		cJSON_AddNumberToObject(d, "wire_ns_per_dgram_view_paced", round_to(wr.relay_ns_per_dgram[MODE_PACED], 0.1));
		cJSON_AddNumberToObject(d, "wire_ns_per_dgram_view_flat_out", round_to(wr.relay_ns_per_dgram[MODE_FLAT], 0.1));
		cJSON_AddNumberToObject(d, "wire_pps_view_idle", (double)(int64_t)wr.pps[MODE_IDLE]);
		cJSON_AddNumberToObject(d, "wire_pps_view_flat_out", (double)(int64_t)wr.pps[MODE_FLAT]);
		cJSON_AddNumberToObject(d, "wire_pps_view_paced", (double)(int64_t)wr.pps[MODE_PACED]);
		cJSON_AddNumberToObject(d, "view_fps_flat_out", round_to(wr.fps[MODE_FLAT], 0.1));
		cJSON_AddNumberToObject(d, "view_fps_paced", round_to(wr.fps[MODE_PACED], 0.1));
		cJSON_AddNumberToObject(d, "view_cpu_ms_per_frame_paced", round_to(wr.view_ms_per_frame[MODE_PACED], 0.001));
		cJSON_AddNumberToObject(d, "view_cpu_ms_per_frame_flat_out", round_to(wr.view_ms_per_frame[MODE_FLAT], 0.001));
		cJSON_AddNumberToObject(d, "view_core_share_paced", round_to(wr.view_core[MODE_PACED], 0.001));
		cJSON_AddNumberToObject(d, "seconds_per_mode", round_to(wr.secs[MODE_IDLE], 0.01));
		cJSON_AddNumberToObject(d, "wire_ratio_with_view_pooled", round_to(pooled, 0.001));
		cJSON_AddNumberToObject(d, "misrouted", (double)wr.misrouted);
		cJSON_AddNumberToObject(d, "written_off", (double)wr.written_off);
	}
	bench_json_emit(o);
	cJSON_Delete(o);
	return BENCH_EXIT_OK;
}
