// SPDX-License-Identifier: MIT
// The desync oracle.
#include "harness/oracle.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "game/game.h"

/* Reference states kept for the bundle's diff: the last few, by frame. */
#define REF_KEEP 1024

#define W ORACLE_WINDOW

/*
 * The rings below are indexed by frame % W. A slot's tag is its frame + 1
 * (0: empty), so a slot from an earlier lap is never taken for the frame
 * asked about, and nothing has to be cleared as the window moves.
 */
struct log {
	FILE *sums, *ins;       /* the streamed logs, opened by oracle_create */
	uint32_t frames;        /* checksums: one past the highest reported */
	uint32_t in_frames;     /* inputs: one past the highest reported */
	bool gone;
	uint64_t compared;      /* frames of this peer's compared with at least one other peer's */
	uint32_t tag[W];
	uint64_t hash[W];
};

struct oracle {
	uint32_t n;
	bool reference;
	bool ref_stopped;       /* inputs it needed fell beyond the window: it steps no further */
	struct log *peer;
	uint32_t *lost;         /* [j * n + k]: peer j dropped peer k, whose inputs end below this - 1; 0: never */
	char *dir;
	uint32_t next;          /* the next frame to compare; the window is [next, next + W) */
	bool found;
	int write_errno;        /* the first failed write to a log, or 0 */
	uint64_t unkept;
	/* The reference re-simulation. Its inputs are held from ref_frames, its checksums up to next + W. */
	struct game_state ref;
	uint32_t ref_frames;            /* frames simulated */
	uint8_t *in;                    /* W frames of n inputs: the first report of each */
	uint32_t in_tag[W];
	uint64_t ref_hash[W];           /* after frame f, for f in [ref_frames - W, ref_frames) */
	struct game_state *ref_states;  /* ring of REF_KEEP states after frame f */
};

static void log_path(const struct oracle *o, uint32_t k, bool inputs, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s-%u.txt", o->dir, inputs ? "inputs" : "checksums", k);
}

/* Opens (truncating) one log and writes its header. Close-on-exec: the peers the harness starts must not hold it. */
static FILE *open_log(const struct oracle *o, uint32_t k, bool inputs)
{
	char path[1024];
	log_path(o, k, inputs, path, sizeof path);
	FILE *f = fopen(path, "we");
	if (!f)
		return NULL;
	int rc = inputs ? fprintf(f, "# peer %u: frame, then each player's input bits (thrust 1, left 2, right 4, fire 8)\n", k)
			: fprintf(f, "# peer %u: frame, then the checksum of the state after it\n", k);
	if (rc < 0) {
		int e = errno;
		fclose(f);
		unlink(path);
		errno = e;
		return NULL;
	}
	return f;
}

struct oracle *oracle_create(uint32_t npeers, bool reference, uint64_t seed, const char *workdir)
{
	struct oracle *o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	o->n = npeers;
	o->peer = calloc(npeers ? npeers : 1, sizeof *o->peer);
	o->lost = calloc(npeers ? (size_t)npeers * npeers : 1, sizeof *o->lost);
	o->dir = strdup(workdir);
	o->reference = reference && npeers >= 2 && npeers <= GAME_MAX_PLAYERS;
	if (o->reference) {
		o->ref_states = malloc(sizeof *o->ref_states * REF_KEEP);
		o->in = malloc((size_t)W * npeers);
		if (!o->ref_states || !o->in || game_init(&o->ref, npeers, seed) < 0)
			o->reference = false;
	}
	if (!o->peer || !o->lost || !o->dir) {
		oracle_destroy(o);
		errno = ENOMEM;
		return NULL;
	}
	for (uint32_t k = 0; k < npeers; k++) {
		o->peer[k].sums = open_log(o, k, false);
		o->peer[k].ins = o->peer[k].sums ? open_log(o, k, true) : NULL;
		if (!o->peer[k].ins) {
			int e = errno;
			oracle_destroy(o);
			errno = e;
			return NULL;
		}
	}
	return o;
}

