// SPDX-License-Identifier: MIT
// Strict parsers for command-line and scenario values. Each names what it parses in its error.
#ifndef LOOPSIM_WIRE_PARSE_H
#define LOOPSIM_WIRE_PARSE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Every parser takes `what` (a flag such as "--loss", or a key) and, on
 * failure, writes "what: reason" into err and returns -1 with *out
 * untouched. On success it returns 0. Input is untrusted: the whole string
 * must parse, NaN and infinities are refused, and ranges are inclusive.
 */

int parse_double(const char *what, const char *s, double min, double max, double *out, char *err,
		     size_t errlen);
int parse_u64(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
		  size_t errlen);
int parse_u32(const char *what, const char *s, uint32_t min, uint32_t max, uint32_t *out, char *err,
		  size_t errlen);

/* A percentage, "5" or "5%", 0..100. */
int parse_pct(const char *what, const char *s, double *out, char *err, size_t errlen);

/* Milliseconds, "30", "0.5" or "30ms", or seconds with "s"; min..max in ms. */
int parse_ms(const char *what, const char *s, double min, double max, double *out, char *err, size_t errlen);

/* A duration in seconds: "30", "30s", "500ms", "2m" or "1h"; 0..max seconds. */
int parse_seconds(const char *what, const char *s, double max, double *out, char *err, size_t errlen);

/* A bitrate in kbit/s: "512", "512kbit", "30mbit", "1gbit". */
int parse_kbit(const char *what, const char *s, double *out, char *err, size_t errlen);

/* "true/false/yes/no/on/off/1/0". */
int parse_bool(const char *what, const char *s, int *out, char *err, size_t errlen);

/*
 * A link selector, peers counted from 0 and below npeers: "*" (every link),
 * "I->J" (one direction) or "I<->J" (both). *from / *to are -1 for "every";
 * *both is set for "<->".
 */
int parse_link_spec(const char *what, const char *s, uint32_t npeers, int *from, int *to, int *both, char *err,
			size_t errlen);

/* A --link argument, "SPEC:KEY=VALUE,...", split: the selector parsed, the settings left to the caller. */
struct parse_link_arg {
	char spec[64];            /* the selector as written, for messages */
	int from, to, both;       /* as parse_link_spec() */
	const char *settings;     /* into the argument: "KEY=VALUE,..." */
};

/*
 * Splits and checks one --link argument (the one parser of every command's
 * --link). Returns 0, or -1 with a message naming --link in err.
 */
int parse_link_arg(const char *arg, uint32_t npeers, struct parse_link_arg *out, char *err, size_t errlen);

/*
 * A group split such as "0 1 | 2 3": group[k] gets each peer's group
 * number. Every peer below npeers must appear exactly once.
 */
int parse_groups(const char *what, const char *s, uint32_t npeers, uint32_t *group, char *err, size_t errlen);

/*
 * A set of peers, "0,2": flags[k] = 1 for each peer named, the others left
 * as they are. NULL names every peer (a flag given without a value).
 */
int parse_peer_set(const char *what, const char *s, uint32_t npeers, uint8_t *flags, char *err, size_t errlen);

/* "PEER@FRAME", e.g. "2@300". */
int parse_peer_at(const char *what, const char *s, uint32_t npeers, uint32_t *peer, uint64_t *frame, char *err,
		      size_t errlen);

#endif
