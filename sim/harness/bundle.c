// SPDX-License-Identifier: MIT
// The desync bundle: writing it, and replaying it.
#include "harness/bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "game/game.h"
#include "harness/bundle_internal.h"
#include "harness/outfile.h"

static FILE *open_in(const char *dir, const char *name, const char *mode)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return fopen(path, mode);
}

/*
 * The bundle as it is written: every file goes through outfile (written
 * whole, never through a device or FIFO planted in the directory by
 * mistake), and the first failure is kept while the rest is still written,
 * since a partial bundle is worth more than none. What could not be taken
 * along at all (a capture written to a device) is noted in README.txt.
 */
struct bundle_writer {
	const char *dir;
	int rc;                   /* 0, or -1 once a file failed */
	char *err;                /* the first failure: "path: reason" */
	size_t errlen;
	char note[1024];          /* for README.txt: what is missing, and why */
};

static void bw_fail(struct bundle_writer *b, const char *msg)
{
	if (b->rc == 0)
		snprintf(b->err, b->errlen, "%s", msg);
	b->rc = -1;
}

__attribute__((format(printf, 2, 3))) static void bw_note(struct bundle_writer *b, const char *fmt, ...)
{
	size_t used = strlen(b->note);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->note + used, sizeof b->note - used, fmt, ap);
	va_end(ap);
}

/* Writes name in the bundle from data[len]. */
static void bw_put(struct bundle_writer *b, const char *name, const void *data, size_t len)
{
	char path[1024], e[1400];
	snprintf(path, sizeof path, "%s/%s", b->dir, name);
	struct outfile of;
	if (outfile_open(&of, path, e, sizeof e) < 0) {
		bw_fail(b, e);
		return;
	}
	outfile_write(&of, data, len);
	if (outfile_commit(&of, e, sizeof e) < 0)
		bw_fail(b, e);
}

/* A text file: print fills a memory stream and returns NULL, or why it cannot; then it is written as above. */
static void bw_text(struct bundle_writer *b, const char *name, const char *(*print)(FILE *f, const void *ctx),
		    const void *ctx)
{
	char *text = NULL, path[1024];
	size_t len = 0;
	const char *why = strerror(ENOMEM); /* a memory stream fails only for memory */
	FILE *m = open_memstream(&text, &len);
	if (m) {
		const char *cannot = print(m, ctx);
		bool bad = ferror(m) != 0;
		if (fclose(m) != 0 || bad || cannot) {
			free(text);
			text = NULL;
			why = cannot ? cannot : why;
		}
	}
	if (!text) {
		snprintf(path, sizeof path, "%s/%s: %s", b->dir, name, why);
		bw_fail(b, path);
		return;
	}
	bw_put(b, name, text, len);
	free(text);
}

/*
 * Copies the file from into the bundle as name. A source that is missing, or
 * is no regular file (a --pcap to /dev/null, a FIFO: reading those would
 * never end, or block), is noted, not copied; a source that cannot be read,
 * or a copy that cannot be written, is a failure.
 */
static void bw_copy(struct bundle_writer *b, const char *from, const char *name)
{
	char e[1400];
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	int in = open(from, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (in < 0 || fstat(in, &st) < 0) {
		int err = errno;
		if (in >= 0)
			close(in);
		if (err == ENOENT) {
			bw_note(b, "%s is missing: %s did not exist.\n", name, from);
		} else {
			snprintf(e, sizeof e, "%s: %s", from, strerror(err));
			bw_fail(b, e);
		}
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		close(in);
		bw_note(b, "%s is missing: %s is not a regular file, so it was written in place and not kept.\n", name,
			from);
		return;
	}
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", b->dir, name);
	struct outfile of;
	if (outfile_open(&of, path, e, sizeof e) < 0) {
		close(in);
		bw_fail(b, e);
		return;
	}
	char buf[1 << 16];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || outfile_write(&of, buf, (size_t)n) < 0)
			break;
	}
	int rerr = n < 0 ? errno : 0;
	close(in);
	if (rerr) {
		outfile_abort(&of);
		snprintf(e, sizeof e, "%s: %s", from, strerror(rerr));
		bw_fail(b, e);
	} else if (outfile_commit(&of, e, sizeof e) < 0) {
		bw_fail(b, e);
	}
}

