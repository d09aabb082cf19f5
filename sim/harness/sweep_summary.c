// SPDX-License-Identifier: MIT
// A sweep's records and summary: runs read from their reports, verdicts counted, failures grouped by signature, merged.
#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/outfile.h"
#include "harness/report.h"
#include "harness/sweep.h"
#include "harness/verdict.h"

/* The verdicts in the order summary.json counts them. */
static const enum verdict_kind count_order[] = { VERDICT_CLEAN,	 VERDICT_NETWORK_ONLY, VERDICT_UNCHECKED,
						 VERDICT_SPLIT,	 VERDICT_INTERRUPTED,  VERDICT_FAILED,
						 VERDICT_DESYNC };
#define NVERDICTS (sizeof count_order / sizeof count_order[0])

/* The built-in game's pace: a desync's frame as a time when its report does not say when the frame ran. */
#define SWEEP_FRAMES_PER_S 60.0

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0)
			break;
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

static cJSON *parse_file(const char *path)
{
	char *text = slurp(path);
	cJSON *j = text ? cJSON_Parse(text) : NULL;
	free(text);
	return j;
}

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num_of(const cJSON *o, const char *key, double def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

cJSON *sweep_record(const struct sweep_run_id *id, const char *scenario, const char *dir, const char *report_path,
		    int wstatus, const struct sweep_fault *faults, size_t nfaults, const char *replay)
{
	cJSON *r = cJSON_CreateObject();
	if (!r)
		return NULL;
	cJSON_AddNumberToObject(r, "index", (double)id->index);
	cJSON_AddStringToObject(r, "scenario", scenario);
	cJSON_AddNumberToObject(r, "seed", (double)id->seed);
	cJSON_AddNumberToObject(r, "repeat", id->repeat);
	cJSON_AddStringToObject(r, "dir", dir);

	cJSON *rep = parse_file(report_path);
	const char *verdict = rep ? str_of(rep, "verdict") : NULL;
	const cJSON *desync = rep ? cJSON_GetObjectItemCaseSensitive(rep, "desync") : NULL;
	char reason[VERDICT_REASON_MAX + 128];
	int code;
	double t_s;
	if (verdict) {
		code = (int)num_of(rep, "exit_code", VERDICT_EXIT_FAILED);
		snprintf(reason, sizeof reason, "%s", str_of(rep, "reason") ? str_of(rep, "reason") : "");
		t_s = num_of(rep, "duration_s", 0);
	} else {
		/* No report: the run itself broke (a crash, or killed from outside). That is a failed run, not the sweep's end. */
		verdict = verdict_name(VERDICT_FAILED);
		code = VERDICT_EXIT_FAILED;
		if (WIFSIGNALED(wstatus))
			snprintf(reason, sizeof reason, "loopsim run was killed by signal %d and wrote no report (see %s/run.log)",
				 WTERMSIG(wstatus), dir);
		else
			snprintf(reason, sizeof reason, "loopsim run exited with %d and wrote no report (see %s/run.log)",
				 WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1, dir);
		t_s = 0;
	}
	cJSON_AddStringToObject(r, "verdict", verdict);
	cJSON_AddNumberToObject(r, "exit_code", code);
	cJSON_AddStringToObject(r, "reason", reason);
	if (cJSON_IsObject(desync)) {
		double frame = num_of(desync, "frame", 0);
		const char *field = str_of(desync, "field"), *bundle = str_of(desync, "bundle");
		cJSON_AddNumberToObject(r, "frame", frame);
		cJSON *minority = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(desync, "peers"), true);
		cJSON_AddItemToObject(r, "minority", minority ? minority : cJSON_CreateArray());
		if (field)
			cJSON_AddStringToObject(r, "field", field);
		else
			cJSON_AddNullToObject(r, "field");
		if (bundle) {
			char rel[600];
			snprintf(rel, sizeof rel, "%s/bundle", dir);
			cJSON_AddStringToObject(r, "bundle", rel);
		} else {
			cJSON_AddNullToObject(r, "bundle");
		}
		/* When the divergent frame ran, as the run measured it; a report without it, at 60 frames a second. */
		const cJSON *ran = cJSON_GetObjectItemCaseSensitive(desync, "t_s");
		t_s = cJSON_IsNumber(ran) ? ran->valuedouble : frame / SWEEP_FRAMES_PER_S;
	} else {
		cJSON_AddNullToObject(r, "frame");
		cJSON_AddNullToObject(r, "minority");
		cJSON_AddNullToObject(r, "field");
		cJSON_AddNullToObject(r, "bundle");
	}
	cJSON_AddStringToObject(r, "fault", sweep_fault_at(faults, nfaults, t_s));
	cJSON_AddStringToObject(r, "replay", replay);
	cJSON_Delete(rep);
	return r;
}

