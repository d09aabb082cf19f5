// SPDX-License-Identifier: MIT
// The mesh session: input exchange, lockstep and rollback, time sync, checksums, disconnects.
#include "netcode/session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX
/* Recent confirmed checksums repeated in every packet: redundancy, as for inputs. */
#define CSUM_RECENT NC_MAX_CHECKSUMS_PER_PACKET
/* Ticks between two time-sync stalls, so that catching up is gradual. */
#define SYNC_STALL_SPACING 8
/*
 * The fair split must reach this many frames before a peer gives one up.
 * At 1, the estimate's own noise (jitter, a tick of quantisation on each
 * side) made peers stall about twice a second for nothing.
 */
#define SYNC_MIN_ADVANTAGE 2

struct remote {
	bool hello, lost, finalized, rejected;
	uint64_t last_rx_ms;
	uint32_t acked;              /* our inputs it holds: every frame below this */
	uint32_t seq_out;
	uint32_t seq_first, seq_max, rx_packets;
	uint32_t frame;              /* its frame, as last reported */
	int16_t advantage;           /* its view of how far it runs ahead of us */
	uint32_t ping_rx;            /* its latest ping, echoed back */
	uint64_t ping_rx_at;
	double rtt_ms;
	bool rtt_known;              /* rtt_ms holds at least one sample */
	uint64_t bytes_in, bytes_out;
	bool reported[NC_MAX_PLAYERS];   /* it sent a DISCONNECT about player p */
	uint32_t report[NC_MAX_PLAYERS]; /* ... saying it holds p's inputs below this frame */
	uint64_t asked_ms[NC_MAX_PLAYERS]; /* ... last at this time: it is still waiting for our word */
};

struct nc_session {
	struct nc_session_cfg cfg;
	uint64_t now_ms;
	bool running;
	uint32_t cur;                                /* frames simulated: the live state is at the start of cur */
	uint32_t start;                              /* the first frame simulated here: 0, or where a rejoin began */
	uint8_t input[NC_RING][NC_MAX_PLAYERS];      /* final, or the prediction used */
	uint32_t known_upto[NC_MAX_PLAYERS];         /* every input below this frame is final */
	uint32_t lost_from[NC_MAX_PLAYERS];          /* a lost player's inputs are neutral from this frame; NONE */
	uint32_t back_at[NC_MAX_PLAYERS];            /* a readmitted player's inputs count again from this frame */
	uint32_t rollback_from;                      /* earliest frame simulated with a wrong prediction */
	uint8_t *states;                             /* state at the start of frame f in slot f % NC_RING */
	uint64_t csum[NC_RING];                      /* checksum of the state at the start of frame f */
	int64_t confirmed;                           /* latest confirmed frame, -1 before any */
	uint64_t rcsum[NC_RING][NC_MAX_PLAYERS];     /* remote checksums after frame f */
	uint32_t rcsum_frame[NC_RING][NC_MAX_PLAYERS];
	struct nc_checksum recent[CSUM_RECENT];      /* our latest confirmed checksums, oldest first */
	uint32_t nrecent;
	bool desync_reported;
	uint32_t ticks_since_sync_stall;
	struct remote remote[NC_MAX_PLAYERS];
	struct nc_session_event events[NC_EVENT_QUEUE];
	uint32_t ev_head, ev_len;
	struct nc_session_stats stats;
	uint64_t rate_window_start_ms, rate_in_base, rate_out_base;
};

void nc_session_cfg_default(struct nc_session_cfg *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->nplayers = 2;
	cfg->mode = NC_ROLLBACK;
	cfg->input_delay = 2;
	cfg->prediction_window = 8;
	cfg->checksum_interval = 1;
	cfg->disconnect_timeout_ms = 3000;
	cfg->frame_ms = 16;
}

static void push_event(struct nc_session *s, const struct nc_session_event *ev)
{
	if (s->ev_len == NC_EVENT_QUEUE) {
		s->ev_head = (s->ev_head + 1) % NC_EVENT_QUEUE;
		s->ev_len--;
		s->stats.events_dropped++;
	}
	s->events[(s->ev_head + s->ev_len) % NC_EVENT_QUEUE] = *ev;
	s->ev_len++;
}

