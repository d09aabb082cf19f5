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
	OPT_ADDR_BASE,
	OPT_HELP,
	OPT_SETTING = 100, /* + index into link_opts */
};

static void wire_help(FILE *out)
{
	fprintf(out,
		"Usage: loopsim wire --peers N [options]\n"
		"\n"
		"Runs the wire alone. Peer k owns the address 127.0.0.(k+2) (or --addr-base + k); the wire\n"
		"binds a public port on each peer's address and prints them, one JSON object per line, then\n"
		"{\"ready\":true,...}. Bind your program k to its address (any port) and send to the other peers'\n"
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
		"  --addr-base IP             peer k owns IP+k instead of 127.0.0.(k+2); inside 127.0.0.0/8, so\n"
		"                             that wires running side by side each have addresses of their own\n"
		"  --quiet                    no progress line\n"
		"\n"
		"Links (every link; the same keys work in --link lists):\n",
		WIRE_MAX_PEERS);
	link_opts_print_help(out);
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
				s.corrupted, s.bytes, s.delay.p50_us / 1000.0, s.delay.p90_us / 1000.0,
				s.delay.p99_us / 1000.0, s.delay.p999_us / 1000.0, s.delay.max_us / 1000.0, late99 / 1000.0);
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
	/* Missing datagrams the wire delivered are the receivers' doing, not the wire's: say so. */
	if (s.kernel_drops)
		fprintf(stderr,
			"traffic: %" PRIu64 " of the missing were delivered by the wire and dropped by the stand-in "
			"peers' own full receive queues (the receivers fell behind, not the wire)\n",
			s.kernel_drops);
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

/*
 * One --link override, parsed, applied to one link's settings: the settings
 * in the order given, then the whole link checked, so that a message names
 * the flag and its selector.
 */
static int link_override(struct wire_link_cfg *c, const struct parse_link_arg *l, char *err, size_t errlen)
{
	const char *field, *why;
	char label[80];
	snprintf(label, sizeof label, "--link %s", l->spec);
	if (link_opt_set_list(c, l->settings, label, err, errlen) < 0)
		return -1;
	if (wire_link_cfg_validate(c, &field, &why) < 0) {
		snprintf(err, errlen, "--link %s: %s %s", l->spec, field, why);
		return -1;
	}
	return 0;
}

