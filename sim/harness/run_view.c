// SPDX-License-Identifier: MIT
// The viewer's side of a session: snapshots of peers, links and packets, and what the user does in the window.
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/outfile.h"
#include "harness/paths.h"
#include "harness/run_internal.h"
#include "wire/sched.h"

/* Frames the viewer draws per second at most; the harness's own work runs between them. */
#define VIEW_FRAME_MS 16
/* A peer whose frame has not moved for this long shows as stalled. */
#define STALL_MS 250
/* How long a drop's cross stays on screen. */
#define MARK_LIFE_S 1.5

/*
 * The checksum a peer's badge shows. Before a desync: its checksum of the
 * last frame every peer agreed on, so agreeing peers show the same value.
 * After one: its checksum of the divergent frame, red only for the minority.
 */
static void badge(const struct session *s, uint32_t k, struct view_peer *vp)
{
	const struct run_desync *d = &s->res->desync;
	int64_t agreed = oracle_agreed(s->oracle);
	vp->checksum_ok = true;
	vp->checksum = 0;
	if (d->found) {
		if (d->known_mask >> k & 1)
			vp->checksum = d->checksum[k];
		for (uint32_t m = 0; m < d->npeers; m++)
			if (d->peers[m] == k) {
				vp->minority = true;
				vp->checksum_ok = false;
			}
	} else if (agreed >= 0) {
		oracle_peer_checksum(s->oracle, k, (uint32_t)agreed, &vp->checksum);
	}
}

static void snapshot_peers(struct session *s, struct view_snapshot *v, run_time_ms now)
{
	v->npeers = s->n;
	for (uint32_t k = 0; k < s->n && k < VIEW_MAX_PEERS; k++) {
		struct slot *sl = &s->slot[k];
		struct run_peer *rp = &s->res->peers[k];
		struct view_peer *vp = &v->peer[k];
		memset(vp, 0, sizeof *vp);
		vp->index = k;
		wire_addr_str(vp->addr, sizeof vp->addr, wire_peer_ip(k), rp->public_port);
		vp->frame = rp->frames;
		vp->confirmed = rp->confirmed_frame < 0 ? 0 : (uint32_t)rp->confirmed_frame;
		if (now - sl->rb_window_ms >= 1000) {
			sl->rb_per_s = (float)(rp->rollbacks - sl->rb_base) * 1000.0f / (float)(now - sl->rb_window_ms);
			sl->rb_base = rp->rollbacks;
			sl->rb_window_ms = now;
		}
		vp->rollbacks_per_s = sl->rb_per_s;
		vp->last_rollback = sl->last_rollback;
		vp->rtt_ms = (float)rp->rtt_ms;
		vp->stalled = sl->framed && now - sl->advanced_ms > STALL_MS;
		vp->alive = sl->alive;
		vp->ended = !sl->alive && sl->expected_exit;
		vp->human = sl->human;
		badge(s, k, vp);
		if (sl->has_state) {
			const struct ctl_state *st = &sl->state;
			vp->has_game = true;
			vp->game_frame = st->frame;
			vp->nships = st->nships;
			vp->nbullets = st->nbullets;
			for (uint32_t i = 0; i < st->nships && i < VIEW_MAX_SHIPS; i++)
				vp->ship[i] = (struct view_ship){ st->ship[i].x, st->ship[i].y, st->ship[i].angle,
								  st->ship[i].alive != 0, st->ship[i].score };
			for (uint32_t i = 0; i < st->nbullets && i < VIEW_MAX_BULLETS; i++)
				vp->bullet[i] = (struct view_bullet){ st->bullet[i].x, st->bullet[i].y, st->bullet[i].owner };
		}
	}
}