/* The oracle streamed each peer's logs into the work directory as the run went; the bundle takes copies. */
static void copy_logs(const struct bundle_input *in, struct bundle_writer *b)
{
	if (oracle_flush(in->oracle) < 0) {
		char e[1200];
		snprintf(e, sizeof e, "%s: the oracle's logs could not be written whole: %s", in->workdir, strerror(errno));
		bw_note(b, "The logs are incomplete: writing them failed (%s).\n", strerror(errno));
		bw_fail(b, e);
	}
	for (uint32_t k = 0; k < in->scn->peers; k++)
		for (int i = 0; i < 2; i++) {
			char name[64], from[1024];
			snprintf(name, sizeof name, "%s-%u.txt", i ? "inputs" : "checksums", k);
			snprintf(from, sizeof from, "%s/%s", in->workdir, name);
			bw_copy(b, from, name);
		}
	uint64_t unkept = oracle_unkept(in->oracle);
	if (unkept)
		bw_note(b,
			"%" PRIu64 " reports (checksums or inputs) came more than %u frames ahead of the comparison:\n"
			"they are in the logs, but the harness did not compare them.\n",
			unkept, ORACLE_WINDOW);
}

static bool in_minority(const struct run_desync *d, uint32_t k)
{
	for (uint32_t m = 0; m < d->npeers; m++)
		if (d->peers[m] == k)
			return true;
	return false;
}

/*
 * A user's game: its dumps are its own serialisation, which the harness
 * cannot read, so each is compared byte by byte with a majority peer's.
 */
static void write_byte_diff(const struct bundle_input *in, FILE *f)
{
	const struct run_desync *d = &in->res->desync;
	int base = -1;
	for (uint32_t k = 0; k < in->scn->peers && base < 0; k++)
		if (!in_minority(d, k) && in->dump[k])
			base = (int)k;
	if (base < 0) {
		fprintf(f, "\ncompared with nothing: no peer outside the minority answered DUMP with its state\n");
		return;
	}
	const uint8_t *a = in->dump[base];
	size_t alen = in->dump_len[base];
	fprintf(f, "\nthe states are not the built-in game's: compared byte by byte with peer %d's state-%d.bin:\n", base,
		base);
	for (uint32_t k = 0; k < in->scn->peers; k++) {
		const uint8_t *b = in->dump[k];
		size_t blen = in->dump_len[k], i = 0;
		if (!b) {
			fprintf(f, "  peer %u: no state (it did not answer DUMP, or the frame was no longer kept)\n", k);
			continue;
		}
		while (i < alen && i < blen && a[i] == b[i])
			i++;
		if (i == alen && i == blen)
			fprintf(f, "  peer %u: identical (%zu bytes)\n", k, blen);
		else if (i < alen && i < blen)
			fprintf(f, "  peer %u: first differs at byte %zu: expected 0x%02x, peer has 0x%02x\n", k, i, a[i], b[i]);
		else
			fprintf(f, "  peer %u: %zu bytes against %zu, equal up to the shorter\n", k, blen, alen);
	}
}

/* diff.txt: each peer's dumped state against the reference (or, without one, against the majority's). */
static const char *print_diff(FILE *f, const void *ctx)
{
	const struct bundle_input *in = ctx;
	struct run_desync *d = &in->res->desync;
	struct game_state ref;
	bool have_ref = oracle_reference_state(in->oracle, d->frame, &ref) == 0;
	const char *against = "the reference re-simulation";
	if (!have_ref) {
		/* Without the harness's own re-simulation, compare with a peer outside the minority. */
		for (uint32_t k = 0; k < in->scn->peers && !have_ref; k++) {
			if (!in_minority(d, k) && in->dump[k] && game_deserialize(&ref, in->dump[k], in->dump_len[k]) == 0) {
				have_ref = true;
				against = "a majority peer";
			}
		}
	}
	fprintf(f, "desync at frame %u: the first state that differs is the one after this frame.\n", d->frame);
	fprintf(f, "minority:");
	for (uint32_t m = 0; m < d->npeers; m++)
		fprintf(f, " peer %u", d->peers[m]);
	fprintf(f, "\nchecksums:");
	for (uint32_t k = 0; k < in->scn->peers; k++)
		if (d->known_mask >> k & 1)
			fprintf(f, " %u=%016" PRIx64, k, d->checksum[k]);
	if (!have_ref) {
		write_byte_diff(in, f);
		return NULL;
	}
	fprintf(f, "\ncompared with %s:\n", against);
	for (uint32_t k = 0; k < in->scn->peers && have_ref; k++) {
		struct game_state st;
		struct game_diff gd;
		char line[160];
		if (!in->dump[k] || game_deserialize(&st, in->dump[k], in->dump_len[k]) < 0) {
			fprintf(f, "  peer %u: no state (it did not answer DUMP, or the frame had left its ring)\n", k);
			continue;
		}
		if (!game_diff(&ref, &st, &gd)) {
			fprintf(f, "  peer %u: identical\n", k);
			continue;
		}
		game_diff_format(&gd, line, sizeof line);
		fprintf(f, "  peer %u: %s.%s: expected %" PRId64 ", peer has %" PRId64 "\n", k, gd.entity, gd.field, gd.a,
			gd.b);
		if (in_minority(d, k) && !d->field[0])
			snprintf(d->field, sizeof d->field, "%s", line);
	}
	return NULL;
}

