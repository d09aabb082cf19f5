// SPDX-License-Identifier: MIT
// `loopsim wire`: the wire alone, around the user's own UDP programs.
#include <cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "wire/parse.h"
#include "cli/cli.h"
#include "wire/link_opts.h"
#include "wire/addr.h"
#include "wire/capture.h"
#include "wire/relay.h"
#include "wire/traffic.h"

#define MAX_ITEMS 256
/* How long the end of a run waits for datagrams still in flight to land. */
#define DRAIN_LIMIT_US 3000000u

enum {
	OPT_PEERS = 1,
	OPT_SEED,
	OPT_DURATION,
	OPT_PCAP,
	OPT_FATES,
	OPT_LINK,
	OPT_PARTITION,
	OPT_PORT,
	OPT_TRAFFIC,
	OPT_TRAFFIC_SIZE,
	OPT_TRAFFIC_FANOUT,
	OPT_QUIET,
	OPT_REPLAY_FATES,
	OPT_MULTI_SOCKET,
	OPT_HELP,
	OPT_SETTING = 100, /* + index into wire_opts */
};

static void wire_help(FILE *out)
{
	fprintf(out,
		"Usage: loopsim wire --peers N [options]\n"
		"\n"
		"Runs the wire alone. Peer k owns the address 127.0.0.(k+2); the wire binds a public port on\n"
		"each peer's address and prints them, one JSON object per line, then {\"ready\":true,...}.\n"
		"Bind your program k to 127.0.0.(k+2) (any port) and send to the other peers' public\n"
		"addresses: every datagram then crosses an emulated link. A peer becomes reachable once it\n"
		"has sent one datagram, or at once with --port; after that, datagrams from its address on\n"
		"another port are counted as spoofed and dropped (see --multi-socket). Runs until --duration\n"
		"or Ctrl-C, then prints per-link stats to stderr.\n"
		"\n"
		"Session:\n"
		"  --peers N                  number of peers, 1..%u (default 2)\n"
		"  --seed N                   seed of every random draw (default: random, and printed)\n"
		"  --duration S               stop after S seconds (30, 500ms, 2m); default: until Ctrl-C\n"
		"  --pcap FILE                write every delivered datagram as the receiver saw it\n"
		"  --fates FILE               write the fate of every datagram (text, one line each)\n"
		"  --port K=PORT              peer K's own port, if it must receive before it sends\n"
		"  --replay-fates FILE        give the n-th datagram on each link the fate FILE (a --fates log)\n"
		"                             recorded for it, whatever this run's timing\n"
		"  --multi-socket[=K,...]     these peers (all, without a list) send from several sockets: known\n"
		"                             by address alone, not dropped as spoofed from another port\n"
		"  --quiet                    no progress line\n"
		"\n"
		"Links (every link; the same keys work in --link lists):\n",
		WIRE_MAX_PEERS);
	wire_opts_print_help(out);
	fprintf(out,
		"\n"
		"Per link and topology:\n"
		"  --link 'SPEC:K=V,...'      override links: SPEC is I->J, I<->J or *, e.g. --link '0->1:loss=20'\n"
		"                             (ge parameters take '/' here: ge=1/20/100/0)\n"
		"  --partition 'A | B'        start split into groups of peers, e.g. '0 1 | 2 3'\n"
		"\n"
		"Built-in traffic (no programs of your own needed):\n"
		"  --traffic HZ               stand-in peers send one datagram to every other peer per tick\n"
		"  --traffic-size BYTES       payload size, 32..1400 (default 64)\n"
		"  --traffic-fanout N         send to only the next N peers round the ring\n"
		"\n"
		"Effects apply in this order: partition, mtu, loss, duplicate, corrupt, rate queue, then\n"
		"delay or reorder. Jitter keeps each link in order unless --jitter-reorders is set.\n"
		"Exit codes: 0 clean, 2 bad usage, 3 runtime failure (e.g. a bind refused).\n");
}

struct item {
	int opt;
	const char *arg;
};


