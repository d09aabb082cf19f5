// SPDX-License-Identifier: MIT
// Fuzz check of the scenario loader: load, check, write resolved, load again; the two must agree.
#ifndef LOOPSIM_FUZZ_CHECK_SCENARIO_H
#define LOOPSIM_FUZZ_CHECK_SCENARIO_H

#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_link_cfg.h"
#include "harness/scenario.h"
#include "wire/link_opts.h"

enum fz_scn_verdict {
	FZ_SCN_REFUSED,   /* scn_load refused the file */
	FZ_SCN_LOADED,    /* loaded, and scn_check refused it */
	FZ_SCN_CHECKED,   /* loaded and checked */
};

/* A memfd holding exactly len bytes, and its /proc path for scn_load(). Returns the fd. */
static inline int fz_scn_memfd(const void *data, size_t len, char *path, size_t pathlen)
{
	int fd = memfd_create("loopsim-fuzz-scenario", MFD_CLOEXEC);
	FZ_REQUIRE(fd >= 0, "memfd_create failed");
	for (size_t off = 0; off < len;) {
		ssize_t n = pwrite(fd, (const char *)data + off, len - off, (off_t)off);
		FZ_REQUIRE(n > 0, "writing the memfd failed");
		off += (size_t)n;
	}
	snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	return fd;
}

/* What the loader promises of any scenario it accepts, before scn_check(). */
static inline void fz_scn_require_sane(const struct scenario *s, const char *path)
{
	FZ_REQUIRE(s->peers >= SCN_MIN_PEERS && s->peers <= SCN_MAX_PEERS, "peers %u", s->peers);
	FZ_REQUIRE(s->duration_s > 0 && s->duration_s <= SCN_MAX_DURATION_S, "duration %g", s->duration_s);
	FZ_REQUIRE(s->input_delay <= SCN_MAX_INPUT_DELAY, "input-delay %u", s->input_delay);
	FZ_REQUIRE(s->disconnect_s >= 1 && s->disconnect_s <= SCN_MAX_DISCONNECT_S, "disconnect-timeout %g",
		   s->disconnect_s);
	FZ_REQUIRE(memchr(s->preset, '\0', sizeof s->preset) && memchr(s->peer_cmd, '\0', sizeof s->peer_cmd),
		   "an unterminated string");
	FZ_REQUIRE(strcmp(s->path, path) == 0, "path '%s', loaded from '%s'", s->path, path);
	FZ_REQUIRE(s->noverrides <= SCN_MAX_OVERRIDES && s->nevents <= SCN_MAX_EVENTS, "%u overrides, %u events",
		   s->noverrides, s->nevents);
	for (uint32_t k = 0; k < s->noverrides; k++) {
		const struct scn_setting *o = &s->overrides[k];
		/* Every-link keys go to s->link; an override names two different peers below the ceiling. */
		FZ_REQUIRE(o->from >= 0 && o->to >= 0 && o->from < (int)SCN_MAX_PEERS && o->to < (int)SCN_MAX_PEERS &&
				   o->from != o->to,
			   "override %u: link %d->%d", k, o->from, o->to);
		FZ_REQUIRE(memchr(o->key, '\0', sizeof o->key) && link_opt_find(o->key), "override %u: key", k);
		FZ_REQUIRE(memchr(o->value, '\0', sizeof o->value), "override %u: unterminated value", k);
		FZ_REQUIRE(o->line > 0, "override %u: line %d", k, o->line);
	}
	for (uint32_t k = 0; k < s->nevents; k++) {
		const struct scn_event *ev = &s->events[k];
		FZ_REQUIRE(ev->at_s >= 0 && ev->at_s <= SCN_MAX_DURATION_S, "event %u at %g s", k, ev->at_s);
		FZ_REQUIRE(k == 0 || s->events[k - 1].at_s <= ev->at_s, "event %u is out of time order", k);
		FZ_REQUIRE(ev->kind <= SCN_EV_DESYNC, "event %u: kind %d", k, (int)ev->kind);
		FZ_REQUIRE(memchr(ev->groups, '\0', sizeof ev->groups), "event %u: unterminated groups", k);
		if (ev->kind == SCN_EV_SET_LINK) {
			const struct scn_setting *st = &ev->set;
			FZ_REQUIRE((st->from < 0) == (st->to < 0) && st->from < (int)SCN_MAX_PEERS &&
					   st->to < (int)SCN_MAX_PEERS && (st->from < 0 || st->from != st->to),
				   "event %u: link %d->%d", k, st->from, st->to);
			FZ_REQUIRE(memchr(st->key, '\0', sizeof st->key) && link_opt_find(st->key), "event %u: key", k);
			FZ_REQUIRE(memchr(st->value, '\0', sizeof st->value), "event %u: unterminated value", k);
		}
		if (ev->kind == SCN_EV_KILL || ev->kind == SCN_EV_RESTART || ev->kind == SCN_EV_DESYNC)
			FZ_REQUIRE(ev->peer < SCN_MAX_PEERS, "event %u: peer %u", k, ev->peer);
	}
}

