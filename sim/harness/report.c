// SPDX-License-Identifier: MIT
// The run's JSON report, JUnit XML and terminal summary, each from a struct run_result.
#include "harness/report.h"

#include <assert.h>
#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/outfile.h"
#include "wire/addr.h"
#include "wire/relay.h"

/* Rows of the summary's peer table: with 16 peers the whole summary stays under ~30 lines. */
#define SUMMARY_MAX_PEER_ROWS 20

/* Counts in a run_result are trusted no further than the arrays they index. */
static uint32_t clamp_u32(uint32_t n, uint32_t max)
{
	return n < max ? n : max;
}

static void set_err(char *err, size_t errlen, const char *path, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", path, why);
}

/*
 * Writes what emit prints to path, through outfile (harness/outfile.h): a
 * regular file (or a symlink's target) is replaced whole through
 * "TARGET.tmp" and a rename, so readers (and CI after a crash) see the old
 * file or the whole new one; a device or FIFO is written in place, never
 * replaced. emit prints into memory first, so that running out of memory
 * leaves no file behind, and every write error of the file itself keeps its
 * errno (a full disk says ENOSPC). emit returns 0 or a negative errno.
 */
static int write_atomic(const char *path, int (*emit)(FILE *f, const void *ctx), const void *ctx, char *err,
			size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	int rc = m ? emit(m, ctx) : -ENOMEM;
	if (m) {
		bool bad = ferror(m) != 0;
		if (fclose(m) != 0 || bad)
			rc = rc ? rc : -ENOMEM; /* a memory stream fails only for memory */
	}
	if (rc < 0) {
		set_err(err, errlen, path, strerror(-rc));
		free(text);
		return -1;
	}
	struct outfile of;
	rc = outfile_open(&of, path, err, errlen);
	if (rc == 0) {
		outfile_write(&of, text, len);
		rc = outfile_commit(&of, err, errlen);
	}
	free(text);
	return rc < 0 ? -1 : 0;
}

/* "running", "exit 0", "signal 11" or "exit 3", after run_peer.exit_status's convention. */
static const char *describe_exit(char *buf, size_t cap, int status)
{
	if (status == -1)
		snprintf(buf, cap, "running");
	else if (status > 128 && status <= 128 + 64)
		snprintf(buf, cap, "signal %d", status - 128);
	else
		snprintf(buf, cap, "exit %d", status);
	return buf;
}

/* A peer fails its testcase when something went wrong with it: a problem, or an exit other than 0. */
static bool peer_failed(const struct run_peer *p)
{
	return p->problem[0] || (p->exit_status != 0 && p->exit_status != -1);
}

static bool in_minority(const struct run_desync *d, uint32_t k)
{
	uint32_t n = clamp_u32(d->npeers, RUN_MAX_PEERS);
	for (uint32_t i = 0; i < n; i++)
		if (d->peers[i] == k)
			return true;
	return false;
}

/* Appends to buf[cap] at *len, truncating safely; *len counts what would have been written. */
__attribute__((format(printf, 4, 5))) static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	size_t off = *len < cap ? *len : cap;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + off, cap - off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += (size_t)n;
}

/* "at frame 312: peer 2 differs (ship 2.x: 1234 != 1240)", shared by the verdict and JUnit. cap > 0. */
static void describe_desync(char *buf, size_t cap, const struct run_desync *d)
{
	uint32_t n = clamp_u32(d->npeers, RUN_MAX_PEERS);
	size_t len = 0;
	buf[0] = '\0';
	append(buf, cap, &len, "at frame %" PRIu32 ": ", d->frame);
	if (n == 0)
		append(buf, cap, &len, "peers disagree");
	for (uint32_t i = 0; i < n; i++)
		append(buf, cap, &len, "%s%" PRIu32, i == 0 ? (n == 1 ? "peer " : "peers ") : ", ", d->peers[i]);
	if (n)
		append(buf, cap, &len, " %s", n == 1 ? "differs" : "differ");
	if (d->field[0])
		append(buf, cap, &len, " (%s)", d->field);
}

/* ---- JSON ---- */