static void peer_event(struct nc_session *s, enum nc_session_event_type type, uint32_t peer, uint32_t frame,
		       const char *reason)
{
	struct nc_session_event ev = { .type = type, .peer = peer, .frame = frame, .reason = reason };
	push_event(s, &ev);
}

struct nc_session *nc_session_create(const struct nc_session_cfg *cfg, char *err, size_t errlen)
{
	const char *why = NULL;
	if (cfg->nplayers < 1 || cfg->nplayers > NC_MAX_PLAYERS)
		why = "nplayers must be 1..16";
	else if (cfg->local >= cfg->nplayers)
		why = "local must be below nplayers";
	else if (cfg->input_delay > 30)
		why = "input delay must be 0..30 frames";
	else if (cfg->prediction_window < 1 || cfg->prediction_window > NC_MAX_WINDOW)
		why = "prediction window must be 1..64 frames";
	else if (cfg->checksum_interval < 1 || cfg->checksum_interval > 600)
		why = "checksum interval must be 1..600 frames";
	else if (!cfg->state_size || !cfg->cb.save || !cfg->cb.load || !cfg->cb.advance || !cfg->cb.checksum)
		why = "state_size and every callback are required";
	else if (!cfg->transport)
		why = "a transport is required";
	if (why) {
		snprintf(err, errlen, "netcode: %s", why);
		return NULL;
	}
	struct nc_session *s = calloc(1, sizeof *s);
	if (s)
		s->states = malloc(cfg->state_size * NC_RING);
	if (!s || !s->states) {
		free(s);
		snprintf(err, errlen, "netcode: out of memory");
		return NULL;
	}
	s->cfg = *cfg;
	if (cfg->frame_ms == 0)
		s->cfg.frame_ms = 16;
	s->rollback_from = NONE;
	s->confirmed = -1;
	s->stats.confirmed = -1;
	for (uint32_t p = 0; p < NC_MAX_PLAYERS; p++) {
		/* Inputs of the first D frames are neutral and known to everyone. */
		s->known_upto[p] = cfg->input_delay;
		s->lost_from[p] = NONE;
	}
	for (uint32_t f = 0; f < NC_RING; f++)
		for (uint32_t p = 0; p < NC_MAX_PLAYERS; p++)
			s->rcsum_frame[f][p] = NONE;
	s->csum[0] = cfg->cb.checksum(cfg->cb.ctx);
	/* With a single player there is nobody to wait for. */
	s->running = cfg->nplayers == 1;
	return s;
}

void nc_session_destroy(struct nc_session *s)
{
	if (!s)
		return;
	free(s->states);
	free(s);
}

/* --- inputs ------------------------------------------------------------------------------------------- */

static bool input_known(const struct nc_session *s, uint32_t f, uint32_t p)
{
	return f < s->known_upto[p] || f >= s->lost_from[p];
}

/* Every input below this frame is final, for every player. */
static uint32_t all_known_upto(const struct nc_session *s)
{
	uint32_t m = UINT32_MAX;
	for (uint32_t p = 0; p < s->cfg.nplayers; p++) {
		/* A finalized player holds every input up to lost_from, and the rest are neutral. */
		uint32_t k = s->lost_from[p] != NONE ? UINT32_MAX : s->known_upto[p];
		if (k < m)
			m = k;
	}
	return m;
}

/* The input used for frame f: final if known, else the player's last known input (the prediction). */
static uint8_t input_for(const struct nc_session *s, uint32_t f, uint32_t p)
{
	if (f >= s->lost_from[p])
		return 0;
	if (f < s->known_upto[p])
		return s->input[f % NC_RING][p];
	return s->known_upto[p] ? s->input[(s->known_upto[p] - 1) % NC_RING][p] : 0;
}

/* Records player p's final input for frame f, if it extends the contiguous run. */
static void learn_input(struct nc_session *s, uint32_t p, uint32_t f, uint8_t v)
{
	if (f != s->known_upto[p] || f + NC_RING / 2 < s->cur || f >= s->cur + NC_RING / 2)
		return;
	if (f < s->cur && s->input[f % NC_RING][p] != v && s->rollback_from > f)
		s->rollback_from = f; /* simulated with a wrong prediction */
	s->input[f % NC_RING][p] = v;
	s->known_upto[p] = f + 1;
}