static void print_peer_table(struct wire *w, uint64_t seed)
{
	for (uint32_t k = 0; k < wire_npeers(w); k++) {
		char addr[WIRE_ADDR_STRLEN];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "peer", k);
		cJSON_AddStringToObject(o, "addr", wire_addr_str(addr, sizeof addr, wire_peer_ip(k), 0));
		cJSON_AddNumberToObject(o, "public_port", wire_public_port(w, k));
		char *s = cJSON_PrintUnformatted(o);
		if (s)
			puts(s);
		free(s);
		cJSON_Delete(o);
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddTrueToObject(o, "ready");
	char seedbuf[24];
	snprintf(seedbuf, sizeof seedbuf, "%" PRIu64, seed);
	cJSON_AddRawToObject(o, "seed", seedbuf); /* raw: a 64-bit seed does not fit a double */
	char *s = cJSON_PrintUnformatted(o);
	if (s)
		puts(s);
	free(s);
	cJSON_Delete(o);
	fflush(stdout);
}

static void print_link_stats(struct wire *w, uint64_t seed, const char *replay_path)
{
	uint32_t n = wire_npeers(w);
	bool header = false;
	struct wire_hist late_all = { 0 };
	uint64_t behind = 0, worst_late = 0;
	uint32_t worst_from = 0, worst_to = 0;
	for (uint32_t i = 0; i < n; i++) {
		for (uint32_t j = 0; j < n; j++) {
			struct wire_link_stats s;
			struct wire_hist late;
			if (i == j || wire_link_stats(w, i, j, &s) < 0 || s.sent == 0 ||
			    wire_link_lateness(w, i, j, &late) < 0)
				continue;
			if (!header) {
				fprintf(stderr, "%-9s %9s %9s %7s %7s %7s %5s %7s %7s %7s %11s %8s %8s %8s %8s %8s %9s\n",
					"link", "sent", "delivered", "loss", "part", "queue", "mtu", "dup", "reord",
					"corrupt", "bytes", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms", "late99_ms");
				header = true;
			}
			char name[24];
			snprintf(name, sizeof name, "%u->%u", i, j);
			uint64_t late99 = wire_hist_quantile(&late, 0.99);
			fprintf(stderr,
				"%-9s %9" PRIu64 " %9" PRIu64 " %7" PRIu64 " %7" PRIu64 " %7" PRIu64 " %5" PRIu64
				" %7" PRIu64 " %7" PRIu64 " %7" PRIu64 " %11" PRIu64 " %8.2f %8.2f %8.2f %8.2f %8.2f %9.3f\n",
				name, s.sent, s.delivered, s.dropped[WIRE_FATE_LOSS], s.dropped[WIRE_FATE_PARTITION],
				s.dropped[WIRE_FATE_QUEUE], s.dropped[WIRE_FATE_MTU], s.duplicated, s.reordered,
				s.corrupted, s.bytes, wire_hist_quantile(&s.delay, 0.5) / 1000.0,
				wire_hist_quantile(&s.delay, 0.9) / 1000.0, wire_hist_quantile(&s.delay, 0.99) / 1000.0,
				wire_hist_quantile(&s.delay, 0.999) / 1000.0, s.delay.max_us / 1000.0, late99 / 1000.0);
			wire_hist_merge(&late_all, &late);
			if (late.count && late99 > WIRE_BEHIND_US)
				behind++;
			if (late99 > worst_late) {
				worst_late = late99;
				worst_from = i;
				worst_to = j;
			}
		}
	}
	if (!header)
		fprintf(stderr, "no datagrams crossed the wire\n");
	struct wire_totals t;
	wire_get_totals(w, &t);
	fprintf(stderr,
		"wire: received %" PRIu64 ", strays %" PRIu64 ", spoofed %" PRIu64 ", pool full %" PRIu64
		", unroutable %" PRIu64 ", send errors %" PRIu64 ", kernel drops %" PRIu64 ", still in flight %" PRIu64
		"; seed %" PRIu64 " (repeat with --seed %" PRIu64 ")\n",
		t.received, t.strays, t.spoofed, t.pool_full, t.unroutable, t.send_errors, t.kernel_drops, t.inflight,
		seed, seed);
	if (late_all.count) {
		uint64_t p99 = wire_hist_quantile(&late_all, 0.99);
		fprintf(stderr,
			"%s: sent after their time by p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms over all links",
			p99 > WIRE_BEHIND_US ? "the wire FELL BEHIND" : "lateness",
			wire_hist_quantile(&late_all, 0.5) / 1000.0, p99 / 1000.0,
			wire_hist_quantile(&late_all, 0.999) / 1000.0, late_all.max_us / 1000.0);
		if (behind)
			fprintf(stderr, "; %" PRIu64 " links beyond %.0f ms at p99, worst %u->%u at %.3f ms", behind,
				WIRE_BEHIND_US / 1000.0, worst_from, worst_to, worst_late / 1000.0);
		fputc('\n', stderr);
	}
	if (replay_path)
		fprintf(stderr, "replay of %s: %" PRIu64 " datagrams given their logged fate, %" PRIu64
				" not in the log (given the model's)\n",
			replay_path, t.replayed, t.unreplayed);
}

static void print_traffic_summary(struct wire_traffic *tr)
{
	struct wire_traffic_stats s;
	wire_traffic_get_stats(tr, &s);
	double lost = s.sent ? 100.0 * (double)(s.sent > s.received ? s.sent - s.received : 0) / (double)s.sent : 0;
	fprintf(stderr,
		"traffic, as the stand-in peers saw it: sent %" PRIu64 ", received %" PRIu64
		" (%.2f%% missing), out of order %" PRIu64 ", corrupt %" PRIu64
		", one-way delay p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		s.sent, s.received, lost, s.out_of_order, s.corrupt, wire_hist_quantile(&s.delay, 0.5) / 1000.0,
		wire_hist_quantile(&s.delay, 0.99) / 1000.0, s.delay.max_us / 1000.0);
}

static void print_progress(struct wire *w, double elapsed_s)
{
	uint64_t sent = 0, delivered = 0, dropped = 0;
	uint32_t n = wire_npeers(w);
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < n; j++) {
			struct wire_link_stats s;
			if (i == j || wire_link_stats(w, i, j, &s) < 0)
				continue;
			sent += s.sent;
			delivered += s.delivered;
			for (int k = 1; k < WIRE_FATE_COUNT; k++)
				dropped += s.dropped[k];
		}
	struct wire_totals t;
	wire_get_totals(w, &t);
	fprintf(stderr, "\r\033[K%6.1fs  sent %" PRIu64 "  delivered %" PRIu64 "  dropped %" PRIu64
			"  in flight %" PRIu64 "  strays %" PRIu64,
		elapsed_s, sent, delivered, dropped, t.inflight, t.strays);
}