/* Adds item under key. False, with item freed, if it or the addition failed: cJSON_Add*ToObject can't say which. */
static bool put(cJSON *obj, const char *key, cJSON *item)
{
	if (!item)
		return false;
	if (!cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

static bool push(cJSON *arr, cJSON *item)
{
	if (!item)
		return false;
	if (!cJSON_AddItemToArray(arr, item)) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

/* cJSON keeps numbers as doubles, exact only up to 2^53: 64-bit values go in as raw decimal text. */
static cJSON *json_u64(uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof buf, "%" PRIu64, v);
	return cJSON_CreateRaw(buf);
}

static cJSON *json_i64(int64_t v)
{
	char buf[24];
	snprintf(buf, sizeof buf, "%" PRId64, v);
	return cJSON_CreateRaw(buf);
}

/* Microseconds as milliseconds with exactly three decimals, by integer arithmetic: nothing to round. */
static cJSON *json_ms3(uint64_t us)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%" PRIu64 ".%03u", us / 1000, (unsigned)(us % 1000));
	return cJSON_CreateRaw(buf);
}

/* A measured fraction to three decimals: more would be noise. Non-finite values print as null. */
static cJSON *json_round3(double v)
{
	if (isfinite(v) && fabs(v) < 1e12)
		v = round(v * 1000) / 1000;
	return cJSON_CreateNumber(v);
}

static cJSON *json_str_or_null(const char *s)
{
	return s && s[0] ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *json_peer(const struct run_peer *p)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	char addr[WIRE_ADDR_STRLEN];
	bool ok = put(o, "index", cJSON_CreateNumber(p->index));
	ok &= put(o, "addr", cJSON_CreateString(wire_addr_str(addr, sizeof addr, p->addr, 0)));
	ok &= put(o, "port", cJSON_CreateNumber(p->port));
	ok &= put(o, "public_port", cJSON_CreateNumber(p->public_port));
	ok &= put(o, "frames", cJSON_CreateNumber(p->frames));
	ok &= put(o, "confirmed_frame", json_i64(p->confirmed_frame));
	ok &= put(o, "rollbacks", json_u64(p->rollbacks));
	ok &= put(o, "max_rollback", cJSON_CreateNumber(p->max_rollback));
	ok &= put(o, "stalls", json_u64(p->stalls));
	ok &= put(o, "rtt_ms", json_round3(p->rtt_ms));
	ok &= put(o, "exit_status", p->exit_status == -1 ? cJSON_CreateNull() : cJSON_CreateNumber(p->exit_status));
	ok &= put(o, "compared", json_u64(p->compared));
	ok &= put(o, "problem", json_str_or_null(p->problem));
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* The quantiles every delay object reports, with their JSON names. */
static const struct {
	const char *name;
	double q;
} delay_quantiles[] = { { "p50", 0.5 }, { "p90", 0.9 }, { "p99", 0.99 }, { "p99_9", 0.999 } };

static cJSON *json_delay(const struct wire_hist *h)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	/* No deliveries means no delay to speak of: null, not a 0 ms that reads as a perfect link. */
	bool empty = h->count == 0, ok = true;
	for (size_t i = 0; i < sizeof delay_quantiles / sizeof delay_quantiles[0]; i++)
		ok &= put(o, delay_quantiles[i].name,
			  empty ? cJSON_CreateNull() : json_ms3(wire_hist_quantile(h, delay_quantiles[i].q)));
	ok &= put(o, "max", empty ? cJSON_CreateNull() : json_ms3(h->max_us));
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Whether a link's deliveries left the wire late by more than WIRE_BEHIND_US at p99. */
static bool link_behind(const struct run_link *l)
{
	return l->lateness.count && wire_hist_quantile(&l->lateness, 0.99) > WIRE_BEHIND_US;
}

/* How far the wire fell behind its schedule, over every link. */
struct behind {
	struct wire_hist all;          /* every link's lateness, merged */
	uint32_t links;                /* links whose p99 passed WIRE_BEHIND_US */
	const struct run_link *worst;  /* the one with the highest p99, or NULL */
	uint64_t worst_p99;
};

static void find_behind(const struct run_result *r, struct behind *b)
{
	memset(b, 0, sizeof *b);
	for (uint32_t i = 0; r->links && i < r->nlinks; i++) {
		const struct run_link *l = &r->links[i];
		if (!l->lateness.count)
			continue;
		wire_hist_merge(&b->all, &l->lateness);
		uint64_t p99 = wire_hist_quantile(&l->lateness, 0.99);
		b->links += p99 > WIRE_BEHIND_US;
		if (!b->worst || p99 > b->worst_p99) {
			b->worst = l;
			b->worst_p99 = p99;
		}
	}
}

static cJSON *json_fell_behind(const struct behind *b)
{
	if (b->links == 0)
		return cJSON_CreateNull();
	cJSON *o = cJSON_CreateObject(), *worst = cJSON_CreateObject();
	if (!o || !worst) {
		cJSON_Delete(o);
		cJSON_Delete(worst);
		return NULL;
	}
	bool ok = put(worst, "from", cJSON_CreateNumber(b->worst->from));
	ok &= put(worst, "to", cJSON_CreateNumber(b->worst->to));
	ok &= put(worst, "p99_ms", json_ms3(b->worst_p99));
	ok &= put(o, "links", cJSON_CreateNumber(b->links));
	ok &= put(o, "p99_ms", json_ms3(wire_hist_quantile(&b->all, 0.99)));
	ok &= put(o, "max_ms", json_ms3(b->all.max_us));
	ok &= put(o, "worst", worst);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *json_link(const struct run_link *l)
{
	const struct wire_link_stats *s = &l->stats;
	cJSON *o = cJSON_CreateObject();
	cJSON *by = cJSON_CreateObject();
	if (!o || !by) {
		cJSON_Delete(o);
		cJSON_Delete(by);
		return NULL;
	}
	/* Every fate but delivery is a drop reason; the names are the fate log's. */
	uint64_t dropped = 0;
	bool ok = true;
	for (int k = 0; k < WIRE_FATE_COUNT; k++) {
		if (k == WIRE_FATE_DELIVER)
			continue;
		dropped += s->dropped[k];
		ok &= put(by, wire_fate_name((enum wire_fate_kind)k), json_u64(s->dropped[k]));
	}
	ok &= put(o, "from", cJSON_CreateNumber(l->from));
	ok &= put(o, "to", cJSON_CreateNumber(l->to));
	ok &= put(o, "sent", json_u64(s->sent));
	ok &= put(o, "delivered", json_u64(s->delivered));
	ok &= put(o, "dropped", json_u64(dropped));
	ok &= put(o, "dropped_by", by);
	ok &= put(o, "duplicated", json_u64(s->duplicated));
	ok &= put(o, "reordered", json_u64(s->reordered));
	ok &= put(o, "corrupted", json_u64(s->corrupted));
	ok &= put(o, "bytes", json_u64(s->bytes));
	ok &= put(o, "delay_ms", json_delay(&l->delay));
	ok &= put(o, "lateness_ms", json_delay(&l->lateness));
	ok &= put(o, "fell_behind", cJSON_CreateBool(link_behind(l)));
	ok &= put(o, "rtt_ms", l->rtt_known ? json_round3(l->rtt_ms) : cJSON_CreateNull());
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *json_desync(const struct run_result *r)
{
	const struct run_desync *d = &r->desync;
	if (!d->found)
		return cJSON_CreateNull();
	cJSON *o = cJSON_CreateObject();
	cJSON *peers = cJSON_CreateArray();
	cJSON *sums = cJSON_CreateObject();
	if (!o || !peers || !sums) {
		cJSON_Delete(o);
		cJSON_Delete(peers);
		cJSON_Delete(sums);
		return NULL;
	}
	bool ok = true;
	uint32_t n = clamp_u32(d->npeers, RUN_MAX_PEERS);
	for (uint32_t i = 0; i < n; i++)
		ok &= push(peers, cJSON_CreateNumber(d->peers[i]));
	/* Hex strings: a 64-bit checksum is no number a JSON reader can hold, and hex is how peers log them. */
	uint32_t np = clamp_u32(r->npeers, RUN_MAX_PEERS);
	for (uint32_t k = 0; k < np; k++) {
		if (!(d->known_mask >> k & 1))
			continue;
		char key[12], hex[17];
		snprintf(key, sizeof key, "%" PRIu32, k);
		snprintf(hex, sizeof hex, "%016" PRIx64, d->checksum[k]);
		ok &= put(sums, key, cJSON_CreateString(hex));
	}
	ok &= put(o, "frame", cJSON_CreateNumber(d->frame));
	ok &= put(o, "t_s", d->has_t ? cJSON_CreateNumber(round(d->t_s * 1000) / 1000) : cJSON_CreateNull());
	ok &= put(o, "peers", peers);
	ok &= put(o, "checksums", sums);
	ok &= put(o, "field", json_str_or_null(d->field));
	ok &= put(o, "bundle", json_str_or_null(d->bundle));
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *json_report(const struct run_result *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *peers = cJSON_CreateArray();
	cJSON *links = cJSON_CreateArray();
	cJSON *events = cJSON_CreateArray();
	if (!o || !peers || !links || !events) {
		cJSON_Delete(o);
		cJSON_Delete(peers);
		cJSON_Delete(links);
		cJSON_Delete(events);
		return NULL;
	}
	bool ok = true;
	uint32_t np = clamp_u32(r->npeers, RUN_MAX_PEERS);
	for (uint32_t k = 0; k < np; k++)
		ok &= push(peers, json_peer(&r->peers[k]));
	for (uint32_t i = 0; r->links && i < r->nlinks; i++)
		ok &= push(links, json_link(&r->links[i]));
	uint32_t nlog = clamp_u32(r->nlog, RUN_MAX_LOG);
	for (uint32_t i = 0; i < nlog; i++) {
		cJSON *e = cJSON_CreateObject();
		if (e) {
			bool eok = put(e, "t_s", json_round3(r->log[i].t_s));
			eok &= put(e, "what", cJSON_CreateString(r->log[i].what));
			if (!eok) {
				cJSON_Delete(e);
				e = NULL;
			}
		}
		ok &= push(events, e);
	}
	ok &= put(o, "version", r->version ? cJSON_CreateString(r->version) : cJSON_CreateNull());
	ok &= put(o, "seed", json_u64(r->seed));
	ok &= put(o, "duration_s", json_round3(r->duration_s));
	ok &= put(o, "netcode", r->netcode ? cJSON_CreateString(r->netcode) : cJSON_CreateNull());
	ok &= put(o, "peers", peers);
	ok &= put(o, "links", links);
	cJSON *wire = cJSON_CreateObject();
	if (wire) {
		ok &= put(wire, "received", json_u64(r->wire.received));
		ok &= put(wire, "strays", json_u64(r->wire.strays));
		ok &= put(wire, "pool_full", json_u64(r->wire.pool_full));
		ok &= put(wire, "unroutable", json_u64(r->wire.unroutable));
		ok &= put(wire, "send_errors", json_u64(r->wire.send_errors));
		ok &= put(wire, "kernel_drops", json_u64(r->wire.kernel_drops));
		ok &= put(wire, "spoofed", json_u64(r->wire.spoofed));
		ok &= put(wire, "replayed", json_u64(r->wire.replayed));
		ok &= put(wire, "unreplayed", json_u64(r->wire.unreplayed));
		struct behind b;
		find_behind(r, &b);
		ok &= put(wire, "lateness_ms", json_delay(&b.all));
		ok &= put(wire, "fell_behind", json_fell_behind(&b));
	}
	ok &= put(o, "wire", wire);
	cJSON *misfits = cJSON_CreateArray();
	for (uint32_t i = 0; misfits && i < r->nmisfits; i++) {
		const struct misfit *m = &r->misfits[i];
		cJSON *e = cJSON_CreateObject();
		bool eok = e != NULL;
		eok &= put(e, "peer", m->peer >= 0 ? cJSON_CreateNumber(m->peer) : cJSON_CreateNull());
		eok &= put(e, "kind", cJSON_CreateString(m->kind));
		eok &= put(e, "count", json_u64(m->count));
		eok &= put(e, "fails", cJSON_CreateBool(m->fails));
		eok &= put(e, "what", cJSON_CreateString(m->text));
		if (!eok) {
			cJSON_Delete(e);
			e = NULL;
		}
		ok &= push(misfits, e);
	}
	ok &= put(o, "misfits", misfits);
	ok &= put(o, "desync", json_desync(r));
	ok &= put(o, "events", events);
	if (r->log_dropped)
		ok &= put(o, "events_dropped", cJSON_CreateNumber(r->log_dropped));
	ok &= put(o, "verdict", cJSON_CreateString(verdict_name(r->verdict.kind)));
	ok &= put(o, "exit_code", cJSON_CreateNumber(r->exit_code));
	ok &= put(o, "reason", cJSON_CreateString(r->reason));
	ok &= put(o, "also", r->verdict.also[0] ? cJSON_CreateString(r->verdict.also) : cJSON_CreateNull());
	ok &= put(o, "workdir", r->workdir[0] ? cJSON_CreateString(r->workdir) : cJSON_CreateNull());
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int emit_text(FILE *f, const void *ctx)
{
	if (fputs(ctx, f) == EOF || fputc('\n', f) == EOF)
		return errno ? -errno : -EIO;
	return 0;
}

int report_write_json(const struct run_result *r, const char *path, char *err, size_t errlen)
{
	assert(r && path);
	/* Build and print first, so that running out of memory leaves no file behind at all. */
	cJSON *root = json_report(r);
	char *text = root ? cJSON_Print(root) : NULL;
	cJSON_Delete(root);
	if (!text) {
		set_err(err, errlen, path, strerror(ENOMEM));
		return -1;
	}
	int rc = write_atomic(path, emit_text, text, err, errlen);
	cJSON_free(text);
	return rc;
}

/* ---- JUnit XML ---- */

void report_xml_escape(FILE *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&apos;", out); break;
		case '\t':
		case '\n':
		case '\r': fprintf(out, "&#%u;", (unsigned)*p); break;
		default: fputc(*p < 0x20 ? '?' : *p, out); break;
		}
	}
}

/* JUnit readers choke on "nan" and negative times. */
static double junit_time(double s)
{
	return isfinite(s) && s > 0 ? s : 0;
}

static int emit_junit(FILE *f, const void *ctx)
{
	const struct run_result *r = ctx;
	uint32_t np = clamp_u32(r->npeers, RUN_MAX_PEERS);
	unsigned failures = r->desync.found ? 1 : 0, errors = 0;
	for (uint32_t k = 0; k < np; k++)
		failures += peer_failed(&r->peers[k]);
	if (r->verdict.kind == VERDICT_INTERRUPTED)
		errors++;
	else if (r->verdict.kind != VERDICT_CLEAN && r->verdict.kind != VERDICT_NETWORK_ONLY)
		failures++;
	unsigned tests = np + 2;
	double t = junit_time(r->duration_s);

	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fprintf(f, "<testsuites name=\"loopsim\" tests=\"%u\" failures=\"%u\" errors=\"%u\" time=\"%.3f\">\n", tests,
		failures, errors, t);
	fprintf(f, "  <testsuite name=\"loopsim\" tests=\"%u\" failures=\"%u\" errors=\"%u\" skipped=\"0\" time=\"%.3f\">\n",
		tests, failures, errors, t);

	for (uint32_t k = 0; k < np; k++) {
		const struct run_peer *p = &r->peers[k];
		char addr[WIRE_ADDR_STRLEN], status[32];
		fprintf(f, "    <testcase classname=\"loopsim.peers\" name=\"peer %" PRIu32 " (%s)\"", p->index,
			wire_addr_str(addr, sizeof addr, p->addr, 0));
		if (!peer_failed(p)) {
			fputs("/>\n", f);
			continue;
		}
		describe_exit(status, sizeof status, p->exit_status);
		fputs(">\n      <failure message=\"", f);
		report_xml_escape(f, p->problem[0] ? p->problem : status);
		fprintf(f, "\">%s, %" PRIu32 " frames, confirmed frame %" PRId64, status, p->frames, p->confirmed_frame);
		fputs("</failure>\n    </testcase>\n", f);
	}

	fputs("    <testcase classname=\"loopsim.oracle\" name=\"desync check\"", f);
	if (r->desync.found) {
		const struct run_desync *d = &r->desync;
		char what[768];
		describe_desync(what, sizeof what, d);
		fputs(">\n      <failure message=\"desync ", f);
		report_xml_escape(f, what);
		fputs("\">", f);
		for (uint32_t k = 0; k < np; k++)
			if (d->known_mask >> k & 1)
				fprintf(f, "peer %" PRIu32 " checksum %016" PRIx64 "\n", k, d->checksum[k]);
		if (d->bundle[0]) {
			fputs("bundle: ", f);
			report_xml_escape(f, d->bundle);
			fputc('\n', f);
		}
		fputs("</failure>\n    </testcase>\n", f);
	} else {
		fputs("/>\n", f);
	}

	/* The run's verdict as a testcase of its own: green only when exit 0 means what it promises. */
	fputs("    <testcase classname=\"loopsim.run\" name=\"verdict\"", f);
	if (r->verdict.kind == VERDICT_CLEAN || r->verdict.kind == VERDICT_NETWORK_ONLY) {
		fputs("/>\n", f);
	} else {
		const char *tag = r->verdict.kind == VERDICT_INTERRUPTED ? "error" : "failure";
		fprintf(f, ">\n      <%s type=\"%s\" message=\"", tag, verdict_name(r->verdict.kind));
		report_xml_escape(f, r->reason);
		fprintf(f, "\">exit %d", r->exit_code);
		if (r->verdict.also[0]) {
			fputs("; also: ", f);
			report_xml_escape(f, r->verdict.also);
		}
		fprintf(f, "</%s>\n    </testcase>\n", tag);
	}

	fputs("    <system-out>", f);
	report_xml_escape(f, r->reason);
	fputs("</system-out>\n  </testsuite>\n</testsuites>\n", f);
	return 0;
}

int report_write_junit(const struct run_result *r, const char *path, char *err, size_t errlen)
{
	assert(r && path);
	return write_atomic(path, emit_junit, r, err, errlen);
}

/* ---- Terminal summary ---- */

/* The summary's first line: the verdict, and what decided it. */
static void print_verdict(const struct run_result *r, FILE *out)
{
	uint32_t np = clamp_u32(r->npeers, RUN_MAX_PEERS);
	switch (r->verdict.kind) {
	case VERDICT_DESYNC: {
		char what[768];
		describe_desync(what, sizeof what, &r->desync);
		fprintf(out, "DESYNC %s\n", what);
		break;
	}
	case VERDICT_CLEAN: {
		/* The frames every peer reached: the least of them; and the least any peer had compared. */
		uint32_t frames = 0;
		uint64_t compared = UINT64_MAX;
		for (uint32_t k = 0; k < np; k++) {
			if (k == 0 || r->peers[k].frames < frames)
				frames = r->peers[k].frames;
			if (r->peers[k].compared && r->peers[k].compared < compared)
				compared = r->peers[k].compared;
		}
		fprintf(out, "clean: %" PRIu32 " peers, %" PRIu32 " frames, every peer compared (at least %" PRIu64
			     " frames each), no desync\n",
			np, frames, compared == UINT64_MAX ? 0 : compared);
		break;
	}
	case VERDICT_NETWORK_ONLY:
		fprintf(out, "network-only: %s\n", r->reason);
		break;
	case VERDICT_FAILED:
		fprintf(out, "FAILED: %s\n", r->reason[0] ? r->reason : "a runtime failure");
		break;
	case VERDICT_INTERRUPTED:
		fprintf(out, "INTERRUPTED: %s\n", r->reason);
		break;
	case VERDICT_UNCHECKED:
		fprintf(out, "UNCHECKED: %s\n", r->reason);
		break;
	case VERDICT_SPLIT:
		fprintf(out, "SPLIT: %s\n", r->reason);
		break;
	}
	if (r->verdict.also[0])
		fprintf(out, "  also: %s\n", r->verdict.also);
	fprintf(out, "  exit %d (%s)\n", r->exit_code, verdict_name(r->verdict.kind));
}

static void print_peer_row(const struct run_result *r, const struct run_peer *p, FILE *out)
{
	char addr[WIRE_ADDR_STRLEN], confirmed[24], rtt[24], status[32];
	if (p->confirmed_frame < 0)
		snprintf(confirmed, sizeof confirmed, "-");
	else
		snprintf(confirmed, sizeof confirmed, "%" PRId64, p->confirmed_frame);
	if (isfinite(p->rtt_ms) && p->rtt_ms >= 0)
		snprintf(rtt, sizeof rtt, "%.1f", p->rtt_ms);
	else
		snprintf(rtt, sizeof rtt, "-");
	bool odd = r->desync.found && in_minority(&r->desync, p->index);
	fprintf(out, "%c%4" PRIu32 "  %-15s %7" PRIu32 " %9s %9" PRIu64 " %6" PRIu32 " %6" PRIu64 " %7s  %s%s%s\n",
		odd ? '*' : ' ', p->index, wire_addr_str(addr, sizeof addr, p->addr, 0), p->frames, confirmed,
		p->rollbacks, p->max_rollback, p->stalls, rtt, describe_exit(status, sizeof status, p->exit_status),
		p->problem[0] ? ": " : "", p->problem);
}

static void print_peers(const struct run_result *r, FILE *out)
{
	uint32_t np = clamp_u32(r->npeers, RUN_MAX_PEERS);
	if (np == 0)
		return;
	/* When the table must be cut, the peers worth a look come first: failed, or in the minority. */
	bool show[RUN_MAX_PEERS] = { false };
	uint32_t shown = 0;
	for (uint32_t k = 0; k < np && shown < SUMMARY_MAX_PEER_ROWS; k++) {
		const struct run_peer *p = &r->peers[k];
		if (peer_failed(p) || (r->desync.found && in_minority(&r->desync, p->index))) {
			show[k] = true;
			shown++;
		}
	}
	for (uint32_t k = 0; k < np && shown < SUMMARY_MAX_PEER_ROWS; k++) {
		if (!show[k]) {
			show[k] = true;
			shown++;
		}
	}
	fputs(" peer  addr             frames confirmed rollbacks max rb stalls  rtt ms  status\n", out);
	for (uint32_t k = 0; k < np; k++)
		if (show[k])
			print_peer_row(r, &r->peers[k], out);
	if (shown < np) {
		/* More than a table's worth of failed peers: say so rather than call the rest fine. */
		uint32_t hidden_bad = 0;
		for (uint32_t k = 0; k < np; k++)
			hidden_bad += !show[k] && peer_failed(&r->peers[k]);
		if (hidden_bad)
			fprintf(out, "  (%" PRIu32 " more peers, %" PRIu32 " of them failed; see the report)\n", np - shown,
				hidden_bad);
		else
			fprintf(out, "  (%" PRIu32 " more peers, all without problems; see the report)\n", np - shown);
	}
}

static void print_ms3(FILE *out, uint64_t us)
{
	fprintf(out, "%" PRIu64 ".%03u ms", us / 1000, (unsigned)(us % 1000));
}

static uint64_t link_dropped(const struct wire_link_stats *s)
{
	uint64_t n = 0;
	for (int k = 0; k < WIRE_FATE_COUNT; k++)
		if (k != WIRE_FATE_DELIVER)
			n += s->dropped[k];
	return n;
}

/*
 * How late the wire sent: the end of the delay line when it kept up, or a
 * line of its own saying that it fell behind, and by how much, when some
 * link's lateness p99 passed WIRE_BEHIND_US.
 */
static void print_behind(const struct run_result *r, FILE *out)
{
	struct behind b;
	find_behind(r, &b);
	if (!b.all.count) {
		fputc('\n', out);
		return;
	}
	uint64_t p99 = wire_hist_quantile(&b.all, 0.99);
	if (!b.links) {
		fputs(", sent after due by p99 ", out);
		print_ms3(out, p99);
		fputs(" (max ", out);
		print_ms3(out, b.all.max_us);
		fputs(")\n", out);
		return;
	}
	fprintf(out, "\nthe wire FELL BEHIND: %" PRIu32 " of %" PRIu32 " links sent late by more than ", b.links, r->nlinks);
	print_ms3(out, WIRE_BEHIND_US);
	fprintf(out, " at p99, worst %" PRIu32 "->%" PRIu32 " by ", b.worst->from, b.worst->to);
	print_ms3(out, b.worst_p99);
	fputs("; over all links p99 ", out);
	print_ms3(out, p99);
	fputs(", max ", out);
	print_ms3(out, b.all.max_us);
	fputc('\n', out);
}

static void print_links(const struct run_result *r, FILE *out)
{
	if (!r->links || r->nlinks == 0)
		return;
	struct wire_link_stats tot = { 0 };
	struct wire_hist delay = { 0 }; /* every link's, merged */
	const struct run_link *worst = NULL;
	double worst_loss = -1;
	uint64_t worst_p99 = 0;
	for (uint32_t i = 0; i < r->nlinks; i++) {
		const struct wire_link_stats *s = &r->links[i].stats;
		tot.sent += s->sent;
		tot.delivered += s->delivered;
		tot.duplicated += s->duplicated;
		tot.reordered += s->reordered;
		tot.corrupted += s->corrupted;
		for (int k = 0; k < WIRE_FATE_COUNT; k++)
			tot.dropped[k] += s->dropped[k];
		wire_hist_merge(&delay, &r->links[i].delay);
		/* The worst link loses the largest share; among equals, the slowest p99. */
		if (s->sent == 0)
			continue;
		double loss = (double)link_dropped(s) / (double)s->sent;
		uint64_t p99 = wire_hist_quantile(&r->links[i].delay, 0.99);
		if (loss > worst_loss || (loss == worst_loss && p99 > worst_p99)) {
			worst = &r->links[i];
			worst_loss = loss;
			worst_p99 = p99;
		}
	}
	fprintf(out, "links: %" PRIu64 " sent, %" PRIu64 " delivered, %" PRIu64 " duplicated, %" PRIu64
		     " reordered, %" PRIu64 " corrupted\n",
		tot.sent, tot.delivered, tot.duplicated, tot.reordered, tot.corrupted);
	fprintf(out, "dropped: %" PRIu64 " (", link_dropped(&tot));
	for (int k = 0, first = 1; k < WIRE_FATE_COUNT; k++) {
		if (k == WIRE_FATE_DELIVER)
			continue;
		fprintf(out, "%s%s %" PRIu64, first ? "" : ", ", wire_fate_name((enum wire_fate_kind)k), tot.dropped[k]);
		first = 0;
	}
	fputs(")\n", out);
	const struct run_wire *w = &r->wire;
	if (w->strays || w->spoofed || w->pool_full || w->unroutable || w->send_errors || w->kernel_drops)
		fprintf(out,
			"outside the links: %" PRIu64 " strays, %" PRIu64 " spoofed, %" PRIu64
			" refused by the full in-flight pool, %" PRIu64 " unroutable, %" PRIu64 " send errors, %" PRIu64
			" dropped by the kernel\n",
			w->strays, w->spoofed, w->pool_full, w->unroutable, w->send_errors, w->kernel_drops);
	for (uint32_t i = 0; i < r->nmisfits; i++)
		fprintf(out, "%s: %s\n", r->misfits[i].fails ? "MISFIT" : "note", r->misfits[i].text);
	if (w->replayed || w->unreplayed)
		fprintf(out, "replayed: %" PRIu64 " datagrams given their logged fate, %" PRIu64 " not in the log\n",
			w->replayed, w->unreplayed);
	if (delay.count) {
		fputs("delay: p50 ", out);
		print_ms3(out, wire_hist_quantile(&delay, 0.5));
		fputs(", p90 ", out);
		print_ms3(out, wire_hist_quantile(&delay, 0.9));
		fputs(", p99 ", out);
		print_ms3(out, wire_hist_quantile(&delay, 0.99));
		fputs(", p99.9 ", out);
		print_ms3(out, wire_hist_quantile(&delay, 0.999));
		fputs(", max ", out);
		print_ms3(out, delay.max_us);
		fputs(" over all links", out);
		print_behind(r, out);
	}
	if (worst) {
		fprintf(out, "worst link %" PRIu32 "->%" PRIu32 ": %.1f%% dropped", worst->from, worst->to,
			100 * worst_loss);
		if (worst->delay.count) {
			fputs(", p99 ", out);
			print_ms3(out, worst_p99);
		}
		fputc('\n', out);
	}
}

/* The round trips the peers measured per pair, when they reported them: the slowest and the quickest. */
static void print_rtt_pairs(const struct run_result *r, FILE *out)
{
	const struct run_link *slow = NULL, *quick = NULL;
	for (uint32_t i = 0; i < r->nlinks; i++) {
		const struct run_link *l = &r->links[i];
		if (!l->rtt_known)
			continue;
		if (!slow || l->rtt_ms > slow->rtt_ms)
			slow = l;
		if (!quick || l->rtt_ms < quick->rtt_ms)
			quick = l;
	}
	if (slow)
		fprintf(out,
			"rtt per pair, as each sender measured it: slowest %" PRIu32 "->%" PRIu32 " %.1f ms, quickest "
			"%" PRIu32 "->%" PRIu32 " %.1f ms\n",
			slow->from, slow->to, slow->rtt_ms, quick->from, quick->to, quick->rtt_ms);
}

void report_print_summary(const struct run_result *r, FILE *out)
{
	assert(r && out);
	print_verdict(r, out);
	print_peers(r, out);
	print_links(r, out);
	print_rtt_pairs(r, out);
	if (r->desync.found && r->desync.bundle[0])
		fprintf(out, "bundle: %s\n", r->desync.bundle);
	if (r->workdir[0])
		fprintf(out, "peer logs: %s/peer-K.log\n", r->workdir);
}