/* --- simulation --------------------------------------------------------------------------------------- */

static void *slot(struct nc_session *s, uint32_t f)
{
	return s->states + (size_t)(f % NC_RING) * s->cfg.state_size;
}

/* Saves the live state as the start of frame f, then simulates f with the inputs for it. */
static void simulate(struct nc_session *s, uint32_t f)
{
	uint8_t in[NC_MAX_PLAYERS];
	for (uint32_t p = 0; p < s->cfg.nplayers; p++) {
		in[p] = input_for(s, f, p);
		if (!input_known(s, f, p))
			s->input[f % NC_RING][p] = in[p]; /* remember the prediction, to spot it going wrong */
	}
	s->cfg.cb.save(s->cfg.cb.ctx, slot(s, f));
	s->cfg.cb.advance(s->cfg.cb.ctx, in);
	s->csum[(f + 1) % NC_RING] = s->cfg.cb.checksum(s->cfg.cb.ctx);
}

static void rollback(struct nc_session *s)
{
	uint32_t from = s->rollback_from;
	s->rollback_from = NONE;
	if (from == NONE || from >= s->cur)
		return;
	uint32_t depth = s->cur - from;
	s->cfg.cb.load(s->cfg.cb.ctx, slot(s, from));
	for (uint32_t f = from; f < s->cur; f++)
		simulate(s, f);
	s->stats.rollbacks++;
	s->stats.resimulated += depth;
	s->stats.last_rollback = depth;
	if (depth > s->stats.max_rollback)
		s->stats.max_rollback = depth;
	s->stats.rollback_depth[depth <= NC_MAX_WINDOW ? depth : NC_MAX_WINDOW]++;
}

/* --- checksums ---------------------------------------------------------------------------------------- */

static void check_frame(struct nc_session *s, uint32_t f)
{
	if (s->desync_reported || (int64_t)f > s->confirmed || f + NC_RING - 1 <= s->cur || f + 1 < s->start)
		return;
	uint64_t mine = s->csum[(f + 1) % NC_RING];
	struct nc_session_event ev = { .type = NC_SE_DESYNC, .peer = s->cfg.local, .frame = f };
	bool differ = false;
	ev.checksum[s->cfg.local] = mine;
	ev.known_mask = 1u << s->cfg.local;
	for (uint32_t p = 0; p < s->cfg.nplayers; p++) {
		if (p == s->cfg.local || s->rcsum_frame[f % NC_RING][p] != f)
			continue;
		ev.checksum[p] = s->rcsum[f % NC_RING][p];
		ev.known_mask |= 1u << p;
		differ |= ev.checksum[p] != mine;
	}
	if (differ) {
		s->desync_reported = true;
		push_event(s, &ev);
	}
}

/* Moves the confirmed frame forward, queueing our checksums and comparing theirs. */
static void confirm(struct nc_session *s)
{
	uint32_t upto = all_known_upto(s);
	int64_t c = (int64_t)(upto < s->cur ? upto : s->cur) - 1;
	while (s->confirmed < c) {
		uint32_t f = (uint32_t)++s->confirmed;
		if (f % s->cfg.checksum_interval != 0)
			continue;
		if (s->nrecent == CSUM_RECENT) {
			memmove(s->recent, s->recent + 1, sizeof s->recent[0] * (CSUM_RECENT - 1));
			s->nrecent--;
		}
		s->recent[s->nrecent++] = (struct nc_checksum){ f, s->csum[(f + 1) % NC_RING] };
		check_frame(s, f);
	}
	s->stats.confirmed = s->confirmed;
}

/* --- packets ------------------------------------------------------------------------------------------ */

static void send_packet(struct nc_session *s, uint32_t to, const struct nc_packet *p)
{
	uint8_t buf[NC_MAX_PACKET];
	int len = nc_packet_encode(p, buf, sizeof buf);
	if (len > 0 && s->cfg.transport->send(s->cfg.transport, to, buf, (size_t)len) == 0)
		s->remote[to].bytes_out += (uint64_t)len;
}

static void send_hello(struct nc_session *s, uint32_t to)
{
	struct nc_packet p = { .type = NC_PKT_HELLO, .session_id = s->cfg.session_id, .sender = (uint8_t)s->cfg.local };
	p.u.hello.nplayers = (uint8_t)s->cfg.nplayers;
	send_packet(s, to, &p);
}

