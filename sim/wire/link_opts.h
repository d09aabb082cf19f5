// SPDX-License-Identifier: MIT
// The link settings by name: one table for command-line flags, --link overrides and scenario keys.
#ifndef LOOPSIM_WIRE_LINK_OPTS_H
#define LOOPSIM_WIRE_LINK_OPTS_H

#include <stddef.h>
#include <stdio.h>

#include "wire/link.h"

struct link_opt {
	const char *key;      /* "latency": the flag is --latency, the scenario key is latency */
	const char *arg;      /* what the value looks like, for --help */
	const char *help;
};

/* Every link setting, ending with a NULL key. */
extern const struct link_opt link_opts[];

/* The setting named key, or NULL. */
const struct link_opt *link_opt_find(const char *key);

/*
 * Parses value for the setting `key` into cfg. `what` names the source in
 * errors ("--loss", "file.ini:12: loss"). Returns 0, or -1 with err set and
 * cfg unchanged. Cross-field checks are wire_link_cfg_validate()'s job.
 * "preset" overwrites latency, jitter, loss and rate, and turns off an
 * explicit "ge" model as "loss" does; the other fields are kept.
 */
int link_opt_set(struct wire_link_cfg *cfg, const char *key, const char *value, const char *what, char *err,
		 size_t errlen);

/*
 * Applies "key=value,key=value" to cfg, all or nothing. As on the command
 * line, a preset is the base wherever it appears in the list, and the other
 * settings apply over it in order. An empty list or item is an error. `what`
 * prefixes errors. Returns 0, or -1 with err set and cfg unchanged.
 */
int link_opt_set_list(struct wire_link_cfg *cfg, const char *list, const char *what, char *err, size_t errlen);

struct option;

/*
 * Appends one getopt_long entry per link setting to opts[n..], with val =
 * base + its index in link_opts (BOOL settings take an optional argument).
 * Stops at cap - 1, leaving room for the terminator, which it writes.
 * Returns the new count.
 */
size_t link_opts_longopts(struct option *opts, size_t n, size_t cap, int base);

/* A setting given on the command line: link_opts[opt] = value. */
struct link_opt_item {
	int opt;
	const char *value;
};

/*
 * Applies settings from the command line to cfg, a preset first whatever its
 * place on the line, then the rest in order; errors name the flag ("--loss").
 * Returns 0 or -1 with err set; cfg may be partly changed on failure.
 */
int link_opts_apply(struct wire_link_cfg *cfg, const struct link_opt_item *items, size_t n, char *err,
		    size_t errlen);

/*
 * The value of a link-setting flag that getopt_long just returned: optarg, or
 * for a BOOL given as "--blocked false" (getopt only takes "--blocked=false")
 * the next argument when it reads as a bool, advancing *optind; else "true".
 */
const char *link_opts_value(const char *optarg, int argc, char **argv, int *optind);

/* Prints the settings as "  --key ARG  help" lines, and the presets. */
void link_opts_print_help(FILE *out);

#endif
