// SPDX-License-Identifier: MIT
// The link settings by name.
#include "wire/link_opts.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "wire/parse.h"
#include "wire/preset.h"

const struct link_opt link_opts[] = {
	{ "preset", "NAME", "start from a named preset (below); other settings override it" },
	{ "latency", "MS", "one-way delay in ms, fractional allowed (also 2s, 500us)" },
	{ "jitter", "MS", "delay variation in ms: ± range for uniform, stddev otherwise" },
	{ "jitter-dist", "DIST", "uniform (default), normal or pareto" },
	{ "jitter-corr", "PCT", "slow the jitter: correlation time / (1 - PCT); with --jitter-reorders, netem's" },
	{ "jitter-reorders", "BOOL", "netem's per-datagram jitter: deliveries overtake (default: a smooth path delay)" },
	{ "loss", "PCT", "random loss; with --burst, the mean loss of a Gilbert burst model" },
	{ "burst", "N", "mean loss burst length in packets (Gilbert-Elliott); 0 = independent" },
	{ "ge", "P,R,1-H,1-K", "Gilbert-Elliott in netem's four parameters, in percent (R, 1-H, 1-K optional)" },
	{ "dup", "PCT", "duplicate this share of datagrams" },
	{ "dup-delay", "MS", "a duplicate trails its original by up to this (default 1)" },
	{ "reorder", "PCT", "send this share at once, skipping the delay" },
	{ "reorder-gap", "G", "netem's gap: only every G-th datagram may be reordered" },
	{ "corrupt", "PCT", "flip one random bit in this share of datagrams" },
	{ "rate", "KBIT", "rate limit in kbit/s (or 30mbit); IP and UDP headers count" },
	{ "queue", "N", "rate limiter queue in packets, drop-tail (default 1000)" },
	{ "mtu", "BYTES", "drop IP datagrams (payload + 28) larger than this" },
	{ "blocked", "BOOL", "cut the link: a blackhole" },
	{ NULL, NULL, NULL },
};

const struct link_opt *link_opt_find(const char *key)
{
	for (const struct link_opt *o = link_opts; o->key; o++)
		if (strcmp(o->key, key) == 0)
			return o;
	return NULL;
}

static int parse_ge(struct wire_link_cfg *c, const char *value, const char *what, char *err, size_t errlen)
{
	double v[4] = { 0, 0, 100, 0 }; /* netem's defaults: r = 1 - p, 1-h = 100%, 1-k = 0% */
	char buf[128];
	if (strlen(value) >= sizeof buf) {
		snprintf(err, errlen, "%s: '%s' is too long", what, value);
		return -1;
	}
	if (!*value) {
		snprintf(err, errlen, "%s: expected p[,r[,1-h[,1-k]]] in percent", what);
		return -1;
	}
	strcpy(buf, value);
	/* Split by hand: strtok would skip an empty parameter and shift the rest ("1,,100"). */
	int n = 0;
	for (char *tok = buf, *sep;; tok = sep + 1) {
		sep = tok + strcspn(tok, ",/");
		char end = *sep;
		*sep = '\0';
		if (n == 4) {
			snprintf(err, errlen, "%s: '%s' has more than four parameters (p,r,1-h,1-k)", what, value);
			return -1;
		}
		if (parse_pct(what, tok, &v[n], err, errlen) < 0)
			return -1;
		n++;
		if (!end)
			break;
	}
	if (n == 1)
		v[1] = 100 - v[0];
	c->ge = true;
	c->ge_p_pct = v[0];
	c->ge_r_pct = v[1];
	c->ge_bad_loss_pct = v[2];
	c->ge_good_loss_pct = v[3];
	return 0;
}