static int32_t estimate_advantage(const struct nc_session *s, uint32_t p)
{
	const struct remote *r = &s->remote[p];
	int64_t their_now = (int64_t)r->frame + (int64_t)(r->rtt_ms / 2 / s->cfg.frame_ms);
	return (int32_t)((int64_t)s->cur - their_now);
}

static void send_inputs(struct nc_session *s, uint32_t to)
{
	struct remote *r = &s->remote[to];
	uint32_t local = s->cfg.local;
	struct nc_packet p = { .type = NC_PKT_INPUT, .session_id = s->cfg.session_id, .sender = (uint8_t)local };
	struct nc_input_body *in = &p.u.input;
	in->seq = r->seq_out++;
	in->ack_frame = s->known_upto[to];
	in->frame = s->cur;
	int32_t adv = estimate_advantage(s, to);
	in->advantage = (int16_t)(adv > 30000 ? 30000 : adv < -30000 ? -30000 : adv);
	in->ping_ms = (uint32_t)s->now_ms + 1; /* 0 means "no ping" */
	in->pong_ms = r->ping_rx;
	in->pong_hold_ms = (uint16_t)(r->ping_rx ? s->now_ms - r->ping_rx_at : 0);
	/* Everything it has not acknowledged, oldest first, so each packet extends its contiguous run. */
	uint32_t start = r->acked > s->known_upto[local] ? s->known_upto[local] : r->acked;
	if (start + NC_RING / 2 < s->known_upto[local])
		start = s->known_upto[local] - NC_RING / 2;
	uint32_t count = s->known_upto[local] - start;
	if (count > NC_MAX_INPUTS_PER_PACKET)
		count = NC_MAX_INPUTS_PER_PACKET;
	in->start = start;
	in->count = (uint8_t)count;
	for (uint32_t i = 0; i < count; i++)
		in->inputs[i] = s->input[(start + i) % NC_RING][local];
	in->nchecksums = (uint8_t)s->nrecent;
	memcpy(in->checksums, s->recent, sizeof s->recent[0] * s->nrecent);
	send_packet(s, to, &p);
}

static void send_disconnect(struct nc_session *s, uint32_t to, uint32_t lost)
{
	struct nc_packet p = { .type = NC_PKT_DISCONNECT, .session_id = s->cfg.session_id,
			       .sender = (uint8_t)s->cfg.local };
	struct nc_disconnect_body *d = &p.u.disconnect;
	uint32_t upto = s->known_upto[lost];
	d->lost = (uint8_t)lost;
	d->last_frame = upto; /* inputs below this frame */
	uint32_t count = upto < NC_MAX_INPUTS_PER_PACKET ? upto : NC_MAX_INPUTS_PER_PACKET;
	d->start = upto - count;
	d->count = (uint8_t)count;
	for (uint32_t i = 0; i < count; i++)
		d->inputs[i] = s->input[(d->start + i) % NC_RING][lost];
	send_packet(s, to, &p);
}

/*
 * Whether q still needs our DISCONNECT about p. Until we have agreed, yes.
 * After that, as long as q keeps sending its own: it finalises only once it
 * holds everyone's word, and we may have agreed on the strength of its
 * report before ours ever reached it.
 */
#define REPORT_ECHO_MS 1000
static bool wants_report(const struct nc_session *s, uint32_t q, uint32_t p)
{
	return !s->remote[p].finalized || s->now_ms - s->remote[q].asked_ms[p] < REPORT_ECHO_MS;
}

static void mark_lost(struct nc_session *s, uint32_t p, const char *reason)
{
	struct remote *r = &s->remote[p];
	if (r->lost || p == s->cfg.local)
		return;
	r->lost = true;
	peer_event(s, NC_SE_DISCONNECTED, p, s->cur, reason);
}

/*
 * A lost player's inputs end where the remaining peer that holds the most of
 * them says they do. Once every remaining peer has reported, and we hold the
 * inputs up to that frame (forwarded in DISCONNECT packets), the frame is
 * final everywhere, and the lost player's inputs are neutral after it.
 */