/* Applies one --link override: "SPEC:K=V,...". */
static int apply_link_override(struct wire *w, const char *arg, char *err, size_t errlen)
{
	uint32_t n = wire_npeers(w);
	struct cli_link_arg l;
	if (cli_parse_link_arg(arg, n, &l, err, errlen) < 0)
		return -1;
	int from = l.from, to = l.to, both = l.both;
	const char *spec = l.spec;
	for (uint32_t i = 0; i < n; i++) {
		for (uint32_t j = 0; j < n; j++) {
			bool hit = (from < 0 && i != j) || ((int)i == from && (int)j == to) ||
				   (both && (int)i == to && (int)j == from);
			if (!hit)
				continue;
			struct wire_link_cfg c;
			const char *field, *why;
			char label[80];
			snprintf(label, sizeof label, "--link %s", spec);
			wire_get_link(w, i, j, &c);
			if (wire_opt_set_list(&c, l.settings, label, err, errlen) < 0)
				return -1;
			if (wire_link_cfg_validate(&c, &field, &why) < 0) {
				snprintf(err, errlen, "--link %s: %s %s", spec, field, why);
				return -1;
			}
			if (wire_set_link(w, (int)i, (int)j, &c) < 0) {
				snprintf(err, errlen, "--link %s: out of memory", spec);
				return -1;
			}
		}
	}
	return 0;
}

/*
 * Checks one --link override against the session-wide settings before anything
 * is bound or opened, so that a usage error leaves no file truncated.
 */
static int check_link_override(uint32_t n, const struct wire_link_cfg *base, const char *arg, char *err,
			       size_t errlen)
{
	struct cli_link_arg l;
	if (cli_parse_link_arg(arg, n, &l, err, errlen) < 0)
		return -1;
	struct wire_link_cfg c = *base;
	const char *field, *why;
	char label[80];
	snprintf(label, sizeof label, "--link %s", l.spec);
	if (wire_opt_set_list(&c, l.settings, label, err, errlen) < 0)
		return -1;
	if (wire_link_cfg_validate(&c, &field, &why) < 0) {
		snprintf(err, errlen, "--link %s: %s %s", l.spec, field, why);
		return -1;
	}
	return 0;
}