/* Digits (and a decimal part) become '#': the same bug in another peer, entity or second reads the same. */
static void strip_numbers(const char *in, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = in; *p && n + 1 < cap;) {
		if (isdigit((unsigned char)*p)) {
			while (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1])))
				p++;
			out[n++] = '#';
		} else {
			out[n++] = *p++;
		}
	}
	out[n] = '\0';
}

static bool is_failure(const char *verdict)
{
	return verdict && strcmp(verdict, verdict_name(VERDICT_CLEAN)) != 0 &&
	       strcmp(verdict, verdict_name(VERDICT_NETWORK_ONLY)) != 0 &&
	       strcmp(verdict, verdict_name(VERDICT_INTERRUPTED)) != 0;
}

/* The part of a signature that says what failed: a desync's field without values, or a reason. */
static void signature_what(const cJSON *run, char *out, size_t cap)
{
	const char *verdict = str_of(run, "verdict");
	char buf[VERDICT_REASON_MAX + 128];
	if (strcmp(verdict, verdict_name(VERDICT_DESYNC)) == 0) {
		const char *field = str_of(run, "field");
		if (!field) {
			snprintf(out, cap, "field unknown");
			return;
		}
		/* "ship 2.x: 1234 != 1240": the entity and field, not the values. */
		snprintf(buf, sizeof buf, "%s", field);
		char *colon = strchr(buf, ':');
		if (colon)
			*colon = '\0';
	} else {
		snprintf(buf, sizeof buf, "%s", str_of(run, "reason") ? str_of(run, "reason") : "");
	}
	strip_numbers(buf, out, cap);
}

void sweep_signature(const cJSON *run, char *out, size_t cap)
{
	const char *verdict = str_of(run, "verdict");
	out[0] = '\0';
	if (!is_failure(verdict))
		return;
	char what[VERDICT_REASON_MAX + 128];
	signature_what(run, what, sizeof what);
	const char *fault = str_of(run, "fault");
	snprintf(out, cap, "%s: %s (fault: %s)", verdict, what, fault ? fault : "none");
}

static int run_cmp(const void *a, const void *b)
{
	double x = num_of(*(cJSON *const *)a, "index", 0), y = num_of(*(cJSON *const *)b, "index", 0);
	return x < y ? -1 : x > y;
}

static int sig_cmp(const void *a, const void *b)
{
	const cJSON *x = *(cJSON *const *)a, *y = *(cJSON *const *)b;
	double cx = num_of(x, "count", 0), cy = num_of(y, "count", 0);
	if (cx != cy)
		return cx > cy ? -1 : 1;
	return strcmp(str_of(x, "signature"), str_of(y, "signature"));
}

static bool same_case(const cJSON *a, const cJSON *b)
{
	return num_of(a, "seed", -1) == num_of(b, "seed", -2) && strcmp(str_of(a, "scenario"), str_of(b, "scenario")) == 0;
}

/* Sorted runs out of an array: a new array of the same items, in index order. */
static cJSON **sorted_runs(cJSON *runs, size_t *n)
{
	*n = (size_t)cJSON_GetArraySize(runs);
	cJSON **v = calloc(*n ? *n : 1, sizeof *v);
	if (!v)
		return NULL;
	size_t i = 0;
	for (cJSON *it = runs ? runs->child : NULL; it; it = it->next)
		v[i++] = it;
	qsort(v, *n, sizeof *v, run_cmp);
	return v;
}

