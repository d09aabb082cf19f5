// SPDX-License-Identifier: MIT
// Strict parsers for command-line and scenario values.
#include "wire/parse.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FAIL(...)                                         \
	do {                                              \
		snprintf(err, errlen, __VA_ARGS__);       \
		return -1;                                \
	} while (0)

/* Parses a finite number followed by an optional unit suffix; *unit points at the suffix. */
static bool number_with_unit(const char *s, double *v, const char **unit)
{
	if (!s || !*s || isspace((unsigned char)*s))
		return false;
	char *end;
	double d = strtod(s, &end);
	/*
	 * Overflow gives HUGE_VAL, which is not finite. Underflow is not an
	 * error: strtod's ERANGE there would refuse "1e-309" while "1e-306us"
	 * scales to the same subnormal, which the scenario writer then prints
	 * and could not read back. A tiny value is the nearest double, or 0.
	 */
	if (end == s || !isfinite(d))
		return false;
	/* strtod takes hex floats and "infinity"; a user's value is plain decimal. */
	for (const char *p = s; p < end; p++)
		if (!(isdigit((unsigned char)*p) || *p == '.' || *p == '-' || *p == '+' || *p == 'e' || *p == 'E'))
			return false;
	*v = d == 0 ? 0 : d; /* "-0" is zero, not a negative value that slipped through */
	*unit = end;
	return true;
}

int parse_double(const char *what, const char *s, double min, double max, double *out, char *err,
		     size_t errlen)
{
	double v;
	const char *unit;
	if (!number_with_unit(s, &v, &unit) || *unit)
		FAIL("%s: '%s' is not a number", what, s ? s : "");
	if (v < min || v > max)
		FAIL("%s: %s is out of range (%g to %g)", what, s, min, max);
	*out = v;
	return 0;
}

int parse_u64(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
		  size_t errlen)
{
	if (!s || !isdigit((unsigned char)*s))
		FAIL("%s: '%s' is not a whole number", what, s ? s : "");
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || errno == ERANGE)
		FAIL("%s: '%s' is not a whole number", what, s);
	if (v < min || v > max)
		FAIL("%s: %s is out of range (%" PRIu64 " to %" PRIu64 ")", what, s, min, max);
	*out = v;
	return 0;
}