static void try_finalize(struct nc_session *s, uint32_t lost)
{
	struct remote *r = &s->remote[lost];
	if (!r->lost || r->finalized)
		return;
	uint32_t upto = s->known_upto[lost];
	for (uint32_t q = 0; q < s->cfg.nplayers; q++) {
		if (q == s->cfg.local || q == lost || s->remote[q].lost)
			continue;
		if (!s->remote[q].reported[lost])
			return; /* still waiting for q's word */
		if (s->remote[q].report[lost] > upto)
			upto = s->remote[q].report[lost];
	}
	if (s->known_upto[lost] < upto)
		return; /* someone holds inputs we lack: they are on their way */
	r->finalized = true;
	s->lost_from[lost] = upto;
	for (uint32_t f = upto; f < s->cur; f++)
		if (s->input[f % NC_RING][lost] != 0 && s->rollback_from > f) {
			s->rollback_from = f;
			break;
		}
	peer_event(s, NC_SE_PEER_FINAL, lost, upto ? upto - 1 : 0, NULL);
}

static void on_input(struct nc_session *s, uint32_t from, const struct nc_input_body *in)
{
	struct remote *r = &s->remote[from];
	for (uint32_t i = 0; i < in->count; i++)
		learn_input(s, from, in->start + i, in->inputs[i] & 0x0f);
	if (in->ack_frame > r->acked && in->ack_frame <= s->known_upto[s->cfg.local])
		r->acked = in->ack_frame;
	r->frame = in->frame;
	r->advantage = in->advantage;
	r->ping_rx = in->ping_ms;
	r->ping_rx_at = s->now_ms;
	if (in->pong_ms) {
		int64_t sample = (int64_t)s->now_ms - (int64_t)(in->pong_ms - 1) - in->pong_hold_ms;
		if (sample >= 0 && sample < 60000) {
			r->rtt_ms = !r->rtt_known ? (double)sample : 0.875 * r->rtt_ms + 0.125 * (double)sample;
			r->rtt_known = true;
		}
	}
	if (r->rx_packets == 0 || in->seq < r->seq_first)
		r->seq_first = in->seq;
	if (r->rx_packets == 0 || in->seq > r->seq_max)
		r->seq_max = in->seq;
	r->rx_packets++;
	for (uint32_t i = 0; i < in->nchecksums; i++) {
		uint32_t f = in->checksums[i].frame;
		if (f + NC_RING - 1 <= s->cur || f >= s->cur + NC_RING / 2)
			continue;
		s->rcsum[f % NC_RING][from] = in->checksums[i].hash;
		s->rcsum_frame[f % NC_RING][from] = f;
		check_frame(s, f);
	}
}

static void on_packet(struct nc_session *s, uint32_t from, const uint8_t *data, size_t len)
{
	struct nc_packet p;
	const char *why;
	struct remote *r = &s->remote[from];
	if (from >= s->cfg.nplayers || from == s->cfg.local)
		return;
	r->bytes_in += len;
	if (nc_packet_decode(data, len, &p, &why) < 0) {
		s->stats.bad_packets++;
		if (strcmp(why, "bad version") == 0 && !r->rejected) {
			r->rejected = true;
			peer_event(s, NC_SE_REJECTED, from, s->cur, "protocol version mismatch");
		}
		return;
	}
	if (p.session_id != s->cfg.session_id || p.sender != from) {
		s->stats.bad_packets++;
		if (!r->rejected) {
			r->rejected = true;
			peer_event(s, NC_SE_REJECTED, from, s->cur,
				   p.session_id != s->cfg.session_id ? "session id mismatch" : "sender index mismatch");
		}
		return;
	}
	if (p.type == NC_PKT_HELLO && p.u.hello.nplayers != s->cfg.nplayers) {
		if (!r->rejected) {
			r->rejected = true;
			peer_event(s, NC_SE_REJECTED, from, s->cur, "player count mismatch");
		}
		return;
	}
	if (r->lost && p.type != NC_PKT_DISCONNECT)
		return; /* once lost, always lost: the others have moved on */
	r->last_rx_ms = s->now_ms;
	if (!r->hello) {
		r->hello = true;
		peer_event(s, NC_SE_CONNECTED, from, s->cur, NULL);
		send_hello(s, from); /* it may not have heard ours */
	}
	switch (p.type) {
	case NC_PKT_INPUT:
		on_input(s, from, &p.u.input);
		break;
	case NC_PKT_DISCONNECT: {
		const struct nc_disconnect_body *d = &p.u.disconnect;
		if (d->lost >= s->cfg.nplayers || d->lost == s->cfg.local || d->lost == from)
			break;
		/* Every report of a loss after a return holds its inputs up to the return at least: older ones are stale. */
		if (d->last_frame < s->back_at[d->lost])
			break;
		for (uint32_t i = 0; i < d->count; i++)
			learn_input(s, d->lost, d->start + i, d->inputs[i] & 0x0f);
		r->reported[d->lost] = true;
		r->report[d->lost] = d->last_frame;
		r->asked_ms[d->lost] = s->now_ms;
		mark_lost(s, d->lost, "lost by another peer");
		try_finalize(s, d->lost);
		break;
	}
	default:
		break;
	}
}

