// SPDX-License-Identifier: MIT
// Fuzz check of the control channel's decoder: refusals leave no trace, acceptances re-encode to the same bytes.
#ifndef LOOPSIM_FUZZ_CHECK_CONTROL_H
#define LOOPSIM_FUZZ_CHECK_CONTROL_H

#include "control.h"
#include "fuzz.h"

/* Whether why is one of the reasons control.h lists for ctl_decode(). */
static inline bool fz_ctl_reason_known(const char *why)
{
	static const char *const reasons[] = { "too short", "bad magic",	   "bad version",
					       "unknown type", "truncated",	   "trailing bytes",
					       "count out of range", "bad field value" };
	for (size_t k = 0; why && k < sizeof reasons / sizeof reasons[0]; k++)
		if (strcmp(why, reasons[k]) == 0)
			return true;
	return false;
}

/* The validity rules of control.h, written out again from the header, and the zeroed entries past the counts. */
static inline const char *fz_ctl_invalid(const struct ctl_msg *m)
{
	switch (m->type) {
	case CTL_HELLO:
		return m->u.hello.index < CTL_MAX_PEERS ? NULL : "HELLO index";
	case CTL_STATE: {
		const struct ctl_state *st = &m->u.state;
		if (st->nships > CTL_STATE_MAX_SHIPS || st->nbullets > CTL_STATE_MAX_BULLETS)
			return "STATE counts";
		for (unsigned k = 0; k < CTL_STATE_MAX_SHIPS; k++) {
			const struct ctl_ship *sh = &st->ship[k];
			if (k < st->nships && sh->alive > 1)
				return "STATE alive";
			if (k >= st->nships && (sh->x || sh->y || sh->angle || sh->alive || sh->score))
				return "STATE ship past nships not zeroed";
		}
		for (unsigned k = 0; k < CTL_STATE_MAX_BULLETS; k++) {
			const struct ctl_bullet *bu = &st->bullet[k];
			if (k < st->nbullets && bu->owner >= st->nships)
				return "STATE bullet owner";
			if (k >= st->nbullets && (bu->x || bu->y || bu->owner))
				return "STATE bullet past nbullets not zeroed";
		}
		return NULL;
	}
	case CTL_DESYNC: {
		const struct ctl_desync *d = &m->u.desync;
		if (d->npeers < 1 || d->npeers > CTL_MAX_PEERS)
			return "DESYNC npeers";
		if (d->npeers < 64 && (d->known_mask >> d->npeers) != 0)
			return "DESYNC known_mask";
		for (unsigned k = d->npeers; k < CTL_MAX_PEERS; k++)
			if (d->checksum[k])
				return "DESYNC checksum past npeers not zeroed";
		return NULL;
	}
	case CTL_BYE:
		return m->u.bye.reason <= CTL_BYE_ERROR ? NULL : "BYE reason";
	case CTL_DUMPED: {
		const struct ctl_dumped *d = &m->u.dumped;
		if (d->ok > 1 || d->len > CTL_DUMP_MAX || (!d->ok && d->len))
			return "DUMPED ok/len";
		for (unsigned k = d->len; k < CTL_DUMP_MAX; k++)
			if (d->data[k])
				return "DUMPED data past len not zeroed";
		return NULL;
	}
	case CTL_PEERS: {
		const struct ctl_peers *p = &m->u.peers;
		if (p->npeers < 1 || p->npeers > CTL_MAX_PEERS)
			return "PEERS npeers";
		if (p->netcode > CTL_NETCODE_LOCKSTEP)
			return "PEERS netcode";
		for (unsigned k = p->npeers; k < CTL_MAX_PEERS; k++)
			if (p->ip[k] || p->port[k])
				return "PEERS address past npeers not zeroed";
		return NULL;
	}
	case CTL_INPUT:
		return (m->u.input.keys & ~CTL_INPUT_KEY_MASK) == 0 && m->u.input.human <= 1 ? NULL : "INPUT fields";
	case CTL_INPUTS: {
		const struct ctl_inputs *in = &m->u.inputs;
		if (in->n < 1 || in->n > CTL_MAX_INPUTS)
			return "INPUTS n";
		for (unsigned k = 0; k < CTL_MAX_INPUTS; k++)
			if (k < in->n ? (in->input[k] & ~CTL_INPUT_KEY_MASK) != 0 : in->input[k] != 0)
				return "INPUTS input";
		return NULL;
	}
	case CTL_GONE:
		return m->u.gone.peer < CTL_MAX_PEERS ? NULL : "GONE peer";
	case CTL_READMIT:
		return m->u.readmit.peer < CTL_MAX_PEERS ? NULL : "READMIT peer";
	case CTL_REJOIN: {
		const struct ctl_rejoin *rj = &m->u.rejoin;
		if (rj->nlost > CTL_REJOIN_MAX_LOST || rj->len > CTL_DUMP_MAX)
			return "REJOIN counts";
		if (rj->frame >= rj->readmit)
			return "REJOIN frame not before readmit";
		for (unsigned k = 0; k < CTL_REJOIN_MAX_LOST; k++) {
			if (k < rj->nlost && rj->lost[k].peer >= CTL_MAX_PEERS)
				return "REJOIN lost peer";
			if (k >= rj->nlost && (rj->lost[k].peer || rj->lost[k].upto))
				return "REJOIN lost entry past nlost not zeroed";
		}
		for (unsigned k = rj->len; k < CTL_DUMP_MAX; k++)
			if (rj->data[k])
				return "REJOIN data past len not zeroed";
		return NULL;
	}
	case CTL_RTT: {
		const struct ctl_rtt *rt = &m->u.rtt;
		if (rt->npeers < 1 || rt->npeers > CTL_MAX_PEERS)
			return "RTT npeers";
		for (unsigned k = rt->npeers; k < CTL_MAX_PEERS; k++)
			if (rt->rtt[k])
				return "RTT entry past npeers not zeroed";
		return NULL;
	}
	case CTL_FRAME:
	case CTL_START:
	case CTL_DUMP:
	case CTL_QUIT:
	case CTL_PERTURB:
		return NULL;
	default:
		return "type";
	}
}