/* Applies one --link override, "SPEC:K=V,...", to every link it selects on a wire. */
static int apply_link_override(struct wire *w, const char *arg, char *err, size_t errlen)
{
	uint32_t n = wire_npeers(w);
	struct parse_link_arg l;
	if (parse_link_arg(arg, n, &l, err, errlen) < 0)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < n; j++) {
			bool hit = (l.from < 0 && i != j) || ((int)i == l.from && (int)j == l.to) ||
				   (l.both && (int)i == l.to && (int)j == l.from);
			struct wire_link_cfg c;
			if (!hit || wire_get_link(w, i, j, &c) < 0)
				continue;
			if (link_override(&c, &l, err, errlen) < 0)
				return -1;
			if (wire_set_link(w, (int)i, (int)j, &c) < 0) {
				snprintf(err, errlen, "--link %s: out of memory", l.spec);
				return -1;
			}
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

/* What the command line asks for, parsed and checked before anything is bound or opened. */
struct wire_args {
	struct wire_config cfg;
	bool quiet;
	double duration_s;                   /* 0: until a signal */
	double traffic_hz;                   /* 0: no stand-in traffic */
	uint32_t traffic_size, traffic_fanout;
	const char *link[MAX_ITEMS];         /* --link overrides, applied in order once the wire exists */
	size_t nlinks;
	uint32_t port_peer[MAX_ITEMS], port_num[MAX_ITEMS]; /* --port K=PORT */
	size_t nports;
	uint32_t *groups;                    /* --partition's group of each peer, or NULL */
	uint8_t *multi_peers;                /* --multi-socket, or NULL; cfg.multi_socket points here */
	const char *replay_path;
	struct wire_fate_table *replay;      /* --replay-fates, or NULL; cfg.replay points here */
};

static void wire_args_free(struct wire_args *a)
{
	free(a->groups);
	free(a->multi_peers);
	wire_fate_table_free(a->replay);
	memset(a, 0, sizeof *a);
}

/* "K=PORT" into peer k and its port. */
static int parse_port(const char *arg, uint32_t npeers, uint32_t *peer, uint32_t *port, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	char kbuf[16];
	if (!eq) {
		snprintf(err, errlen, "--port: '%s' is not K=PORT", arg);
		return -1;
	}
	snprintf(kbuf, sizeof kbuf, "%.*s", (int)(eq - arg) < 15 ? (int)(eq - arg) : 15, arg);
	if (parse_u32("--port", kbuf, 0, npeers - 1, peer, err, errlen) < 0 ||
	    parse_u32("--port", eq + 1, 1, 65535, port, err, errlen) < 0)
		return -1;
	return 0;
}

/*
 * Parses and checks argv into *a, leaving nothing open. Returns 0 to run, 1
 * when --help was printed, -EINVAL for bad usage and another negative errno
 * for what the system refused, with the reason in err. *a is to be freed
 * with wire_args_free() in every case.
 */
static int wire_args_parse(int argc, char **argv, struct wire_args *a, char *err, size_t errlen)
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
		{ "addr-base", required_argument, NULL, OPT_ADDR_BASE },
		{ "help", no_argument, NULL, OPT_HELP },
	};
	size_t nopt = 0;
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		longopts[nopt++] = fixed[i];
	nopt = link_opts_longopts(longopts, nopt, sizeof longopts / sizeof longopts[0], OPT_SETTING);

	memset(a, 0, sizeof *a);
	wire_config_default(&a->cfg);
	a->cfg.npeers = 2;
	a->traffic_size = 64;
	bool have_seed = false, multi = false;
	const char *partition = NULL, *multi_arg = NULL, *ports[MAX_ITEMS];
	struct link_opt_item settings[MAX_ITEMS];
	size_t nsettings = 0;

	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		const char *flag = argv[optind - 1];
		if (optarg && optarg == flag && optind >= 2 && strncmp(optarg, "--", 2) == 0) {
			snprintf(err, errlen, "%s: needs a value, not the flag '%s'", argv[optind - 2], optarg);
			return -EINVAL;
		}
		switch (c) {
		case OPT_HELP:
			wire_help(stdout);
			return 1;
		case OPT_PEERS:
			if (parse_u32("--peers", optarg, 1, WIRE_MAX_PEERS, &a->cfg.npeers, err, errlen) < 0)
				return -EINVAL;
			break;
		case OPT_SEED:
			if (parse_u64("--seed", optarg, 0, UINT64_MAX, &a->cfg.seed, err, errlen) < 0)
				return -EINVAL;
			have_seed = true;
			break;
		case OPT_DURATION:
			if (parse_seconds("--duration", optarg, 365 * 86400.0, &a->duration_s, err, errlen) < 0)
				return -EINVAL;
			break;
		case OPT_PCAP:
			a->cfg.pcap_path = optarg;
			break;
		case OPT_FATES:
			a->cfg.fates_path = optarg;
			break;
		case OPT_PARTITION:
			partition = optarg;
			break;
		case OPT_TRAFFIC:
			if (parse_double("--traffic", optarg, 0, 10000, &a->traffic_hz, err, errlen) < 0)
				return -EINVAL;
			break;
		case OPT_TRAFFIC_SIZE:
			if (parse_u32("--traffic-size", optarg, 32, 1400, &a->traffic_size, err, errlen) < 0)
				return -EINVAL;
			break;
		case OPT_TRAFFIC_FANOUT:
			if (parse_u32("--traffic-fanout", optarg, 0, WIRE_MAX_PEERS, &a->traffic_fanout, err, errlen) < 0)
				return -EINVAL;
			break;
		case OPT_QUIET:
			a->quiet = true;
			break;
		case OPT_REPLAY_FATES:
			a->replay_path = optarg;
			break;
		case OPT_MULTI_SOCKET:
			multi = true;
			multi_arg = optarg;
			break;
		case OPT_ADDR_BASE: {
			uint32_t base;
			if (wire_addr_parse_base("--addr-base", optarg, &base, err, errlen) < 0)
				return -EINVAL;
			wire_addr_set_base(base); /* before the wire binds anything: the process's plan (addr.h) */
			break;
		}
		case OPT_LINK:
		case OPT_PORT:
			if (a->nlinks >= MAX_ITEMS || a->nports >= MAX_ITEMS) {
				snprintf(err, errlen, "%s: at most %d of these", flag, MAX_ITEMS);
				return -EINVAL;
			}
			if (c == OPT_LINK)
				a->link[a->nlinks++] = optarg;
			else
				ports[a->nports++] = optarg;
			break;
		case ':':
			snprintf(err, errlen, "%s: needs a value", flag);
			return -EINVAL;
		case '?':
			snprintf(err, errlen, "unknown option '%s'", flag);
			return -EINVAL;
		default:
			if (c >= OPT_SETTING && nsettings < MAX_ITEMS) {
				settings[nsettings++] =
					(struct link_opt_item){ c - OPT_SETTING, link_opts_value(optarg, argc, argv, &optind) };
				break;
			}
			snprintf(err, errlen, "%s: too many settings", flag);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}

	struct wire_config *cfg = &a->cfg;
	if (link_opts_apply(&cfg->link, settings, nsettings, err, errlen) < 0)
		return -EINVAL;
	const char *field, *why;
	if (wire_link_cfg_validate(&cfg->link, &field, &why) < 0) {
		snprintf(err, errlen, "--%s: %s", field, why);
		return -EINVAL;
	}
	if (partition) {
		if (!(a->groups = calloc(cfg->npeers, sizeof *a->groups))) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		if (parse_groups("--partition", partition, cfg->npeers, a->groups, err, errlen) < 0)
			return -EINVAL;
	}
	/* Each override is tried on the session-wide settings now, so that a usage error leaves no file truncated. */
	for (size_t i = 0; i < a->nlinks; i++) {
		struct parse_link_arg l;
		struct wire_link_cfg trial = cfg->link;
		if (parse_link_arg(a->link[i], cfg->npeers, &l, err, errlen) < 0 ||
		    link_override(&trial, &l, err, errlen) < 0)
			return -EINVAL;
	}
	for (size_t i = 0; i < a->nports; i++)
		if (parse_port(ports[i], cfg->npeers, &a->port_peer[i], &a->port_num[i], err, errlen) < 0)
			return -EINVAL;
	if (multi) {
		if (!(a->multi_peers = calloc(cfg->npeers, 1))) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		if (parse_peer_set("--multi-socket", multi_arg, cfg->npeers, a->multi_peers, err, errlen) < 0)
			return -EINVAL;
		cfg->multi_socket = a->multi_peers;
	}
	if (a->replay_path) {
		char why_replay[400];
		int rc = wire_fate_table_load(a->replay_path, cfg->npeers, &a->replay, why_replay, sizeof why_replay);
		if (rc < 0) {
			snprintf(err, errlen, "--replay-fates: %s", why_replay);
			return rc == -ENOMEM ? rc : -EINVAL; /* a log that cannot be read is the user's to fix */
		}
		cfg->replay = a->replay;
	}
	if (!have_seed)
		cfg->seed = random_seed();
	return 0;
}

