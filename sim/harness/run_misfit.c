// SPDX-License-Identifier: MIT
// A session's misfits: which peer sent what the wire could not place, and what the user should change.
#include "harness/misfit.h"
#include "harness/run_internal.h"

/* The owner of a stray source can only be read while its process lives: checked this often while running. */
#define STRAYS_CHECK_MS 500

void run__track_strays(struct session *s, run_time_ms now)
{
	if (!s->wire || (now && now - s->strays_checked_ms < STRAYS_CHECK_MS))
		return;
	s->strays_checked_ms = now;
	struct wire_stray_source src[WIRE_STRAY_SOURCES];
	size_t n = wire_stray_sources(s->wire, src, WIRE_STRAY_SOURCES, NULL);
	pid_t groups[RUN_MAX_PEERS];
	bool any = false;
	for (size_t i = 0; i < n; i++)
		any |= s->stray_owner[i] == 0;
	if (!any)
		return;
	for (uint32_t k = 0; k < s->n; k++)
		groups[k] = s->slot[k].alive ? s->slot[k].pid : 0;
	for (size_t i = 0; i < n; i++)
		if (s->stray_owner[i] == 0) {
			int k = misfit_socket_owner(src[i].ip, src[i].port, groups, s->n);
			if (k >= 0)
				s->stray_owner[i] = k + 1;
		}
}

void run__misfits(struct session *s)
{
	struct wire_peer_misfit peer[RUN_MAX_PEERS];
	uint16_t port[RUN_MAX_PEERS];
	bool live[RUN_MAX_PEERS];
	struct wire_stray_source src[WIRE_STRAY_SOURCES];
	int owner[WIRE_STRAY_SOURCES];
	uint64_t unlisted = 0, sent[RUN_MAX_PEERS] = { 0 };
	struct run_result *r = s->res;
	for (uint32_t i = 0; i < r->nlinks; i++)
		sent[r->links[i].from] += r->links[i].stats.sent;
	for (uint32_t k = 0; k < s->n; k++) {
		const struct slot *sl = &s->slot[k];
		wire_peer_misfit(s->wire, k, &peer[k]);
		port[k] = wire_private_port(s->wire, k);
		live[k] = sl->pid > 0 && !sl->left && !sl->failed;
	}
	size_t nsrc = wire_stray_sources(s->wire, src, WIRE_STRAY_SOURCES, &unlisted);
	for (size_t i = 0; i < nsrc; i++)
		owner[i] = s->stray_owner[i] - 1;
	struct misfit_input in = { .npeers = s->n,
				   .peer = peer,
				   .port = port,
				   .live = live,
				   .src = src,
				   .owner = owner,
				   .nsrc = nsrc,
				   .unlisted = unlisted,
				   .sent = r->links ? sent : NULL,
				   .played_s = s->played_s,
				   .localhost = s->cfg->localhost_base != 0 };
	r->nmisfits = (uint32_t)misfit_findings(&in, r->misfits, RUN_MAX_MISFITS);
	for (uint32_t i = 0; i < r->nmisfits; i++)
		if (r->misfits[i].fails)
			run__note(s, VERDICT_FAILED, "%s", r->misfits[i].text);
		else
			run__log(s, "%s", r->misfits[i].text);
}
