// SPDX-License-Identifier: MIT
// loopsim-peer: the demo game played over the netcode, one process per player, reporting to the harness.
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "game/game.h"
#include "netcode/session.h"
#include "netcode/transport.h"

/* The game runs at 60 Hz; the viewer gets a snapshot every other frame. */
#define FRAME_NS 16666667L
#define STATE_EVERY 2
/* How long the peer waits for PEERS and START before giving up. */
#define SETUP_TIMEOUT_MS 30000

enum { EXIT_OK = 0, EXIT_DESYNC = 1, EXIT_USAGE = 2, EXIT_RUNTIME = 3 };

struct peer {
	/* Settings. */
	uint32_t index, npeers;
	uint32_t addr;                 /* host byte order */
	uint32_t peer_ip[CTL_MAX_PEERS];
	uint16_t peer_port[CTL_MAX_PEERS];
	uint64_t seed, session_id;
	enum nc_mode mode;
	uint32_t input_delay;
	uint64_t frames;               /* 0 = until QUIT */
	int64_t perturb_frame;         /* -1 = none */
	int ctl;                       /* control fd, -1 without a harness */
	bool quiet;
	uint32_t disconnect_ms;        /* a remote silent this long is lost */

	/* Running. */
	struct game_state game;
	struct nc_transport *transport;
	struct nc_session *session;
	uint8_t human_keys;
	bool human;
	bool desync;
	int64_t reported;              /* latest confirmed frame reported to the harness */
	uint64_t last_frame_msg_ms;    /* when the last FRAME went out */
	uint64_t last_rtt_msg_ms;      /* when the last RTT went out, 0 before the first */
	struct ctl_rejoin *rejoin;     /* set when the harness restarted us into a running session */
};