void oracle_destroy(struct oracle *o)
{
	if (!o)
		return;
	/* The logs stay: a failed run keeps its work directory for reading, a clean one removes them. */
	for (uint32_t k = 0; o->peer && k < o->n; k++) {
		if (o->peer[k].sums)
			fclose(o->peer[k].sums);
		if (o->peer[k].ins)
			fclose(o->peer[k].ins);
	}
	free(o->peer);
	free(o->lost);
	free(o->dir);
	free(o->in);
	free(o->ref_states);
	free(o);
}

static void wrote(struct oracle *o, int rc)
{
	if (rc < 0 && !o->write_errno)
		o->write_errno = errno ? errno : EIO;
}

void oracle_checksum(struct oracle *o, uint32_t k, uint32_t frame, uint64_t hash)
{
	if (k >= o->n || frame == UINT32_MAX || frame < o->peer[k].frames)
		return;
	struct log *l = &o->peer[k];
	wrote(o, fprintf(l->sums, "%u %016" PRIx64 "\n", frame, hash));
	l->frames = frame + 1;
	if (frame < o->next)
		return; /* a returning peer's first frames: already compared among the others */
	if (frame - o->next >= W) {
		o->unkept++;
		return;
	}
	l->tag[frame % W] = frame + 1;
	l->hash[frame % W] = hash;
}

/*
 * Steps the reference over every frame whose inputs some peer has reported,
 * in order, but not past the window: its checksum of frame next must stay
 * in ref_hash for the verdict.
 */
static void advance_reference(struct oracle *o)
{
	while (o->reference && !o->ref_stopped) {
		uint32_t f = o->ref_frames;
		if ((f >= o->next && f - o->next >= W) || o->in_tag[f % W] != f + 1)
			return;
		game_input gi[GAME_MAX_PLAYERS] = { 0 };
		memcpy(gi, o->in + (size_t)(f % W) * o->n, o->n);
		game_step(&o->ref, gi);
		o->ref_hash[f % W] = game_hash(&o->ref);
		o->ref_states[f % REF_KEEP] = o->ref;
		o->ref_frames = f + 1;
	}
}

void oracle_inputs(struct oracle *o, uint32_t k, uint32_t frame, const uint8_t *inputs, uint32_t n)
{
	if (k >= o->n || n != o->n || frame == UINT32_MAX || frame < o->peer[k].in_frames)
		return;
	struct log *l = &o->peer[k];
	int rc = fprintf(l->ins, "%u", frame);
	for (uint32_t p = 0; p < n && rc >= 0; p++)
		rc = fprintf(l->ins, " %u", inputs[p]);
	if (rc >= 0 && fputc('\n', l->ins) == EOF)
		rc = -1;
	wrote(o, rc);
	l->in_frames = frame + 1;
	if (!o->reference || o->ref_stopped || frame < o->ref_frames || o->in_tag[frame % W] == frame + 1)
		return;
	if (frame - o->ref_frames >= W) {
		o->unkept++;
		o->ref_stopped = true;
		return;
	}
	memcpy(o->in + (size_t)(frame % W) * o->n, inputs, n);
	o->in_tag[frame % W] = frame + 1;
	advance_reference(o);
}

void oracle_peer_gone(struct oracle *o, uint32_t k)
{
	if (k < o->n)
		o->peer[k].gone = true;
}

void oracle_peer_back(struct oracle *o, uint32_t k)
{
	if (k >= o->n)
		return;
	o->peer[k].gone = false;
	/* A new process: nobody has dropped it, and it has dropped nobody. */
	for (uint32_t j = 0; j < o->n; j++)
		o->lost[(size_t)j * o->n + k] = o->lost[(size_t)k * o->n + j] = 0;
}