static int double_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Sorts an array of numbers in place. */
static void sort_numbers(cJSON *arr)
{
	int n = cJSON_GetArraySize(arr), i = 0;
	double *v = malloc((size_t)(n ? n : 1) * sizeof *v);
	if (!v)
		return;
	for (cJSON *x = arr->child; x; x = x->next)
		v[i++] = x->valuedouble;
	qsort(v, (size_t)n, sizeof *v, double_cmp);
	i = 0;
	for (cJSON *x = arr->child; x; x = x->next)
		cJSON_SetNumberValue(x, v[i++]);
	free(v);
}

static cJSON *build_signatures(cJSON *const *runs, size_t n)
{
	cJSON *sigs = cJSON_CreateArray();
	char sig[VERDICT_REASON_MAX + 256];
	size_t ngroups = 0;
	cJSON **groups = calloc(n ? n : 1, sizeof *groups);
	if (!sigs || !groups) {
		cJSON_Delete(sigs);
		free(groups);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		sweep_signature(runs[i], sig, sizeof sig);
		if (!sig[0])
			continue;
		cJSON *g = NULL;
		for (size_t k = 0; k < ngroups && !g; k++)
			if (strcmp(str_of(groups[k], "signature"), sig) == 0)
				g = groups[k];
		if (!g) {
			char what[VERDICT_REASON_MAX + 128];
			signature_what(runs[i], what, sizeof what);
			g = groups[ngroups++] = cJSON_CreateObject();
			if (!g)
				continue;
			cJSON_AddStringToObject(g, "signature", sig);
			cJSON_AddStringToObject(g, "verdict", str_of(runs[i], "verdict"));
			cJSON_AddStringToObject(g, "what", what);
			cJSON_AddStringToObject(g, "fault", str_of(runs[i], "fault") ? str_of(runs[i], "fault") : "none");
			cJSON_AddNumberToObject(g, "count", 0);
			cJSON_AddItemToObject(g, "runs", cJSON_CreateArray());
			cJSON_AddItemToObject(g, "seeds", cJSON_CreateArray());
			cJSON_AddItemToObject(g, "reproduced", cJSON_CreateArray());
		}
		cJSON *count = cJSON_GetObjectItemCaseSensitive(g, "count");
		cJSON_SetNumberValue(count, count->valuedouble + 1);
		cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(g, "runs"),
				     cJSON_CreateNumber(num_of(runs[i], "index", 0)));
		/* Seeds once each (sorted below). */
		cJSON *seeds = cJSON_GetObjectItemCaseSensitive(g, "seeds");
		double seed = num_of(runs[i], "seed", 0);
		bool have = false;
		for (cJSON *x = seeds->child; x && !have; x = x->next)
			have = x->valuedouble == seed;
		if (!have)
			cJSON_AddItemToArray(seeds, cJSON_CreateNumber(seed));
		/* How often this (scenario, seed) reproduced it, out of its runs in the summary. */
		cJSON *rep = cJSON_GetObjectItemCaseSensitive(g, "reproduced"), *c = NULL;
		for (cJSON *x = rep->child; x && !c; x = x->next)
			if (same_case(x, runs[i]))
				c = x;
		if (!c) {
			c = cJSON_CreateObject();
			cJSON_AddStringToObject(c, "scenario", str_of(runs[i], "scenario"));
			cJSON_AddNumberToObject(c, "seed", seed);
			cJSON_AddNumberToObject(c, "hits", 0);
			unsigned of = 0;
			for (size_t k = 0; k < n; k++)
				of += same_case(runs[k], runs[i]);
			cJSON_AddNumberToObject(c, "of", of);
			cJSON_AddItemToArray(rep, c);
		}
		cJSON *hits = cJSON_GetObjectItemCaseSensitive(c, "hits");
		cJSON_SetNumberValue(hits, hits->valuedouble + 1);
	}
	for (size_t k = 0; k < ngroups; k++)
		if (groups[k])
			sort_numbers(cJSON_GetObjectItemCaseSensitive(groups[k], "seeds"));
	qsort(groups, ngroups, sizeof *groups, sig_cmp);
	for (size_t k = 0; k < ngroups; k++)
		if (groups[k])
			cJSON_AddItemToArray(sigs, groups[k]);
	free(groups);
	return sigs;
}

