// SPDX-License-Identifier: MIT
// A session from start to verdict: wire, peers, timeline, supervision, oracle, bundle.
#include "harness/run.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/args.h"
#include "control.h"
#include "game/game.h"
#include "harness/bundle.h"
#include "harness/launch.h"
#include "harness/oracle.h"
#include "view/view.h"
#include "wire/addr.h"
#include "wire/relay.h"

/* A peer must say HELLO within this long of being started. */
#define HELLO_TIMEOUT_MS 10000
/* A user's peer may never speak the control protocol: wait this long, then go on without its HELLO. */
#define HELLO_GRACE_USER_MS 3000
/* Supervision: no FRAME for this long after the first one is a hang; none at all within FIRST_FRAME_MS too. */
#define HANG_MS 5000
#define FIRST_FRAME_MS 15000
/* How long a desync waits for the peers' DUMPED answers, and the end for peers to exit after QUIT. */
#define DUMP_WAIT_MS 3000
#define EXIT_WAIT_MS 3000
/*
 * A restarted peer must be back within this long of its restart, beyond
 * the disconnect timeout the others need to notice it is gone; then they
 * agree where its inputs end, and one hands over a state.
 */
#define REJOIN_SLACK_MS 12000
/* Frames between the highest frame any peer reported and the frame a rejoining peer's inputs count from. */
#define REJOIN_AHEAD_FRAMES 30

/*
 * A restart, step by step: the new process says HELLO, it gets PEERS, the
 * others agree that its old self is gone (a GONE from each), one of them
 * hands over its latest confirmed state (DUMP), then the newcomer gets
 * REJOIN and the others READMIT, with the frame its inputs count from.
 */
enum rejoin_stage { RJ_NONE, RJ_HELLO, RJ_AGREED, RJ_DUMP };

struct slot {
	pid_t pid;
	int ctl;                 /* -1 once closed */
	bool alive;              /* the process has not been reaped */
	bool expected_exit;      /* killed by the timeline, or asked to quit */
	bool hello, framed;
	uint64_t last_frame_ms;
	bool dumped;
	struct ctl_dumped dump;
	/* For the viewer. */
	struct ctl_state state;  /* the latest STATE */
	bool has_state;
	uint64_t checksum;       /* of its latest confirmed frame */
	uint64_t advanced_ms;    /* when its frame last moved */
	uint32_t last_rollback;
	uint64_t rb_base;        /* rollbacks at the start of the rate window */
	uint64_t rb_window_ms;
	float rb_per_s;
	bool human;
	uint64_t started_ms;     /* when this process was started */
	enum rejoin_stage rejoin;
	uint32_t rejoin_source;  /* the peer whose state it takes */
	bool gone_known[RUN_MAX_PEERS];      /* this peer's session agreed that player p was lost ... */
	uint32_t gone_upto[RUN_MAX_PEERS];   /* ... with its inputs ending below this frame */
};

struct session {
	const struct run_cfg *cfg;
	struct run_result *res;
	uint32_t n;
	struct wire *wire;
	struct oracle *oracle;
	struct slot slot[RUN_MAX_PEERS];
	char workdir[64];
	char program[512];
	char peers_list[RUN_MAX_PEERS * WIRE_ADDR_STRLEN];
	uint64_t start_ms;
	uint64_t session_id;
	int sigfd;
	bool builtin;
	char pcap[600], fates[600];
	/* The viewer, when there is one. */
	struct view *view;
	struct view_snapshot *snap;
	struct wire_flight *flights;
	struct wire_link_stats *link_stats;
	struct view_mark marks[VIEW_MAX_MARKS];  /* drops, newest last, with their time */
	double mark_t[VIEW_MAX_MARKS];
	uint32_t nmarks;
	uint64_t drop_cursor;
	uint64_t last_view_ms;
	bool quit_requested;
};

static uint64_t clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static double elapsed_s(const struct session *s)
{
	return (double)(clock_ms() - s->start_ms) / 1000.0;
}

static void log_event(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_event(struct session *s, const char *fmt, ...)
{
	struct run_result *r = s->res;
	if (r->nlog >= RUN_MAX_LOG) {
		r->log_dropped++;
		return;
	}
	struct run_log_entry *e = &r->log[r->nlog++];
	e->t_s = s->start_ms ? elapsed_s(s) : 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->what, sizeof e->what, fmt, ap);
	va_end(ap);
}

static void fail(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct session *s, const char *fmt, ...)
{
	if (s->res->exit_code != 0)
		return; /* the first failure is the reason */
	s->res->exit_code = 3;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->res->reason, sizeof s->res->reason, fmt, ap);
	va_end(ap);
}

static void close_ctl(struct slot *sl)
{
	if (sl->ctl >= 0)
		close(sl->ctl);
	sl->ctl = -1;
}

static void send_to(struct session *s, uint32_t k, const struct ctl_msg *m)
{
	struct slot *sl = &s->slot[k];
	if (sl->ctl >= 0 && ctl_send(sl->ctl, m) == -EPIPE)
		close_ctl(sl);
}

/* --- messages from peers -------------------------------------------------------------------------------- */

