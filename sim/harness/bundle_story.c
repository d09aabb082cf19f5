// SPDX-License-Identifier: MIT
// A desync bundle read back for the replay window: each peer's re-simulation, its dump, the fates on frames.
#include "harness/bundle_story.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness/bundle_internal.h"
#include "harness/frame_clock.h"
#include "harness/scenario.h"
#include "wire/capture.h"
#include "wire/sched.h"

/*
 * A track: a state at a base frame and the inputs of each frame after it,
 * with a checkpoint every BUNDLE_STORY_CKPT frames. ckpt[i] is the state
 * before frame base + i * CKPT; frames base..end-1 can be stepped.
 */
struct story_track {
	uint32_t base, end;           /* end == base: empty */
	uint8_t *in;                  /* (end - base) rows of npeers inputs */
	struct game_state *ckpt;
	uint32_t nckpt;
};

static void track_free(struct story_track *t)
{
	free(t->in);
	free(t->ckpt);
	memset(t, 0, sizeof *t);
}

/* Builds t from start (the state before frame base) and rows of inputs for base..end-1. Returns 0 or -1 (memory). */
static int track_build(struct story_track *t, const struct game_state *start, uint32_t base, uint32_t end,
		       const uint8_t *rows, uint32_t n)
{
	memset(t, 0, sizeof *t);
	t->base = base;
	t->end = end > base ? end : base;
	uint32_t len = t->end - t->base;
	t->nckpt = len / BUNDLE_STORY_CKPT + 1;
	t->in = malloc((size_t)(len ? len : 1) * n);
	t->ckpt = malloc(sizeof *t->ckpt * t->nckpt);
	if (!t->in || !t->ckpt) {
		track_free(t);
		return -1;
	}
	memcpy(t->in, rows, (size_t)len * n);
	struct game_state g = *start;
	for (uint32_t i = 0; i < len; i++) {
		if (i % BUNDLE_STORY_CKPT == 0)
			t->ckpt[i / BUNDLE_STORY_CKPT] = g;
		game_input gi[GAME_MAX_PLAYERS] = { 0 };
		memcpy(gi, t->in + (size_t)i * n, n);
		game_step(&g, gi);
	}
	if (len % BUNDLE_STORY_CKPT == 0)
		t->ckpt[len / BUNDLE_STORY_CKPT] = g;
	return 0;
}

/* The state after frame f (base <= f < end) of t. */
static void track_state(const struct story_track *t, uint32_t f, uint32_t n, struct game_state *out)
{
	uint32_t i = f - t->base, c = i / BUNDLE_STORY_CKPT;
	*out = t->ckpt[c];
	for (uint32_t j = c * BUNDLE_STORY_CKPT; j <= i; j++) {
		game_input gi[GAME_MAX_PLAYERS] = { 0 };
		memcpy(gi, t->in + (size_t)j * n, n);
		game_step(out, gi);
	}
}

/*
 * Peer k's input rows from frame 0, chosen as bundle_replay() chooses them:
 * its own line, else (a frame it missed, and the one after a gap) another
 * peer's line of that frame. Stops at the first frame no log has. Returns
 * the rows (malloc'd, *end of them), or NULL for memory.
 */
static uint8_t *rows_of(const struct replay_log *logs, uint32_t n, uint32_t k, uint32_t *end)
{
	const struct replay_log *l = &logs[k];
	uint32_t at[GAME_MAX_PLAYERS] = { 0 };
	uint32_t last = l->nin ? l->in_frame[l->nin - 1] + 1 : 0;
	uint8_t *rows = malloc((size_t)(last ? last : 1) * n);
	if (!rows)
		return NULL;
	bool had = false;
	uint32_t f = 0;
	for (; f < last; f++) {
		const uint8_t *in = bundle__input_row(logs, n, k, f, at, &had);
		if (!in)
			break;
		memcpy(rows + (size_t)f * n, in, n);
	}
	*end = f;
	return rows;
}