/* The first difference between two scenarios that scn_write_resolved() promises to keep, or NULL. */
static inline const char *fz_scn_diff(const struct scenario *a, const struct scenario *b)
{
	if (a->peers != b->peers)
		return "peers";
	if (a->netcode != b->netcode)
		return "netcode";
	if (!(a->duration_s == b->duration_s))
		return "duration";
	if (a->seed != b->seed || !b->have_seed)
		return "seed";
	if (a->input_delay != b->input_delay)
		return "input-delay";
	if (!(a->disconnect_s == b->disconnect_s))
		return "disconnect-timeout";
	if (strcmp(a->preset, b->preset) != 0)
		return "preset";
	if (strcmp(a->peer_cmd, b->peer_cmd) != 0)
		return "peer-cmd";
	if (fz_cfg_diff(&a->link, &b->link))
		return "[link *]";
	if (a->noverrides != b->noverrides)
		return "the number of overrides";
	for (uint32_t k = 0; k < a->noverrides; k++) {
		const struct scn_setting *x = &a->overrides[k], *y = &b->overrides[k];
		if (x->from != y->from || x->to != y->to || x->both != y->both || strcmp(x->key, y->key) != 0 ||
		    strcmp(x->value, y->value) != 0)
			return "an override";
	}
	if (a->nevents != b->nevents)
		return "the number of events";
	for (uint32_t k = 0; k < a->nevents; k++) {
		const struct scn_event *x = &a->events[k], *y = &b->events[k];
		if (!(x->at_s == y->at_s) || x->kind != y->kind || strcmp(x->groups, y->groups) != 0 || x->peer != y->peer)
			return "an event";
		if (x->kind == SCN_EV_SET_LINK &&
		    (x->set.from != y->set.from || x->set.to != y->set.to || x->set.both != y->set.both ||
		     strcmp(x->set.key, y->set.key) != 0 || strcmp(x->set.value, y->set.value) != 0))
			return "an event's setting";
	}
	return NULL;
}

/* s written resolved, in a malloc'd string (the caller frees it), or NULL if the writer refused. */
static inline char *fz_scn_write(const struct scenario *s, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);
	FZ_REQUIRE(f, "open_memstream failed");
	int rc = scn_write_resolved(s, f);
	FZ_REQUIRE(fclose(f) == 0, "closing the memstream failed");
	if (rc < 0) {
		free(text);
		return NULL;
	}
	return text;
}

/*
 * Loads data as a scenario file over the default. Whatever loads must be
 * sane, must be written resolved, and that text must load back into an
 * equal scenario that checks the same way and writes the same text. A
 * refused file must leave the scenario untouched and name itself in the
 * error. Returns an fz_scn_verdict; err gets scn_load's or scn_check's error.
 */
static inline int fz_scenario_one(const uint8_t *data, size_t len, char *err, size_t errlen)
{
	char path[64], path2[64], err2[1024];
	struct scenario *a = malloc(sizeof *a), *b = malloc(sizeof *b), *before = malloc(sizeof *before);
	FZ_REQUIRE(a && b && before, "out of memory");
	int fd = fz_scn_memfd(data, len, path, sizeof path);
	scn_default(a);
	scn_default(before);
	err[0] = '\0';
	int verdict = FZ_SCN_REFUSED;
	if (scn_load(a, path, err, errlen) < 0) {
		FZ_REQUIRE(memcmp(a, before, sizeof *a) == 0, "a refused load changed the scenario");
		FZ_REQUIRE(fz_starts_with(err, path), "the error '%s' does not name the file", err);
		goto out;
	}
	fz_scn_require_sane(a, path);
	verdict = scn_check(a, err, errlen) == 0 ? FZ_SCN_CHECKED : FZ_SCN_LOADED;
	if (verdict == FZ_SCN_LOADED)
		FZ_REQUIRE(fz_starts_with(err, path) || fz_starts_with(err, "command line: "),
			   "the check error '%s' does not name the file", err);

	size_t textlen, text2len;
	char *text = fz_scn_write(a, &textlen);
	FZ_REQUIRE(text, "scn_write_resolved refuses a scenario that scn_load accepted");
	int fd2 = fz_scn_memfd(text, textlen, path2, sizeof path2);
	scn_default(b);
	if (scn_load(b, path2, err2, sizeof err2) < 0)
		FZ_FAIL("the resolved scenario does not load: %s\n--- resolved ---\n%s", err2, text);
	close(fd2);
	const char *diff = fz_scn_diff(a, b);
	FZ_REQUIRE(!diff, "the resolved scenario differs in %s\n--- resolved ---\n%s", diff, text);
	int checked2 = scn_check(b, err2, sizeof err2) == 0;
	FZ_REQUIRE(checked2 == (verdict == FZ_SCN_CHECKED), "scn_check %s the resolved scenario: %s",
		   checked2 ? "passes" : "refuses", checked2 ? err : err2);
	if (checked2) {
		/* Equal fields give equal links by construction; a few links check that nothing escaped the diff. */
		uint32_t n = a->peers < 4 ? a->peers : 4;
		for (uint32_t i = 0; i < n; i++)
			for (uint32_t j = 0; j < n; j++) {
				struct wire_link_cfg ca, cb;
				if (i == j)
					continue;
				int ra = scn_link_cfg(a, i, j, &ca, err2, sizeof err2);
				int rb = scn_link_cfg(b, i, j, &cb, err2, sizeof err2);
				FZ_REQUIRE(ra == 0 && rb == 0, "link %u->%u does not resolve after scn_check passed", i, j);
				FZ_REQUIRE(!fz_cfg_diff(&ca, &cb), "link %u->%u: %s differs", i, j, fz_cfg_diff(&ca, &cb));
			}
	}
	char *text2 = fz_scn_write(b, &text2len);
	FZ_REQUIRE(text2 && text2len == textlen && memcmp(text, text2, textlen) == 0,
		   "writing the reloaded scenario gives other text\n--- first ---\n%s\n--- second ---\n%s", text,
		   text2 ? text2 : "(refused)");
	free(text);
	free(text2);
out:
	close(fd);
	free(a);
	free(b);
	free(before);
	return verdict;
}

#endif