static void on_message(struct session *s, uint32_t k, const struct ctl_msg *m)
{
	struct slot *sl = &s->slot[k];
	struct run_peer *rp = &s->res->peers[k];
	switch (m->type) {
	case CTL_HELLO:
		if (m->u.hello.index != k || m->u.hello.ip != wire_peer_ip(k)) {
			log_event(s, "peer %u said HELLO as peer %u at another address; ignored", k, m->u.hello.index);
			break;
		}
		sl->hello = true;
		rp->port = m->u.hello.port;
		wire_register_port(s->wire, k, m->u.hello.port);
		break;
	case CTL_FRAME: {
		const struct ctl_frame *f = &m->u.frame;
		sl->framed = true;
		sl->last_frame_ms = clock_ms();
		if (f->frame != rp->frames)
			sl->advanced_ms = sl->last_frame_ms;
		sl->checksum = f->checksum;
		sl->last_rollback = f->last_rollback;
		rp->frames = f->frame;
		if ((int64_t)f->confirmed > rp->confirmed_frame)
			rp->confirmed_frame = f->confirmed;
		rp->rollbacks = f->rollbacks;
		rp->max_rollback = f->max_rollback;
		rp->stalls = f->stalls;
		rp->rtt_ms = f->rtt_ms;
		oracle_checksum(s->oracle, k, f->confirmed, f->checksum);
		break;
	}
	case CTL_INPUTS:
		oracle_inputs(s->oracle, k, m->u.inputs.frame, m->u.inputs.input, m->u.inputs.n);
		break;
	case CTL_DESYNC:
		log_event(s, "peer %u's netcode saw a desync at frame %u", k, m->u.desync.frame);
		break;
	case CTL_DUMPED:
		sl->dumped = true;
		sl->dump = m->u.dumped;
		break;
	case CTL_BYE:
		sl->expected_exit = true;
		break;
	case CTL_STATE:
		sl->state = m->u.state;
		sl->has_state = true;
		break;
	case CTL_GONE:
		if (m->u.gone.peer < s->n) {
			sl->gone_known[m->u.gone.peer] = true;
			sl->gone_upto[m->u.gone.peer] = m->u.gone.upto;
		}
		break;
	default:
		break; /* nothing else is meant for the harness */
	}
}

static void read_peer(struct session *s, uint32_t k)
{
	struct slot *sl = &s->slot[k];
	static struct ctl_msg m; /* 12 KB: not on the stack of every call */
	for (int i = 0; i < 256 && sl->ctl >= 0; i++) {
		const char *why = NULL;
		int r = ctl_recv(sl->ctl, &m, &why);
		if (r == 0)
			return;
		if (r == -EPROTO) {
			/* Garbage on the control channel: cut this peer off, and only this peer. */
			snprintf(s->res->peers[k].problem, sizeof s->res->peers[k].problem,
				 "sent a malformed control message (%s); disconnected", why);
			log_event(s, "peer %u sent a malformed control message (%s); its control channel is closed", k,
				  why);
			close_ctl(sl);
			oracle_peer_gone(s->oracle, k);
			return;
		}
		if (r < 0) {
			close_ctl(sl); /* it closed its end: its exit is reaped below */
			return;
		}
		on_message(s, k, &m);
	}
}

static void read_peers(struct session *s, int timeout_ms)
{
	struct pollfd pfd[RUN_MAX_PEERS + 1];
	uint32_t who[RUN_MAX_PEERS];
	nfds_t n = 0;
	for (uint32_t k = 0; k < s->n; k++)
		if (s->slot[k].ctl >= 0) {
			pfd[n] = (struct pollfd){ .fd = s->slot[k].ctl, .events = POLLIN };
			who[n++] = k;
		}
	pfd[n] = (struct pollfd){ .fd = s->sigfd, .events = POLLIN };
	if (poll(pfd, n + 1, timeout_ms) <= 0)
		return;
	for (nfds_t i = 0; i < n; i++)
		if (pfd[i].revents)
			read_peer(s, who[i]);
}

/* Returns true once SIGINT, SIGTERM or SIGHUP has arrived. */
static bool interrupted(struct session *s)
{
	struct signalfd_siginfo si;
	if (read(s->sigfd, &si, sizeof si) == sizeof si) {
		log_event(s, "stopped by %s", strsignal((int)si.ssi_signo));
		snprintf(s->res->reason, sizeof s->res->reason, "stopped by %s", strsignal((int)si.ssi_signo));
		return true;
	}
	return false;
}

/* --- supervision ---------------------------------------------------------------------------------------- */

static void reap(struct session *s, bool ending)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (uint32_t k = 0; k < s->n; k++) {
			struct slot *sl = &s->slot[k];
			if (sl->pid != pid || !sl->alive)
				continue;
			sl->alive = false;
			struct run_peer *rp = &s->res->peers[k];
			rp->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			oracle_peer_gone(s->oracle, k);
			if (sl->expected_exit || ending)
				break;
			if (WIFSIGNALED(status))
				snprintf(rp->problem, sizeof rp->problem, "crashed (signal %d, %s)", WTERMSIG(status),
					 strsignal(WTERMSIG(status)));
			else
				snprintf(rp->problem, sizeof rp->problem, "exited early with status %d (log: %s/peer-%u.log)",
					 WEXITSTATUS(status), s->workdir, k);
			fail(s, "peer %u %s", k, rp->problem);
		}
	}
}

