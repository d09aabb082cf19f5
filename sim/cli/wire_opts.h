// SPDX-License-Identifier: MIT
// The link settings by name: one table for command-line flags, --link overrides and scenario keys.
#ifndef LOOPSIM_CLI_WIRE_OPTS_H
#define LOOPSIM_CLI_WIRE_OPTS_H

#include <stddef.h>
#include <stdio.h>

#include "wire/link.h"

struct wire_opt {
	const char *key;      /* "latency": the flag is --latency, the scenario key is latency */
	const char *arg;      /* what the value looks like, for --help */
	const char *help;
};

/* Every link setting, ending with a NULL key. */
extern const struct wire_opt wire_opts[];

/* The setting named key, or NULL. */
const struct wire_opt *wire_opt_find(const char *key);

/*
 * Parses value for the setting `key` into cfg. `what` names the source in
 * errors ("--loss", "file.ini:12: loss"). Returns 0, or -1 with err set and
 * cfg unchanged. Cross-field checks are wire_link_cfg_validate()'s job.
 * "preset" overwrites latency, jitter, loss and rate, and turns off an
 * explicit "ge" model as "loss" does; the other fields are kept.
 */
int wire_opt_set(struct wire_link_cfg *cfg, const char *key, const char *value, const char *what, char *err,
		 size_t errlen);

/*
 * Applies "key=value,key=value" to cfg, all or nothing. As on the command
 * line, a preset is the base wherever it appears in the list, and the other
 * settings apply over it in order. An empty list or item is an error. `what`
 * prefixes errors. Returns 0, or -1 with err set and cfg unchanged.
 */
int wire_opt_set_list(struct wire_link_cfg *cfg, const char *list, const char *what, char *err, size_t errlen);

/* Prints the settings as "  --key ARG  help" lines, and the presets. */
void wire_opts_print_help(FILE *out);

#endif
