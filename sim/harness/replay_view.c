// SPDX-License-Identifier: MIT
// `loopsim replay BUNDLE --view | --screenshot`: each frame re-simulated from the bundle and drawn by the replay window.
#include "harness/replay_view.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "game/game.h"
#include "view/view_replay.h"
#include "wire/sched.h"

/* The datagram kinds and fates the replay window draws are the wire's own numbers. */
_Static_assert((int)VIEW_DOT_NORMAL == WIRE_PKT_PLAIN && (int)VIEW_DOT_DUP == WIRE_PKT_DUP &&
		       (int)VIEW_DOT_CORRUPT == WIRE_PKT_CORRUPT && (int)VIEW_DOT_REORDER == WIRE_PKT_REORDER,
	       "view_dot_kind follows wire_pkt_kind");
_Static_assert((int)VIEW_FATE_DELIVER == STORY_DELIVER && (int)VIEW_FATE_LOSS == STORY_LOSS &&
		       (int)VIEW_FATE_PARTITION == STORY_PARTITION && (int)VIEW_FATE_QUEUE == STORY_QUEUE &&
		       (int)VIEW_FATE_MTU == STORY_MTU,
	       "view_fate follows story_fate");
_Static_assert(sizeof(struct view_replay_fate) == sizeof(struct story_fate) &&
		       offsetof(struct view_replay_fate, sent) == offsetof(struct story_fate, sent) &&
		       offsetof(struct view_replay_fate, arrived) == offsetof(struct story_fate, arrived) &&
		       offsetof(struct view_replay_fate, copy_arrived) == offsetof(struct story_fate, copy_arrived) &&
		       offsetof(struct view_replay_fate, dup) == offsetof(struct story_fate, dup),
	       "the story's fates are handed to the view as they are");
_Static_assert(sizeof(struct view_replay_event) == sizeof(struct story_event), "events too");

/* A field of the game's state, by its X-macro list: name, offset and size in its entity's struct. */
struct field {
	const char *name;
	size_t off, size;
};
#define FIELD_SHIP(type, name) { #name, offsetof(struct game_ship, name), sizeof(type) },
#define FIELD_BULLET(type, name) { #name, offsetof(struct game_bullet, name), sizeof(type) },
#define FIELD_GLOBAL(type, name) { #name, offsetof(struct game_state, name), sizeof(type) },
static const struct field ship_fields[] = { GAME_SHIP_FIELDS(FIELD_SHIP) };
static const struct field bullet_fields[] = { GAME_BULLET_FIELDS(FIELD_BULLET) };
static const struct field global_fields[] = { GAME_GLOBAL_FIELDS(FIELD_GLOBAL) };

static int64_t field_value(const void *entity, const struct field *f)
{
	if (f->size == 8) {
		int64_t x;
		memcpy(&x, (const uint8_t *)entity + f->off, 8);
		return x;
	}
	int32_t x;
	memcpy(&x, (const uint8_t *)entity + f->off, 4);
	return x;
}

/* The states compared at one frame: each peer's (have[k]) and the reference (have_ref). */
struct frame_states {
	struct game_state g[GAME_MAX_PLAYERS], ref;
	bool have[GAME_MAX_PLAYERS], have_ref;
};