/* Reads a whole small file; NULL when it is missing or unreadable. *len its size. Caller frees. */
static uint8_t *slurp(const char *dir, const char *name, size_t max, uint32_t *len)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	uint8_t *buf = malloc(max + 1);
	size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
	fclose(f);
	if (!buf || n > max) {
		free(buf);
		return NULL;
	}
	*len = (uint32_t)n;
	return buf;
}

/* diff.txt: the divergent frame, the minority and (for a game) the minority's first field. */
static int read_diff(struct bundle_story *s, char *err, size_t errlen)
{
	char path[1200], line[512];
	snprintf(path, sizeof path, "%s/diff.txt", s->dir);
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	s->divergence = -1;
	while (fgets(line, sizeof line, f)) {
		unsigned long fr;
		unsigned k;
		char rest[sizeof line];
		if (sscanf(line, "desync at frame %lu", &fr) == 1) {
			s->divergence = (int64_t)fr;
		} else if (strncmp(line, "minority:", 9) == 0) {
			for (char *p = strstr(line, "peer "); p; p = strstr(p + 5, "peer "))
				if (sscanf(p, "peer %u", &k) == 1 && k < 64)
					s->minority_mask |= (uint64_t)1 << k;
		} else if (sscanf(line, " peer %u: %511[^\n]", &k, rest) == 2 && strstr(rest, ": expected ") && !s->field[0] &&
			   k < 64 && (s->minority_mask >> k & 1)) {
			size_t len = strnlen(rest, sizeof s->field - 1);
			memcpy(s->field, rest, len);
			s->field[len] = 0;
		}
	}
	fclose(f);
	size_t used = 0;
	for (uint32_t k = 0; k < 64; k++)
		if (s->minority_mask >> k & 1)
			used += (size_t)snprintf(s->minority + used, used < sizeof s->minority ? sizeof s->minority - used : 0,
					 "%s%u", used ? ", " : "", k);
	return 0;
}

/* By sent frame: the lines interleave the links as datagrams arrived, nearly in order already. */
static void sort_by_sent(struct bundle_story *s)
{
	for (uint32_t i = 1; i < s->nfates; i++) {
		struct story_fate x = s->fate[i];
		uint32_t j = i;
		while (j > 0 && s->fate[j - 1].sent > x.sent) {
			s->fate[j] = s->fate[j - 1];
			j--;
		}
		s->fate[j] = x;
	}
}