/* Runs the wire that *a describes until --duration or a signal. Returns the exit code. */
static int wire_execute(const struct wire_args *a)
{
	const struct wire_config *cfg = &a->cfg;
	char err[512];
	/* Signals wait in this thread; every thread started after this inherits the mask. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	struct wire *w;
	int created = wire_create(cfg, &w, err, sizeof err);
	if (created < 0) {
		fprintf(stderr, "loopsim wire: %s\n", err);
		return created == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
	}
	int rc = EXIT_CLEAN;
	struct wire_traffic *tr = NULL;
	for (size_t i = 0; i < a->nlinks; i++)
		if (apply_link_override(w, a->link[i], err, sizeof err) < 0) {
			rc = EXIT_USAGE;
			goto out;
		}
	for (size_t i = 0; i < a->nports; i++)
		wire_register_port(w, a->port_peer[i], (uint16_t)a->port_num[i]);
	if (a->groups)
		wire_partition(w, a->groups);

	if (a->traffic_hz > 0) {
		uint16_t *pub = malloc(sizeof *pub * cfg->npeers);
		for (uint32_t k = 0; pub && k < cfg->npeers; k++)
			pub[k] = wire_public_port(w, k);
		struct wire_traffic_cfg tc = { .npeers = cfg->npeers, .public_port = pub, .hz = a->traffic_hz,
					       .size = a->traffic_size, .fanout = a->traffic_fanout };
		snprintf(err, sizeof err, "out of memory");
		tr = pub ? wire_traffic_create(&tc, err, sizeof err) : NULL;
		free(pub);
		if (!tr) {
			rc = EXIT_RUNTIME;
			goto out;
		}
		for (uint32_t k = 0; k < cfg->npeers; k++)
			wire_register_port(w, k, wire_traffic_port(tr, k));
	}

	print_peer_table(w, cfg->seed);
	if (wire_start(w) < 0 || (tr && wire_traffic_start(tr) < 0)) {
		snprintf(err, sizeof err, "cannot start threads");
		rc = EXIT_RUNTIME;
		goto out;
	}

	bool progress = !a->quiet && isatty(STDERR_FILENO);
	sim_time_us start = wire_clock_us(), end = start + (sim_time_us)(a->duration_s * 1e6);
	for (;;) {
		sim_time_us now = wire_clock_us();
		if (a->duration_s > 0 && now >= end)
			break;
		sim_time_us wait = 1000000u;
		if (a->duration_s > 0 && end - now < wait)
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
	print_link_stats(w, cfg->seed, a->replay_path);
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
	return rc;
}

int cmd_wire(int argc, char **argv)
{
	static struct wire_args a; /* 4 KB of lists: not on the stack */
	char err[512];
	int rc = wire_args_parse(argc, argv, &a, err, sizeof err);
	rc = rc == 0 ? wire_execute(&a) : cli_parse_failed("wire", rc, err);
	wire_args_free(&a);
	return rc;
}