static void snapshot_links(struct session *s, struct view_snapshot *v)
{
	wire_all_link_stats(s->wire, s->link_stats);
	v->nlinks = 0;
	for (uint32_t i = 0; i < s->n; i++)
		for (uint32_t j = 0; j < s->n; j++) {
			struct wire_link_cfg c;
			if (i == j || v->nlinks >= VIEW_MAX_LINKS || wire_get_link(s->wire, i, j, &c) < 0)
				continue;
			const struct wire_link_stats *st = &s->link_stats[(size_t)i * s->n + j];
			uint64_t dropped = 0;
			for (int r = 1; r < WIRE_FATE_COUNT; r++)
				dropped += st->dropped[r];
			v->link[v->nlinks++] = (struct view_link){
				.from = (uint16_t)i, .to = (uint16_t)j, .latency_ms = (float)c.latency_ms,
				.jitter_ms = (float)c.jitter_ms, .loss_pct = (float)c.loss_pct,
				.cut = c.blocked || wire_link_partitioned(s->wire, i, j), .sent = st->sent,
				.delivered = st->delivered, .dropped = dropped,
				.p50_ms = (float)st->delay.p50_us / 1000.0f,
				.p99_ms = (float)st->delay.p99_us / 1000.0f,
			};
			double rtt = run__pair_rtt_ms(s, i, j);
			v->link[v->nlinks - 1].rtt_known = rtt >= 0;
			v->link[v->nlinks - 1].rtt_ms = rtt >= 0 ? (float)rtt : 0;
		}
}

/* A datagram's kind goes from the wire (enum wire_pkt_kind) to the view (enum view_dot_kind) as it is. */
_Static_assert((int)WIRE_PKT_PLAIN == VIEW_DOT_NORMAL && (int)WIRE_PKT_DUP == VIEW_DOT_DUP &&
		       (int)WIRE_PKT_CORRUPT == VIEW_DOT_CORRUPT && (int)WIRE_PKT_REORDER == VIEW_DOT_REORDER,
	       "view_dot_kind follows wire_pkt_kind");

static void snapshot_flights(struct session *s, struct view_snapshot *v, run_time_ms now_ms)
{
	uint64_t total;
	sim_time_us now = wire_clock_us();
	uint32_t n = wire_sample_flights(s->wire, s->flights, VIEW_MAX_DOTS, &total);
	v->ndots = 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct wire_flight *f = &s->flights[i];
		sim_time_us span = f->due_us > f->sent_us ? f->due_us - f->sent_us : 1;
		float p = now <= f->sent_us ? 0.0f : (float)(now - f->sent_us) / (float)span;
		v->dot[v->ndots++] = (struct view_dot){ f->from, f->to, p > 1 ? 1 : p, f->kind, f->label };
	}
	v->dots_hidden = total > v->ndots ? (uint32_t)(total - v->ndots) : 0;

	/* Drops: new ones join the ring; each fades out after MARK_LIFE_S. */
	struct wire_drop drops[256];
	uint32_t nd = wire_recent_drops(s->wire, &s->drop_cursor, drops, 256);
	double t = run__elapsed_s(s, now_ms);
	for (uint32_t i = 0; i < nd; i++) {
		if (s->nmarks == VIEW_MAX_MARKS) {
			memmove(s->marks, s->marks + 1, sizeof s->marks[0] * (VIEW_MAX_MARKS - 1));
			memmove(s->mark_t, s->mark_t + 1, sizeof s->mark_t[0] * (VIEW_MAX_MARKS - 1));
			s->nmarks--;
		}
		s->marks[s->nmarks] = (struct view_mark){ drops[i].from, drops[i].to, 0 };
		s->mark_t[s->nmarks++] = t;
	}
	uint32_t keep = 0;
	for (uint32_t i = 0; i < s->nmarks; i++)
		if (t - s->mark_t[i] < MARK_LIFE_S) {
			s->marks[keep] = s->marks[i];
			s->mark_t[keep++] = s->mark_t[i];
		}
	s->nmarks = keep;
	v->nmarks = keep;
	for (uint32_t i = 0; i < keep; i++) {
		v->mark[i] = s->marks[i];
		v->mark[i].age_s = (float)(t - s->mark_t[i]);
	}
}

