// SPDX-License-Identifier: MIT
// When each frame ran: a ring of first-report times, and frames.tsv written and read back.
#include "harness/frame_clock.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Slot frame % SPAN holds that frame's time plus one (0: empty), with the frame, since the ring wraps. */
struct frame_clock {
	bool any;
	uint32_t top;
	uint32_t frame[FRAME_CLOCK_SPAN];
	uint64_t t1[FRAME_CLOCK_SPAN];
};

struct frame_clock *frame_clock_create(void)
{
	return calloc(1, sizeof(struct frame_clock));
}

void frame_clock_destroy(struct frame_clock *c)
{
	free(c);
}

void frame_clock_note(struct frame_clock *c, uint32_t frame, uint64_t t_us)
{
	if (!c || (c->any && frame <= c->top))
		return;
	c->any = true;
	c->top = frame;
	c->frame[frame % FRAME_CLOCK_SPAN] = frame;
	c->t1[frame % FRAME_CLOCK_SPAN] = t_us + 1;
}

bool frame_clock_top(const struct frame_clock *c, uint32_t *frame)
{
	if (!c || !c->any)
		return false;
	*frame = c->top;
	return true;
}

/* Frame f's own time, if it was noted and the ring still keeps it. */
static bool kept(const struct frame_clock *c, uint32_t f, uint64_t *t_us)
{
	if (!c->any || f > c->top || c->top - f >= FRAME_CLOCK_SPAN)
		return false;
	uint32_t i = f % FRAME_CLOCK_SPAN;
	if (c->frame[i] != f || c->t1[i] == 0)
		return false;
	*t_us = c->t1[i] - 1;
	return true;
}