void oracle_peer_lost(struct oracle *o, uint32_t j, uint32_t k, uint32_t upto)
{
	if (j >= o->n || k >= o->n || j == k || upto == UINT32_MAX)
		return;
	uint32_t *l = &o->lost[(size_t)j * o->n + k];
	if (*l && *l <= upto + 1)
		return; /* the earliest cut stands */
	*l = upto + 1;
	/*
	 * Two running peers that dropped each other play on with different
	 * inputs from here: the reference can follow only one side, so it
	 * stops, and a tie inside a side names both of its peers.
	 */
	if (!o->peer[j].gone && !o->peer[k].gone)
		o->ref_stopped = true;
}

/* Every live peer has reported beyond frame f (or no peer is live). */
static bool all_past(const struct oracle *o, uint32_t f)
{
	uint32_t live = 0;
	for (uint32_t k = 0; k < o->n; k++) {
		if (o->peer[k].gone)
			continue;
		live++;
		if (o->peer[k].frames <= f)
			return false;
	}
	return live > 0;
}

static bool held(const struct log *l, uint32_t f)
{
	return l->tag[f % W] == f + 1;
}

/*
 * Peers j and k may be compared at frame f when they played every frame up
 * to f with the same inputs: for every player p, the frame from which p's
 * inputs were neutral to j (it dropped p there, or never) is the frame from
 * which they were neutral to k, as far as frame f goes. Equality of those
 * vectors makes this an equivalence, so its classes are the sides.
 */
static bool connected(const struct oracle *o, uint32_t j, uint32_t k, uint32_t f)
{
	for (uint32_t p = 0; p < o->n; p++) {
		uint32_t a = o->lost[(size_t)j * o->n + p], b = o->lost[(size_t)k * o->n + p];
		uint64_t ea = a && (uint64_t)a - 1 <= f ? a - 1 : (uint64_t)f + 1;
		uint64_t eb = b && (uint64_t)b - 1 <= f ? b - 1 : (uint64_t)f + 1;
		if (ea != eb)
			return false;
	}
	return true;
}

/*
 * The peers that hold frame f, grouped into sides: side[k] is the lowest
 * index of k's side (peers linked by `connected`, transitively), or -1 when
 * k does not hold f. Returns the number of peers that hold f.
 */
static uint32_t sides(const struct oracle *o, uint32_t f, int side[RUN_MAX_PEERS])
{
	uint32_t present = 0, n = o->n < RUN_MAX_PEERS ? o->n : RUN_MAX_PEERS;
	for (uint32_t k = 0; k < n; k++) {
		side[k] = held(&o->peer[k], f) ? (int)k : -1;
		present += side[k] >= 0;
	}
	/* A few passes of label propagation: n is at most 64, and sides rarely number more than two. */
	for (bool changed = true; changed;) {
		changed = false;
		for (uint32_t j = 0; j < n; j++)
			for (uint32_t k = j + 1; k < n; k++)
				if (side[j] >= 0 && side[k] >= 0 && side[j] != side[k] && connected(o, j, k, f)) {
					int lo = side[j] < side[k] ? side[j] : side[k];
					side[j] = side[k] = lo;
					changed = true;
				}
	}
	return present;
}

/* Names the minority of one side at frame f, among the peers of `mask`. */
static void verdict(struct oracle *o, uint32_t f, uint64_t mask, struct run_desync *d)
{
	memset(d, 0, sizeof *d);
	d->found = true;
	d->frame = f;
	uint32_t votes[RUN_MAX_PEERS] = { 0 }, present = 0;
	for (uint32_t k = 0; k < o->n && k < RUN_MAX_PEERS; k++) {
		const struct log *l = &o->peer[k];
		if (!held(l, f) || !(mask >> k & 1))
			continue;
		d->known_mask |= 1ull << k;
		d->checksum[k] = l->hash[f % W];
		present++;
	}
	/* votes[k]: how many present peers share peer k's checksum. */
	uint32_t best = 0, best_count = 0;
	bool tie = false;
	for (uint32_t k = 0; k < o->n && k < RUN_MAX_PEERS; k++) {
		if (!(d->known_mask >> k & 1))
			continue;
		for (uint32_t j = 0; j < o->n && j < RUN_MAX_PEERS; j++)
			votes[k] += (d->known_mask >> j & 1) && d->checksum[j] == d->checksum[k];
		if (votes[k] > best_count) {
			best_count = votes[k];
			best = k;
			tie = false;
		} else if (votes[k] == best_count && d->checksum[k] != d->checksum[best]) {
			tie = true;
		}
	}
	uint64_t truth;
	bool have_truth = false;
	if (!tie && best_count * 2 > present) {
		truth = d->checksum[best];
		have_truth = true;
	} else if (oracle_reference_checksum(o, f, &truth) == 0) {
		have_truth = true;
	}
	for (uint32_t k = 0; k < o->n && k < RUN_MAX_PEERS; k++)
		if ((d->known_mask >> k & 1) && (!have_truth || d->checksum[k] != truth))
			d->peers[d->npeers++] = k;
}

