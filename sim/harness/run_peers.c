// SPDX-License-Identifier: MIT
// Supervision: starting the peers, hearing their control channels, judging them, and stopping them.
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/launch.h"
#include "harness/run_internal.h"

uint32_t run__disconnect_ms(const struct session *s)
{
	return (uint32_t)(s->cfg->scn.disconnect_s * 1000 + 0.5);
}

void run__close_ctl(struct slot *sl)
{
	if (sl->ctl >= 0)
		close(sl->ctl);
	sl->ctl = -1;
}

void run__send_to(struct session *s, uint32_t k, const struct ctl_msg *m)
{
	struct slot *sl = &s->slot[k];
	if (sl->ctl >= 0 && ctl_send(sl->ctl, m) == -EPIPE)
		run__close_ctl(sl);
}

/* Peer from's latest round trip to peer to, in ms, as it reported it in RTT; negative when it gave none. */
double run__pair_rtt_ms(const struct session *s, uint32_t from, uint32_t to)
{
	const struct slot *sl = &s->slot[from];
	if (!sl->has_rtt || from == to || to >= sl->rtt.npeers || sl->rtt.rtt[to] == CTL_RTT_UNKNOWN)
		return -1;
	return sl->rtt.rtt[to] * (CTL_RTT_UNIT_US / 1000.0);
}

/* Peer k no longer counts for the oracle, and its channel is closed: it broke the rules or left. */
static void cut_off(struct session *s, uint32_t k)
{
	run__close_ctl(&s->slot[k]);
	oracle_peer_gone(s->oracle, k);
}

/* The highest frame any other running, reporting peer is on; -1 if none has reported. */
static int64_t others_frame(const struct session *s, uint32_t k)
{
	int64_t best = -1;
	for (uint32_t j = 0; j < s->n; j++) {
		const struct slot *sl = &s->slot[j];
		if (j != k && sl->alive && sl->framed && !sl->failed && (int64_t)s->res->peers[j].frames > best)
			best = s->res->peers[j].frames;
	}
	return best;
}

static void on_frame(struct session *s, uint32_t k, const struct ctl_frame *f, run_time_ms now)
{
	struct slot *sl = &s->slot[k];
	struct run_peer *rp = &s->res->peers[k];
	char why[200];
	if (verdict_frame_check(sl->confirmed, f->confirmed, (uint64_t)(oracle_agreed(s->oracle) + 1), ORACLE_WINDOW,
				others_frame(s, k), RUN_FRAME_LEAD, why, sizeof why) < 0) {
		run__peer_failed(s, k, "broke the control protocol: FRAME %s", why);
		cut_off(s, k);
		return;
	}
	sl->framed = true;
	sl->last_frame_ms = now;
	/*
	 * The frame it is on, for the clock of when frames ran: at most a few
	 * frames past what it confirmed (the confirmed frame is checked above),
	 * so that one peer's report far ahead cannot hide the others' frames.
	 */
	uint32_t on = f->frame >= f->confirmed && f->frame - f->confirmed <= RUN_CLOCK_LEAD ? f->frame
											    : f->confirmed;
	uint64_t now_us = (uint64_t)now * 1000, w0 = wire_started_us(s->wire); /* both CLOCK_MONOTONIC */
	frame_clock_note(s->clock, on, now_us > w0 ? now_us - w0 : 0);
	if (f->frame != rp->frames)
		sl->advanced_ms = now;
	if ((int64_t)f->confirmed > sl->confirmed) {
		sl->confirmed = f->confirmed;
		sl->confirmed_ms = now;
	}
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
}

static void on_message(struct session *s, uint32_t k, const struct ctl_msg *m, run_time_ms now)
{
	struct slot *sl = &s->slot[k];
	struct run_peer *rp = &s->res->peers[k];
	switch (m->type) {
	case CTL_HELLO:
		if (m->u.hello.index != k || m->u.hello.ip != wire_peer_ip(k)) {
			run__log(s, "peer %u said HELLO as peer %u at another address; ignored", k, m->u.hello.index);
			break;
		}
		sl->hello = true;
		rp->port = m->u.hello.port;
		wire_register_port(s->wire, k, m->u.hello.port);
		break;
	case CTL_FRAME:
		on_frame(s, k, &m->u.frame, now);
		break;
	case CTL_INPUTS:
		oracle_inputs(s->oracle, k, m->u.inputs.frame, m->u.inputs.input, m->u.inputs.n);
		break;
	case CTL_DESYNC:
		run__log(s, "peer %u's netcode saw a desync at frame %u", k, m->u.desync.frame);
		break;
	case CTL_DUMPED:
		sl->dumped = true;
		sl->dump = m->u.dumped;
		break;
	case CTL_BYE:
		sl->expected_exit = true;
		sl->left = !s->stopping; /* leaving before the end: it is not expected to be compared to the end */
		break;
	case CTL_STATE:
		sl->state = m->u.state;
		sl->has_state = true;
		break;
	case CTL_RTT:
		if (m->u.rtt.npeers != s->n) {
			if (!sl->rtt_mismatch_logged)
				run__log(s, "peer %u sent RTT for %u peers in a session of %u; ignored", k, m->u.rtt.npeers,
					 s->n);
			sl->rtt_mismatch_logged = true;
			break;
		}
		sl->rtt = m->u.rtt;
		sl->has_rtt = true;
		break;
	case CTL_GONE:
		if (m->u.gone.peer < s->n && m->u.gone.peer != k) {
			sl->gone_known[m->u.gone.peer] = true;
			sl->gone_upto[m->u.gone.peer] = m->u.gone.upto;
			sl->gone_ms[m->u.gone.peer] = now;
			oracle_peer_lost(s->oracle, k, m->u.gone.peer, m->u.gone.upto);
			run__log(s, "peer %u dropped peer %u: its inputs end below frame %u", k, m->u.gone.peer,
				 m->u.gone.upto);
		}
		break;
	default:
		break; /* nothing else is meant for the harness */
	}
}