/* fates.tsv, placed on frames (see the header's Time). A missing log leaves the lanes empty. */
static int read_fates(struct bundle_story *s, uint32_t last_logged, char *err, size_t errlen)
{
	char path[1200], line[512], why[128];
	snprintf(path, sizeof path, "%s/fates.tsv", s->dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	uint32_t cap = 0, lineno = 0;
	uint64_t t_first = UINT64_MAX, t_last = 0;
	struct wire_fate_record r;
	int rc = 0;
	struct {
		uint64_t t;
		uint64_t d[2];
	} *when = NULL;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		int got = wire_fate_parse(line, &r, why, sizeof why);
		if (got < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			rc = -1;
			break;
		}
		if (got == 0 || r.from >= s->npeers || r.to >= s->npeers)
			continue;
		if (s->nfates == cap) {
			uint32_t nc = cap ? cap * 2 : 4096;
			struct story_fate *nf = realloc(s->fate, sizeof *nf * nc);
			if (nf)
				s->fate = nf;
			void *nw = nf ? realloc(when, sizeof *when * nc) : NULL;
			if (!nf || !nw) {
				snprintf(err, errlen, "%s: out of memory", path);
				rc = -1;
				break;
			}
			when = nw;
			cap = nc;
		}
		struct story_fate *sf = &s->fate[s->nfates];
		*sf = (struct story_fate){ .from = (uint16_t)r.from, .to = (uint16_t)r.to };
		sf->fate = r.kind == WIRE_FATE_DELIVER ? STORY_DELIVER : r.kind == WIRE_FATE_LOSS ? STORY_LOSS
						  : r.kind == WIRE_FATE_PARTITION ? STORY_PARTITION
						  : r.kind == WIRE_FATE_QUEUE     ? STORY_QUEUE
										  : STORY_MTU;
		sf->kind = r.ncopies && r.corrupt_bit[0] != -1 ? WIRE_PKT_CORRUPT : r.reordered ? WIRE_PKT_REORDER : WIRE_PKT_PLAIN;
		sf->dup = r.ncopies > 1;
		when[s->nfates].t = r.t_us;
		when[s->nfates].d[0] = r.ncopies ? r.delay_us[0] : 0;
		when[s->nfates].d[1] = r.ncopies > 1 ? r.delay_us[1] : 0;
		t_first = r.t_us < t_first ? r.t_us : t_first;
		t_last = r.t_us > t_last ? r.t_us : t_last;
		s->nfates++;
	}
	fclose(f);
	struct frame_map map;
	char mpath[1200];
	snprintf(mpath, sizeof mpath, "%s/frames.tsv", s->dir);
	char merr[300];
	/* An unreadable frames.tsv costs the lanes their pace, not the bundle: they fall back to 60 a second. */
	int mrc = rc == 0 ? frame_map_load(mpath, &map, merr, sizeof merr) : 1;
	if (rc == 0 && mrc == 0 && map.n) {
		/* The bundle says when each frame ran: every time is placed by it, at whatever pace the game ran. */
		for (uint32_t i = 0; i < s->nfates; i++) {
			struct story_fate *sf = &s->fate[i];
			sf->sent = (float)frame_map_frame_at(&map, when[i].t, BUNDLE_STORY_FPS);
			sf->arrived = (float)frame_map_frame_at(&map, when[i].t + when[i].d[0], BUNDLE_STORY_FPS);
			sf->copy_arrived = (float)frame_map_frame_at(&map, when[i].t + when[i].d[1], BUNDLE_STORY_FPS);
		}
		for (uint32_t i = 0; i < s->nevents; i++)
			s->event[i].frame = (float)frame_map_frame_at(
				&map, map.start_us + (uint64_t)(s->event[i].frame * 1e6), BUNDLE_STORY_FPS);
		if (!last_logged)
			s->last = map.frame[map.n - 1];
		if (map.period_us > 0)
			s->fps = (float)(1e6 / map.period_us);
		sort_by_sent(s);
	} else if (rc == 0 && s->nfates) {
		double period = 1e6 / BUNDLE_STORY_FPS;
		uint32_t anchor = last_logged ? last_logged : (uint32_t)((double)(t_last - t_first) / period);
		double t0 = (double)t_last - (double)(anchor + 1) * period;
		for (uint32_t i = 0; i < s->nfates; i++) {
			struct story_fate *sf = &s->fate[i];
			sf->sent = (float)(((double)when[i].t - t0) / period);
			sf->arrived = (float)(((double)(when[i].t + when[i].d[0]) - t0) / period);
			sf->copy_arrived = (float)(((double)(when[i].t + when[i].d[1]) - t0) / period);
		}
		/* Events: seconds from the start, which the first datagram follows closely. */
		for (uint32_t i = 0; i < s->nevents; i++)
			s->event[i].frame = (float)((s->event[i].frame * 1e6 + (double)t_first - t0) / period);
		if (!last_logged)
			s->last = anchor;
		sort_by_sent(s);
	}
	if (mrc == 0)
		frame_map_free(&map);
	else if (mrc < 0)
		fprintf(stderr, "loopsim replay: %s: the lanes are placed at %d frames a second\n", merr,
			BUNDLE_STORY_FPS);
	free(when);
	return rc;
}

static struct story_event *add_event(struct bundle_story *s, double at_s)
{
	if (s->nevents == BUNDLE_STORY_EVENTS)
		return NULL;
	struct story_event *e = &s->event[s->nevents++];
	e->frame = (float)at_s; /* seconds until read_fates() places it */
	return e;
}