static void check_hangs(struct session *s, uint64_t now)
{
	for (uint32_t k = 0; k < s->n; k++) {
		struct slot *sl = &s->slot[k];
		if (!sl->alive || sl->expected_exit || sl->ctl < 0 || (!s->builtin && !sl->framed) || sl->rejoin != RJ_NONE)
			continue; /* a user's peer that never reports frames cannot be judged; a rejoin has its own clock */
		uint64_t since = sl->framed ? sl->last_frame_ms : sl->started_ms;
		uint64_t limit = sl->framed ? HANG_MS : FIRST_FRAME_MS;
		if (now - since > limit) {
			struct run_peer *rp = &s->res->peers[k];
			snprintf(rp->problem, sizeof rp->problem, "hung: no FRAME for %.0f s", (double)limit / 1000);
			fail(s, "peer %u %s", k, rp->problem);
		}
	}
}

/* --- starting a peer ------------------------------------------------------------------------------------ */

/* The built-in peers' disconnect timeout, from the scenario. */
static uint32_t disconnect_ms(const struct session *s)
{
	return (uint32_t)(s->cfg->scn.disconnect_s * 1000 + 0.5);
}

/* Starts peer k's process into a fresh slot; its log is appended to, so a restart keeps the first life's. */
static int launch_slot(struct session *s, uint32_t k)
{
	char err[512], log[128];
	snprintf(log, sizeof log, "%s/peer-%u.log", s->workdir, k);
	struct launch_cfg lc = { .index = k,
				 .addr = wire_peer_ip(k),
				 .peers = s->peers_list,
				 .seed = s->cfg->scn.seed,
				 .program = s->program,
				 .cmd = s->cfg->scn.peer_cmd,
				 .log_path = log,
				 .disconnect_ms = disconnect_ms(s) };
	struct launched l;
	if (launch_peer(&lc, &l, err, sizeof err) < 0) {
		fail(s, "cannot start peer %u: %s", k, err);
		return -1;
	}
	s->slot[k] = (struct slot){ .pid = l.pid, .ctl = l.ctl, .alive = true, .started_ms = clock_ms() };
	return 0;
}

/* Everyone's public address and the session's parameters. */
static void peers_msg(struct session *s, struct ctl_msg *m)
{
	*m = (struct ctl_msg){ .type = CTL_PEERS };
	m->u.peers.session_id = s->session_id;
	m->u.peers.seed = s->cfg->scn.seed;
	m->u.peers.netcode = s->cfg->scn.netcode == SCN_LOCKSTEP ? CTL_NETCODE_LOCKSTEP : CTL_NETCODE_ROLLBACK;
	m->u.peers.input_delay = (uint8_t)s->cfg->scn.input_delay;
	m->u.peers.npeers = (uint8_t)s->n;
	for (uint32_t k = 0; k < s->n; k++) {
		m->u.peers.ip[k] = wire_peer_ip(k);
		m->u.peers.port[k] = wire_public_port(s->wire, k);
	}
}

/* --- the timeline --------------------------------------------------------------------------------------- */

static void set_links(struct session *s, const struct scn_setting *set)
{
	char err[256];
	for (uint32_t i = 0; i < s->n; i++)
		for (uint32_t j = 0; j < s->n; j++) {
			struct wire_link_cfg c;
			const char *field, *why;
			if (i == j || !scn_setting_covers(set, i, j) || wire_get_link(s->wire, i, j, &c) < 0)
				continue;
			/* scn_check replayed the timeline already, so a refusal here means a live change made it invalid. */
			if (scn_setting_apply(&s->cfg->scn, set, &c, err, sizeof err) < 0 ||
			    wire_link_cfg_validate(&c, &field, &why) < 0 || wire_set_link(s->wire, (int)i, (int)j, &c) < 0)
				log_event(s, "line %d: %s = %s not applied to %u->%u", set->line, set->key, set->value, i, j);
		}
}

/*
 * The timeline's restart: a new process for peer k, at the same address.
 * A built-in peer is taken through the rejoin (advance_rejoins()); a user's
 * peer is only started again, and rejoins on its own terms.
 */
static void restart_peer(struct session *s, uint32_t k)
{
	if (k >= s->n)
		return;
	struct slot *sl = &s->slot[k];
	if (sl->alive) {
		/* Still running: a restart is a kill and a start. Its old process is reaped by pid, later. */
		sl->expected_exit = true;
		kill(sl->pid, SIGKILL);
		oracle_peer_gone(s->oracle, k);
	}
	close_ctl(sl);
	wire_forget_port(s->wire, k);
	s->res->peers[k].problem[0] = '\0';
	if (launch_slot(s, k) < 0)
		return;
	sl->rejoin = s->builtin ? RJ_HELLO : RJ_NONE;
	log_event(s, "restart peer %u (pid %d)%s", k, (int)sl->pid,
		  s->builtin ? "" : ": a user's peer rejoins on its own terms");
}

/* The peers a rejoin waits on: running, reachable, not rejoining themselves. */
static bool remaining(const struct session *s, uint32_t j, uint32_t k)
{
	const struct slot *sl = &s->slot[j];
	return j != k && sl->alive && !sl->expected_exit && sl->ctl >= 0 && sl->rejoin == RJ_NONE;
}