static void read_peer(struct session *s, uint32_t k, run_time_ms now)
{
	struct slot *sl = &s->slot[k];
	static struct ctl_msg m; /* 12 KB: not on the stack of every call */
	for (int i = 0; i < 256 && sl->ctl >= 0; i++) {
		const char *why = NULL;
		int r = ctl_recv(sl->ctl, &m, &why);
		if (r == 0)
			return;
		if (r == -EPROTO) {
			/* Garbage on the control channel: cut this peer off, and fail the run for it. */
			run__peer_failed(s, k, "sent a malformed control message (%s); disconnected", why);
			cut_off(s, k);
			return;
		}
		if (r < 0) {
			/* It closed its end: an exit, reaped soon, or a peer that goes on without a channel. */
			cut_off(s, k);
			if (!sl->expected_exit)
				sl->closed_ms = now;
			return;
		}
		on_message(s, k, &m, now);
	}
}

void run__read_peers(struct session *s, int timeout_ms)
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
	run_time_ms now = run__clock_ms();
	for (nfds_t i = 0; i < n; i++)
		if (pfd[i].revents)
			read_peer(s, who[i], now);
}

bool run__interrupted(struct session *s)
{
	struct signalfd_siginfo si;
	if (s->sigfd >= 0 && read(s->sigfd, &si, sizeof si) == sizeof si) {
		run_time_ms now = run__clock_ms();
		verdict_interrupted(&s->verdict, (int)si.ssi_signo, s->start_ms ? run__elapsed_s(s, now) : 0);
		run__log(s, "stopped by %s", strsignal((int)si.ssi_signo));
		return true;
	}
	return false;
}

void run__reap(struct session *s, bool ending)
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
			int sig = 0;
			rp->exit_status = launch_exit_status(status, !s->builtin, &sig);
			oracle_peer_gone(s->oracle, k);
			if (sl->expected_exit || ending || sl->failed)
				break;
			if (sig)
				run__peer_failed(s, k, "crashed (signal %d, %s)", sig, strsignal(sig));
			else
				run__peer_failed(s, k, "exited early with status %d (log: %s/peer-%u.log)", rp->exit_status,
						 s->workdir, k);
		}
	}
}

/* A partition or a kill from the timeline, in force or recent, may rightly hold a user's game still. */
static bool stall_explained(const struct session *s, run_time_ms now)
{
	if (s->partitions_active || now < s->explained_until_ms)
		return true;
	for (uint32_t k = 0; k < s->n; k++)
		if (s->slot[k].expected_exit && !s->slot[k].alive)
			return true;
	return false;
}

void run__supervise(struct session *s, run_time_ms now)
{
	uint64_t frozen_ms = (uint64_t)run__disconnect_ms(s) + RUN_FROZEN_SLACK_MS;
	for (uint32_t k = 0; k < s->n; k++) {
		struct slot *sl = &s->slot[k];
		if (!sl->alive || sl->expected_exit || sl->failed)
			continue;
		if (sl->ctl < 0) {
			/* Its channel closed under it; an exit would have been reaped by now. */
			if (sl->closed_ms && now - sl->closed_ms > RUN_CLOSED_GRACE_MS &&
			    (sl->hello || sl->framed || !s->cfg->network_only))
				run__peer_failed(s, k, "closed its control channel and kept running: it can no longer be "
						       "compared (a peer must keep LOOPSIM_CONTROL_FD open until it exits)");
			continue;
		}
		if ((!s->builtin && !sl->framed) || sl->rejoin != RJ_NONE)
			continue; /* a user's peer that never reports frames is judged at the end; a rejoin has its own clock */
		run_time_ms since = sl->framed ? sl->last_frame_ms : sl->started_ms;
		uint64_t limit = sl->framed ? RUN_HANG_MS : RUN_FIRST_FRAME_MS;
		if (now - since > limit) {
			run__peer_failed(s, k, "hung: no FRAME for %.0f s", (double)limit / 1000);
			continue;
		}
		if (sl->framed && now - sl->confirmed_ms > frozen_ms && (s->builtin || !stall_explained(s, now))) {
			int64_t others = others_frame(s, k);
			char tail[64] = "";
			if (others >= 0)
				snprintf(tail, sizeof tail, " while the others reached frame %" PRId64, others);
			run__peer_failed(s, k,
					 "frozen: its confirmed frame stayed at %" PRId64 " for %.0f s%s, with no kill or "
					 "partition to explain it",
					 sl->confirmed, (double)(now - sl->confirmed_ms) / 1000, tail);
		}
	}
}