cJSON *sweep_summary(const cJSON *header, uint32_t shard, uint32_t nshards, cJSON *runs)
{
	cJSON *s = cJSON_CreateObject();
	size_t n = 0;
	cJSON **v = runs ? sorted_runs(runs, &n) : NULL;
	if (!s || !runs || !v) {
		cJSON_Delete(s);
		cJSON_Delete(runs);
		free(v);
		return NULL;
	}
	/* Rebuild the array in index order. */
	cJSON *ordered = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(ordered, cJSON_DetachItemViaPointer(runs, v[i]));
	cJSON_Delete(runs);

	cJSON_AddStringToObject(s, "version", LOOPSIM_VERSION);
	cJSON_AddItemToObject(s, "sweep", cJSON_Duplicate(header, true));
	if (nshards > 1) {
		cJSON *sh = cJSON_AddObjectToObject(s, "shard");
		cJSON_AddNumberToObject(sh, "index", shard);
		cJSON_AddNumberToObject(sh, "count", nshards);
	}
	cJSON *counts = cJSON_CreateObject();
	unsigned c[NVERDICTS] = { 0 };
	for (size_t i = 0; i < n; i++) {
		const char *verdict = str_of(v[i], "verdict");
		size_t k = 0;
		while (k < NVERDICTS && (!verdict || strcmp(verdict, verdict_name(count_order[k])) != 0))
			k++;
		c[k < NVERDICTS ? k : NVERDICTS - 2]++; /* an unknown verdict counts as failed */
	}
	for (size_t k = 0; k < NVERDICTS; k++)
		cJSON_AddNumberToObject(counts, verdict_name(count_order[k]), c[k]);
	uint64_t total = (uint64_t)num_of(header, "runs_total", 0);
	uint64_t scope = sweep_shard_count(total, shard, nshards ? nshards : 1);
	cJSON_AddNumberToObject(s, "runs_done", (double)n);
	cJSON_AddNumberToObject(s, "missing", scope > n ? (double)(scope - n) : 0);
	cJSON_AddItemToObject(s, "counts", counts);
	cJSON_AddItemToObject(s, "signatures", build_signatures(v, n));
	cJSON_AddItemToObject(s, "runs", ordered);
	free(v);
	cJSON_AddNumberToObject(s, "exit_code", sweep_summary_exit(s));
	return s;
}

int sweep_summary_exit(const cJSON *summary)
{
	const cJSON *counts = cJSON_GetObjectItemCaseSensitive(summary, "counts");
	if (num_of(counts, "desync", 0) > 0)
		return VERDICT_EXIT_DESYNC;
	static const char *const failing[] = { "failed", "split", "unchecked", "interrupted" };
	for (size_t i = 0; i < sizeof failing / sizeof failing[0]; i++)
		if (num_of(counts, failing[i], 0) > 0)
			return VERDICT_EXIT_FAILED;
	return num_of(summary, "missing", 0) > 0 ? VERDICT_EXIT_FAILED : VERDICT_EXIT_CLEAN;
}

