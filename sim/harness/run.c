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

struct slot {
	pid_t pid;
	int ctl;                 /* -1 once closed */
	bool alive;              /* the process has not been reaped */
	bool expected_exit;      /* killed by the timeline, or asked to quit */
	bool hello, framed;
	uint64_t last_frame_ms;
	bool dumped;
	struct ctl_dumped dump;
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
	if (r->nlog >= RUN_MAX_LOG)
		return;
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
	default:
		break; /* STATE is the viewer's; nothing else is meant for us */
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
		if (!sl->alive || sl->expected_exit || sl->ctl < 0 || (!s->builtin && !sl->framed))
			continue; /* a user's peer that never reports frames cannot be judged */
		uint64_t since = sl->framed ? sl->last_frame_ms : s->start_ms;
		uint64_t limit = sl->framed ? HANG_MS : FIRST_FRAME_MS;
		if (now - since > limit) {
			struct run_peer *rp = &s->res->peers[k];
			snprintf(rp->problem, sizeof rp->problem, "hung: no FRAME for %.0f s", (double)limit / 1000);
			fail(s, "peer %u %s", k, rp->problem);
		}
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
		log_event(s, "restart peer %u: not supported yet (a restarted peer cannot rejoin a running session)",
			  e->peer);
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

/* --- start and stop ------------------------------------------------------------------------------------- */

static int start_peers(struct session *s)
{
	char err[512];
	for (uint32_t k = 0; k < s->n; k++) {
		char log[128];
		snprintf(log, sizeof log, "%s/peer-%u.log", s->workdir, k);
		struct launch_cfg lc = { .index = k,
					 .addr = wire_peer_ip(k),
					 .peers = s->peers_list,
					 .seed = s->cfg->scn.seed,
					 .program = s->program,
					 .cmd = s->cfg->scn.peer_cmd,
					 .log_path = log };
		struct launched l;
		if (launch_peer(&lc, &l, err, sizeof err) < 0) {
			fail(s, "cannot start peer %u: %s", k, err);
			return -1;
		}
		s->slot[k] = (struct slot){ .pid = l.pid, .ctl = l.ctl, .alive = true };
	}
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
	struct ctl_msg m = { .type = CTL_PEERS };
	m.u.peers.session_id = s->session_id;
	m.u.peers.seed = s->cfg->scn.seed;
	m.u.peers.netcode = s->cfg->scn.netcode == SCN_LOCKSTEP ? CTL_NETCODE_LOCKSTEP : CTL_NETCODE_ROLLBACK;
	m.u.peers.input_delay = (uint8_t)s->cfg->scn.input_delay;
	m.u.peers.npeers = (uint8_t)s->n;
	for (uint32_t k = 0; k < s->n; k++) {
		m.u.peers.ip[k] = wire_peer_ip(k);
		m.u.peers.port[k] = wire_public_port(s->wire, k);
	}
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
	for (uint32_t k = 0; k < s->n; k++)
		send_to(s, k, &m);
	uint64_t deadline = clock_ms() + DUMP_WAIT_MS;
	for (;;) {
		bool all = true;
		for (uint32_t k = 0; k < s->n; k++)
			all &= s->slot[k].dumped || s->slot[k].ctl < 0 || !s->slot[k].alive;
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
	s.oracle = oracle_create(s.n, s.builtin, cfg.scn.seed);
	if (!s.oracle || wire_start(s.wire) < 0) {
		fail(&s, "out of memory");
		goto out;
	}
	s.start_ms = clock_ms();
	if (start_peers(&s) < 0)
		goto stop;
	s.start_ms = clock_ms(); /* the timeline counts from START */
	log_event(&s, "start: %u peers, %s, seed %" PRIu64, s.n, res->netcode, cfg.scn.seed);

	uint32_t next_event = 0;
	uint64_t last_progress = 0, end_ms = s.start_ms + (uint64_t)(cfg.scn.duration_s * 1000);
	for (;;) {
		read_peers(&s, 20);
		uint64_t now = clock_ms();
		if (interrupted(&s))
			break;
		reap(&s, false);
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
		collect_dumps(&s, res->desync.frame);
		struct bundle_input bi = { .scn = &cfg.scn, .res = res, .oracle = s.oracle, .pcap = s.pcap,
					   .fates = s.fates, .workdir = s.workdir };
		for (uint32_t k = 0; k < s.n; k++)
			if (s.slot[k].dumped && s.slot[k].dump.ok) {
				bi.dump[k] = s.slot[k].dump.data;
				bi.dump_len[k] = s.slot[k].dump.len;
			}
		wire_stop(s.wire); /* the captures are complete before they are moved into the bundle */
		if (bundle_write(&bi, cfg.bundle_dir, err, sizeof err) < 0)
			log_event(&s, "no bundle: %s", err);
		if (!res->reason[0])
			snprintf(res->reason, sizeof res->reason, "desync at frame %u", res->desync.frame);
	}
stop:
	stop_peers(&s);
out:
	res->duration_s = s.start_ms ? elapsed_s(&s) : 0;
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
		}
		rmdir(s.workdir);
	}
	return res->exit_code;
}