static void read_network(struct nc_session *s)
{
	struct nc_event ev;
	while (s->cfg.transport->poll(s->cfg.transport, s->now_ms, &ev) == 1) {
		if (ev.peer >= s->cfg.nplayers)
			continue;
		switch (ev.type) {
		case NC_EV_DATA:
			on_packet(s, ev.peer, ev.data, ev.len);
			break;
		case NC_EV_CONNECTED:
			send_hello(s, ev.peer);
			break;
		case NC_EV_DISCONNECTED:
			if (s->running)
				mark_lost(s, ev.peer, "transport disconnected");
			break;
		default:
			break;
		}
	}
}

/* --- time sync ---------------------------------------------------------------------------------------- */

/*
 * GGPO's rule: if we are a frames ahead of a remote by our reckoning and it
 * says it is b ahead of us, the fair split is (a - b) / 2. Give up one frame
 * when that reaches SYNC_MIN_ADVANTAGE, at most every SYNC_STALL_SPACING ticks.
 */
static bool time_sync_wants_stall(struct nc_session *s)
{
	int32_t worst = 0, ahead = 0;
	for (uint32_t p = 0; p < s->cfg.nplayers; p++) {
		const struct remote *r = &s->remote[p];
		if (p == s->cfg.local || r->lost || !r->hello)
			continue;
		int32_t a = estimate_advantage(s, p);
		int32_t split = (a - r->advantage) / 2;
		if (split > worst)
			worst = split;
		if (a > ahead)
			ahead = a;
	}
	s->stats.frames_ahead = ahead;
	if (worst >= SYNC_MIN_ADVANTAGE && s->ticks_since_sync_stall >= SYNC_STALL_SPACING) {
		s->ticks_since_sync_stall = 0;
		return true;
	}
	s->ticks_since_sync_stall++;
	return false;
}

/* --- the tick ----------------------------------------------------------------------------------------- */

static void update_rates(struct nc_session *s)
{
	if (s->now_ms - s->rate_window_start_ms < 1000)
		return;
	uint64_t in = 0, out = 0;
	for (uint32_t p = 0; p < s->cfg.nplayers; p++) {
		in += s->remote[p].bytes_in;
		out += s->remote[p].bytes_out;
	}
	uint64_t span = s->now_ms - s->rate_window_start_ms;
	s->stats.bytes_in_per_s = (uint32_t)((in - s->rate_in_base) * 1000 / span);
	s->stats.bytes_out_per_s = (uint32_t)((out - s->rate_out_base) * 1000 / span);
	s->rate_window_start_ms = s->now_ms;
	s->rate_in_base = in;
	s->rate_out_base = out;
}

static bool can_advance(struct nc_session *s)
{
	uint32_t upto = all_known_upto(s);
	if (s->cfg.mode == NC_LOCKSTEP)
		return upto > s->cur;
	uint32_t predicted = s->cur >= upto ? s->cur - upto : 0;
	return predicted < s->cfg.prediction_window;
}

enum nc_tick_result nc_session_tick(struct nc_session *s, uint64_t now_ms, uint8_t local_input)
{
	s->now_ms = now_ms;
	read_network(s);
	uint32_t local = s->cfg.local;