/* Takes restarted peer k one step further, if it can move. */
static void advance_rejoin(struct session *s, uint32_t k, uint64_t now)
{
	struct slot *sl = &s->slot[k];
	static struct ctl_msg m; /* 12 KB */
	if (!sl->alive || sl->ctl < 0) {
		sl->rejoin = RJ_NONE;
		return;
	}
	uint64_t limit = disconnect_ms(s) + REJOIN_SLACK_MS;
	if (now - sl->started_ms > limit) {
		static const char *const stage[] = { "", "no HELLO", "the others never agreed it was gone",
						     "no state to start from" };
		snprintf(s->res->peers[k].problem, sizeof s->res->peers[k].problem,
			 "could not rejoin within %.0f s: %s", (double)limit / 1000, stage[sl->rejoin]);
		fail(s, "peer %u %s", k, s->res->peers[k].problem);
		sl->rejoin = RJ_NONE;
		return;
	}
	switch (sl->rejoin) {
	case RJ_HELLO:
		if (!sl->hello)
			return;
		peers_msg(s, &m);
		send_to(s, k, &m);
		sl->rejoin = RJ_AGREED;
		/* fall through */
	case RJ_AGREED: {
		int source = -1;
		for (uint32_t j = 0; j < s->n; j++) {
			if (!remaining(s, j, k))
				continue;
			if (!s->slot[j].gone_known[k])
				return; /* j has not agreed yet */
			if (source < 0 && s->slot[j].framed)
				source = (int)j;
		}
		if (source < 0)
			return;
		sl->rejoin_source = (uint32_t)source;
		s->slot[source].dumped = false;
		m = (struct ctl_msg){ .type = CTL_DUMP };
		m.u.dump.frame = (uint32_t)s->res->peers[source].confirmed_frame;
		send_to(s, (uint32_t)source, &m);
		sl->rejoin = RJ_DUMP;
		return;
	}
	case RJ_DUMP: {
		struct slot *src = &s->slot[sl->rejoin_source];
		if (!remaining(s, sl->rejoin_source, k)) {
			sl->rejoin = RJ_AGREED; /* the source went away: ask another */
			return;
		}
		if (!src->dumped)
			return;
		const struct ctl_dumped *d = &src->dump;
		m = (struct ctl_msg){ .type = CTL_REJOIN };
		struct ctl_rejoin *rj = &m.u.rejoin;
		/*
		 * The players the source counts as gone, as it told us. Their
		 * inputs must end before the state's frame, or the newcomer would
		 * lack some: then, as when the frame was no longer kept, ask again.
		 */
		bool usable = d->ok;
		for (uint32_t x = 0; x < s->n && usable; x++) {
			if (x == k || !src->gone_known[x] || remaining(s, x, k) || rj->nlost == CTL_REJOIN_MAX_LOST)
				continue;
			rj->lost[rj->nlost++] = (struct ctl_gone){ (uint8_t)x, src->gone_upto[x] };
			usable = src->gone_upto[x] <= d->frame + 1;
		}
		if (!usable) {
			sl->rejoin = RJ_AGREED;
			return;
		}
		uint32_t highest = 0;
		for (uint32_t j = 0; j < s->n; j++)
			if (remaining(s, j, k) && s->res->peers[j].frames > highest)
				highest = s->res->peers[j].frames;
		rj->frame = d->frame;
		rj->readmit = (highest > d->frame ? highest : d->frame) + REJOIN_AHEAD_FRAMES + s->cfg->scn.input_delay;
		rj->len = d->len;
		memcpy(rj->data, d->data, d->len);
		send_to(s, k, &m);
		struct ctl_msg back = { .type = CTL_READMIT };
		back.u.readmit = (struct ctl_readmit){ (uint8_t)k, rj->readmit };
		for (uint32_t j = 0; j < s->n; j++) {
			s->slot[j].gone_known[k] = false;
			if (remaining(s, j, k))
				send_to(s, j, &back);
		}
		oracle_peer_back(s->oracle, k);
		log_event(s, "peer %u rejoins from the state peer %u confirmed at frame %u; its inputs count from frame %u",
			  k, sl->rejoin_source, rj->frame, rj->readmit);
		sl->rejoin = RJ_NONE;
		sl->started_ms = now; /* its first FRAME is due within FIRST_FRAME_MS of this */
		return;
	}
	default:
		return;
	}
}

static void advance_rejoins(struct session *s, uint64_t now)
{
	for (uint32_t k = 0; k < s->n; k++)
		if (s->slot[k].rejoin != RJ_NONE)
			advance_rejoin(s, k, now);
}

