// SPDX-License-Identifier: MIT
// The scenario's timeline: link changes, partitions and heals, kills, restarts and injected desyncs.
#include <signal.h>
#include <stdio.h>

#include "wire/parse.h"
#include "harness/launch.h"
#include "harness/run_internal.h"

void run__set_links(struct session *s, const struct scn_setting *set)
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
				run__log(s, "line %d: %s = %s not applied to %u->%u", set->line, set->key, set->value, i, j);
		}
}

/*
 * A partition (groups) or a heal (NULL). A user's game may rightly stand
 * still while cut off, and for a while after the heal, so frozen peers are
 * not judged until one disconnect timeout plus the frozen slack after it.
 */
void run__partition(struct session *s, const uint32_t *groups, run_time_ms now)
{
	wire_partition(s->wire, groups);
	s->partitions_active = groups != NULL;
	if (!groups)
		s->explained_until_ms = now + run__disconnect_ms(s) + RUN_FROZEN_SLACK_MS;
}

void run__apply_event(struct session *s, const struct scn_event *e, run_time_ms now)
{
	switch (e->kind) {
	case SCN_EV_SET_LINK:
		run__set_links(s, &e->set);
		if (e->set.from < 0)
			run__log(s, "every link: %s = %s", e->set.key, e->set.value);
		else
			run__log(s, "link %d%s%d: %s = %s", e->set.from, e->set.both ? "<->" : "->", e->set.to, e->set.key,
				 e->set.value);
		break;
	case SCN_EV_PARTITION: {
		uint32_t groups[RUN_MAX_PEERS];
		char err[256];
		if (parse_groups("partition", e->groups, s->n, groups, err, sizeof err) == 0) {
			run__partition(s, groups, now);
			run__log(s, "partition %s", e->groups);
		}
		break;
	}
	case SCN_EV_HEAL:
		run__partition(s, NULL, now);
		run__log(s, "heal");
		break;
	case SCN_EV_KILL:
		if (e->peer < s->n && s->slot[e->peer].alive) {
			s->slot[e->peer].expected_exit = true;
			s->slot[e->peer].left = true;
			launch_kill(s->slot[e->peer].pid, SIGKILL);
			run__log(s, "kill peer %u", e->peer);
		}
		break;
	case SCN_EV_RESTART:
		run__restart_peer(s, e->peer, now);
		s->explained_until_ms = now + run__disconnect_ms(s) + RUN_FROZEN_SLACK_MS;
		break;
	case SCN_EV_DESYNC:
		if (e->peer < s->n) {
			/* A few frames ahead, so the peer meets it in its first simulation of that frame. */
			struct ctl_msg m = { .type = CTL_PERTURB };
			m.u.perturb.frame = s->res->peers[e->peer].frames + 10;
			run__send_to(s, e->peer, &m);
			run__log(s, "desync injected into peer %u at frame %u", e->peer, m.u.perturb.frame);
		}
		break;
	}
}