	if (!s->running) {
		bool all = true;
		for (uint32_t p = 0; p < s->cfg.nplayers; p++)
			if (p != local && !s->remote[p].lost) {
				all &= s->remote[p].hello;
				if (!s->remote[p].hello)
					send_hello(s, p);
			}
		if (!all)
			return NC_TICK_WAITING;
		s->running = true;
		for (uint32_t p = 0; p < s->cfg.nplayers; p++)
			s->remote[p].last_rx_ms = now_ms;
		s->rate_window_start_ms = now_ms;
	}

	for (uint32_t p = 0; p < s->cfg.nplayers; p++) {
		struct remote *r = &s->remote[p];
		if (p != local && !r->lost && now_ms - r->last_rx_ms > s->cfg.disconnect_timeout_ms)
			mark_lost(s, p, "timed out");
		if (p != local && r->lost && !r->finalized)
			try_finalize(s, p);
	}

	rollback(s);
	confirm(s);

	/* This tick's input is for frame cur + D; once per frame, however many ticks stall on it. */
	if (s->known_upto[local] == s->cur + s->cfg.input_delay) {
		s->input[s->known_upto[local] % NC_RING][local] = local_input & 0x0f;
		s->known_upto[local]++;
	}

	for (uint32_t p = 0; p < s->cfg.nplayers; p++) {
		if (p == local)
			continue;
		if (!s->remote[p].lost)
			send_inputs(s, p);
		else
			for (uint32_t q = 0; q < s->cfg.nplayers; q++)
				if (q != local && q != p && !s->remote[q].lost && wants_report(s, q, p))
					send_disconnect(s, q, p);
	}
	update_rates(s);

	bool sync_stall = s->cfg.mode == NC_ROLLBACK && time_sync_wants_stall(s);
	if (sync_stall || !can_advance(s)) {
		s->stats.stalls++;
		return NC_TICK_STALLED;
	}
	simulate(s, s->cur);
	s->cur++;
	s->stats.frame = s->cur;
	confirm(s);
	return NC_TICK_ADVANCED;
}

/* --- rejoining ----------------------------------------------------------------------------------------- */

/* Player p's inputs are final and neutral in [from, to): the frames between its loss and its return. */
static void neutral_inputs(struct nc_session *s, uint32_t p, uint32_t from, uint32_t to)
{
	/* Only frames the ring can still be asked about; older slots belong to no live frame. */
	uint32_t low = s->cur > NC_RING / 2 ? s->cur - NC_RING / 2 : 0;
	for (uint32_t f = from > low ? from : low; f < to; f++)
		s->input[f % NC_RING][p] = 0;
}

int nc_session_readmit(struct nc_session *s, uint32_t p, uint32_t frame, char *err, size_t errlen)
{
	struct remote *r = p < s->cfg.nplayers ? &s->remote[p] : NULL;
	const char *why = NULL;
	if (!r || p == s->cfg.local)
		why = "not a remote player";
	else if (!r->finalized)
		why = "its loss is not agreed yet";
	else if ((int64_t)frame <= s->confirmed || frame < s->lost_from[p] || frame >= s->cur + NC_RING / 2)
		why = "the frame is already confirmed, or too far ahead";
	if (why) {
		snprintf(err, errlen, "cannot take player %u back at frame %u: %s", p, frame, why);
		return -1;
	}
	/*
	 * Every frame simulated since lost_from used a neutral input for p, and
	 * the ring must say so: it is what an arriving input is compared with
	 * to decide on a rollback. Up to the return they stay final.
	 */
	neutral_inputs(s, p, s->lost_from[p], frame > s->cur ? frame : s->cur);
	s->known_upto[p] = frame;
	s->lost_from[p] = NONE;
	s->back_at[p] = frame;
	*r = (struct remote){ .last_rx_ms = s->now_ms };
	/* The others' word on its last loss is spent: a later loss is agreed afresh. */
	for (uint32_t q = 0; q < s->cfg.nplayers; q++) {
		s->remote[q].reported[p] = false;
		s->remote[q].asked_ms[p] = 0;
	}
	if (s->cfg.transport->renew)
		s->cfg.transport->renew(s->cfg.transport, p);
	peer_event(s, NC_SE_READMITTED, p, frame, NULL);
	return 0;
}