void run__build_snapshot(struct session *s, run_time_ms now)
{
	struct view_snapshot *v = s->snap;
	v->t_s = run__elapsed_s(s, now);
	v->duration_s = s->cfg->scn.duration_s;
	v->netcode = s->res->netcode;
	v->seed = s->cfg->scn.seed;
	snapshot_peers(s, v, now);
	snapshot_links(s, v);
	snapshot_flights(s, v, now);
	uint32_t first = s->res->nlog > VIEW_MAX_EVENTS ? s->res->nlog - VIEW_MAX_EVENTS : 0;
	v->nevents = 0;
	for (uint32_t i = first; i < s->res->nlog; i++) {
		v->event[v->nevents].t_s = (float)s->res->log[i].t_s;
		/* The strip has room for the start of each entry only: whole words of it, never one cut in two. */
		const char *what = s->res->log[i].what;
		int n = (int)strnlen(what, sizeof v->event[0].label);
		if (n == (int)sizeof v->event[0].label) {
			n--;
			while (n > 0 && what[n] != ' ')
				n--;
			while (n > 0 && (what[n - 1] == ',' || what[n - 1] == ' ' || what[n - 1] == ':'))
				n--;
		}
		snprintf(v->event[v->nevents++].label, sizeof v->event[0].label, "%.*s", n, what);
	}
	const struct run_desync *d = &s->res->desync;
	v->desync.found = d->found;
	v->desync.frame = d->frame;
	v->desync.peers[0] = '\0';
	for (uint32_t m = 0, used = 0; m < d->npeers && used < sizeof v->desync.peers - 8; m++)
		used += (uint32_t)snprintf(v->desync.peers + used, sizeof v->desync.peers - used, "%s%u", m ? ", " : "",
					   d->peers[m]);
	snprintf(v->desync.field, sizeof v->desync.field, "%s", d->field);
	const char *hold = "";
	if (d->found)
		hold = s->cfg->hold_desync ? "  (held at the desync until --duration ends: Esc quits now)"
					   : "  (desync: the run ends)";
	snprintf(v->status, sizeof v->status, "%s  seed %" PRIu64 "  agreed to frame %" PRId64 "%s", v->netcode, v->seed,
		 oracle_agreed(s->oracle), hold);
}

/* Applies what the user did in the window, through the same path as scenario events, and logs it. */
static void apply_view_commands(struct session *s, run_time_ms now)
{
	struct view_cmd cmds[32];
	int n = view_events(s->view, cmds, 32);
	for (int i = 0; i < n; i++) {
		const struct view_cmd *c = &cmds[i];
		switch (c->kind) {
		case VIEW_CMD_SET_LINK: {
			struct scn_setting set = { .from = c->from, .to = c->to, .both = c->both, .line = 0 };
			snprintf(set.key, sizeof set.key, "%s", c->key);
			snprintf(set.value, sizeof set.value, "%s", c->value);
			run__set_links(s, &set);
			run__log(s, "viewer: link %d%s%d: %s = %s", c->from, c->both ? "<->" : "->", c->to, c->key, c->value);
			break;
		}
		case VIEW_CMD_PARTITION: {
			struct scn_setting set = { .from = c->from, .to = c->to, .both = true, .key = "blocked",
						   .value = "true" };
			run__set_links(s, &set);
			s->partitions_active = 1; /* a cut the user made explains a user game standing still */
			run__log(s, "viewer: cut link %d<->%d", c->from, c->to);
			break;
		}
		case VIEW_CMD_HEAL: {
			struct scn_setting set = { .from = -1, .to = -1, .both = true, .key = "blocked", .value = "false" };
			run__set_links(s, &set);
			run__partition(s, NULL, now);
			run__log(s, "viewer: heal");
			break;
		}
		case VIEW_CMD_PRESET: {
			struct scn_setting set = { .from = -1, .to = -1, .both = true, .key = "preset" };
			snprintf(set.value, sizeof set.value, "%s", c->value);
			run__set_links(s, &set);
			run__log(s, "viewer: every link: preset %s", c->value);
			break;
		}
		case VIEW_CMD_INPUT:
			if (c->peer < s->n) {
				struct ctl_msg m = { .type = CTL_INPUT };
				m.u.input.keys = c->keys & CTL_INPUT_KEY_MASK;
				m.u.input.human = c->human;
				s->slot[c->peer].human = c->human;
				run__send_to(s, c->peer, &m);
			}
			break;
		case VIEW_CMD_SCREENSHOT: {
			char err[256];
			if (view_screenshot(s->view, c->value, err, sizeof err) == 0)
				run__log(s, "viewer: screenshot %s", c->value);
			else
				run__log(s, "viewer: no screenshot: %s", err);
			break;
		}
		case VIEW_CMD_QUIT:
			s->quit_requested = true;
			break;
		}
	}
}