static void apply_event(struct session *s, const struct scn_event *e)
{
	switch (e->kind) {
	case SCN_EV_SET_LINK:
		set_links(s, &e->set);
		if (e->set.from < 0)
			log_event(s, "every link: %s = %s", e->set.key, e->set.value);
		else
			log_event(s, "link %d%s%d: %s = %s", e->set.from, e->set.both ? "<->" : "->", e->set.to, e->set.key,
				  e->set.value);
		break;
	case SCN_EV_PARTITION: {
		uint32_t groups[RUN_MAX_PEERS];
		char err[256];
		if (cli_parse_groups("partition", e->groups, s->n, groups, err, sizeof err) == 0) {
			wire_partition(s->wire, groups);
			log_event(s, "partition %s", e->groups);
		}
		break;
	}
	case SCN_EV_HEAL:
		wire_partition(s->wire, NULL);
		log_event(s, "heal");
		break;
	case SCN_EV_KILL:
		if (e->peer < s->n && s->slot[e->peer].alive) {
			s->slot[e->peer].expected_exit = true;
			kill(s->slot[e->peer].pid, SIGKILL);
			log_event(s, "kill peer %u", e->peer);
		}
		break;
	case SCN_EV_RESTART:
		restart_peer(s, e->peer);
		break;
	case SCN_EV_DESYNC:
		if (e->peer < s->n) {
			/* A few frames ahead, so the peer meets it in its first simulation of that frame. */
			struct ctl_msg m = { .type = CTL_PERTURB };
			m.u.perturb.frame = s->res->peers[e->peer].frames + 10;
			send_to(s, e->peer, &m);
			log_event(s, "desync injected into peer %u at frame %u", e->peer, m.u.perturb.frame);
		}
		break;
	}
}

/* --- the viewer ----------------------------------------------------------------------------------------- */

/* Frames the viewer draws per second at most; the harness's own work runs between them. */
#define VIEW_FRAME_MS 16
/* A peer whose frame has not moved for this long shows as stalled. */
#define STALL_MS 250
/* How long a drop's cross stays on screen. */
#define MARK_LIFE_S 1.5

static void snapshot_peers(struct session *s, struct view_snapshot *v, uint64_t now)
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
		vp->human = sl->human;
		vp->checksum = sl->checksum;
		vp->checksum_ok = !s->res->desync.found;
		for (uint32_t m = 0; m < s->res->desync.npeers; m++)
			if (s->res->desync.peers[m] == k) {
				vp->minority = true;
				vp->checksum_ok = false;
			}
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
				.p50_ms = (float)wire_hist_quantile(&st->delay, 0.5) / 1000.0f,
				.p99_ms = (float)wire_hist_quantile(&st->delay, 0.99) / 1000.0f,
			};
		}
}

static void snapshot_flights(struct session *s, struct view_snapshot *v)
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
	double t = elapsed_s(s);
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

static void build_snapshot(struct session *s)
{
	struct view_snapshot *v = s->snap;
	uint64_t now = clock_ms();
	v->t_s = elapsed_s(s);
	v->duration_s = s->cfg->scn.duration_s;
	v->netcode = s->res->netcode;
	v->seed = s->cfg->scn.seed;
	snapshot_peers(s, v, now);
	snapshot_links(s, v);
	snapshot_flights(s, v);
	uint32_t first = s->res->nlog > VIEW_MAX_EVENTS ? s->res->nlog - VIEW_MAX_EVENTS : 0;
	v->nevents = 0;
	for (uint32_t i = first; i < s->res->nlog; i++) {
		v->event[v->nevents].t_s = (float)s->res->log[i].t_s;
		/* The strip has room for the start of each entry only. */
		snprintf(v->event[v->nevents++].label, sizeof v->event[0].label, "%.*s",
			 (int)sizeof v->event[0].label - 1, s->res->log[i].what);
	}
	const struct run_desync *d = &s->res->desync;
	v->desync.found = d->found;
	v->desync.frame = d->frame;
	v->desync.peers[0] = '\0';
	for (uint32_t m = 0, used = 0; m < d->npeers && used < sizeof v->desync.peers - 8; m++)
		used += (uint32_t)snprintf(v->desync.peers + used, sizeof v->desync.peers - used, "%s%u", m ? ", " : "",
					   d->peers[m]);
	snprintf(v->desync.field, sizeof v->desync.field, "%s", d->field);
	snprintf(v->status, sizeof v->status, "%s  seed %" PRIu64 "  agreed to frame %" PRId64 "%s", v->netcode,
		 v->seed, oracle_agreed(s->oracle), d->found ? "  (held at the desync: Esc quits)" : "");
}

/* Applies what the user did in the window, through the same path as scenario events, and logs it. */
static void apply_view_commands(struct session *s)
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
			set_links(s, &set);
			log_event(s, "viewer: link %d%s%d: %s = %s", c->from, c->both ? "<->" : "->", c->to, c->key,
				  c->value);
			break;
		}
		case VIEW_CMD_PARTITION: {
			struct scn_setting set = { .from = c->from, .to = c->to, .both = true, .key = "blocked",
						   .value = "true" };
			set_links(s, &set);
			log_event(s, "viewer: cut link %d<->%d", c->from, c->to);
			break;
		}
		case VIEW_CMD_HEAL: {
			struct scn_setting set = { .from = -1, .to = -1, .both = true, .key = "blocked", .value = "false" };
			set_links(s, &set);
			wire_partition(s->wire, NULL);
			log_event(s, "viewer: heal");
			break;
		}
		case VIEW_CMD_PRESET: {
			struct scn_setting set = { .from = -1, .to = -1, .both = true, .key = "preset" };
			snprintf(set.value, sizeof set.value, "%s", c->value);
			set_links(s, &set);
			log_event(s, "viewer: every link: preset %s", c->value);
			break;
		}
		case VIEW_CMD_INPUT:
			if (c->peer < s->n) {
				struct ctl_msg m = { .type = CTL_INPUT };
				m.u.input.keys = c->keys & CTL_INPUT_KEY_MASK;
				m.u.input.human = c->human;
				s->slot[c->peer].human = c->human;
				send_to(s, c->peer, &m);
			}
			break;
		case VIEW_CMD_SCREENSHOT: {
			char err[256];
			if (view_screenshot(s->view, c->value, err, sizeof err) == 0)
				log_event(s, "viewer: screenshot %s", c->value);
			else
				log_event(s, "viewer: no screenshot: %s", err);
			break;
		}
		case VIEW_CMD_QUIT:
			s->quit_requested = true;
			break;
		}
	}
}