static const char *print_scenario(FILE *f, const void *ctx)
{
	return scn_write_resolved(ctx, f) < 0 ? "the scenario could not be written out" : NULL;
}

struct readme {
	const struct bundle_input *in;
	const char *dir, *note;
};

static const char *print_readme(FILE *f, const void *ctx)
{
	const struct readme *r = ctx;
	fprintf(f, "A loopsim desync bundle: the session diverged at frame %u.\n\n", r->in->res->desync.frame);
	if (r->in->scn->peer_cmd[0]) {
		/* The peers are the user's own program: loopsim can show their bytes, not re-run their game. */
		fprintf(f,
			"  loopsim replay %s --view   each peer's dumped state as bytes, the differing ones marked,\n"
			"                               beside what the network did around the divergent frame.\n"
			"  Your peers are your own program: loopsim cannot re-simulate them. Run scenario.ini again\n"
			"  (the seed is in it) to see whether the desync comes back.\n\n"
			"scenario.ini        the scenario, every value resolved, the seed and peer-cmd included\n"
			"checksums-K.txt     peer K's checksum of the state after each confirmed frame\n"
			"state-K.bin         peer K's answer to DUMP: its state after the divergent frame, in its own\n"
			"                    serialisation (absent if it did not answer)\n"
			"diff.txt            the first byte where the minority's state differs from a majority peer's\n",
			r->dir);
	} else {
		fprintf(f,
			"  loopsim replay %s     re-simulates every peer's confirmed inputs and says where each leaves\n"
			"                          the reference; it exits 1 when it reproduces the desync.\n"
			"                          With --view, a window to step through it frame by frame.\n\n"
			"scenario.ini        the scenario, every value resolved, the seed included: loopsim run it again\n"
			"inputs-K.txt        peer K's confirmed inputs, one frame a line (none for frames it missed)\n"
			"checksums-K.txt     peer K's checksum of the state after each confirmed frame\n"
			"state-K.bin         peer K's state after the divergent frame (the game's serialisation)\n"
			"reference-state.bin the harness's own re-simulation of that state\n"
			"diff.txt            for each peer, the first entity and field that differ, with both values\n",
			r->dir);
	}
	fprintf(f,
		"fates.tsv           the fate of every datagram on the wire; capture.pcap what was delivered\n"
		"frames.tsv          when each frame ran, on the clock of fates.tsv (the window's lanes use it)\n"
		"peer-K.log          what each peer printed\n"
		"%s%s",
		r->note[0] ? "\n" : "", r->note);
	return NULL;
}

static const char *print_frames(FILE *f, const void *ctx)
{
	const struct bundle_input *in = ctx;
	return frame_clock_write(in->clock, in->start_us, f) < 0 ? "cannot write the frame times" : NULL;
}

int bundle_write(const struct bundle_input *in, const char *dir_in, char *err, size_t errlen)
{
	char dir[512];
	if (dir_in && *dir_in) {
		snprintf(dir, sizeof dir, "%s", dir_in);
	} else {
		time_t t = time(NULL); /* a name for humans; nothing in the run depends on it */
		struct tm tm;
		localtime_r(&t, &tm);
		strftime(dir, sizeof dir, "loopsim-desync-%Y%m%d-%H%M%S", &tm);
	}
	struct stat st;
	if (mkdir(dir, 0755) < 0 && (errno != EEXIST || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))) {
		snprintf(err, errlen, "%s: %s", dir, errno == EEXIST ? "exists and is not a directory" : strerror(errno));
		return -1;
	}
	struct bundle_writer b = { .dir = dir, .err = err, .errlen = errlen };
	bw_text(&b, "scenario.ini", print_scenario, in->scn);
	copy_logs(in, &b);
	for (uint32_t k = 0; k < in->scn->peers; k++) {
		char name[64], from[700];
		if (in->dump[k]) {
			snprintf(name, sizeof name, "state-%u.bin", k);
			bw_put(&b, name, in->dump[k], in->dump_len[k]);
		}
		snprintf(name, sizeof name, "peer-%u.log", k);
		snprintf(from, sizeof from, "%s/%s", in->workdir, name);
		bw_copy(&b, from, name);
	}
	struct game_state ref;
	if (oracle_reference_state(in->oracle, in->res->desync.frame, &ref) == 0) {
		uint8_t buf[GAME_SERIALIZED_MAX];
		size_t n = game_serialize(&ref, buf, sizeof buf);
		bw_put(&b, "reference-state.bin", buf, n);
	}
	bw_copy(&b, in->pcap, "capture.pcap");
	bw_copy(&b, in->fates, "fates.tsv");
	if (in->clock)
		bw_text(&b, "frames.tsv", print_frames, in);
	bw_text(&b, "diff.txt", print_diff, in);
	struct readme r = { .in = in, .dir = dir, .note = b.note };
	bw_text(&b, "README.txt", print_readme, &r);
	if (b.rc == 0)
		snprintf(in->res->desync.bundle, sizeof in->res->desync.bundle, "%s", dir);
	return b.rc;
}