cJSON *sweep_merge(const cJSON *const *summaries, const char *const *which, size_t n, char *err, size_t errlen)
{
	if (n == 0) {
		snprintf(err, errlen, "nothing to merge");
		return NULL;
	}
	const cJSON *header = cJSON_GetObjectItemCaseSensitive(summaries[0], "sweep");
	if (!cJSON_IsObject(header)) {
		snprintf(err, errlen, "%s: not a sweep summary (no \"sweep\" object)", which[0]);
		return NULL;
	}
	uint64_t total = (uint64_t)num_of(header, "runs_total", 0);
	const char **owner = calloc(total ? total : 1, sizeof *owner);
	cJSON *runs = cJSON_CreateArray();
	if (!owner || !runs) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(summaries[i], "sweep");
		if (!cJSON_IsObject(h)) {
			snprintf(err, errlen, "%s: not a sweep summary (no \"sweep\" object)", which[i]);
			goto fail;
		}
		if (!cJSON_Compare(h, header, true)) {
			snprintf(err, errlen, "%s is from another sweep than %s (scenarios, seeds, repeat, chaos or "
					      "--network-only differ)", which[i], which[0]);
			goto fail;
		}
		const cJSON *rs = cJSON_GetObjectItemCaseSensitive(summaries[i], "runs");
		const cJSON *r;
		cJSON_ArrayForEach(r, rs)
		{
			double idx = num_of(r, "index", -1);
			if (idx < 0 || idx >= (double)total || !str_of(r, "verdict") || !str_of(r, "scenario")) {
				snprintf(err, errlen, "%s: a run record without a valid index, scenario and verdict", which[i]);
				goto fail;
			}
			if (owner[(uint64_t)idx]) {
				snprintf(err, errlen, "run %.0f is in both %s and %s (the same shard given twice?)", idx,
					 owner[(uint64_t)idx], which[i]);
				goto fail;
			}
			owner[(uint64_t)idx] = which[i];
			cJSON_AddItemToArray(runs, cJSON_Duplicate(r, true));
		}
	}
	free(owner);
	cJSON *s = sweep_summary(header, 0, 1, runs);
	if (!s)
		snprintf(err, errlen, "out of memory");
	return s;
fail:
	free(owner);
	cJSON_Delete(runs);
	return NULL;
}

/* ---- outputs ------------------------------------------------------------------------------------------- */

static int write_text(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
	struct outfile of;
	if (outfile_open(&of, path, err, errlen) < 0)
		return -1;
	outfile_write(&of, text, len);
	return outfile_commit(&of, err, errlen) < 0 ? -1 : 0;
}

static void junit_case(FILE *f, const cJSON *run, uint32_t repeat)
{
	const char *verdict = str_of(run, "verdict"), *reason = str_of(run, "reason");
	char name[128];
	if (repeat > 1)
		snprintf(name, sizeof name, "seed %.0f #%.0f", num_of(run, "seed", 0), num_of(run, "repeat", 0) + 1);
	else
		snprintf(name, sizeof name, "seed %.0f", num_of(run, "seed", 0));
	fputs("    <testcase classname=\"loopsim.sweep.", f);
	report_xml_escape(f, str_of(run, "scenario"));
	fputs("\" name=\"", f);
	report_xml_escape(f, name);
	fputs("\">\n", f);
	if (is_failure(verdict) || strcmp(verdict, verdict_name(VERDICT_INTERRUPTED)) == 0) {
		bool desync = strcmp(verdict, verdict_name(VERDICT_DESYNC)) == 0;
		char msg[VERDICT_REASON_MAX + 256];
		if (desync)
			snprintf(msg, sizeof msg, "desync at frame %.0f: %s", num_of(run, "frame", 0),
				 str_of(run, "field") ? str_of(run, "field") : "field unknown");
		else
			snprintf(msg, sizeof msg, "%s: %s", verdict, reason ? reason : "");
		fprintf(f, "      <%s message=\"", desync ? "failure" : "error");
		report_xml_escape(f, msg);
		fprintf(f, "\" type=\"%s\">", verdict);
		report_xml_escape(f, reason ? reason : "");
		fprintf(f, "</%s>\n", desync ? "failure" : "error");
	}
	fputs("      <system-out>", f);
	report_xml_escape(f, verdict);
	fputs(": ", f);
	report_xml_escape(f, reason ? reason : "");
	fputs("&#10;replay: ", f);
	report_xml_escape(f, str_of(run, "replay") ? str_of(run, "replay") : "");
	fputs("</system-out>\n    </testcase>\n", f);
}