int link_opt_set(struct wire_link_cfg *cfg, const char *key, const char *value, const char *what, char *err,
		 size_t errlen)
{
	struct wire_link_cfg c = *cfg;
	int b, r = 0;
	if (strcmp(key, "preset") == 0) {
		const struct wire_preset *p = wire_preset_find(value);
		if (!p) {
			int n = snprintf(err, errlen, "%s: no preset called '%s'; the presets are", what, value);
			for (p = wire_presets; p->name && n >= 0 && (size_t)n < errlen; p++)
				n += snprintf(err + n, errlen - (size_t)n, " %s", p->name);
			return -1;
		}
		wire_preset_apply(p, &c);
		c.ge = false; /* the preset's loss replaces an explicit Gilbert-Elliott model, as --loss does */
	} else if (strcmp(key, "latency") == 0) {
		r = parse_ms(what, value, 0, 60000, &c.latency_ms, err, errlen);
	} else if (strcmp(key, "jitter") == 0) {
		r = parse_ms(what, value, 0, 60000, &c.jitter_ms, err, errlen);
	} else if (strcmp(key, "jitter-dist") == 0) {
		int d = wire_dist_parse(value);
		if (d < 0) {
			snprintf(err, errlen, "%s: '%s' is not uniform, normal or pareto", what, value);
			return -1;
		}
		c.jitter_dist = (enum wire_dist)d;
	} else if (strcmp(key, "jitter-corr") == 0) {
		r = parse_pct(what, value, &c.jitter_corr_pct, err, errlen);
		if (r == 0 && c.jitter_corr_pct >= 100) {
			snprintf(err, errlen, "%s: must be below 100 percent", what);
			return -1;
		}
	} else if (strcmp(key, "jitter-reorders") == 0) {
		r = parse_bool(what, value, &b, err, errlen);
		if (r == 0)
			c.jitter_reorders = b;
	} else if (strcmp(key, "loss") == 0) {
		r = parse_pct(what, value, &c.loss_pct, err, errlen);
		c.ge = false;
	} else if (strcmp(key, "burst") == 0) {
		r = parse_double(what, value, 0, 1e6, &c.burst, err, errlen);
		if (r == 0 && c.burst > 0 && c.burst < 1) {
			snprintf(err, errlen, "%s: a mean burst length is at least 1 packet (or 0 for none)", what);
			return -1;
		}
		c.ge = false;
	} else if (strcmp(key, "ge") == 0) {
		r = parse_ge(&c, value, what, err, errlen);
	} else if (strcmp(key, "dup") == 0) {
		r = parse_pct(what, value, &c.dup_pct, err, errlen);
	} else if (strcmp(key, "dup-delay") == 0) {
		r = parse_ms(what, value, 0, 1000, &c.dup_delay_ms, err, errlen);
	} else if (strcmp(key, "reorder") == 0) {
		r = parse_pct(what, value, &c.reorder_pct, err, errlen);
	} else if (strcmp(key, "reorder-gap") == 0) {
		r = parse_u32(what, value, 0, 1000000, &c.reorder_gap, err, errlen);
	} else if (strcmp(key, "corrupt") == 0) {
		r = parse_pct(what, value, &c.corrupt_pct, err, errlen);
	} else if (strcmp(key, "rate") == 0) {
		r = parse_kbit(what, value, &c.rate_kbit, err, errlen);
	} else if (strcmp(key, "queue") == 0) {
		r = parse_u32(what, value, 1, 1000000, &c.queue_limit, err, errlen);
	} else if (strcmp(key, "mtu") == 0) {
		r = parse_u32(what, value, 0, 65535 + WIRE_IP_UDP_HEADER, &c.mtu, err, errlen);
		if (r == 0 && c.mtu && c.mtu < WIRE_IP_UDP_HEADER) {
			snprintf(err, errlen, "%s: must be 0 (unlimited) or at least 28 bytes", what);
			return -1;
		}
	} else if (strcmp(key, "blocked") == 0) {
		r = parse_bool(what, value, &b, err, errlen);
		if (r == 0)
			c.blocked = b;
	} else {
		snprintf(err, errlen, "%s: unknown link setting '%s'", what, key);
		return -1;
	}
	if (r < 0)
		return -1;
	*cfg = c;
	return 0;
}

int link_opt_set_list(struct wire_link_cfg *cfg, const char *list, const char *what, char *err, size_t errlen)
{
	struct wire_link_cfg c = *cfg;
	size_t len = strlen(list);
	char *buf = malloc(len + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", what);
		return -1;
	}
	int rc = 0;
	/*
	 * Items split on ','; ge's own parameters take '/' here: "ge=1/20/100/0".
	 * A preset is the base whatever its place in the list, as on the command
	 * line, so pass 0 applies presets and pass 1 everything else.
	 */
	for (int pass = 0; pass < 2 && rc == 0; pass++) {
		memcpy(buf, list, len + 1);
		for (char *item = buf, *sep;; item = sep + 1) {
			sep = item + strcspn(item, ",");
			char end = *sep;
			*sep = '\0';
			char *eq = strchr(item, '=');
			if (!*item || !eq) {
				if (!*item)
					snprintf(err, errlen, "%s: '%s' has an empty setting; expected key=value,...", what,
						 list);
				else
					snprintf(err, errlen, "%s: '%s' is not key=value", what, item);
				rc = -1;
				break;
			}
			*eq = '\0';
			if ((strcmp(item, "preset") == 0) == (pass == 0)) {
				char label[96];
				snprintf(label, sizeof label, "%s: %s", what, item);
				rc = link_opt_set(&c, item, eq + 1, label, err, errlen);
				if (rc < 0)
					break;
			}
			if (!end)
				break;
		}
	}
	free(buf);
	if (rc == 0)
		*cfg = c;
	return rc;
}

size_t link_opts_longopts(struct option *opts, size_t n, size_t cap, int base)
{
	for (int i = 0; link_opts[i].key && n + 1 < cap; i++) {
		bool is_bool = strcmp(link_opts[i].arg, "BOOL") == 0;
		opts[n++] = (struct option){ link_opts[i].key, is_bool ? optional_argument : required_argument, NULL,
					     base + i };
	}
	opts[n] = (struct option){ 0 };
	return n;
}

int link_opts_apply(struct wire_link_cfg *cfg, const struct link_opt_item *items, size_t n, char *err,
		    size_t errlen)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			const char *key = link_opts[items[i].opt].key;
			if ((strcmp(key, "preset") == 0) != (pass == 0))
				continue;
			char what[48];
			snprintf(what, sizeof what, "--%s", key);
			if (link_opt_set(cfg, key, items[i].value, what, err, errlen) < 0)
				return -1;
		}
	}
	return 0;
}

const char *link_opts_value(const char *optarg, int argc, char **argv, int *optind)
{
	char err[8];
	int b;
	if (optarg)
		return optarg;
	if (*optind < argc && parse_bool("", argv[*optind], &b, err, sizeof err) == 0)
		return argv[(*optind)++];
	return "true";
}

void link_opts_print_help(FILE *out)
{
	for (const struct link_opt *o = link_opts; o->key; o++) {
		char flag[48];
		snprintf(flag, sizeof flag, "--%s %s", o->key, o->arg);
		fprintf(out, "  %-26s %s\n", flag, o->help);
	}
	fprintf(out, "\nPresets (one-way, per direction):\n");
	for (const struct wire_preset *p = wire_presets; p->name; p++)
		fprintf(out, "  %-12s %s\n", p->name, p->summary);
}