/* --- replay --------------------------------------------------------------------------------------------- */

/*
 * Reads "frame v v v ..." lines, frames increasing; a gap (the frames a
 * restarted peer missed) is allowed. Calls back per line. Returns 0, or -1
 * with err naming file:line.
 */
static int read_lines(const char *dir, const char *name, int (*line_fn)(void *, uint32_t, const char *), void *ctx,
		      char *err, size_t errlen)
{
	FILE *f = open_in(dir, name, "r");
	if (!f) {
		snprintf(err, errlen, "%s/%s: %s", dir, name, strerror(errno));
		return -1;
	}
	char buf[512];
	int lineno = 0, rc = 0;
	uint32_t expect = 0; /* the lowest frame the next line may have */
	while (fgets(buf, sizeof buf, f)) {
		lineno++;
		if (buf[0] == '#' || buf[0] == '\n')
			continue;
		char *end;
		errno = 0;
		unsigned long frame = strtoul(buf, &end, 10);
		if (end == buf || buf[0] == '-' || errno || frame < expect || frame >= UINT32_MAX ||
		    line_fn(ctx, (uint32_t)frame, end) < 0) {
			snprintf(err, errlen, "%s/%s:%d: malformed line (expected frame %u or later, increasing)", dir,
				 name, lineno, expect);
			rc = -1;
			break;
		}
		expect = (uint32_t)frame + 1;
	}
	fclose(f);
	return rc;
}

static int on_inputs(void *ctx, uint32_t frame, const char *rest)
{
	struct replay_log *l = ctx;
	if (l->nin == l->in_cap) {
		uint32_t cap = l->in_cap ? l->in_cap * 2 : 1024;
		uint32_t *fr = cap > l->in_cap ? realloc(l->in_frame, sizeof *fr * cap) : NULL;
		if (fr)
			l->in_frame = fr;
		uint8_t *in = fr ? realloc(l->inputs, (size_t)cap * l->n) : NULL;
		if (in)
			l->inputs = in;
		if (!fr || !in)
			return -1;
		l->in_cap = cap;
	}
	for (uint32_t k = 0; k < l->n; k++) {
		char *end;
		unsigned long v = strtoul(rest, &end, 10);
		if (end == rest || v > GAME_IN_MASK)
			return -1;
		l->inputs[(size_t)l->nin * l->n + k] = (uint8_t)v;
		rest = end;
	}
	l->in_frame[l->nin++] = frame;
	return 0;
}

static int on_checksum(void *ctx, uint32_t frame, const char *rest)
{
	struct replay_log *l = ctx;
	if (l->nsum == l->sum_cap) {
		uint32_t cap = l->sum_cap ? l->sum_cap * 2 : 1024;
		uint32_t *fr = cap > l->sum_cap ? realloc(l->sum_frame, sizeof *fr * cap) : NULL;
		if (fr)
			l->sum_frame = fr;
		uint64_t *h = fr ? realloc(l->hash, sizeof *h * cap) : NULL;
		if (h)
			l->hash = h;
		if (!fr || !h)
			return -1;
		l->sum_cap = cap;
	}
	char *end;
	l->hash[l->nsum] = strtoull(rest, &end, 16);
	if (end == rest)
		return -1;
	l->sum_frame[l->nsum++] = frame;
	return 0;
}

void bundle__free_logs(struct replay_log *l, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++) {
		free(l[k].in_frame);
		free(l[k].inputs);
		free(l[k].sum_frame);
		free(l[k].hash);
	}
}