/* --multi-socket's value: NULL for every peer, else a comma list of peers. */
static int parse_multi_socket(const char *arg, uint32_t npeers, uint8_t *flags, char *err, size_t errlen)
{
	if (!arg) {
		memset(flags, 1, npeers);
		return 0;
	}
	char buf[2048];
	if (strlen(arg) >= sizeof buf || !*arg) {
		snprintf(err, errlen, "--multi-socket: want a list of peers, e.g. --multi-socket=0,2");
		return -1;
	}
	strcpy(buf, arg);
	for (char *save = NULL, *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		uint32_t k;
		if (cli_parse_u32("--multi-socket", item, 0, npeers - 1, &k, err, errlen) < 0)
			return -1;
		flags[k] = 1;
	}
	return 0;
}

static uint64_t random_seed(void)
{
	uint64_t s = 0;
	if (getrandom(&s, sizeof s, 0) != sizeof s)
		s = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull;
	return s % 1000000000ull; /* short enough to retype */
}

int cmd_wire(int argc, char **argv)
{
	static struct option longopts[64];
	static const struct option fixed[] = {
		{ "peers", required_argument, NULL, OPT_PEERS },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "pcap", required_argument, NULL, OPT_PCAP },
		{ "fates", required_argument, NULL, OPT_FATES },
		{ "link", required_argument, NULL, OPT_LINK },
		{ "partition", required_argument, NULL, OPT_PARTITION },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "traffic", required_argument, NULL, OPT_TRAFFIC },
		{ "traffic-size", required_argument, NULL, OPT_TRAFFIC_SIZE },
		{ "traffic-fanout", required_argument, NULL, OPT_TRAFFIC_FANOUT },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "replay-fates", required_argument, NULL, OPT_REPLAY_FATES },
		{ "multi-socket", optional_argument, NULL, OPT_MULTI_SOCKET },
		{ "help", no_argument, NULL, OPT_HELP },
	};
	size_t nopt = 0;
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		longopts[nopt++] = fixed[i];
	nopt = wire_opts_longopts(longopts, nopt, sizeof longopts / sizeof longopts[0], OPT_SETTING);

	char err[512];
	struct wire_config cfg;
	wire_config_default(&cfg);
	cfg.npeers = 2;
	bool have_seed = false, quiet = false;
	double duration_s = 0, traffic_hz = 0;
	uint32_t traffic_size = 64, traffic_fanout = 0;
	struct item links[MAX_ITEMS], ports[MAX_ITEMS];
	struct wire_opt_item settings[MAX_ITEMS];
	size_t nlinks = 0, nsettings = 0, nports = 0;
	const char *partition = NULL, *replay_path = NULL, *multi_arg = NULL;
	bool multi = false;

	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		const char *flag = argv[optind - 1];
		if (optarg && optarg == flag && optind >= 2 && strncmp(optarg, "--", 2) == 0) {
			snprintf(err, sizeof err, "%s: needs a value, not the flag '%s'", argv[optind - 2], optarg);
			goto usage;
		}
		switch (c) {
		case OPT_HELP:
			wire_help(stdout);
			return EXIT_CLEAN;
		case OPT_PEERS:
			if (cli_parse_u32("--peers", optarg, 1, WIRE_MAX_PEERS, &cfg.npeers, err, sizeof err) < 0)
				goto usage;
			break;
		case OPT_SEED:
			if (cli_parse_u64("--seed", optarg, 0, UINT64_MAX, &cfg.seed, err, sizeof err) < 0)
				goto usage;
			have_seed = true;
			break;
		case OPT_DURATION:
			if (cli_parse_seconds("--duration", optarg, 365 * 86400.0, &duration_s, err, sizeof err) < 0)
				goto usage;
			break;
		case OPT_PCAP:
			cfg.pcap_path = optarg;
			break;
		case OPT_FATES:
			cfg.fates_path = optarg;
			break;
		case OPT_PARTITION:
			partition = optarg;
			break;
		case OPT_TRAFFIC:
			if (cli_parse_double("--traffic", optarg, 0, 10000, &traffic_hz, err, sizeof err) < 0)
				goto usage;
			break;
		case OPT_TRAFFIC_SIZE:
			if (cli_parse_u32("--traffic-size", optarg, 32, 1400, &traffic_size, err, sizeof err) < 0)
				goto usage;
			break;
		case OPT_TRAFFIC_FANOUT:
			if (cli_parse_u32("--traffic-fanout", optarg, 0, WIRE_MAX_PEERS, &traffic_fanout, err,
					  sizeof err) < 0)
				goto usage;
			break;
		case OPT_QUIET:
			quiet = true;
			break;
		case OPT_REPLAY_FATES:
			replay_path = optarg;
			break;
		case OPT_MULTI_SOCKET:
			multi = true;
			multi_arg = optarg;
			break;
		case OPT_LINK:
		case OPT_PORT:
			if (nlinks >= MAX_ITEMS || nports >= MAX_ITEMS) {
				snprintf(err, sizeof err, "%s: at most %d of these", flag, MAX_ITEMS);
				goto usage;
			}
			if (c == OPT_LINK)
				links[nlinks++] = (struct item){ c, optarg };
			else
				ports[nports++] = (struct item){ c, optarg };
			break;
		case ':':
			snprintf(err, sizeof err, "%s: needs a value", flag);
			goto usage;
		case '?':
			snprintf(err, sizeof err, "unknown option '%s'", flag);
			goto usage;
		default:
			if (c >= OPT_SETTING && nsettings < MAX_ITEMS) {
				settings[nsettings++] =
					(struct wire_opt_item){ c - OPT_SETTING, wire_opts_value(optarg, argc, argv, &optind) };
				break;
			}
			snprintf(err, sizeof err, "%s: too many settings", flag);
			goto usage;
		}
	}
	if (optind < argc) {
		snprintf(err, sizeof err, "unexpected argument '%s'", argv[optind]);
		goto usage;
	}

	if (wire_opts_apply(&cfg.link, settings, nsettings, err, sizeof err) < 0)
		goto usage;
	const char *field, *why;
	if (wire_link_cfg_validate(&cfg.link, &field, &why) < 0) {
		snprintf(err, sizeof err, "--%s: %s", field, why);
		goto usage;
	}
	uint32_t *groups = NULL;
	if (partition) {
		groups = calloc(cfg.npeers, sizeof *groups);
		if (!groups || cli_parse_groups("--partition", partition, cfg.npeers, groups, err, sizeof err) < 0) {
			free(groups);
			goto usage;
		}
	}
	for (size_t i = 0; i < nlinks; i++)
		if (check_link_override(cfg.npeers, &cfg.link, links[i].arg, err, sizeof err) < 0) {
			free(groups);
			goto usage;
		}
	uint32_t port_peer[MAX_ITEMS], port_num[MAX_ITEMS];
	for (size_t i = 0; i < nports; i++) {
		char *eq = strchr(ports[i].arg, '=');
		char kbuf[16];
		snprintf(kbuf, sizeof kbuf, "%.*s", eq ? (int)(eq - ports[i].arg) : 15, ports[i].arg);
		if (!eq || cli_parse_u32("--port", kbuf, 0, cfg.npeers - 1, &port_peer[i], err, sizeof err) < 0 ||
		    cli_parse_u32("--port", eq + 1, 1, 65535, &port_num[i], err, sizeof err) < 0) {
			if (!eq)
				snprintf(err, sizeof err, "--port: '%s' is not K=PORT", ports[i].arg);
			free(groups);
			goto usage;
		}
	}
	uint8_t *multi_peers = NULL;
	if (multi) {
		multi_peers = calloc(cfg.npeers, 1);
		snprintf(err, sizeof err, "out of memory");
		if (!multi_peers || parse_multi_socket(multi_arg, cfg.npeers, multi_peers, err, sizeof err) < 0) {
			free(multi_peers);
			free(groups);
			goto usage;
		}
		cfg.multi_socket = multi_peers;
	}
	struct wire_fate_table *replay = NULL;
	if (replay_path) {
		int hint;
		replay = wire_fate_table_load(replay_path, cfg.npeers, err, sizeof err, &hint);
		if (!replay) {
			free(multi_peers);
			free(groups);
			fprintf(stderr, "loopsim wire: --replay-fates: %s\n", err);
			return hint == 2 ? EXIT_USAGE : EXIT_RUNTIME;
		}
		cfg.replay = replay;
	}
	if (!have_seed)
		cfg.seed = random_seed();

	/* Signals wait in main; every thread started after this inherits the mask. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	struct wire *w;
	int created = wire_create(&cfg, &w, err, sizeof err);
	free(multi_peers); /* read by wire_create() only */
	if (created < 0) {
		free(groups);
		wire_fate_table_free(replay);
		fprintf(stderr, "loopsim wire: %s\n", err);
		return created == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
	}
	int rc = EXIT_CLEAN;
	struct wire_traffic *tr = NULL;
	for (size_t i = 0; i < nlinks; i++)
		if (apply_link_override(w, links[i].arg, err, sizeof err) < 0) {
			rc = EXIT_USAGE;
			goto out;
		}
	for (size_t i = 0; i < nports; i++)
		wire_register_port(w, port_peer[i], (uint16_t)port_num[i]);
	if (groups)
		wire_partition(w, groups);

	if (traffic_hz > 0) {
		uint16_t *pub = malloc(sizeof *pub * cfg.npeers);
		for (uint32_t k = 0; pub && k < cfg.npeers; k++)
			pub[k] = wire_public_port(w, k);
		struct wire_traffic_cfg tc = { .npeers = cfg.npeers, .public_port = pub, .hz = traffic_hz,
					       .size = traffic_size, .fanout = traffic_fanout };
		snprintf(err, sizeof err, "out of memory");
		tr = pub ? wire_traffic_create(&tc, err, sizeof err) : NULL;
		free(pub);
		if (!tr) {
			rc = EXIT_RUNTIME;
			goto out;
		}
		for (uint32_t k = 0; k < cfg.npeers; k++)
			wire_register_port(w, k, wire_traffic_port(tr, k));
	}

	print_peer_table(w, cfg.seed);
	if (wire_start(w) < 0 || (tr && wire_traffic_start(tr) < 0)) {
		snprintf(err, sizeof err, "cannot start threads");
		rc = EXIT_RUNTIME;
		goto out;
	}

	bool progress = !quiet && isatty(STDERR_FILENO);
	sim_time_us start = wire_clock_us(), end = start + (sim_time_us)(duration_s * 1e6);
	for (;;) {
		sim_time_us now = wire_clock_us();
		if (duration_s > 0 && now >= end)
			break;
		sim_time_us wait = 1000000u;
		if (duration_s > 0 && end - now < wait)
			wait = end - now;
		struct timespec ts = { .tv_sec = (time_t)(wait / 1000000u), .tv_nsec = (long)(wait % 1000000u) * 1000 };
		int sig = sigtimedwait(&sigs, NULL, &ts);
		if (sig > 0) {
			if (progress)
				fputc('\n', stderr);
			fprintf(stderr, "loopsim wire: stopping on %s\n", strsignal(sig));
			break;
		}
		if (progress)
			print_progress(w, (double)(wire_clock_us() - start) / 1e6);
	}
	if (progress)
		fputc('\n', stderr);
	if (tr) {
		/* Let what is in flight land, so the summary counts it. */
		wire_traffic_pause(tr);
		sim_time_us drain_end = wire_clock_us() + DRAIN_LIMIT_US;
		struct wire_totals t;
		struct timespec tick = { 0, 10 * 1000000L };
		for (wire_get_totals(w, &t); t.inflight > 0 && wire_clock_us() < drain_end; wire_get_totals(w, &t))
			if (sigtimedwait(&sigs, NULL, &tick) > 0)
				break;
		nanosleep(&tick, NULL); /* the last deliveries reach the stand-in peers' sockets */
		wire_traffic_stop(tr);
	}
	wire_stop(w);
	print_link_stats(w, cfg.seed, replay_path);
	if (tr)
		print_traffic_summary(tr);
	/* A capture that lost data is a failure, however well the wire ran. */
	if (wire_outputs_status(w, err, sizeof err) < 0)
		rc = EXIT_RUNTIME;
out:
	if (rc != EXIT_CLEAN)
		fprintf(stderr, "loopsim wire: %s\n", err);
	wire_traffic_destroy(tr);
	wire_destroy(w);
	wire_fate_table_free(replay);
	free(groups);
	return rc;
usage:
	fprintf(stderr, "loopsim wire: %s\n(see loopsim wire --help)\n", err);
	return EXIT_USAGE;
}