/* A peer that counts for a split: running, judged, reachable, and not in the middle of a rejoin. */
static bool in_play(const struct slot *sl)
{
	return sl->alive && !sl->failed && !sl->expected_exit && sl->ctl >= 0 && sl->rejoin == RJ_NONE;
}

void run__check_split(struct session *s)
{
	if (s->split_noted || !s->builtin)
		return;
	/* Sides: running peers linked while neither has dropped the other. */
	int side[RUN_MAX_PEERS];
	bool mutual = false;
	uint32_t upto = UINT32_MAX;
	run_time_ms when = 0;
	for (uint32_t k = 0; k < s->n; k++)
		side[k] = in_play(&s->slot[k]) ? (int)k : -1;
	for (bool changed = true; changed;) {
		changed = false;
		for (uint32_t j = 0; j < s->n; j++)
			for (uint32_t k = j + 1; k < s->n; k++) {
				if (side[j] < 0 || side[k] < 0)
					continue;
				bool jk = s->slot[j].gone_known[k], kj = s->slot[k].gone_known[j];
				if (jk && kj) {
					mutual = true;
					uint32_t u = s->slot[j].gone_upto[k] < s->slot[k].gone_upto[j] ? s->slot[j].gone_upto[k]
													 : s->slot[k].gone_upto[j];
					upto = u < upto ? u : upto;
					run_time_ms t = s->slot[j].gone_ms[k] > s->slot[k].gone_ms[j] ? s->slot[j].gone_ms[k]
												       : s->slot[k].gone_ms[j];
					when = t > when ? t : when;
				}
				if (!jk && !kj && side[j] != side[k]) {
					int lo = side[j] < side[k] ? side[j] : side[k];
					side[j] = side[k] = lo;
					changed = true;
				}
			}
	}
	if (!mutual)
		return;
	char groups[256];
	size_t used = 0;
	uint32_t nsides = 0;
	for (uint32_t root = 0; root < s->n; root++) {
		if (side[root] != (int)root)
			continue;
		nsides++;
		used += (size_t)snprintf(groups + used, used < sizeof groups ? sizeof groups - used : 0, "%s{", nsides > 1 ? " and " : "");
		bool first = true;
		for (uint32_t k = root; k < s->n && used < sizeof groups; k++)
			if (side[k] == (int)root) {
				used += (size_t)snprintf(groups + used, sizeof groups - used, "%s%u", first ? "" : ",", k);
				first = false;
			}
		if (used < sizeof groups)
			used += (size_t)snprintf(groups + used, sizeof groups - used, "}");
	}
	if (nsides < 2)
		return;
	s->split_noted = true;
	run__note(s, VERDICT_SPLIT,
		  "the session split into %s: each side dropped the other at frame %u after %.0f s of silence "
		  "(the disconnect timeout), at %.1f s; each side was compared within itself from then on",
		  groups, upto, (double)run__disconnect_ms(s) / 1000, run__elapsed_s(s, when));
}

/* Starts peer k's process into a fresh slot; its log is appended to, so a restart keeps the first life's. */
int run__launch_slot(struct session *s, uint32_t k, run_time_ms now)
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
				 .disconnect_ms = run__disconnect_ms(s),
				 .localhost_base = s->cfg->localhost_base };
	struct launched l;
	if (launch_peer(&lc, &l, err, sizeof err) < 0) {
		run__note(s, VERDICT_FAILED, "cannot start peer %u: %s", k, err);
		return -1;
	}
	if (s->cfg->localhost_base) /* routable before it sends; the preload library's HELLO corrects it */
		wire_register_port(s->wire, k, (uint16_t)(s->cfg->localhost_base + k));
	s->slot[k] = (struct slot){ .pid = l.pid,
				    .ctl = l.ctl,
				    .alive = true,
				    .started_ms = now,
				    .confirmed = -1,
				    .confirmed_ms = now };
	return 0;
}

void run__peers_msg(struct session *s, struct ctl_msg *m)
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