int bundle__read_log(const char *dir, uint32_t k, uint32_t nplayers, struct replay_log *l, char *err, size_t errlen)
{
	char name[64];
	l->n = nplayers;
	snprintf(name, sizeof name, "inputs-%u.txt", k);
	if (read_lines(dir, name, on_inputs, l, err, errlen) < 0)
		return -1;
	snprintf(name, sizeof name, "checksums-%u.txt", k);
	return read_lines(dir, name, on_checksum, l, err, errlen);
}

bool bundle__seek(const uint32_t *frames, uint32_t n, uint32_t *at, uint32_t f)
{
	while (*at < n && frames[*at] < f)
		(*at)++;
	return *at < n && frames[*at] == f;
}

const uint8_t *bundle__input_row(const struct replay_log *logs, uint32_t n, uint32_t k, uint32_t f, uint32_t *at,
				 bool *had)
{
	const struct replay_log *l = &logs[k];
	bool own = bundle__seek(l->in_frame, l->nin, &at[k], f);
	const uint8_t *mine = own ? l->inputs + (size_t)at[k] * n : NULL;
	const uint8_t *in = f == 0 || *had ? mine : NULL;
	for (uint32_t i = 1; i < n && !in; i++) {
		uint32_t j = (k + i) % n;
		if (bundle__seek(logs[j].in_frame, logs[j].nin, &at[j], f))
			in = logs[j].inputs + (size_t)at[j] * n;
	}
	*had = own;
	return in ? in : mine;
}

/*
 * Peer k's re-simulation, from frame 0 to the last frame of its inputs. A
 * frame it never logged (it was gone) is stepped with another peer's
 * confirmed inputs of that frame, which are the same on every peer; where
 * no log has the frame, the re-simulation stops there. So is the first
 * frame after such a gap: a restarted peer is handed the state after that
 * frame by another peer, so it never had that frame's inputs to log.
 */
static void replay_peer(const struct replay_log *logs, uint32_t n, uint32_t k, uint64_t seed, struct replay_peer *rp)
{
	const struct replay_log *l = &logs[k];
	uint32_t at[GAME_MAX_PLAYERS] = { 0 }, sum_at = 0;
	uint32_t end = l->nin ? l->in_frame[l->nin - 1] + 1 : 0;
	struct game_state g;
	game_init(&g, n, seed);
	rp->diverges_at = -1;
	rp->frames = 0;
	bool had = false; /* its own log had the frame before */
	for (uint32_t f = 0; f < end; f++) {
		const uint8_t *in = bundle__input_row(logs, n, k, f, at, &had);
		if (!in)
			return;
		game_input gi[GAME_MAX_PLAYERS] = { 0 };
		memcpy(gi, in, n);
		game_step(&g, gi);
		rp->frames = f + 1;
		uint64_t h = game_hash(&g);
		if (bundle__seek(l->sum_frame, l->nsum, &sum_at, f) && h != l->hash[sum_at]) {
			rp->diverges_at = f;
			rp->logged = l->hash[sum_at];
			rp->resim = h;
			return;
		}
	}
}

int bundle_replay(const char *dir, struct replay_result *out, char *err, size_t errlen)
{
	struct scenario scn;
	char path[1024];
	memset(out, 0, sizeof *out);
	out->desync_frame = -1;
	snprintf(path, sizeof path, "%s/scenario.ini", dir);
	scn_default(&scn);
	if (scn_load(&scn, path, err, errlen) < 0)
		return -1;
	if (scn.peer_cmd[0]) {
		snprintf(err, errlen, "%s: a --peer-cmd session; only the built-in game can be re-simulated", path);
		return -1;
	}
	out->npeers = scn.peers;
	out->seed = scn.seed;
	if (scn.peers < 2 || scn.peers > GAME_MAX_PLAYERS) {
		snprintf(err, errlen, "%s: %u peers; the built-in game has 2 to %d players", path, scn.peers,
			 GAME_MAX_PLAYERS);
		return -1;
	}
	uint32_t n = scn.peers;
	struct replay_log logs[GAME_MAX_PLAYERS] = { 0 };
	for (uint32_t k = 0; k < n; k++) {
		if (bundle__read_log(dir, k, scn.peers, &logs[k], err, errlen) < 0) {
			bundle__free_logs(logs, k + 1);
			return -1;
		}
	}
	for (uint32_t k = 0; k < n; k++) {
		struct replay_peer *rp = &out->peer[k];
		replay_peer(logs, n, k, scn.seed, rp);
		if (rp->diverges_at >= 0 && (out->desync_frame < 0 || rp->diverges_at < out->desync_frame))
			out->desync_frame = rp->diverges_at;
	}
	bundle__free_logs(logs, n);
	return 0;
}