/* The timeline's events, from the resolved scenario. */
static void read_events(struct bundle_story *s, const struct scenario *scn)
{
	for (uint32_t i = 0; i < scn->nevents; i++) {
		const struct scn_event *e = &scn->events[i];
		struct story_event *se = add_event(s, e->at_s);
		if (!se)
			return;
		switch (e->kind) {
		case SCN_EV_PARTITION:
			snprintf(se->label, sizeof se->label, "partition %.21s", e->groups);
			break;
		case SCN_EV_HEAL:
			snprintf(se->label, sizeof se->label, "heal");
			break;
		case SCN_EV_KILL:
			snprintf(se->label, sizeof se->label, "kill %u", e->peer);
			break;
		case SCN_EV_RESTART:
			snprintf(se->label, sizeof se->label, "restart %u", e->peer);
			break;
		case SCN_EV_DESYNC:
			snprintf(se->label, sizeof se->label, "desync %u", e->peer);
			break;
		case SCN_EV_SET_LINK:
			snprintf(se->label, sizeof se->label, "%.15s %.15s", e->set.key, e->set.value);
			break;
		}
	}
}

/* Marks where each dumped state differs from the majority's bytes (the first peer outside the minority). */
static int diff_bytes(struct bundle_story *s)
{
	int base = -1;
	for (uint32_t k = 0; k < s->npeers && base < 0; k++)
		if (!(s->minority_mask >> k & 1) && s->bytes[k])
			base = (int)k;
	for (uint32_t k = 0; k < s->npeers; k++) {
		if (!s->bytes[k])
			continue;
		s->byte_diff[k] = calloc(s->nbytes[k] ? s->nbytes[k] : 1, 1);
		if (!s->byte_diff[k])
			return -1;
		if (base < 0)
			continue;
		const uint8_t *a = s->bytes[base];
		for (uint32_t i = 0; i < s->nbytes[k]; i++)
			s->byte_diff[k][i] = i >= s->nbytes[base] || a[i] != s->bytes[k][i];
	}
	return 0;
}

/* The built-in game: every peer's re-simulation, its dump's track, and the reference. */
static int build_tracks(struct bundle_story *s, const struct scenario *scn, char *err, size_t errlen)
{
	uint32_t n = s->npeers;
	struct replay_log logs[GAME_MAX_PLAYERS] = { 0 };
	int rc = 0;
	for (uint32_t k = 0; k < n && rc == 0; k++)
		rc = bundle__read_log(s->dir, k, n, &logs[k], err, errlen);
	s->own = calloc(n, sizeof *s->own);
	s->dumped = calloc(n, sizeof *s->dumped);
	if (rc == 0 && (!s->own || !s->dumped)) {
		snprintf(err, errlen, "out of memory for the re-simulation");
		rc = -1;
	}
	s->ref_peer = n;
	uint32_t last = 0;
	for (uint32_t k = 0; k < n && rc == 0; k++) {
		uint32_t end = 0;
		uint8_t *rows = rows_of(logs, n, k, &end);
		struct game_state g0;
		game_init(&g0, n, scn->seed);
		if (!rows || track_build(&s->own[k], &g0, 0, end, rows, n) < 0) {
			snprintf(err, errlen, "out of memory for the re-simulation");
			rc = -1;
		}
		last = end && end - 1 > last ? end - 1 : last;
		struct game_state d;
		if (rc == 0 && s->divergence >= 0 && s->bytes[k] && game_deserialize(&d, s->bytes[k], s->nbytes[k]) == 0) {
			/* The dump is the state after D: its track steps D + 1 on, as far as k's inputs go. */
			uint32_t base = (uint32_t)s->divergence + 1, stop = end > base ? end : base;
			if (track_build(&s->dumped[k], &d, base, stop, end > base ? rows + (size_t)base * n : rows, n) < 0) {
				snprintf(err, errlen, "out of memory for the re-simulation");
				rc = -1;
			}
		}
		if (rc == 0 && s->ref_peer == n && !(s->minority_mask >> k & 1) && end)
			s->ref_peer = k;
		free(rows);
	}
	bundle__free_logs(logs, n);
	s->last = last;
	uint32_t len = 0;
	uint8_t *ref = slurp(s->dir, "reference-state.bin", GAME_SERIALIZED_MAX, &len);
	s->have_ref_state = ref && game_deserialize(&s->ref_state, ref, len) == 0;
	free(ref);
	return rc;
}