int oracle_check(struct oracle *o, struct run_desync *d)
{
	while (!o->found && all_past(o, o->next)) {
		uint32_t f = o->next, n = o->n < RUN_MAX_PEERS ? o->n : RUN_MAX_PEERS;
		int side[RUN_MAX_PEERS];
		sides(o, f, side);
		/* Each side is compared within itself; a side of one peer has nobody to be compared with. */
		uint64_t members[RUN_MAX_PEERS] = { 0 };
		for (uint32_t k = 0; k < n; k++)
			if (side[k] >= 0)
				members[side[k]] |= 1ull << k;
		for (uint32_t s = 0; s < n; s++) {
			if (!members[s])
				continue;
			bool differ = false;
			for (uint32_t k = 0; k < n; k++)
				if (members[s] >> k & 1 && o->peer[k].hash[f % W] != o->peer[s].hash[f % W])
					differ = true;
			if (!differ)
				continue;
			if (o->reference && !o->ref_stopped && o->ref_frames <= f && __builtin_popcountll(members[s]) == 2)
				return 0; /* two peers: only the reference can name the odd one out */
			verdict(o, f, members[s], d);
			o->found = true;
			return 1;
		}
		for (uint32_t k = 0; k < n; k++)
			if (side[k] >= 0 && members[side[k]] != 1ull << k)
				o->peer[k].compared++;
		o->next++;
		advance_reference(o); /* the window moved: the reference may have been waiting at its end */
	}
	return 0;
}

int64_t oracle_agreed(const struct oracle *o)
{
	return (int64_t)o->next - 1;
}

int oracle_flush(struct oracle *o)
{
	for (uint32_t k = 0; k < o->n; k++) {
		wrote(o, fflush(o->peer[k].sums) == EOF ? -1 : 0);
		wrote(o, fflush(o->peer[k].ins) == EOF ? -1 : 0);
	}
	if (o->write_errno) {
		errno = o->write_errno;
		return -1;
	}
	return 0;
}

uint64_t oracle_unkept(const struct oracle *o)
{
	return o->unkept;
}

int oracle_peer_checksum(const struct oracle *o, uint32_t k, uint32_t frame, uint64_t *out)
{
	if (k >= o->n || frame == UINT32_MAX || !held(&o->peer[k], frame))
		return -1;
	*out = o->peer[k].hash[frame % W];
	return 0;
}

uint64_t oracle_peer_compared(const struct oracle *o, uint32_t k)
{
	return k < o->n ? o->peer[k].compared : 0;
}

uint32_t oracle_peer_frames(const struct oracle *o, uint32_t k)
{
	return k < o->n ? o->peer[k].frames : 0;
}

int oracle_reference_checksum(const struct oracle *o, uint32_t frame, uint64_t *out)
{
	if (!o->reference || frame >= o->ref_frames || o->ref_frames - frame > W)
		return -1;
	*out = o->ref_hash[frame % W];
	return 0;
}

int oracle_reference_state(const struct oracle *o, uint32_t frame, void *game_state_out)
{
	if (!o->reference || frame >= o->ref_frames || frame + REF_KEEP < o->ref_frames)
		return -1;
	memcpy(game_state_out, &o->ref_states[frame % REF_KEEP], sizeof(struct game_state));
	return 0;
}
