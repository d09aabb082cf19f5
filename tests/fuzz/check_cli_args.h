// SPDX-License-Identifier: MIT
// Fuzz check of the command line's value parsers: what they accept lies in its documented range.
#ifndef LOOPSIM_FUZZ_CHECK_CLI_ARGS_H
#define LOOPSIM_FUZZ_CHECK_CLI_ARGS_H

#include <ctype.h>
#include <inttypes.h>
#include <math.h>

#include "wire/parse.h"
#include "fuzz.h"

/*
 * Input: byte 0 picks the parser (modulo FZ_CLI_COUNT), byte 1 is the peer
 * count for the peer parsers and picks the range for the others (modulo 4),
 * the rest is the value. A NUL ends the value early, as in an argv.
 */
enum fz_cli_parser {
	FZ_CLI_SECONDS, FZ_CLI_PCT, FZ_CLI_MS, FZ_CLI_KBIT, FZ_CLI_U64, FZ_CLI_LINK_SPEC,
	FZ_CLI_GROUPS, FZ_CLI_PEER_AT, FZ_CLI_DOUBLE, FZ_CLI_U32, FZ_CLI_BOOL, FZ_CLI_COUNT
};

#define FZ_CLI_WHAT "--fuzz"
#define FZ_CLI_SENTINEL_D (-12345.5)
#define FZ_CLI_SENTINEL_U 0x5a5a5a5a5a5a5a5aull

static const double fz_cli_seconds_max[4] = { 86400, 1, 0, 1e300 };
static const double fz_cli_ms_range[4][2] = { { 0, 60000 }, { 0, 1000 }, { 1, 10 }, { -5, 5 } };
static const double fz_cli_double_range[4][2] = { { 0, 1e6 }, { -1, 1 }, { 0, 0 }, { -1e300, 1e300 } };
static const uint64_t fz_cli_u64_range[4][2] = { { 0, UINT64_MAX }, { 1, 1000000 }, { 2, 64 }, { 5, 5 } };
static const uint32_t fz_cli_u32_range[4][2] = { { 0, UINT32_MAX }, { 1, 1000000 }, { 2, 64 }, { 0, 30 } };

/* A parsed double within [lo, hi], or refused with *out untouched. */
static inline void fz_cli_require_double(int rc, double v, double lo, double hi, const char *s)
{
	if (rc < 0)
		FZ_REQUIRE(v == FZ_CLI_SENTINEL_D, "'%s': refused, but the output changed to %g", s, v);
	else
		FZ_REQUIRE(isfinite(v) && v >= lo && v <= hi, "'%s' parsed to %.17g, outside %g..%g", s, v, lo, hi);
}

/* parse_groups: every peer in exactly one group, the groups numbered 0..G-1 with G = the '|'s plus one. */
static inline void fz_cli_require_groups(const uint32_t *group, uint32_t npeers, const char *s)
{
	uint32_t ngroups = 1;
	for (const char *p = s; *p; p++)
		ngroups += *p == '|';
	bool *used = calloc(ngroups, sizeof *used);
	FZ_REQUIRE(used, "out of memory");
	for (uint32_t k = 0; k < npeers; k++) {
		FZ_REQUIRE(group[k] < ngroups, "'%s': peer %u in group %u of %u", s, k, group[k], ngroups);
		used[group[k]] = true;
	}
	for (uint32_t g = 0; g < ngroups; g++)
		FZ_REQUIRE(used[g], "'%s': group %u is empty", s, g);
	free(used);
}

