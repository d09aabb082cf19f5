// SPDX-License-Identifier: MIT
// A restarted peer taken back into the running session: HELLO, the others' agreement, a state, REJOIN.
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "harness/launch.h"
#include "harness/run_internal.h"

/*
 * The timeline's restart: a new process for peer k, at the same address.
 * A built-in peer is taken through the rejoin (run__advance_rejoins()); a
 * user's peer is only started again, and rejoins on its own terms.
 */
void run__restart_peer(struct session *s, uint32_t k, run_time_ms now)
{
	if (k >= s->n)
		return;
	struct slot *sl = &s->slot[k];
	if (sl->alive) {
		/* Still running: a restart is a kill and a start. Its old process is reaped by pid, later. */
		sl->expected_exit = true;
		launch_kill(sl->pid, SIGKILL);
		oracle_peer_gone(s->oracle, k);
	}
	run__close_ctl(sl);
	wire_forget_port(s->wire, k);
	s->res->peers[k].problem[0] = '\0';
	if (run__launch_slot(s, k, now) < 0)
		return;
	sl->rejoin = s->builtin ? RJ_HELLO : RJ_NONE;
	run__log(s, "restart peer %u (pid %d)%s", k, (int)sl->pid,
		 s->builtin ? "" : ": a user's peer rejoins on its own terms");
}

bool run__remaining(const struct session *s, uint32_t j, uint32_t k)
{
	const struct slot *sl = &s->slot[j];
	return j != k && sl->alive && !sl->expected_exit && !sl->failed && sl->ctl >= 0 && sl->rejoin == RJ_NONE;
}

/* Takes restarted peer k one step further, if it can move. */
static void advance_rejoin(struct session *s, uint32_t k, run_time_ms now)
{
	struct slot *sl = &s->slot[k];
	static struct ctl_msg m; /* 12 KB */
	if (!sl->alive || sl->ctl < 0) {
		sl->rejoin = RJ_NONE;
		return;
	}
	uint64_t limit = run__disconnect_ms(s) + RUN_REJOIN_SLACK_MS;
	if (now - sl->started_ms > limit) {
		static const char *const stage[] = { "", "no HELLO", "the others never agreed it was gone",
						     "no state to start from" };
		enum rejoin_stage at = sl->rejoin;
		sl->rejoin = RJ_NONE;
		run__peer_failed(s, k, "could not rejoin within %.0f s: %s", (double)limit / 1000, stage[at]);
		return;
	}
	switch (sl->rejoin) {
	case RJ_HELLO:
		if (!sl->hello)
			return;
		run__peers_msg(s, &m);
		run__send_to(s, k, &m);
		sl->rejoin = RJ_AGREED;
		/* fall through */
	case RJ_AGREED: {
		int source = -1;
		for (uint32_t j = 0; j < s->n; j++) {
			if (!run__remaining(s, j, k))
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
		run__send_to(s, (uint32_t)source, &m);
		sl->rejoin = RJ_DUMP;
		return;
	}
	case RJ_DUMP: {
		struct slot *src = &s->slot[sl->rejoin_source];
		if (!run__remaining(s, sl->rejoin_source, k)) {
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
			if (x == k || !src->gone_known[x] || run__remaining(s, x, k) || rj->nlost == CTL_REJOIN_MAX_LOST)
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
			if (run__remaining(s, j, k) && s->res->peers[j].frames > highest)
				highest = s->res->peers[j].frames;
		rj->frame = d->frame;
		rj->readmit = (highest > d->frame ? highest : d->frame) + RUN_REJOIN_AHEAD_FRAMES + s->cfg->scn.input_delay;
		rj->len = d->len;
		memcpy(rj->data, d->data, d->len);
		run__send_to(s, k, &m);
		struct ctl_msg back = { .type = CTL_READMIT };
		back.u.readmit = (struct ctl_readmit){ (uint8_t)k, rj->readmit };
		for (uint32_t j = 0; j < s->n; j++) {
			s->slot[j].gone_known[k] = false;
			if (run__remaining(s, j, k))
				run__send_to(s, j, &back);
		}
		oracle_peer_back(s->oracle, k);
		run__log(s, "peer %u rejoins from the state peer %u confirmed at frame %u; its inputs count from frame %u", k,
			 sl->rejoin_source, rj->frame, rj->readmit);
		sl->rejoin = RJ_NONE;
		sl->started_ms = now; /* its first FRAME is due within RUN_FIRST_FRAME_MS of this */
		sl->confirmed_ms = now;
		return;
	}
	default:
		return;
	}
}

void run__advance_rejoins(struct session *s, run_time_ms now)
{
	for (uint32_t k = 0; k < s->n; k++)
		if (s->slot[k].rejoin != RJ_NONE)
			advance_rejoin(s, k, now);
}