int nc_session_start_at(struct nc_session *s, uint32_t start, uint32_t readmit, const struct nc_lost_player *lost,
			uint32_t nlost, char *err, size_t errlen)
{
	const char *why = NULL;
	if (s->running && s->cfg.nplayers > 1)
		why = "the session is already running";
	else if (start == 0 || readmit < start + s->cfg.input_delay || readmit >= start + NC_RING / 2)
		why = "the return frame must follow the start by at least the input delay";
	for (uint32_t i = 0; i < nlost && !why; i++)
		if (lost[i].player >= s->cfg.nplayers || lost[i].player == s->cfg.local || lost[i].upto > start)
			why = "a lost player is out of range, or its inputs end after the start";
	if (why) {
		snprintf(err, errlen, "cannot rejoin at frame %u: %s", start, why);
		return -1;
	}
	s->cur = start;
	s->start = start;
	s->confirmed = (int64_t)start - 1;
	s->stats.frame = start;
	s->stats.confirmed = s->confirmed;
	for (uint32_t p = 0; p < s->cfg.nplayers; p++)
		s->known_upto[p] = start;
	/* Our own inputs before the return were neutral on every peer. */
	neutral_inputs(s, s->cfg.local, start, readmit);
	s->known_upto[s->cfg.local] = readmit;
	s->back_at[s->cfg.local] = readmit;
	for (uint32_t i = 0; i < nlost; i++) {
		uint32_t p = lost[i].player;
		s->remote[p].lost = s->remote[p].finalized = true;
		s->lost_from[p] = lost[i].upto;
	}
	s->csum[start % NC_RING] = s->cfg.cb.checksum(s->cfg.cb.ctx);
	return 0;
}

int nc_session_poll_event(struct nc_session *s, struct nc_session_event *ev)
{
	if (!s->ev_len)
		return 0;
	*ev = s->events[s->ev_head];
	s->ev_head = (s->ev_head + 1) % NC_EVENT_QUEUE;
	s->ev_len--;
	return 1;
}

void nc_session_get_stats(const struct nc_session *s, struct nc_session_stats *out)
{
	*out = s->stats;
	out->frame = s->cur;
	out->confirmed = s->confirmed;
	for (uint32_t p = 0; p < s->cfg.nplayers; p++) {
		const struct remote *r = &s->remote[p];
		struct nc_remote_stats *o = &out->remote[p];
		if (p == s->cfg.local)
			continue;
		o->connected = r->hello && !r->lost;
		o->lost = r->lost;
		o->rtt_ms = r->rtt_ms;
		o->rtt_known = r->rtt_known;
		uint64_t expected = r->rx_packets ? (uint64_t)r->seq_max - r->seq_first + 1 : 0;
		o->loss_pct = expected ? 100.0 * (double)(expected - r->rx_packets) / (double)expected : 0;
		if (o->loss_pct < 0)
			o->loss_pct = 0; /* duplicates can outnumber the gaps */
		o->frames_ahead = estimate_advantage(s, p);
		o->bytes_in = r->bytes_in;
		o->bytes_out = r->bytes_out;
	}
}

uint32_t nc_session_frame(const struct nc_session *s)
{
	return s->cur;
}

int64_t nc_session_confirmed(const struct nc_session *s)
{
	return s->confirmed;
}

bool nc_session_running(const struct nc_session *s)
{
	return s->running;
}

static bool kept(const struct nc_session *s, uint32_t f)
{
	return (int64_t)f <= s->confirmed && f + NC_RING - 1 > s->cur && f + 1 >= s->start;
}

int nc_session_confirmed_checksum(const struct nc_session *s, uint32_t f, uint64_t *out)
{
	if (!kept(s, f))
		return -1;
	*out = s->csum[(f + 1) % NC_RING];
	return 0;
}

int nc_session_confirmed_state(struct nc_session *s, uint32_t f, void *buf)
{
	if (!kept(s, f))
		return -1;
	if (f + 1 == s->cur)
		s->cfg.cb.save(s->cfg.cb.ctx, buf); /* the live state: not in the ring yet */
	else
		memcpy(buf, slot(s, f + 1), s->cfg.state_size);
	return 0;
}

int nc_session_confirmed_inputs(const struct nc_session *s, uint32_t f, uint8_t *inputs)
{
	if (!kept(s, f) || f < s->start)
		return -1;
	for (uint32_t p = 0; p < s->cfg.nplayers; p++)
		inputs[p] = input_for(s, f, p);
	return 0;
}
