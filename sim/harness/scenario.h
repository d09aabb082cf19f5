// SPDX-License-Identifier: MIT
// Scenario files: session settings, link settings, per-link overrides and a timeline, loaded with inih.
#ifndef LOOPSIM_HARNESS_SCENARIO_H
#define LOOPSIM_HARNESS_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wire/link.h"

/*
 * Format (INI; ';' and '#' start comments):
 *
 *   [session]          peers, netcode (rollback|lockstep), duration (s), seed,
 *                      preset, input-delay (frames), disconnect-timeout (seconds),
 *                      peer-cmd
 *   [link *]           any link setting (see link_opts: latency, jitter, loss,
 *                      burst, ge, dup, reorder, corrupt, rate, queue, mtu, ...)
 *                      for every link; a preset here, or in [session], is the
 *                      base that the other keys override
 *   [link 1->3]        settings for one direction; [link 1<->3] both
 *   [at 10]            timeline, seconds from the start (fractional allowed):
 *                        <link setting> = V      every link, e.g. latency = 600
 *                        I->J <setting> = V      one direction; I<->J both
 *                        partition = 0 1 | 2 3   split into groups
 *                        heal = all              end every partition
 *                        kill = 2                SIGKILL peer 2
 *                        restart = 2             start peer 2 again; it rejoins the session
 *                        desync = 2              perturb peer 2's state now
 *
 * Every error names file:line and the key, e.g.
 *   "lag.ini:7: latency: 'abc' is not a time in milliseconds".
 * Peer numbers are checked against the final peer count by scn_check(),
 * after command-line flags have had their say.
 *
 * A preset is the base of the section it is in: it applies before that
 * section's other keys, wherever it is written (as on the command line).
 * The preset of [session] and [link *] is the base of every link; a file
 * names at most one. In [session] and [link *] a key may appear once per
 * file, in a [link I->J] section once per section; in [at T] keys repeat
 * freely (kill = 1, kill = 2). Inline comments start with " ;". Leading
 * whitespace is ignored (there are no continuation lines).
 */

#define SCN_MAX_OVERRIDES 256
#define SCN_MAX_EVENTS 256
#define SCN_KEY_MAX 32
#define SCN_VALUE_MAX 128
#define SCN_MIN_PEERS 2u
#define SCN_MAX_PEERS 64u
#define SCN_MAX_DURATION_S 86400.0
#define SCN_MAX_INPUT_DELAY 30u
/* Seconds of silence after which a built-in peer drops a remote: the default, and the range. */
#define SCN_DEFAULT_DISCONNECT_S 8.0
#define SCN_MAX_DISCONNECT_S 60.0

enum scn_netcode { SCN_ROLLBACK, SCN_LOCKSTEP };

/* One link setting: `key = value` on link from->to (-1 = every peer), both directions if `both`. */
struct scn_setting {
	int from, to;
	bool both;
	char key[SCN_KEY_MAX];
	char value[SCN_VALUE_MAX];
	int line;                    /* in s->path; 0 = from the command line */
};

enum scn_event_kind { SCN_EV_SET_LINK, SCN_EV_PARTITION, SCN_EV_HEAL, SCN_EV_KILL, SCN_EV_RESTART, SCN_EV_DESYNC };

struct scn_event {
	double at_s;
	enum scn_event_kind kind;
	int line;
	struct scn_setting set;      /* SET_LINK */
	char groups[SCN_VALUE_MAX];  /* PARTITION: "0 1 | 2 3" */
	uint32_t peer;               /* KILL, RESTART, DESYNC */
};

struct scenario {
	char path[256];              /* "" for the built-in default */
	uint32_t peers;
	enum scn_netcode netcode;
	double duration_s;
	uint64_t seed;
	bool have_seed;
	uint32_t input_delay;
	double disconnect_s;         /* the built-in peers' disconnect timeout, seconds */
	char preset[32];             /* the base preset's name, "" for none */
	char peer_cmd[4000];         /* "" = the built-in loopsim-peer; fits a scenario line (4096) */
	struct wire_link_cfg link;   /* every link, before overrides */
	struct scn_setting overrides[SCN_MAX_OVERRIDES];  /* in file order, a preset first in its section */
	uint32_t noverrides;
	struct scn_event events[SCN_MAX_EVENTS];          /* sorted by time, file order within a time */
	uint32_t nevents;
};

/* The built-in default: 4 peers, rollback, the "broadband" preset, 30 s, input delay 2. Can't fail. */
void scn_default(struct scenario *s);

/* Loads path over s (start from scn_default). Returns 0, or -1 with "file:line: key: reason" in err. */
int scn_load(struct scenario *s, const char *path, char *err, size_t errlen);

/*
 * Checks peer numbers and cross-field rules against s->peers. Returns 0, or -1 with file:line in err.
 * Every link's resolved settings (scn_link_cfg) must validate, and so must each link after every
 * timeline setting that covers it, applied one at a time in order, as the harness applies them.
 */
int scn_check(const struct scenario *s, char *err, size_t errlen);

/*
 * The link settings of from->to at the start: s->link, then every override
 * that covers the link, in order. Returns 0, or -1 with err set.
 */
int scn_link_cfg(const struct scenario *s, uint32_t from, uint32_t to, struct wire_link_cfg *out, char *err,
		 size_t errlen);

/*
 * Writes the scenario with every value resolved (the seed included) as an INI
 * that scn_load reads back into an equal scenario: line numbers aside, with
 * have_seed set, and with an empty preset name left as the loaded-over one's
 * (every link field is written, so the values match regardless).
 * Returns 0, or -1 with nothing written if s holds what the format cannot
 * say (a value with a newline, surrounding spaces or " ;"; an override with
 * from or to -1: fold that into s->link), or -1 if writing failed.
 */
int scn_write_resolved(const struct scenario *s, FILE *out);

/* Whether set covers the link from->to: -1 matches every peer, `both` the reverse direction too. */
bool scn_setting_covers(const struct scn_setting *set, uint32_t from, uint32_t to);

/*
 * Applies one setting to cfg with link_opt_set(); errors name s's file:line
 * and the key. For the timeline: an event's setting applies over the link's
 * current settings. Returns 0, or -1 with err set and cfg unchanged.
 */
int scn_setting_apply(const struct scenario *s, const struct scn_setting *set, struct wire_link_cfg *cfg, char *err,
		      size_t errlen);

const char *scn_netcode_name(enum scn_netcode n);

#endif