int run__start_peers(struct session *s)
{
	run_time_ms now = run__clock_ms();
	for (uint32_t k = 0; k < s->n; k++)
		if (run__launch_slot(s, k, now) < 0)
			return -1;
	/* Collect every HELLO: the ephemeral port each peer bound, which the wire needs to reach it. */
	run_time_ms deadline = now + (s->builtin ? RUN_HELLO_TIMEOUT_MS : RUN_HELLO_GRACE_USER_MS);
	for (;;) {
		bool all = true;
		for (uint32_t k = 0; k < s->n; k++)
			all &= s->slot[k].hello || s->slot[k].failed;
		if (all)
			break;
		if (run__clock_ms() > deadline) {
			if (!s->builtin)
				break; /* the wire learns their ports from their first datagrams */
			for (uint32_t k = 0; k < s->n; k++)
				if (!s->slot[k].hello) {
					run__peer_failed(s, k, "said no HELLO within %d s (log: %s/peer-%u.log)",
							 RUN_HELLO_TIMEOUT_MS / 1000, s->workdir, k);
					return -1;
				}
		}
		run__read_peers(s, 50);
		run__reap(s, false);
		if (run__decided(s) || run__interrupted(s))
			return -1;
	}
	struct ctl_msg m;
	run__peers_msg(s, &m);
	for (uint32_t k = 0; k < s->n; k++)
		run__send_to(s, k, &m);
	struct ctl_msg start = { .type = CTL_START };
	for (uint32_t k = 0; k < s->n; k++)
		run__send_to(s, k, &start);
	now = run__clock_ms();
	for (uint32_t k = 0; k < s->n; k++)
		s->slot[k].confirmed_ms = now; /* the game starts now, whatever the wait for the slowest HELLO */
	if (s->cfg->inject) {
		struct ctl_msg p = { .type = CTL_PERTURB };
		p.u.perturb.frame = s->cfg->inject_frame;
		run__send_to(s, s->cfg->inject_peer, &p);
		run__log(s, "desync injected into peer %u at frame %u", s->cfg->inject_peer, s->cfg->inject_frame);
	}
	return 0;
}

void run__stop_peers(struct session *s)
{
	struct ctl_msg quit = { .type = CTL_QUIT };
	s->stopping = true;
	for (uint32_t k = 0; k < s->n; k++)
		if (s->slot[k].alive) {
			s->slot[k].expected_exit = true;
			run__send_to(s, k, &quit);
		}
	run_time_ms deadline = run__clock_ms() + RUN_EXIT_WAIT_MS;
	for (;;) {
		run__reap(s, true);
		bool any = false;
		for (uint32_t k = 0; k < s->n; k++)
			any |= s->slot[k].alive;
		if (!any || run__clock_ms() > deadline)
			break;
		run__read_peers(s, 20);
	}
	for (uint32_t k = 0; k < s->n; k++)
		if (s->slot[k].alive) {
			launch_kill(s->slot[k].pid, SIGKILL);
			if (!s->res->peers[k].problem[0]) /* a hung peer keeps the reason it was stopped for */
				snprintf(s->res->peers[k].problem, sizeof s->res->peers[k].problem,
					 "did not quit within %d s; killed", RUN_EXIT_WAIT_MS / 1000);
		}
	for (uint32_t k = 0; k < s->n; k++)
		if (s->slot[k].alive) {
			int status;
			if (waitpid(s->slot[k].pid, &status, 0) == s->slot[k].pid) {
				s->slot[k].alive = false;
				s->res->peers[k].exit_status = 128 + SIGKILL;
			}
		}
	for (uint32_t k = 0; k < s->n; k++) {
		if (s->slot[k].pid > 0)
			launch_kill(s->slot[k].pid, SIGKILL); /* whatever it started, in its process group */
		run__close_ctl(&s->slot[k]);
	}
	/* And whatever escaped its group (setsid) and was handed to us when its parent died. */
	launch_end_orphans(RUN_EXIT_WAIT_MS);
}

void run__collect_dumps(struct session *s, uint32_t frame)
{
	struct ctl_msg m = { .type = CTL_DUMP };
	m.u.dump.frame = frame;
	for (uint32_t k = 0; k < s->n; k++) {
		s->slot[k].dumped = false; /* a rejoin may have asked before, for another frame */
		run__send_to(s, k, &m);
	}
	run_time_ms deadline = run__clock_ms() + RUN_DUMP_WAIT_MS;
	for (;;) {
		bool all = true;
		for (uint32_t k = 0; k < s->n; k++)
			all &= (s->slot[k].dumped && s->slot[k].dump.frame == frame) || s->slot[k].ctl < 0 ||
			       !s->slot[k].alive;
		if (all || run__clock_ms() > deadline)
			return;
		run__read_peers(s, 20);
	}
}