/* The oldest frame the ring keeps (the newest is top). */
static uint32_t oldest(const struct frame_clock *c)
{
	uint32_t lo = c->top >= FRAME_CLOCK_SPAN - 1 ? c->top - (FRAME_CLOCK_SPAN - 1) : 0;
	uint64_t t;
	for (uint32_t f = lo; f < c->top; f++)
		if (kept(c, f, &t))
			return f;
	return c->top;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/*
 * The median of each step's time per frame: a session's start, a partition's
 * stall and the catch-up after it are outliers, not the pace.
 */
static double median_period(const struct frame_map *m)
{
	if (m->n < 2)
		return 0;
	double *p = malloc(sizeof *p * (m->n - 1));
	if (!p) /* no memory for the median: the mean over the whole map */
		return (double)(m->t_us[m->n - 1] - m->t_us[0]) / (double)(m->frame[m->n - 1] - m->frame[0]);
	for (uint32_t i = 0; i + 1 < m->n; i++)
		p[i] = (double)(m->t_us[i + 1] - m->t_us[i]) / (double)(m->frame[i + 1] - m->frame[i]);
	qsort(p, m->n - 1, sizeof *p, cmp_double);
	double mid = p[(m->n - 1) / 2];
	free(p);
	return mid;
}

/* Microseconds a frame: the median over the kept frames' steps, as for a map; 60 a second with one frame. */
static double pace_us(const struct frame_clock *c)
{
	struct frame_map m = { .frame = malloc(sizeof *m.frame * FRAME_CLOCK_SPAN),
			       .t_us = malloc(sizeof *m.t_us * FRAME_CLOCK_SPAN) };
	double pace = 0;
	if (m.frame && m.t_us) {
		uint64_t t;
		for (uint32_t f = oldest(c);; f++) {
			if (kept(c, f, &t)) {
				m.frame[m.n] = f;
				m.t_us[m.n++] = t;
			}
			if (f == c->top)
				break;
		}
		pace = median_period(&m);
	}
	free(m.frame);
	free(m.t_us);
	return pace > 0 ? pace : 1e6 / 60;
}

bool frame_clock_at(const struct frame_clock *c, uint32_t frame, uint64_t *t_us)
{
	if (!c || !c->any)
		return false;
	if (kept(c, frame, t_us))
		return true;
	uint32_t first = oldest(c);
	uint64_t tlo = 0, thi = 0;
	if (frame > c->top) {
		kept(c, c->top, &tlo);
		*t_us = tlo + (uint64_t)(pace_us(c) * (double)(frame - c->top));
		return true;
	}
	if (frame < first) {
		kept(c, first, &thi);
		double back = pace_us(c) * (double)(first - frame);
		*t_us = back >= (double)thi ? 0 : thi - (uint64_t)back;
		return true;
	}
	/* Inside the kept span, between two kept frames: every report in between skipped it. */
	uint32_t lo = frame, hi = frame;
	while (lo > first && !kept(c, lo, &tlo))
		lo--;
	while (hi < c->top && !kept(c, hi, &thi))
		hi++;
	kept(c, lo, &tlo);
	kept(c, hi, &thi);
	*t_us = tlo + (uint64_t)((double)(thi - tlo) * (double)(frame - lo) / (double)(hi - lo));
	return true;
}

int frame_clock_write(const struct frame_clock *c, uint64_t start_us, FILE *f)
{
	fprintf(f, "# loopsim frames v1 start_us=%" PRIu64 "\n# frame\tt_us\n", start_us);
	if (c && c->any) {
		uint64_t t;
		for (uint32_t fr = oldest(c);; fr++) {
			if (kept(c, fr, &t))
				fprintf(f, "%" PRIu32 "\t%" PRIu64 "\n", fr, t);
			if (fr == c->top)
				break;
		}
	}
	return ferror(f) ? -1 : 0;
}

void frame_map_free(struct frame_map *m)
{
	free(m->frame);
	free(m->t_us);
	memset(m, 0, sizeof *m);
}

int frame_map_load(const char *path, struct frame_map *m, char *err, size_t errlen)
{
	memset(m, 0, sizeof *m);
	FILE *f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char line[128];
	uint32_t lineno = 0, cap = 0;
	int rc = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		if (line[0] == '#') {
			const char *s = strstr(line, "start_us=");
			if (s)
				m->start_us = strtoull(s + 9, NULL, 10);
			continue;
		}
		uint32_t fr;
		uint64_t t;
		char tail;
		if (!isdigit((unsigned char)line[0]) || !strchr(line, '\t') || !isdigit((unsigned char)strchr(line, '\t')[1]) ||
		    sscanf(line, "%" SCNu32 "\t%" SCNu64 "%c", &fr, &t, &tail) != 3 || tail != '\n' ||
		    (m->n && (fr <= m->frame[m->n - 1] || t < m->t_us[m->n - 1]))) {
			snprintf(err, errlen, "%s:%u: want 'frame<TAB>t_us', frames and times increasing", path, lineno);
			rc = -1;
			break;
		}
		if (m->n == cap) {
			uint32_t nc = cap ? cap * 2 : 1024;
			uint32_t *nf = realloc(m->frame, sizeof *nf * nc);
			if (nf)
				m->frame = nf;
			uint64_t *nt = nf ? realloc(m->t_us, sizeof *nt * nc) : NULL;
			if (!nt) {
				snprintf(err, errlen, "%s: out of memory", path);
				rc = -1;
				break;
			}
			m->t_us = nt;
			cap = nc;
		}
		m->frame[m->n] = fr;
		m->t_us[m->n] = t;
		m->n++;
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -1;
	}
	fclose(f);
	if (rc < 0)
		frame_map_free(m);
	else
		m->period_us = median_period(m);
	return rc;
}

double frame_map_frame_at(const struct frame_map *m, uint64_t t_us, double fps)
{
	double period = m->n >= 2 && m->period_us > 0 ? m->period_us : 1e6 / fps;
	if (m->n == 0)
		return (double)t_us / period;
	if (t_us <= m->t_us[0])
		return (double)m->frame[0] - (double)(m->t_us[0] - t_us) / period;
	if (t_us >= m->t_us[m->n - 1])
		return (double)m->frame[m->n - 1] + (double)(t_us - m->t_us[m->n - 1]) / period;
	uint32_t lo = 0, hi = m->n - 1; /* t_us[lo] < t_us <= t_us[hi] */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (m->t_us[mid] < t_us)
			lo = mid;
		else
			hi = mid;
	}
	double span = (double)(m->t_us[hi] - m->t_us[lo]);
	double part = span > 0 ? (double)(t_us - m->t_us[lo]) / span : 1;
	return (double)m->frame[lo] + part * (double)(m->frame[hi] - m->frame[lo]);
}