/* Adds a row for field fl of the entity at offset `at` (bytes into struct game_state) when it differs. */
static bool diff_field(const struct frame_states *fs, uint32_t n, size_t at, const char *entity, const struct field *fl,
		       struct view_replay_snapshot *out)
{
	int64_t first = 0, ref = fs->have_ref ? field_value((const uint8_t *)&fs->ref + at, fl) : 0;
	bool seen = false, differs = false;
	int64_t val[GAME_MAX_PLAYERS] = { 0 };
	for (uint32_t k = 0; k < n; k++) {
		if (!fs->have[k])
			continue;
		val[k] = field_value((const uint8_t *)&fs->g[k] + at, fl);
		if (fs->have_ref ? val[k] != ref : seen && val[k] != first)
			differs = true;
		if (!seen)
			first = val[k];
		seen = true;
	}
	if (!differs)
		return false;
	if (out->nrows == VIEW_REPLAY_ROWS) {
		out->rows_hidden++;
		return true;
	}
	struct view_replay_row *r = &out->row[out->nrows++];
	memset(r, 0, sizeof *r);
	snprintf(r->name, sizeof r->name, "%s.%s", entity, fl->name);
	r->have_ref = fs->have_ref;
	r->ref = ref;
	for (uint32_t k = 0; k < n; k++) {
		r->have[k] = fs->have[k];
		r->val[k] = val[k];
	}
	return true;
}

static void fill_game(struct view_peer *p, const struct game_state *g)
{
	p->has_game = true;
	p->nships = (uint8_t)(g->nplayers < VIEW_MAX_SHIPS ? g->nplayers : VIEW_MAX_SHIPS);
	for (uint32_t i = 0; i < p->nships; i++) {
		const struct game_ship *s = &g->ship[i];
		p->ship[i] = (struct view_ship){ s->x, s->y, (uint16_t)(s->angle & (GAME_ANGLES - 1)), s->alive != 0,
						 (int16_t)s->score };
	}
	p->nbullets = 0;
	for (uint32_t b = 0; b < GAME_MAX_BULLETS && p->nbullets < VIEW_MAX_BULLETS; b++)
		if (g->bullet[b].life > 0)
			p->bullet[p->nbullets++] =
				(struct view_bullet){ g->bullet[b].x, g->bullet[b].y, (uint8_t)g->bullet[b].owner };
	p->checksum = game_hash(g);
}

void replay_view_fill(const struct bundle_story *s, uint32_t f, struct view_replay_snapshot *out)
{
	static struct frame_states fs; /* 60 KB: one caller at a time (the replay window's thread) */
	uint32_t n = s->npeers < VIEW_MAX_PEERS ? s->npeers : VIEW_MAX_PEERS;
	out->bundle = s->dir;
	out->seed = s->seed;
	out->npeers = n;
	out->frame = f > s->last ? s->last : f;
	f = out->frame;
	out->last = s->last;
	out->per_second = (uint32_t)(s->fps + 0.5f);
	out->divergence = s->divergence;
	snprintf(out->minority, sizeof out->minority, "%s", s->minority);
	snprintf(out->field, sizeof out->field, "%s", s->field);
	out->bytes_view = !s->game;
	out->fate = (const struct view_replay_fate *)(const void *)s->fate;
	out->nfates = s->nfates;
	out->event = (const struct view_replay_event *)(const void *)s->event;
	out->nevents = s->nevents;
	out->nrows = out->rows_hidden = 0;
	for (uint32_t k = 0; k < n; k++) {
		struct view_replay_peer *rp = &out->peer[k];
		memset(rp, 0, sizeof *rp);
		rp->p.index = k;
		rp->minority = (s->minority_mask >> k & 1) != 0;
		rp->p.minority = rp->minority;
		rp->bytes = s->bytes[k];
		rp->nbytes = s->nbytes[k];
		rp->diff = s->byte_diff[k];
	}
	if (!s->game)
		return;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t shown = 0;
		bool dump = false;
		fs.have[k] = bundle_story_state(s, k, f, &fs.g[k], &shown, &dump) == 0;
		struct view_replay_peer *rp = &out->peer[k];
		if (!fs.have[k]) {
			snprintf(rp->note, sizeof rp->note, "no inputs logged");
			continue;
		}
		rp->from_dump = dump;
		fill_game(&rp->p, &fs.g[k]);
		rp->p.game_frame = shown;
		if (shown != f) {
			snprintf(rp->note, sizeof rp->note, "its inputs end at frame %u", shown);
			fs.have[k] = false; /* another frame: not compared */
		}
	}
	fs.have_ref = bundle_story_reference(s, f, &fs.ref) == 0;

	/* Every field that differs, entity by entity; the first entity with a position is ringed. */
	int ring_ship = -1, ring_bullet = -1;
	char name[24];
	for (size_t i = 0; i < sizeof global_fields / sizeof global_fields[0]; i++)
		diff_field(&fs, n, 0, "globals", &global_fields[i], out);
	for (uint32_t e = 0; e < n && e < GAME_MAX_PLAYERS; e++) {
		snprintf(name, sizeof name, "ship %u", e);
		for (size_t i = 0; i < sizeof ship_fields / sizeof ship_fields[0]; i++)
			if (diff_field(&fs, n, offsetof(struct game_state, ship) + e * sizeof(struct game_ship), name,
				       &ship_fields[i], out) &&
			    ring_ship < 0 && ring_bullet < 0)
				ring_ship = (int)e;
	}
	for (uint32_t e = 0; e < GAME_MAX_BULLETS; e++) {
		snprintf(name, sizeof name, "bullet %u", e);
		for (size_t i = 0; i < sizeof bullet_fields / sizeof bullet_fields[0]; i++)
			if (diff_field(&fs, n, offsetof(struct game_state, bullet) + e * sizeof(struct game_bullet), name,
				       &bullet_fields[i], out) &&
			    ring_ship < 0 && ring_bullet < 0)
				ring_bullet = (int)e;
	}
	for (uint32_t k = 0; k < n; k++) {
		struct view_replay_peer *rp = &out->peer[k];
		if (!rp->p.has_game || (ring_ship < 0 && ring_bullet < 0))
			continue;
		const struct game_state *g = &fs.g[k];
		rp->ring = true;
		rp->ring_x = ring_ship >= 0 ? g->ship[ring_ship].x : g->bullet[ring_bullet].x;
		rp->ring_y = ring_ship >= 0 ? g->ship[ring_ship].y : g->bullet[ring_bullet].y;
	}
}