/* A FRAME goes out at least this often, new confirmed frame or not: the harness's proof of life. */
#define HEARTBEAT_MS 500
/* The round trip to each remote goes out this often: a figure for people, smoothed already, not per frame. */
#define RTT_EVERY_MS 1000
/* Remotes silent this long are lost: longer than a partition that is meant to heal, short enough to move on. */
#define DISCONNECT_TIMEOUT_MS 8000

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: loopsim-peer [options]\n"
		"\n"
		"One player of the demo game: an arena of ships, simulated deterministically and kept in sync\n"
		"over ENet with lockstep or GGPO-style rollback. Started by `loopsim run`, it reads its\n"
		"settings from the environment and talks to the harness on LOOPSIM_CONTROL_FD. Alone, give\n"
		"it the settings below; with `loopsim wire` in between, --peers is the wire's public table.\n"
		"\n"
		"  --index K            this player's index (LOOPSIM_INDEX)\n"
		"  --addr IP            the address to bind, port chosen by the OS (LOOPSIM_ADDR;\n"
		"                       default 127.0.0.(K+2))\n"
		"  --peers LIST         every player's ip:port, comma-separated, in index order (LOOPSIM_PEERS)\n"
		"  --seed N             game and bot seed (LOOPSIM_SEED, default 1)\n"
		"  --netcode MODE       rollback (default) or lockstep\n"
		"  --input-delay D      frames of input delay (default 2)\n"
		"  --frames N           stop after N frames (default: until told to quit, or 600 alone)\n"
		"  --perturb-frame F    corrupt this peer's state at frame F: a deliberate desync\n"
		"  --disconnect-timeout MS  drop a remote silent this long (default 8000)\n"
		"  --quiet              no per-second status on stderr\n"
		"  --help\n"
		"\n"
		"Exit codes: 0 done, 1 a desync was seen, 2 bad usage, 3 runtime failure.\n");
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int parse_u64(const char *what, const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = s && *s >= '0' && *s <= '9' ? strtoull(s, &end, 10) : 0;
	if (!s || *s < '0' || *s > '9' || *end || errno || v > max) {
		fprintf(stderr, "loopsim-peer: %s: '%s' is not a number from 0 to %" PRIu64 "\n", what, s ? s : "", max);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_ip(const char *what, const char *s, uint32_t *out)
{
	struct in_addr a;
	if (!s || inet_pton(AF_INET, s, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127) {
		fprintf(stderr, "loopsim-peer: %s: '%s' is not an address in 127.0.0.0/8\n", what, s ? s : "");
		return -1;
	}
	*out = ntohl(a.s_addr);
	return 0;
}

/* "ip:port,ip:port,...". */
static int parse_peer_list(struct peer *p, const char *what, const char *list)
{
	char *copy = strdup(list), *save = NULL;
	uint32_t n = 0;
	int rc = 0;
	for (char *item = strtok_r(copy, ",", &save); item && rc == 0; item = strtok_r(NULL, ",", &save)) {
		char *colon = strrchr(item, ':');
		uint64_t port;
		if (n == CTL_MAX_PEERS || !colon) {
			fprintf(stderr, "loopsim-peer: %s: '%s' is not ip:port (at most %d peers)\n", what, item,
				CTL_MAX_PEERS);
			rc = -1;
			break;
		}
		*colon = '\0';
		if (parse_ip(what, item, &p->peer_ip[n]) < 0 || parse_u64(what, colon + 1, 65535, &port) < 0 || !port)
			rc = -1;
		p->peer_port[n++] = (uint16_t)port;
	}
	free(copy);
	if (rc == 0 && (n < 2 || n > GAME_MAX_PLAYERS)) {
		fprintf(stderr, "loopsim-peer: %s: needs 2 to %d peers, got %u\n", what, GAME_MAX_PLAYERS, n);
		rc = -1;
	}
	p->npeers = n;
	return rc;
}

static int parse_args(struct peer *p, int argc, char **argv)
{
	enum { O_INDEX = 1, O_ADDR, O_PEERS, O_SEED, O_NETCODE, O_DELAY, O_FRAMES, O_PERTURB, O_QUIET, O_DISCONNECT,
	       O_HELP };
	static const struct option opts[] = {
		{ "index", required_argument, NULL, O_INDEX },     { "addr", required_argument, NULL, O_ADDR },
		{ "peers", required_argument, NULL, O_PEERS },     { "seed", required_argument, NULL, O_SEED },
		{ "netcode", required_argument, NULL, O_NETCODE }, { "input-delay", required_argument, NULL, O_DELAY },
		{ "frames", required_argument, NULL, O_FRAMES },   { "perturb-frame", required_argument, NULL, O_PERTURB },
		{ "quiet", no_argument, NULL, O_QUIET },           { "help", no_argument, NULL, O_HELP },
		{ "disconnect-timeout", required_argument, NULL, O_DISCONNECT },
		{ NULL, 0, NULL, 0 },
	};
	const char *env;
	uint64_t v;
	bool have_index = false, have_addr = false;
	if ((env = getenv("LOOPSIM_INDEX"))) {
		if (parse_u64("LOOPSIM_INDEX", env, CTL_MAX_PEERS - 1, &v) < 0)
			return -1;
		p->index = (uint32_t)v;
		have_index = true;
	}
	if ((env = getenv("LOOPSIM_ADDR"))) {
		if (parse_ip("LOOPSIM_ADDR", env, &p->addr) < 0)
			return -1;
		have_addr = true;
	}
	if ((env = getenv("LOOPSIM_PEERS")) && *env && parse_peer_list(p, "LOOPSIM_PEERS", env) < 0)
		return -1;
	if ((env = getenv("LOOPSIM_SEED")) && parse_u64("LOOPSIM_SEED", env, UINT64_MAX, &p->seed) < 0)
		return -1;
	if ((env = getenv("LOOPSIM_CONTROL_FD"))) {
		if (parse_u64("LOOPSIM_CONTROL_FD", env, 65535, &v) < 0)
			return -1;
		p->ctl = (int)v;
	}
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		const char *flag = argv[optind - 1];
		switch (c) {
		case O_HELP:
			usage(stdout);
			exit(EXIT_OK);
		case O_INDEX:
			if (parse_u64("--index", optarg, CTL_MAX_PEERS - 1, &v) < 0)
				return -1;
			p->index = (uint32_t)v;
			have_index = true;
			break;
		case O_ADDR:
			if (parse_ip("--addr", optarg, &p->addr) < 0)
				return -1;
			have_addr = true;
			break;
		case O_PEERS:
			if (parse_peer_list(p, "--peers", optarg) < 0)
				return -1;
			break;
		case O_SEED:
			if (parse_u64("--seed", optarg, UINT64_MAX, &p->seed) < 0)
				return -1;
			break;
		case O_NETCODE:
			if (strcmp(optarg, "rollback") == 0)
				p->mode = NC_ROLLBACK;
			else if (strcmp(optarg, "lockstep") == 0)
				p->mode = NC_LOCKSTEP;
			else {
				fprintf(stderr, "loopsim-peer: --netcode: '%s' is not rollback or lockstep\n", optarg);
				return -1;
			}
			break;
		case O_DELAY:
			if (parse_u64("--input-delay", optarg, 30, &v) < 0)
				return -1;
			p->input_delay = (uint32_t)v;
			break;
		case O_FRAMES:
			if (parse_u64("--frames", optarg, UINT32_MAX, &p->frames) < 0)
				return -1;
			break;
		case O_PERTURB:
			if (parse_u64("--perturb-frame", optarg, UINT32_MAX, &v) < 0)
				return -1;
			p->perturb_frame = (int64_t)v;
			break;
		case O_QUIET:
			p->quiet = true;
			break;
		case O_DISCONNECT:
			if (parse_u64("--disconnect-timeout", optarg, 600000, &v) < 0)
				return -1;
			if (v < 100) {
				fprintf(stderr, "loopsim-peer: --disconnect-timeout: %" PRIu64 " ms is too short (at least 100)\n",
					v);
				return -1;
			}
			p->disconnect_ms = (uint32_t)v;
			break;
		case ':':
			fprintf(stderr, "loopsim-peer: %s: needs a value\n", flag);
			return -1;
		default:
			fprintf(stderr, "loopsim-peer: unknown option '%s' (see --help)\n", flag);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "loopsim-peer: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (!have_index && p->ctl < 0) {
		fprintf(stderr, "loopsim-peer: --index is required without a harness (see --help)\n");
		return -1;
	}
	if (!have_addr)
		p->addr = 0x7f000002u + p->index;
	if (p->ctl < 0 && p->npeers == 0) {
		fprintf(stderr, "loopsim-peer: --peers is required without a harness (see --help)\n");
		return -1;
	}
	if (p->npeers && p->index >= p->npeers) {
		fprintf(stderr, "loopsim-peer: --index: %u is not below the %u peers listed\n", p->index, p->npeers);
		return -1;
	}
	if (p->ctl < 0 && p->frames == 0)
		p->frames = 600;
	return 0;
}

/* --- the game behind the netcode's callbacks ------------------------------------------------------------ */

static void cb_save(void *ctx, void *buf)
{
	memcpy(buf, &((struct peer *)ctx)->game, sizeof(struct game_state));
}

static void cb_load(void *ctx, const void *buf)
{
	memcpy(&((struct peer *)ctx)->game, buf, sizeof(struct game_state));
}

static void cb_advance(void *ctx, const uint8_t *inputs)
{
	struct peer *p = ctx;
	uint32_t f = p->game.frame;
	game_step(&p->game, inputs);
	if (p->perturb_frame >= 0 && f == (uint64_t)p->perturb_frame)
		p->game.ship[p->index % p->game.nplayers].x += GAME_FIX_ONE;
}

static uint64_t cb_checksum(void *ctx)
{
	return game_hash(&((struct peer *)ctx)->game);
}

/* --- the control channel -------------------------------------------------------------------------------- */

static void ctl_out(struct peer *p, const struct ctl_msg *m)
{
	if (p->ctl >= 0 && ctl_send(p->ctl, m) < 0) {
		/* The harness is gone: nothing more to report to, and nobody to play for. */
		fprintf(stderr, "loopsim-peer %u: control channel closed; exiting\n", p->index);
		exit(EXIT_RUNTIME);
	}
}

/* Waits up to timeout_ms for one control message. Returns 1, 0 on timeout, -1 on a broken channel. */
static int ctl_wait(struct peer *p, struct ctl_msg *m, int timeout_ms)
{
	struct pollfd pfd = { .fd = p->ctl, .events = POLLIN };
	if (poll(&pfd, 1, timeout_ms) <= 0)
		return 0;
	const char *why = NULL;
	int r = ctl_recv(p->ctl, m, &why);
	if (r < 0) {
		fprintf(stderr, "loopsim-peer %u: control channel: %s\n", p->index, why ? why : strerror(-r));
		return r == -EPROTO ? 0 : -1;
	}
	return r;
}

static void send_state(struct peer *p)
{
	struct ctl_msg m = { .type = CTL_STATE };
	struct ctl_state *st = &m.u.state;
	st->frame = p->game.frame;
	st->nships = (uint8_t)p->game.nplayers;
	for (uint32_t k = 0; k < p->game.nplayers && k < CTL_STATE_MAX_SHIPS; k++) {
		const struct game_ship *s = &p->game.ship[k];
		st->ship[k] = (struct ctl_ship){ s->x, s->y, (uint16_t)s->angle, (uint8_t)s->alive, (int16_t)s->score };
	}
	for (uint32_t b = 0; b < GAME_MAX_BULLETS && st->nbullets < CTL_STATE_MAX_BULLETS; b++) {
		const struct game_bullet *bu = &p->game.bullet[b];
		if (bu->life > 0)
			st->bullet[st->nbullets++] = (struct ctl_bullet){ bu->x, bu->y, (uint8_t)bu->owner };
	}
	ctl_out(p, &m);
}

/*
 * One FRAME (and one INPUTS) per newly confirmed frame, so that the harness
 * sees the checksum and the final inputs of every confirmed frame, not only
 * of the latest: its oracle compares frame by frame.
 */
static void send_frame(struct peer *p)
{
	struct nc_session_stats s;
	nc_session_get_stats(p->session, &s);
	int64_t from = p->reported + 1;
	if (from > s.confirmed && now_ms() - p->last_frame_msg_ms >= HEARTBEAT_MS && s.confirmed >= 0)
		from = s.confirmed; /* nothing new: repeat the latest, so a stalled peer is not taken for a hung one */
	for (int64_t c = from; c <= s.confirmed; c++) {
		p->last_frame_msg_ms = now_ms();
		struct ctl_msg m = { .type = CTL_FRAME };
		struct ctl_frame *f = &m.u.frame;
		f->frame = s.frame;
		f->confirmed = (uint32_t)c;
		nc_session_confirmed_checksum(p->session, (uint32_t)c, &f->checksum);
		f->rollbacks = (uint32_t)s.rollbacks;
		f->max_rollback = (uint16_t)s.max_rollback;
		f->last_rollback = (uint16_t)s.last_rollback;
		f->stalls = (uint32_t)s.stalls;
		double rtt = 0;
		uint32_t n = 0;
		for (uint32_t k = 0; k < p->npeers; k++)
			if (k != p->index && s.remote[k].connected && s.remote[k].rtt_known) { /* no sample is not 0 ms */
				rtt += s.remote[k].rtt_ms;
				n++;
			}
		f->rtt_ms = (uint16_t)(n ? rtt / n : 0);
		f->frames_ahead = (int16_t)s.frames_ahead;
		f->bytes_in_per_s = s.bytes_in_per_s;
		f->bytes_out_per_s = s.bytes_out_per_s;
		ctl_out(p, &m);

		/* A rejoined peer holds a state after its first frame back, not that frame's inputs: it says nothing of them. */
		struct ctl_msg in = { .type = CTL_INPUTS };
		in.u.inputs.frame = (uint32_t)c;
		in.u.inputs.n = (uint8_t)p->npeers;
		if (nc_session_confirmed_inputs(p->session, (uint32_t)c, in.u.inputs.input) == 0)
			ctl_out(p, &in);
	}
	if (s.confirmed > p->reported)
		p->reported = s.confirmed;
}

/*
 * RTT: the netcode's smoothed round trip to each remote, as FRAME's rtt_ms
 * averages them, in 0.1 ms. A remote that is not connected or has answered
 * no ping yet is CTL_RTT_UNKNOWN, and so is this peer's own slot. Nothing
 * goes out before some remote is known.
 */
static void send_rtt(struct peer *p, uint64_t now)
{
	if (p->last_rtt_msg_ms && now - p->last_rtt_msg_ms < RTT_EVERY_MS)
		return;
	struct nc_session_stats s;
	nc_session_get_stats(p->session, &s);
	struct ctl_msg m = { .type = CTL_RTT };
	struct ctl_rtt *rt = &m.u.rtt;
	rt->frame = s.frame;
	rt->npeers = (uint8_t)p->npeers;
	bool any = false;
	for (uint32_t k = 0; k < p->npeers; k++) {
		const struct nc_remote_stats *r = &s.remote[k];
		rt->rtt[k] = CTL_RTT_UNKNOWN;
		if (k == p->index || !r->connected || !r->rtt_known)
			continue;
		double units = r->rtt_ms * 1000.0 / CTL_RTT_UNIT_US + 0.5;
		rt->rtt[k] = units >= CTL_RTT_UNKNOWN ? CTL_RTT_UNKNOWN - 1 : (uint16_t)units;
		any = true;
	}
	if (!any)
		return;
	p->last_rtt_msg_ms = now;
	ctl_out(p, &m);
}

static void answer_dump(struct peer *p, uint32_t frame)
{
	struct ctl_msg m = { .type = CTL_DUMPED };
	struct game_state st;
	m.u.dumped.frame = frame;
	if (nc_session_confirmed_state(p->session, frame, &st) == 0) {
		size_t len = game_serialize(&st, m.u.dumped.data, sizeof m.u.dumped.data);
		m.u.dumped.ok = len > 0;
		m.u.dumped.len = (uint16_t)len;
	}
	ctl_out(p, &m);
}

/* Handles what the harness sent during play. Returns false on QUIT or a closed channel. */
static bool read_control(struct peer *p)
{
	struct ctl_msg m;
	for (;;) {
		const char *why = NULL;
		int r = p->ctl >= 0 ? ctl_recv(p->ctl, &m, &why) : 0;
		if (r == 0)
			return true;
		if (r == -EPROTO) {
			fprintf(stderr, "loopsim-peer %u: ignoring a bad control message: %s\n", p->index, why);
			continue;
		}
		if (r < 0)
			return false;
		switch (m.type) {
		case CTL_QUIT:
			return false;
		case CTL_INPUT:
			p->human = m.u.input.human;
			p->human_keys = m.u.input.keys;
			break;
		case CTL_DUMP:
			answer_dump(p, m.u.dump.frame);
			break;
		case CTL_PERTURB:
			p->perturb_frame = m.u.perturb.frame;
			break;
		case CTL_READMIT: {
			char err[160];
			if (nc_session_readmit(p->session, m.u.readmit.peer, m.u.readmit.frame, err, sizeof err) < 0)
				fprintf(stderr, "loopsim-peer %u: %s\n", p->index, err);
			break;
		}
		default:
			break;
		}
	}
}

/* --- setup ---------------------------------------------------------------------------------------------- */

/*
 * Restarted into a running session: the harness handed over a state that
 * another peer confirmed, and the frame from which our inputs count again
 * (see nc_session_start_at()). We report from the frame after that state.
 */
static int start_rejoined(struct peer *p)
{
	const struct ctl_rejoin *rj = p->rejoin;
	struct nc_lost_player lost[CTL_REJOIN_MAX_LOST];
	char err[160];
	if (game_deserialize(&p->game, rj->data, rj->len) < 0 || p->game.nplayers != p->npeers) {
		fprintf(stderr, "loopsim-peer %u: REJOIN carries no valid state of a %u-player game\n", p->index,
			p->npeers);
		return -1;
	}
	for (uint32_t i = 0; i < rj->nlost; i++)
		lost[i] = (struct nc_lost_player){ rj->lost[i].peer, rj->lost[i].upto };
	if (nc_session_start_at(p->session, rj->frame + 1, rj->readmit, lost, rj->nlost, err, sizeof err) < 0) {
		fprintf(stderr, "loopsim-peer %u: %s\n", p->index, err);
		return -1;
	}
	p->reported = rj->frame;
	fprintf(stderr, "loopsim-peer %u: rejoining from the state after frame %u; my inputs count from frame %u\n",
		p->index, rj->frame, rj->readmit);
	return 0;
}

static int setup(struct peer *p)
{
	char err[256];
	p->transport = nc_enet_create(p->addr, 0, err, sizeof err);
	if (!p->transport) {
		fprintf(stderr, "loopsim-peer %u: %s\n", p->index, err);
		return -1;
	}
	if (p->ctl >= 0) {
		struct ctl_msg m = { .type = CTL_HELLO };
		m.u.hello = (struct ctl_hello){ (uint16_t)p->index, p->addr, nc_enet_bound_port(p->transport),
						(uint32_t)getpid() };
		ctl_out(p, &m);
		uint64_t deadline = now_ms() + SETUP_TIMEOUT_MS;
		bool have_peers = false, started = false;
		while (!started) {
			if (now_ms() > deadline) {
				fprintf(stderr, "loopsim-peer %u: no %s from the harness within %d s\n", p->index,
					have_peers ? "START" : "PEERS", SETUP_TIMEOUT_MS / 1000);
				return -1;
			}
			int r = ctl_wait(p, &m, 100);
			if (r < 0)
				return -1;
			if (r == 0)
				continue;
			if (m.type == CTL_PEERS) {
				const struct ctl_peers *pp = &m.u.peers;
				if (pp->npeers < 2 || pp->npeers > GAME_MAX_PLAYERS || p->index >= pp->npeers) {
					fprintf(stderr, "loopsim-peer %u: PEERS lists %u peers; need 2..%d including me\n",
						p->index, pp->npeers, GAME_MAX_PLAYERS);
					return -1;
				}
				p->npeers = pp->npeers;
				memcpy(p->peer_ip, pp->ip, sizeof pp->ip[0] * pp->npeers);
				memcpy(p->peer_port, pp->port, sizeof pp->port[0] * pp->npeers);
				p->session_id = pp->session_id;
				p->seed = pp->seed;
				p->mode = pp->netcode == 1 ? NC_LOCKSTEP : NC_ROLLBACK;
				p->input_delay = pp->input_delay;
				have_peers = true;
			} else if (m.type == CTL_START && have_peers) {
				started = true;
			} else if (m.type == CTL_REJOIN && have_peers) {
				p->rejoin = malloc(sizeof *p->rejoin);
				if (!p->rejoin)
					return -1;
				*p->rejoin = m.u.rejoin;
				started = true;
			} else if (m.type == CTL_QUIT) {
				return -1;
			}
		}
	}
	if (p->session_id == 0)
		p->session_id = p->seed ^ 0x6c6f6f7073696dull; /* the same on every peer given the same seed */
	if (game_init(&p->game, p->npeers, p->seed) < 0) {
		fprintf(stderr, "loopsim-peer %u: the game takes 2..%d players\n", p->index, GAME_MAX_PLAYERS);
		return -1;
	}
	if (nc_enet_connect(p->transport, p->npeers, p->index, p->peer_ip, p->peer_port) < 0) {
		fprintf(stderr, "loopsim-peer %u: cannot start connecting\n", p->index);
		return -1;
	}
	struct nc_session_cfg cfg;
	nc_session_cfg_default(&cfg);
	cfg.nplayers = p->npeers;
	cfg.local = p->index;
	cfg.mode = p->mode;
	cfg.input_delay = p->input_delay;
	cfg.session_id = p->session_id;
	cfg.disconnect_timeout_ms = p->disconnect_ms;
	cfg.state_size = sizeof(struct game_state);
	cfg.cb = (struct nc_callbacks){ p, cb_save, cb_load, cb_advance, cb_checksum };
	cfg.transport = p->transport;
	p->session = nc_session_create(&cfg, err, sizeof err);
	if (!p->session) {
		fprintf(stderr, "loopsim-peer %u: %s\n", p->index, err);
		return -1;
	}
	return p->rejoin ? start_rejoined(p) : 0;
}

static void handle_events(struct peer *p)
{
	struct nc_session_event ev;
	while (nc_session_poll_event(p->session, &ev)) {
		switch (ev.type) {
		case NC_SE_DESYNC: {
			p->desync = true;
			fprintf(stderr, "loopsim-peer %u: desync at frame %u:", p->index, ev.frame);
			struct ctl_msg m = { .type = CTL_DESYNC };
			m.u.desync.frame = ev.frame;
			m.u.desync.npeers = (uint8_t)p->npeers;
			m.u.desync.known_mask = ev.known_mask;
			for (uint32_t k = 0; k < p->npeers; k++) {
				m.u.desync.checksum[k] = ev.checksum[k];
				if (ev.known_mask & (1u << k))
					fprintf(stderr, " %u=%016" PRIx64, k, ev.checksum[k]);
			}
			fputc('\n', stderr);
			ctl_out(p, &m);
			break;
		}
		case NC_SE_DISCONNECTED:
			fprintf(stderr, "loopsim-peer %u: lost peer %u at frame %u (%s)\n", p->index, ev.peer, ev.frame,
				ev.reason);
			break;
		case NC_SE_PEER_FINAL: {
			fprintf(stderr, "loopsim-peer %u: peer %u's inputs end at frame %u\n", p->index, ev.peer, ev.frame);
			struct ctl_msg m = { .type = CTL_GONE };
			m.u.gone = (struct ctl_gone){ (uint8_t)ev.peer, ev.frame + 1 };
			ctl_out(p, &m);
			break;
		}
		case NC_SE_READMITTED:
			fprintf(stderr, "loopsim-peer %u: peer %u is back; its inputs count from frame %u\n", p->index,
				ev.peer, ev.frame);
			break;
		case NC_SE_REJECTED:
			fprintf(stderr, "loopsim-peer %u: refused peer %u: %s\n", p->index, ev.peer, ev.reason);
			break;
		default:
			break;
		}
	}
}

static void status_line(struct peer *p)
{
	struct nc_session_stats s;
	nc_session_get_stats(p->session, &s);
	uint64_t h = 0;
	if (s.confirmed >= 0)
		nc_session_confirmed_checksum(p->session, (uint32_t)s.confirmed, &h);
	fprintf(stderr, "peer %u: frame %u confirmed %" PRId64 " hash %016" PRIx64 " rollbacks %" PRIu64
			" (max %u) stalls %" PRIu64 "\n",
		p->index, s.frame, s.confirmed, h, s.rollbacks, s.max_rollback, s.stalls);
}

int main(int argc, char **argv)
{
	struct peer p = { .ctl = -1, .perturb_frame = -1, .seed = 1, .input_delay = 2, .mode = NC_ROLLBACK,
			  .reported = -1, .disconnect_ms = DISCONNECT_TIMEOUT_MS };
	signal(SIGPIPE, SIG_IGN);
	if (parse_args(&p, argc, argv) < 0)
		return EXIT_USAGE;
	if (p.ctl >= 0)
		signal(SIGINT, SIG_IGN); /* Ctrl-C is the harness's to handle: it will send QUIT */
	if (setup(&p) < 0) {
		free(p.rejoin);
		nc_session_destroy(p.session);
		if (p.transport)
			p.transport->destroy(p.transport);
		return EXIT_RUNTIME;
	}

	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	uint64_t last_status = now_ms();
	bool go = true;
	while (go) {
		go = read_control(&p);
		uint8_t input = p.human ? p.human_keys : game_bot_input(&p.game, p.index, p.seed);
			if (nc_session_tick(p.session, now_ms(), input) == NC_TICK_ADVANCED && p.game.frame % STATE_EVERY == 0)
			send_state(&p);
		/*
		 * Events first: a GONE must reach the harness before any FRAME
		 * confirmed past its cut, or the oracle compares that frame across
		 * the two sides of a split before it knows there are two.
		 */
		handle_events(&p);
		send_frame(&p);
		send_rtt(&p, now_ms());
		if (p.frames && nc_session_confirmed(p.session) >= (int64_t)p.frames - 1)
			go = false;
		if (!p.quiet && now_ms() - last_status >= 1000) {
			status_line(&p);
			last_status = now_ms();
		}
		next.tv_nsec += FRAME_NS;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	/* A few more ticks let the last inputs and checksums reach the others. */
	for (int i = 0; i < 10; i++) {
		nc_session_tick(p.session, now_ms(), 0);
		handle_events(&p);
		struct timespec t = { 0, FRAME_NS };
		nanosleep(&t, NULL);
	}
	if (!p.quiet)
		status_line(&p);
	if (p.frames && nc_session_confirmed(p.session) >= (int64_t)p.frames - 1) {
		/* The last frame asked for, confirmed: what a script compares across peers. */
		uint64_t h = 0;
		nc_session_confirmed_checksum(p.session, (uint32_t)(p.frames - 1), &h);
		printf("{\"peer\":%u,\"frame\":%" PRIu64 ",\"checksum\":\"%016" PRIx64 "\"}\n", p.index, p.frames - 1, h);
	}
	struct ctl_msg bye = { .type = CTL_BYE };
	bye.u.bye.reason = 0;
	if (p.ctl >= 0)
		ctl_send(p.ctl, &bye);
	nc_session_destroy(p.session);
	p.transport->destroy(p.transport);
	free(p.rejoin);
	return p.desync ? EXIT_DESYNC : EXIT_OK;
}