/* Draws a frame when one is due; `hold` keeps the last snapshot (a desync on screen). */
static void view_tick(struct session *s, bool hold)
{
	if (!s->view)
		return;
	uint64_t now = clock_ms();
	if (now - s->last_view_ms < VIEW_FRAME_MS)
		return;
	s->last_view_ms = now;
	if (!hold && !view_paused(s->view))
		build_snapshot(s);
	view_frame(s->view, s->snap);
	apply_view_commands(s);
}

static int open_view(struct session *s, char *err, size_t errlen)
{
	const struct run_cfg *cfg = s->cfg;
	if (!cfg->window && !cfg->screenshot)
		return 0;
	struct view_cfg vc;
	view_cfg_default(&vc);
	vc.headless = !cfg->window;
	vc.title = "loopsim";
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

static void close_view(struct session *s)
{
	if (s->view && s->cfg->screenshot) {
		char err[256];
		if (!s->res->desync.found)
			build_snapshot(s);
		if (view_screenshot(s->view, s->cfg->screenshot, err, sizeof err) < 0)
			fprintf(stderr, "loopsim: --screenshot: %s\n", err);
	}
	view_destroy(s->view);
	free(s->snap);
	free(s->flights);
	free(s->link_stats);
	s->view = NULL;
}

/* --- start and stop ------------------------------------------------------------------------------------- */

static int start_peers(struct session *s)
{
	for (uint32_t k = 0; k < s->n; k++)
		if (launch_slot(s, k) < 0)
			return -1;
	/* Collect every HELLO: the ephemeral port each peer bound, which the wire needs to reach it. */
	uint64_t deadline = clock_ms() + (s->builtin ? HELLO_TIMEOUT_MS : HELLO_GRACE_USER_MS);
	for (;;) {
		bool all = true;
		for (uint32_t k = 0; k < s->n; k++)
			all &= s->slot[k].hello;
		if (all)
			break;
		if (clock_ms() > deadline) {
			if (!s->builtin)
				break; /* the wire learns their ports from their first datagrams */
			for (uint32_t k = 0; k < s->n; k++)
				if (!s->slot[k].hello) {
					fail(s, "peer %u said no HELLO within %d s (log: %s/peer-%u.log)", k,
					     HELLO_TIMEOUT_MS / 1000, s->workdir, k);
					return -1;
				}
		}
		read_peers(s, 50);
		reap(s, false);
		if (s->res->exit_code)
			return -1;
		if (interrupted(s))
			return -1;
	}
	struct ctl_msg m;
	peers_msg(s, &m);
	for (uint32_t k = 0; k < s->n; k++)
		send_to(s, k, &m);
	struct ctl_msg start = { .type = CTL_START };
	for (uint32_t k = 0; k < s->n; k++)
		send_to(s, k, &start);
	if (s->cfg->inject) {
		struct ctl_msg p = { .type = CTL_PERTURB };
		p.u.perturb.frame = s->cfg->inject_frame;
		send_to(s, s->cfg->inject_peer, &p);
		log_event(s, "desync injected into peer %u at frame %u", s->cfg->inject_peer, s->cfg->inject_frame);
	}
	return 0;
}

static void stop_peers(struct session *s)
{
	struct ctl_msg quit = { .type = CTL_QUIT };
	for (uint32_t k = 0; k < s->n; k++)
		if (s->slot[k].alive) {
			s->slot[k].expected_exit = true;
			send_to(s, k, &quit);
		}
	uint64_t deadline = clock_ms() + EXIT_WAIT_MS;
	for (;;) {
		reap(s, true);
		bool any = false;
		for (uint32_t k = 0; k < s->n; k++)
			any |= s->slot[k].alive;
		if (!any || clock_ms() > deadline)
			break;
		read_peers(s, 20);
	}
	for (uint32_t k = 0; k < s->n; k++)
		if (s->slot[k].alive) {
			kill(s->slot[k].pid, SIGKILL);
			if (!s->res->peers[k].problem[0]) /* a hung peer keeps the reason it was stopped for */
				snprintf(s->res->peers[k].problem, sizeof s->res->peers[k].problem,
					 "did not quit within %d s; killed", EXIT_WAIT_MS / 1000);
		}
	for (uint32_t k = 0; k < s->n; k++)
		if (s->slot[k].alive) {
			int status;
			if (waitpid(s->slot[k].pid, &status, 0) == s->slot[k].pid) {
				s->slot[k].alive = false;
				s->res->peers[k].exit_status = 128 + SIGKILL;
			}
		}
	for (uint32_t k = 0; k < s->n; k++)
		close_ctl(&s->slot[k]);
}

/* On a desync: ask every live peer for its state at the frame, briefly. */
static void collect_dumps(struct session *s, uint32_t frame)
{
	struct ctl_msg m = { .type = CTL_DUMP };
	m.u.dump.frame = frame;
	for (uint32_t k = 0; k < s->n; k++) {
		s->slot[k].dumped = false; /* a rejoin may have asked before, for another frame */
		send_to(s, k, &m);
	}
	uint64_t deadline = clock_ms() + DUMP_WAIT_MS;
	for (;;) {
		bool all = true;
		for (uint32_t k = 0; k < s->n; k++)
			all &= (s->slot[k].dumped && s->slot[k].dump.frame == frame) || s->slot[k].ctl < 0 ||
			       !s->slot[k].alive;
		if (all || clock_ms() > deadline)
			return;
		read_peers(s, 20);
	}
}

static void progress_line(struct session *s)
{
	uint32_t frame = 0;
	uint64_t rollbacks = 0, dropped = 0;
	for (uint32_t k = 0; k < s->n; k++) {
		if (s->res->peers[k].frames > frame)
			frame = s->res->peers[k].frames;
		rollbacks += s->res->peers[k].rollbacks;
	}
	for (uint32_t i = 0; i < s->n; i++)
		for (uint32_t j = 0; j < s->n; j++) {
			struct wire_link_stats st;
			if (i == j || wire_link_stats(s->wire, i, j, &st) < 0)
				continue;
			for (int r = 1; r < WIRE_FATE_COUNT; r++)
				dropped += st.dropped[r];
		}
	fprintf(stderr, "\r\033[K%6.1fs / %.0fs  frame %u  agreed %" PRId64 "  rollbacks %" PRIu64 "  drops %" PRIu64,
		elapsed_s(s), s->cfg->scn.duration_s, frame, oracle_agreed(s->oracle), rollbacks, dropped);
}

static void collect_links(struct session *s)
{
	struct run_result *r = s->res;
	r->links = calloc((size_t)s->n * s->n, sizeof *r->links);
	r->nlinks = 0;
	for (uint32_t i = 0; r->links && i < s->n; i++)
		for (uint32_t j = 0; j < s->n; j++) {
			if (i == j)
				continue;
			struct run_link *l = &r->links[r->nlinks++];
			l->from = i;
			l->to = j;
			wire_link_stats(s->wire, i, j, &l->stats);
		}
	struct wire_totals t;
	wire_get_totals(s->wire, &t);
	r->wire = (struct run_wire){ t.received, t.strays, t.pool_full, t.unroutable, t.send_errors, t.kernel_drops };
}

static void seed_if_unset(struct scenario *scn)
{
	if (scn->have_seed)
		return;
	uint64_t v = 0;
	if (getrandom(&v, sizeof v, 0) != sizeof v)
		v = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull;
	scn->seed = v % 1000000000ull;
	scn->have_seed = true;
}

int run_session(const struct run_cfg *cfg_in, struct run_result *res)
{
	struct run_cfg cfg = *cfg_in;
	seed_if_unset(&cfg.scn);
	struct session s = { .cfg = &cfg, .res = res, .n = cfg.scn.peers, .sigfd = -1 };
	memset(res, 0, sizeof *res);
	res->version = LOOPSIM_VERSION;
	res->seed = cfg.scn.seed;
	res->netcode = scn_netcode_name(cfg.scn.netcode);
	res->npeers = s.n;
	s.builtin = cfg.scn.peer_cmd[0] == '\0';
	s.session_id = cfg.scn.seed * 0x9e3779b97f4a7c15ull + 1;
	for (uint32_t k = 0; k < s.n; k++) {
		res->peers[k].index = k;
		res->peers[k].addr = wire_peer_ip(k);
		res->peers[k].confirmed_frame = -1;
		res->peers[k].exit_status = -1;
		s.slot[k].ctl = -1;
	}

	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	s.sigfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);

	snprintf(s.workdir, sizeof s.workdir, "/tmp/loopsim-run-XXXXXX");
	if (!mkdtemp(s.workdir)) {
		fail(&s, "cannot create a work directory in /tmp: %s", strerror(errno));
		goto out;
	}
	if (s.builtin && launch_default_program(s.program, sizeof s.program) < 0) {
		fail(&s, "cannot find loopsim-peer beside loopsim (set LOOPSIM_PEER)");
		goto out;
	}
	snprintf(s.pcap, sizeof s.pcap, "%s", cfg.pcap_path ? cfg.pcap_path : "");
	snprintf(s.fates, sizeof s.fates, "%s", cfg.fates_path ? cfg.fates_path : "");
	if (!s.pcap[0])
		snprintf(s.pcap, sizeof s.pcap, "%s/capture.pcap", s.workdir);
	if (!s.fates[0])
		snprintf(s.fates, sizeof s.fates, "%s/fates.tsv", s.workdir);

	struct wire_config wc;
	wire_config_default(&wc);
	wc.npeers = s.n;
	wc.seed = cfg.scn.seed;
	wc.link = cfg.scn.link;
	wc.pcap_path = s.pcap;
	wc.fates_path = s.fates;
	char err[512];
	int hint;
	s.wire = wire_create(&wc, err, sizeof err, &hint);
	if (!s.wire) {
		fail(&s, "%s", err);
		goto out;
	}
	for (uint32_t i = 0; i < s.n; i++)
		for (uint32_t j = 0; j < s.n; j++) {
			struct wire_link_cfg c;
			if (i != j && scn_link_cfg(&cfg.scn, i, j, &c, err, sizeof err) == 0)
				wire_set_link(s.wire, (int)i, (int)j, &c);
		}
	size_t used = 0;
	for (uint32_t k = 0; k < s.n; k++) {
		char a[WIRE_ADDR_STRLEN];
		used += (size_t)snprintf(s.peers_list + used, sizeof s.peers_list - used, "%s%s", k ? "," : "",
					 wire_addr_str(a, sizeof a, wire_peer_ip(k), wire_public_port(s.wire, k)));
		res->peers[k].public_port = wire_public_port(s.wire, k);
	}
	s.oracle = oracle_create(s.n, s.builtin, cfg.scn.seed, s.workdir);
	if (!s.oracle) {
		fail(&s, "cannot start the oracle's logs in %s: %s", s.workdir, strerror(errno));
		goto out;
	}
	if (wire_start(s.wire) < 0) {
		fail(&s, "cannot start the wire's thread");
		goto out;
	}
	s.start_ms = clock_ms();
	if (open_view(&s, err, sizeof err) < 0) {
		fail(&s, "cannot open the viewer: %s", err);
		goto stop;
	}
	if (start_peers(&s) < 0)
		goto stop;
	s.start_ms = clock_ms(); /* the timeline counts from START */
	log_event(&s, "start: %u peers, %s, seed %" PRIu64, s.n, res->netcode, cfg.scn.seed);

	uint32_t next_event = 0;
	uint64_t last_progress = 0, end_ms = s.start_ms + (uint64_t)(cfg.scn.duration_s * 1000);
	for (;;) {
		read_peers(&s, s.view ? 4 : 20);
		view_tick(&s, false);
		uint64_t now = clock_ms();
		if (interrupted(&s))
			break;
		if (s.quit_requested) {
			snprintf(res->reason, sizeof res->reason, "closed by the user");
			break;
		}
		reap(&s, false);
		advance_rejoins(&s, now);
		check_hangs(&s, now);
		if (res->exit_code)
			break;
		while (next_event < cfg.scn.nevents && cfg.scn.events[next_event].at_s <= elapsed_s(&s))
			apply_event(&s, &cfg.scn.events[next_event++]);
		if (oracle_check(s.oracle, &res->desync)) {
			res->exit_code = 1;
			log_event(&s, "desync at frame %u", res->desync.frame);
			break;
		}
		if (cfg.progress && now - last_progress >= 1000) {
			progress_line(&s);
			last_progress = now;
		}
		if (now >= end_ms) {
			snprintf(res->reason, sizeof res->reason, "ran for %.0f s", cfg.scn.duration_s);
			break;
		}
	}
	if (cfg.progress)
		fputc('\n', stderr);
	if (res->exit_code == 1) {
		if (s.view)
			build_snapshot(&s); /* the moment of the desync, which the window then holds */
		collect_dumps(&s, res->desync.frame);
		struct bundle_input bi = { .scn = &cfg.scn, .res = res, .oracle = s.oracle, .pcap = s.pcap,
					   .fates = s.fates, .workdir = s.workdir };
		for (uint32_t k = 0; k < s.n; k++)
			if (s.slot[k].dumped && s.slot[k].dump.ok && s.slot[k].dump.frame == res->desync.frame) {
				bi.dump[k] = s.slot[k].dump.data;
				bi.dump_len[k] = s.slot[k].dump.len;
			}
		wire_stop(s.wire); /* the captures are complete before they are moved into the bundle */
		if (bundle_write(&bi, cfg.bundle_dir, err, sizeof err) < 0)
			log_event(&s, "no bundle: %s", err);
		if (!res->reason[0])
			snprintf(res->reason, sizeof res->reason, "desync at frame %u", res->desync.frame);
		if (s.view) {
			snprintf(s.snap->desync.field, sizeof s.snap->desync.field, "%s", res->desync.field);
			/* A window holds the desync on screen until the user has seen it. */
			while (s.cfg->window && !s.quit_requested && !interrupted(&s)) {
				read_peers(&s, 10);
				view_tick(&s, true);
			}
		}
	}
stop:
	stop_peers(&s);
out:
	res->duration_s = s.start_ms ? elapsed_s(&s) : 0;
	close_view(&s);
	if (s.wire) {
		wire_stop(s.wire);
		collect_links(&s);
	}
	wire_destroy(s.wire);
	oracle_destroy(s.oracle);
	if (s.sigfd >= 0)
		close(s.sigfd);
	/* The work directory holds the peers' logs; keep it when something went wrong, so they can be read. */
	if (res->exit_code == 0 && s.workdir[0] && s.workdir[0] == '/') {
		char path[700];
		const char *names[] = { "capture.pcap", "fates.tsv" };
		for (size_t i = 0; i < 2; i++) {
			snprintf(path, sizeof path, "%s/%s", s.workdir, names[i]);
			unlink(path);
		}
		for (uint32_t k = 0; k < s.n; k++) {
			snprintf(path, sizeof path, "%s/peer-%u.log", s.workdir, k);
			unlink(path);
			snprintf(path, sizeof path, "%s/checksums-%u.txt", s.workdir, k);
			unlink(path);
			snprintf(path, sizeof path, "%s/inputs-%u.txt", s.workdir, k);
			unlink(path);
		}
		rmdir(s.workdir);
	}
	return res->exit_code;
}