void bundle_story_close(struct bundle_story *s)
{
	if (!s)
		return;
	for (uint32_t k = 0; k < RUN_MAX_PEERS; k++) {
		free(s->bytes[k]);
		free(s->byte_diff[k]);
	}
	for (uint32_t k = 0; k < s->npeers && s->own; k++)
		track_free(&s->own[k]);
	for (uint32_t k = 0; k < s->npeers && s->dumped; k++)
		track_free(&s->dumped[k]);
	free(s->own);
	free(s->dumped);
	free(s->fate);
	free(s);
}

struct bundle_story *bundle_story_open(const char *dir, char *err, size_t errlen)
{
	struct bundle_story *s = calloc(1, sizeof *s);
	struct scenario *scn = malloc(sizeof *scn);
	char path[1200];
	if (!s || !scn) {
		snprintf(err, errlen, "out of memory for the bundle");
		goto err;
	}
	snprintf(s->dir, sizeof s->dir, "%s", dir);
	snprintf(path, sizeof path, "%s/scenario.ini", dir);
	scn_default(scn);
	if (scn_load(scn, path, err, errlen) < 0)
		goto err;
	if (scn->peers < 2 || scn->peers > RUN_MAX_PEERS) {
		snprintf(err, errlen, "%s: %u peers", path, scn->peers);
		goto err;
	}
	s->npeers = scn->peers;
	s->fps = BUNDLE_STORY_FPS;
	s->seed = scn->seed;
	s->game = !scn->peer_cmd[0];
	if (s->game && scn->peers > GAME_MAX_PLAYERS) {
		snprintf(err, errlen, "%s: %u peers; the built-in game has 2 to %d players", path, scn->peers,
			 GAME_MAX_PLAYERS);
		goto err;
	}
	if (read_diff(s, err, errlen) < 0)
		goto err;
	for (uint32_t k = 0; k < s->npeers; k++) {
		char name[64];
		snprintf(name, sizeof name, "state-%u.bin", k);
		s->bytes[k] = slurp(dir, name, 1 << 20, &s->nbytes[k]);
	}
	if (diff_bytes(s) < 0) {
		snprintf(err, errlen, "out of memory for the bundle");
		goto err;
	}
	read_events(s, scn);
	if (s->game && build_tracks(s, scn, err, errlen) < 0)
		goto err;
	if (read_fates(s, s->game ? s->last : 0, err, errlen) < 0)
		goto err;
	if (s->divergence >= 0 && (uint64_t)s->divergence > s->last)
		s->last = (uint32_t)s->divergence;
	free(scn);
	return s;
err:
	free(scn);
	bundle_story_close(s);
	return NULL;
}

int bundle_story_state(const struct bundle_story *s, uint32_t k, uint32_t f, struct game_state *out, uint32_t *shown,
		       bool *from_dump)
{
	if (!s->game || k >= s->npeers)
		return -1;
	const struct story_track *d = &s->dumped[k], *o = &s->own[k];
	*from_dump = false;
	if (d->ckpt && s->divergence >= 0 && f >= (uint32_t)s->divergence) {
		*from_dump = true;
		uint32_t last = d->end > d->base ? d->end - 1 : d->base - 1; /* the dump is after base - 1 */
		*shown = f < last ? f : last;
		if (*shown < d->base)
			*out = d->ckpt[0];
		else
			track_state(d, *shown, s->npeers, out);
		return 0;
	}
	if (o->end == 0)
		return -1;
	*shown = f < o->end ? f : o->end - 1;
	track_state(o, *shown, s->npeers, out);
	return 0;
}

int bundle_story_reference(const struct bundle_story *s, uint32_t f, struct game_state *out)
{
	if (!s->game)
		return -1;
	if (s->have_ref_state && s->divergence >= 0 && f == (uint32_t)s->divergence) {
		*out = s->ref_state;
		return 0;
	}
	if (s->ref_peer >= s->npeers || f >= s->own[s->ref_peer].end)
		return -1;
	track_state(&s->own[s->ref_peer], f, s->npeers, out);
	return 0;
}