int parse_u32(const char *what, const char *s, uint32_t min, uint32_t max, uint32_t *out, char *err,
		  size_t errlen)
{
	uint64_t v;
	if (parse_u64(what, s, min, max, &v, err, errlen) < 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int parse_pct(const char *what, const char *s, double *out, char *err, size_t errlen)
{
	double v;
	const char *unit;
	if (!number_with_unit(s, &v, &unit) || (*unit && strcmp(unit, "%") != 0))
		FAIL("%s: '%s' is not a percentage", what, s ? s : "");
	if (v < 0 || v > 100)
		FAIL("%s: %s must be between 0 and 100 percent", what, s);
	*out = v;
	return 0;
}

int parse_ms(const char *what, const char *s, double min, double max, double *out, char *err, size_t errlen)
{
	double v;
	const char *unit;
	if (!number_with_unit(s, &v, &unit))
		FAIL("%s: '%s' is not a time in milliseconds", what, s ? s : "");
	if (strcmp(unit, "s") == 0)
		v *= 1000;
	else if (strcmp(unit, "us") == 0)
		v /= 1000;
	else if (*unit && strcmp(unit, "ms") != 0)
		FAIL("%s: '%s' has an unknown unit (use ms, s or us)", what, s);
	if (v < min || v > max)
		FAIL("%s: %s must be between %g and %g ms", what, s, min, max);
	*out = v;
	return 0;
}

int parse_seconds(const char *what, const char *s, double max, double *out, char *err, size_t errlen)
{
	double v;
	const char *unit;
	if (!number_with_unit(s, &v, &unit))
		FAIL("%s: '%s' is not a duration", what, s ? s : "");
	if (strcmp(unit, "ms") == 0)
		v /= 1000;
	else if (strcmp(unit, "m") == 0 || strcmp(unit, "min") == 0)
		v *= 60;
	else if (strcmp(unit, "h") == 0)
		v *= 3600;
	else if (*unit && strcmp(unit, "s") != 0)
		FAIL("%s: '%s' has an unknown unit (use s, ms, m or h)", what, s);
	if (v < 0 || v > max)
		FAIL("%s: %s must be between 0 and %g seconds", what, s, max);
	*out = v;
	return 0;
}

int parse_kbit(const char *what, const char *s, double *out, char *err, size_t errlen)
{
	double v;
	const char *unit;
	if (!number_with_unit(s, &v, &unit))
		FAIL("%s: '%s' is not a rate in kbit/s", what, s ? s : "");
	if (strcasecmp(unit, "mbit") == 0)
		v *= 1000;
	else if (strcasecmp(unit, "gbit") == 0)
		v *= 1e6;
	else if (*unit && strcasecmp(unit, "kbit") != 0)
		FAIL("%s: '%s' has an unknown unit (use kbit, mbit or gbit)", what, s);
	if (v != 0 && (v < 1 || v > 100e6))
		FAIL("%s: %s must be 0 (unlimited) or between 1 kbit/s and 100 gbit/s", what, s);
	*out = v;
	return 0;
}

int parse_bool(const char *what, const char *s, int *out, char *err, size_t errlen)
{
	static const char *const yes[] = { "1", "true", "yes", "on" }, *const no[] = { "0", "false", "no", "off" };
	for (size_t i = 0; s && i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	FAIL("%s: '%s' is not true or false", what, s ? s : "");
}

/* Parses a peer index at *p, advancing it. */
static bool peer_index(const char **p, uint32_t npeers, uint32_t *out)
{
	if (!isdigit((unsigned char)**p))
		return false;
	char *end;
	errno = 0;
	unsigned long v = strtoul(*p, &end, 10);
	if (errno || v >= npeers)
		return false;
	*out = (uint32_t)v;
	*p = end;
	return true;
}

static const char *skip_space(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return p;
}

int parse_link_arg(const char *arg, uint32_t npeers, struct parse_link_arg *out, char *err, size_t errlen)
{
	const char *colon = strchr(arg, ':');
	if (!colon) {
		snprintf(err, errlen, "--link: '%s' needs SPEC:KEY=VALUE,... e.g. '0->1:loss=20'", arg);
		return -1;
	}
	if ((size_t)(colon - arg) >= sizeof out->spec) {
		snprintf(err, errlen, "--link: '%.*s' is too long for a link", (int)(colon - arg), arg);
		return -1;
	}
	snprintf(out->spec, sizeof out->spec, "%.*s", (int)(colon - arg), arg);
	out->settings = colon + 1;
	return parse_link_spec("--link", out->spec, npeers, &out->from, &out->to, &out->both, err, errlen);
}

int parse_link_spec(const char *what, const char *s, uint32_t npeers, int *from, int *to, int *both, char *err,
			size_t errlen)
{
	const char *p = skip_space(s ? s : "");
	if (*p == '*' && !*skip_space(p + 1)) {
		*from = *to = -1;
		*both = 1;
		return 0;
	}
	uint32_t a, b;
	int sym;
	if (!peer_index(&p, npeers, &a))
		goto bad;
	p = skip_space(p);
	if (strncmp(p, "<->", 3) == 0) {
		sym = 1;
		p += 3;
	} else if (strncmp(p, "->", 2) == 0) {
		sym = 0;
		p += 2;
	} else {
		goto bad;
	}
	p = skip_space(p);
	if (!peer_index(&p, npeers, &b) || *skip_space(p) || a == b)
		goto bad;
	*from = (int)a;
	*to = (int)b;
	*both = sym;
	return 0;
bad:
	FAIL("%s: '%s' is not a link: use '*', 'I->J' or 'I<->J' with two different peers from 0 to %u", what,
	     s ? s : "", npeers ? npeers - 1 : 0);
}

int parse_peer_set(const char *what, const char *s, uint32_t npeers, uint8_t *flags, char *err, size_t errlen)
{
	if (!s) {
		memset(flags, 1, npeers);
		return 0;
	}
	/* Checked whole before flags is touched, so that a failure leaves it as it was. */
	const char *p = s;
	for (;;) {
		uint32_t k;
		p = skip_space(p);
		if (!peer_index(&p, npeers, &k)) {
			snprintf(err, errlen, "%s: '%s': want peer numbers from 0 to %u separated by commas, e.g. %s=0,2",
				 what, s, npeers ? npeers - 1 : 0, what);
			return -1;
		}
		p = skip_space(p);
		if (!*p)
			break;
		if (*p++ != ',') {
			snprintf(err, errlen, "%s: '%s': want peer numbers separated by commas, e.g. %s=0,2", what, s,
				 what);
			return -1;
		}
	}
	for (p = s;;) {
		uint32_t k = 0;
		p = skip_space(p);
		peer_index(&p, npeers, &k);
		flags[k] = 1;
		p = skip_space(p);
		if (*p++ != ',')
			return 0;
	}
}

int parse_groups(const char *what, const char *s, uint32_t npeers, uint32_t *group, char *err, size_t errlen)
{
	/* Built aside and copied at the end, so that a failure leaves group untouched. */
	uint32_t *g_of = malloc(sizeof *g_of * (npeers ? npeers : 1));
	if (!g_of)
		FAIL("%s: out of memory", what);
	for (uint32_t k = 0; k < npeers; k++)
		g_of[k] = UINT32_MAX;
	const char *src = s ? s : "", *p = src;
	uint32_t g = 0, members = 0, k;
	int rc = -1;
	for (;;) {
		p = skip_space(p);
		if (*p == '|' || !*p) {
			if (members == 0) {
				snprintf(err, errlen, "%s: '%s' has an empty group", what, src);
				goto out;
			}
			if (!*p)
				break;
			g++;
			members = 0;
			p++;
			continue;
		}
		if (!peer_index(&p, npeers, &k)) {
			snprintf(err, errlen, "%s: '%s': expected peer numbers from 0 to %u separated by '|'", what, src,
				 npeers ? npeers - 1 : 0);
			goto out;
		}
		if (g_of[k] != UINT32_MAX) {
			snprintf(err, errlen, "%s: peer %u appears twice in '%s'", what, k, src);
			goto out;
		}
		g_of[k] = g;
		members++;
	}
	for (k = 0; k < npeers; k++)
		if (g_of[k] == UINT32_MAX) {
			snprintf(err, errlen, "%s: peer %u is in no group of '%s'", what, k, src);
			goto out;
		}
	memcpy(group, g_of, sizeof *group * npeers);
	rc = 0;
out:
	free(g_of);
	return rc;
}

int parse_peer_at(const char *what, const char *s, uint32_t npeers, uint32_t *peer, uint64_t *frame, char *err,
		      size_t errlen)
{
	const char *p = s ? s : "";
	uint32_t k;
	if (!peer_index(&p, npeers, &k) || *p != '@' || !isdigit((unsigned char)p[1]))
		FAIL("%s: '%s' is not PEER@FRAME with a peer from 0 to %u", what, s ? s : "", npeers ? npeers - 1 : 0);
	char *end;
	errno = 0;
	unsigned long long f = strtoull(p + 1, &end, 10);
	if (*end || errno)
		FAIL("%s: '%s' has a bad frame number", what, s);
	*peer = k;
	*frame = f;
	return 0;
}