/* Runs the parser the input picks. Returns 1 if the value was accepted, 0 if refused (err then says why). */
static inline int fz_cli_args_one(const uint8_t *data, size_t len, char *err, size_t errlen)
{
	unsigned pick = len > 0 ? data[0] % FZ_CLI_COUNT : 0, param = len > 1 ? data[1] : 0;
	char *s = fz_cstr(data + (len > 2 ? 2 : len), len > 2 ? len - 2 : 0);
	uint32_t npeers = param;
	unsigned r = param % 4;
	double d = FZ_CLI_SENTINEL_D;
	uint64_t u = FZ_CLI_SENTINEL_U;
	int rc = -1;
	err[0] = '\0';
	switch ((enum fz_cli_parser)pick) {
	case FZ_CLI_SECONDS:
		rc = parse_seconds(FZ_CLI_WHAT, s, fz_cli_seconds_max[r], &d, err, errlen);
		fz_cli_require_double(rc, d, 0, fz_cli_seconds_max[r], s);
		break;
	case FZ_CLI_PCT:
		rc = parse_pct(FZ_CLI_WHAT, s, &d, err, errlen);
		fz_cli_require_double(rc, d, 0, 100, s);
		break;
	case FZ_CLI_MS:
		rc = parse_ms(FZ_CLI_WHAT, s, fz_cli_ms_range[r][0], fz_cli_ms_range[r][1], &d, err, errlen);
		fz_cli_require_double(rc, d, fz_cli_ms_range[r][0], fz_cli_ms_range[r][1], s);
		break;
	case FZ_CLI_KBIT:
		rc = parse_kbit(FZ_CLI_WHAT, s, &d, err, errlen);
		fz_cli_require_double(rc, d, 0, 100e6, s);
		FZ_REQUIRE(rc < 0 || d == 0 || d >= 1, "'%s' parsed to %g kbit/s, neither 0 nor at least 1", s, d);
		break;
	case FZ_CLI_DOUBLE:
		rc = parse_double(FZ_CLI_WHAT, s, fz_cli_double_range[r][0], fz_cli_double_range[r][1], &d, err,
				      errlen);
		fz_cli_require_double(rc, d, fz_cli_double_range[r][0], fz_cli_double_range[r][1], s);
		break;
	case FZ_CLI_U64:
		rc = parse_u64(FZ_CLI_WHAT, s, fz_cli_u64_range[r][0], fz_cli_u64_range[r][1], &u, err, errlen);
		if (rc < 0) {
			FZ_REQUIRE(u == FZ_CLI_SENTINEL_U, "'%s': refused, but the output changed", s);
		} else {
			FZ_REQUIRE(u >= fz_cli_u64_range[r][0] && u <= fz_cli_u64_range[r][1], "'%s' parsed to %" PRIu64
				   " out of range", s, u);
			/* A whole number in plain decimal digits, and that number. */
			bool digits = *s != '\0';
			for (const char *p = s; *p; p++)
				digits = digits && isdigit((unsigned char)*p);
			FZ_REQUIRE(digits && strtoull(s, NULL, 10) == u, "'%s' parsed to %" PRIu64, s, u);
		}
		break;
	case FZ_CLI_U32: {
		uint32_t v = 0x5a5a5a5au;
		rc = parse_u32(FZ_CLI_WHAT, s, fz_cli_u32_range[r][0], fz_cli_u32_range[r][1], &v, err, errlen);
		if (rc < 0)
			FZ_REQUIRE(v == 0x5a5a5a5au, "'%s': refused, but the output changed", s);
		else
			FZ_REQUIRE(v >= fz_cli_u32_range[r][0] && v <= fz_cli_u32_range[r][1] &&
					   strtoull(s, NULL, 10) == v,
				   "'%s' parsed to %" PRIu32, s, v);
		break;
	}
	case FZ_CLI_BOOL: {
		int b = 7;
		rc = parse_bool(FZ_CLI_WHAT, s, &b, err, errlen);
		FZ_REQUIRE(rc < 0 ? b == 7 : (b == 0 || b == 1), "'%s': bool %d", s, b);
		break;
	}
	case FZ_CLI_LINK_SPEC: {
		int from = 99, to = 99, both = 99;
		rc = parse_link_spec(FZ_CLI_WHAT, s, npeers, &from, &to, &both, err, errlen);
		if (rc < 0)
			FZ_REQUIRE(from == 99 && to == 99 && both == 99, "'%s': refused, but the output changed", s);
		else if (from < 0)
			FZ_REQUIRE(from == -1 && to == -1 && both == 1, "'%s': every link as %d->%d both %d", s, from, to,
				   both);
		else
			FZ_REQUIRE(to >= 0 && (uint32_t)from < npeers && (uint32_t)to < npeers && from != to &&
					   (both == 0 || both == 1),
				   "'%s' with %u peers parsed to %d->%d both %d", s, npeers, from, to, both);
		break;
	}
	case FZ_CLI_GROUPS: {
		uint32_t *group = malloc(sizeof *group * (npeers + 1u));
		FZ_REQUIRE(group, "out of memory");
		for (uint32_t k = 0; k <= npeers; k++)
			group[k] = 0xa5a5a5a5u;
		rc = parse_groups(FZ_CLI_WHAT, s, npeers, group, err, errlen);
		FZ_REQUIRE(group[npeers] == 0xa5a5a5a5u, "'%s': wrote past the %u peers", s, npeers);
		if (rc < 0) {
			for (uint32_t k = 0; k < npeers; k++)
				FZ_REQUIRE(group[k] == 0xa5a5a5a5u, "'%s': refused, but group[%u] changed", s, k);
		} else {
			FZ_REQUIRE(npeers > 0, "'%s': accepted groups of no peers", s);
			fz_cli_require_groups(group, npeers, s);
		}
		free(group);
		break;
	}
	case FZ_CLI_PEER_AT: {
		uint32_t peer = 0x5a5a5a5au;
		rc = parse_peer_at(FZ_CLI_WHAT, s, npeers, &peer, &u, err, errlen);
		if (rc < 0) {
			FZ_REQUIRE(peer == 0x5a5a5a5au && u == FZ_CLI_SENTINEL_U, "'%s': refused, but the output changed", s);
		} else {
			const char *at = strchr(s, '@');
			FZ_REQUIRE(peer < npeers && at && strtoull(at + 1, NULL, 10) == u,
				   "'%s' with %u peers parsed to peer %u at %" PRIu64, s, npeers, peer, u);
		}
		break;
	}
	case FZ_CLI_COUNT:
		break;
	}
	FZ_REQUIRE(rc == 0 || rc == -1, "returned %d", rc);
	if (rc < 0)
		FZ_REQUIRE(fz_starts_with(err, FZ_CLI_WHAT ": "), "'%s': the error '%s' does not name what it parses", s, err);
	free(s);
	return rc == 0;
}

#endif