/*
 * Decodes data as one control message. A refusal gives a documented reason
 * and leaves the message untouched; an acceptance is valid by the rules of
 * control.h, re-encodes to exactly the input, and refuses (untouched) a
 * buffer one byte too small. Returns 1 if accepted, 0 if refused, with the
 * reason in *why.
 */
static inline int fz_control_one(const uint8_t *data, size_t len, const char **why)
{
	struct ctl_msg *m = malloc(sizeof *m), *before = malloc(sizeof *before);
	uint8_t *buf = malloc(CTL_MAX_MSG), *guard = malloc(CTL_MAX_MSG);
	FZ_REQUIRE(m && before && buf && guard, "out of memory");
	memset(m, 0xa5, sizeof *m);
	memcpy(before, m, sizeof *m);
	*why = NULL;
	int accepted = ctl_decode(data, len, m, why) == 0;
	if (!accepted) {
		FZ_REQUIRE(fz_ctl_reason_known(*why), "refused with an undocumented reason '%s'", *why ? *why : "(null)");
		FZ_REQUIRE(memcmp(m, before, sizeof *m) == 0, "a refused message changed *m");
		goto out;
	}
	FZ_REQUIRE(len >= CTL_HEADER_SIZE && len <= CTL_MAX_MSG, "accepted %zu bytes", len);
	FZ_REQUIRE(m->type >= CTL_HELLO && m->type < CTL_TYPE_COUNT && (unsigned)m->type == data[3], "type %d",
		   (int)m->type);
	FZ_REQUIRE(strcmp(ctl_type_name(m->type), "?") != 0, "type %d has no name", (int)m->type);
	const char *bad = fz_ctl_invalid(m);
	FZ_REQUIRE(!bad, "accepted an invalid %s message: %s", ctl_type_name(m->type), bad);
	int n = ctl_encode(m, buf, CTL_MAX_MSG);
	FZ_REQUIRE(n == (int)len && memcmp(buf, data, len) == 0,
		   "an accepted %s message of %zu bytes re-encodes to %d other bytes", ctl_type_name(m->type), len, n);
	memset(buf, 0x5a, len);
	memcpy(guard, buf, len);
	FZ_REQUIRE(ctl_encode(m, buf, len - 1) == -1 && memcmp(buf, guard, len) == 0,
		   "encoding into %zu bytes, one too few, did not fail cleanly", len - 1);
out:
	free(m);
	free(before);
	free(buf);
	free(guard);
	return accepted;
}

#endif