int sweep_write_outputs(const cJSON *summary, const char *dir, char *err, size_t errlen)
{
	char path[4200];
	char *json = cJSON_Print(summary);
	if (!json) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(path, sizeof path, "%s/summary.json", dir);
	size_t len = strlen(json);
	json[len] = '\n'; /* cJSON_Print leaves the last newline out; the NUL is no longer needed */
	int rc = write_text(path, json, len + 1, err, errlen);
	cJSON_free(json);
	if (rc < 0)
		return -1;

	const cJSON *runs = cJSON_GetObjectItemCaseSensitive(summary, "runs");
	const cJSON *counts = cJSON_GetObjectItemCaseSensitive(summary, "counts");
	uint32_t repeat = (uint32_t)num_of(cJSON_GetObjectItemCaseSensitive(summary, "sweep"), "repeat", 1);
	unsigned failures = (unsigned)num_of(counts, "desync", 0), errors = 0;
	const cJSON *r;
	cJSON_ArrayForEach(r, runs)
	{
		const char *v = str_of(r, "verdict");
		errors += (is_failure(v) || strcmp(v, verdict_name(VERDICT_INTERRUPTED)) == 0) &&
			  strcmp(v, verdict_name(VERDICT_DESYNC)) != 0;
	}
	char *text = NULL;
	size_t tlen = 0;
	FILE *f = open_memstream(&text, &tlen);
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int nruns = cJSON_GetArraySize(runs);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites name=\"loopsim sweep\" tests=\"%d\" failures=\"%u\" errors=\"%u\">\n", nruns, failures,
		errors);
	fprintf(f, "  <testsuite name=\"loopsim.sweep\" tests=\"%d\" failures=\"%u\" errors=\"%u\">\n", nruns,
		failures, errors);
	cJSON_ArrayForEach(r, runs)
		junit_case(f, r, repeat);
	fprintf(f, "  </testsuite>\n</testsuites>\n");
	if (fclose(f) != 0) {
		free(text);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(path, sizeof path, "%s/junit.xml", dir);
	rc = write_text(path, text, tlen, err, errlen);
	free(text);
	return rc;
}

static int copy_file(const char *from, const char *to, mode_t mode, char *err, size_t errlen)
{
	if (link(from, to) == 0)
		return 0;
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = in >= 0 ? open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 0777) : -1;
	const char *bad = in < 0 ? from : to;
	char buf[65536];
	ssize_t got = 0;
	while (out >= 0 && (got = read(in, buf, sizeof buf)) > 0) {
		for (ssize_t off = 0; off < got;) {
			ssize_t put = write(out, buf + off, (size_t)(got - off));
			if (put < 0 && errno == EINTR)
				continue;
			if (put < 0) {
				got = -1;
				break;
			}
			off += put;
		}
		if (got < 0)
			break;
	}
	int e = errno;
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) < 0 && got == 0) {
		got = -1;
		e = errno;
	}
	if (in < 0 || out < 0 || got < 0) {
		snprintf(err, errlen, "%s: %s", bad, strerror(e));
		return -1;
	}
	return 0;
}

int sweep_copy_tree(const char *from, const char *to, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(from, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: %s", from, errno ? strerror(errno) : "not a folder");
		return -1;
	}
	if (mkdir(to, st.st_mode & 0777) < 0) {
		snprintf(err, errlen, "%s: %s", to, strerror(errno));
		return -1;
	}
	DIR *d = opendir(from);
	if (!d) {
		snprintf(err, errlen, "%s: %s", from, strerror(errno));
		return -1;
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char *src = NULL, *dst = NULL;
		if (asprintf(&src, "%s/%s", from, de->d_name) < 0 || asprintf(&dst, "%s/%s", to, de->d_name) < 0) {
			snprintf(err, errlen, "out of memory");
			rc = -1;
		} else if (lstat(src, &st) < 0) {
			snprintf(err, errlen, "%s: %s", src, strerror(errno));
			rc = -1;
		} else if (S_ISDIR(st.st_mode)) {
			rc = sweep_copy_tree(src, dst, err, errlen);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlink(src, target, sizeof target - 1);
			if (n < 0 || (target[n] = '\0', symlink(target, dst) < 0)) {
				snprintf(err, errlen, "%s: %s", dst, strerror(errno));
				rc = -1;
			}
		} else if (S_ISREG(st.st_mode)) {
			rc = copy_file(src, dst, st.st_mode, err, errlen);
		}
		free(src);
		free(dst);
	}
	closedir(d);
	return rc;
}