void run__view_tick(struct session *s, bool hold, run_time_ms now)
{
	if (!s->view)
		return;
	if (now - s->last_view_ms < VIEW_FRAME_MS)
		return;
	s->last_view_ms = now;
	if (!hold && !view_paused(s->view))
		run__build_snapshot(s, now);
	view_frame(s->view, s->snap);
	apply_view_commands(s, now);
}

int run__open_view(struct session *s, char *err, size_t errlen)
{
	const struct run_cfg *cfg = s->cfg;
	if (!cfg->window && !cfg->screenshot)
		return 0;
	struct view_cfg vc;
	view_cfg_default(&vc);
	vc.headless = !cfg->window;
	vc.title = "loopsim";
	/* The font from the data folder: the installed prefix's, or the source tree's in a build tree. */
	static char font[PATH_MAX];
	if (paths_data_file("fonts/DejaVuSansMono.ttf", font, sizeof font) < 0) {
		snprintf(err, errlen, "cannot find the viewer's font at %s (set LOOPSIM_DATA_DIR)", font);
		return -1;
	}
	vc.font_path = font;
	s->snap = calloc(1, sizeof *s->snap);
	s->flights = calloc(VIEW_MAX_DOTS, sizeof *s->flights);
	s->link_stats = calloc((size_t)s->n * s->n, sizeof *s->link_stats);
	if (!s->snap || !s->flights || !s->link_stats) {
		snprintf(err, errlen, "out of memory for the viewer");
		return -1;
	}
	s->view = view_create(&vc, err, errlen);
	return s->view ? 0 : -1;
}

/*
 * Copies the PNG rendered into the work directory to the user's path
 * through outfile, which writes devices in place, follows symlinks, never
 * replaces what is not a regular file, and reports every write error (the
 * image library's own writer misses a full device's error at close).
 */
static int deliver(const char *from, const char *to, char *err, size_t errlen)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		snprintf(err, errlen, "%s: %s", from, strerror(errno));
		return -1;
	}
	struct outfile of;
	if (outfile_open(&of, to, err, errlen) < 0) {
		close(in);
		return -1;
	}
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (outfile_write(&of, buf, (size_t)n) < 0)
			break;
	int read_errno = n < 0 ? errno : 0;
	close(in);
	if (read_errno) {
		outfile_abort(&of);
		snprintf(err, errlen, "%s: %s", from, strerror(read_errno));
		return -1;
	}
	return outfile_commit(&of, err, errlen) < 0 ? -1 : 0;
}

void run__close_view(struct session *s)
{
	if (s->view && s->cfg->screenshot) {
		char err[700], png[128];
		/* The last moment, or the desync held since it was found: the same picture the window showed. */
		if (!s->res->desync.found)
			run__build_snapshot(s, run__clock_ms());
		view_frame(s->view, s->snap);
		snprintf(png, sizeof png, "%s/screenshot.png", s->workdir);
		if (view_screenshot(s->view, png, err, sizeof err) < 0 ||
		    deliver(png, s->cfg->screenshot, err, sizeof err) < 0)
			run__note(s, VERDICT_FAILED, "--screenshot could not be written: %s", err);
		unlink(png);
	}
	view_destroy(s->view);
	free(s->snap);
	free(s->flights);
	free(s->link_stats);
	s->view = NULL;
}