int replay_view_run(const struct replay_view_opts *o, uint32_t *shown, char *err, size_t errlen)
{
	struct bundle_story *s = bundle_story_open(o->bundle, err, errlen);
	if (!s)
		return -1;
	struct view_replay_snapshot *snap = calloc(1, sizeof *snap);
	struct view *v = NULL;
	int rc = -1;
	if (!snap) {
		snprintf(err, errlen, "out of memory for the replay view");
		goto out;
	}
	struct view_cfg cfg;
	view_cfg_default(&cfg);
	cfg.headless = !o->window;
	cfg.title = "loopsim replay";
	if (o->width)
		cfg.width = o->width;
	if (o->height)
		cfg.height = o->height;
	v = view_create(&cfg, err, errlen);
	if (!v)
		goto out;
	uint32_t f = o->frame >= 0 ? (uint32_t)(o->frame < s->last ? o->frame : s->last)
				   : s->divergence >= 0 ? (uint32_t)s->divergence : 0;
	if (o->window) {
		if (o->keys && view_replay_push_keys(o->keys) < 0) {
			snprintf(err, errlen, "LOOPSIM_REPLAY_KEYS: a key name SDL does not know in '%s'", o->keys);
			goto out;
		}
		uint32_t drawn = UINT32_MAX;
		for (;;) {
			if (f != drawn) {
				replay_view_fill(s, f, snap);
				drawn = f;
			}
			view_replay_frame(v, snap);
			if (view_replay_events(v, snap, &f, 50))
				break;
		}
	}
	replay_view_fill(s, f, snap);
	if (!o->window)
		view_replay_frame(v, snap);
	if (o->screenshot && view_replay_screenshot(v, snap, o->screenshot, err, errlen) < 0)
		goto out;
	*shown = f;
	rc = 0;
out:
	view_destroy(v);
	free(snap);
	bundle_story_close(s);
	return rc;
}
