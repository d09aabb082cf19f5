// SPDX-License-Identifier: MIT
// `loopsim run`: a scenario and N real peers to a verdict, a report and, on a desync, a bundle.
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wire/parse.h"
#include "cli/cli.h"
#include "wire/link_opts.h"
#include "harness/outfile.h"
#include "harness/report.h"
#include "harness/run.h"
#include "harness/scenario.h"
#include "wire/addr.h"

#define MAX_ITEMS 256

enum {
	OPT_PEERS = 1,
	OPT_NETCODE,
	OPT_SEED,
	OPT_DURATION,
	OPT_INPUT_DELAY,
	OPT_DISCONNECT,
	OPT_HEADLESS,
	OPT_REPORT,
	OPT_JUNIT,
	OPT_PCAP,
	OPT_FATES,
	OPT_BUNDLE,
	OPT_PEER_CMD,
	OPT_INJECT,
	OPT_LINK,
	OPT_QUIET,
	OPT_SCREENSHOT,
	OPT_NETWORK_ONLY,
	OPT_KEEP_LOGS,
	OPT_LOCALHOST_PORTS,
	OPT_REPLAY_FATES,
	OPT_MULTI_SOCKET,
	OPT_ADDR_BASE,
	OPT_RESOLVE_ONLY,
	OPT_HELP,
	OPT_SETTING = 100,
};

static void run_help(FILE *out)
{
	fprintf(out,
		"Usage: loopsim run [SCENARIO.ini] [options]\n"
		"\n"
		"Starts the wire and N peers, each its own process on 127.0.0.(k+2), plays the scenario's\n"
		"timeline, and compares every peer's checksum of every confirmed frame. Stops at --duration,\n"
		"Ctrl-C or the first desync, then prints a summary. Flags override the scenario.\n"
		"\n"
		"Session:\n"
		"  --peers N                  2..16 with the built-in peer, up to 64 with --peer-cmd (default 4)\n"
		"  --netcode MODE             rollback (default) or lockstep\n"
		"  --seed N                   seed of the game and of every wire draw (default: random, printed)\n"
		"  --duration S               seconds to run (default 30)\n"
		"  --input-delay D            frames of input delay (default 2)\n"
		"  --disconnect-timeout S     the built-in peers drop a remote silent this long (default 8s;\n"
		"                             1s to 60s): how fast a kill is noticed, how long a partition lasts\n"
		"  --headless                 no window even where there is a display (the default without one)\n"
		"  --screenshot FILE.png      write the final frame as a PNG (rendered without a display if need be)\n"
		"  --peer-cmd 'CMD'           run your own program as each peer; placeholders {index} {addr}\n"
		"                             {peers} {seed}, and {port} (BASE+index) with --localhost-ports;\n"
		"                             see peers/include/loopsim/peer.h\n"
		"  --localhost-ports BASE     run an unmodified game that binds 127.0.0.1 or 0.0.0.0 at port\n"
		"                             BASE+index and sends to 127.0.0.1:BASE+j: a preload library\n"
		"                             (LD_PRELOAD) moves its UDP traffic onto the wire (dynamically\n"
		"                             linked programs, IPv4; see README)\n"
		"  --inject-desync PEER@FRAME perturb one peer's state at a frame: the desync path, end to end\n"
		"  --network-only             no state check is wanted (peers that report no frames): a run that\n"
		"                             nothing failed is 'network-only', exit 0, instead of 'unchecked', exit 4\n"
		"  --replay-fates FILE        give the n-th datagram on each link the fate FILE (a --fates log)\n"
		"                             recorded for it, whatever this run's timing\n"
		"  --multi-socket[=K,...]     these peers (all, without a list) send from several sockets: known by\n"
		"                             address alone, not dropped as spoofed (implied by --localhost-ports)\n"
		"  --addr-base IP             peer k lives at IP+k instead of 127.0.0.(k+2); inside 127.0.0.0/8,\n"
		"                             so that concurrent sessions each have addresses of their own\n"
		"  --resolve-only FILE        write the scenario as the file and the flags resolve it (FILE runs\n"
		"                             the same session with `loopsim run FILE`), and stop: exit 0 or 2\n"
		"\n"
		"Output:\n"
		"  --report FILE.json         the run as JSON (peers, links, desync)\n"
		"  --junit FILE.xml           one testcase per peer and one for the desync check\n"
		"  --pcap FILE                every delivered datagram, as the receivers saw it\n"
		"  --fates FILE               the fate of every datagram\n"
		"  --bundle DIR               where a desync bundle goes (default ./loopsim-desync-<time>)\n"
		"  --keep-logs                keep the peers' logs of a clean run too (a failed run, and any\n"
		"                             --peer-cmd run, always keeps them; the summary says where)\n"
		"  --quiet                    no progress line and no summary\n"
		"\n"
		"Links (every link; the scenario's [link] sections and --link override them):\n");
	link_opts_print_help(out);
	fprintf(out,
		"  --link 'SPEC:K=V,...'      e.g. --link '0->1:loss=20' or --link '1<->2:latency=150'\n"
		"\n"
		"Exit codes (one verdict per run; exit 0 means every live peer was compared and every output written):\n"
		"  0  clean (or network-only, when asked for)   1  desync (bundle written)\n"
		"  2  bad usage or scenario                     3  failed: a peer crashed, hung, froze, broke the\n"
		"                                                  control protocol; a bind or an output failed\n"
		"  4  unchecked: some live peer had no frame compared\n"
		"  5  split: the session split into sides that dropped each other (each compared within itself)\n"
		"  130, 143, 129  interrupted by SIGINT, SIGTERM, SIGHUP (every output is still written)\n");
}

/*
 * --resolve-only: the scenario with the flags applied, as an INI that runs the
 * same session. The seed is written only when one was given (a scenario's or
 * --seed), so that a file resolved without one still draws a seed per run.
 */
static int resolve_only(const struct scenario *scn, const char *path)
{
	char err[512];
	struct outfile of;
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	if (!mem) {
		fprintf(stderr, "loopsim run: --resolve-only: out of memory\n");
		return EXIT_RUNTIME;
	}
	int rc = scn_write_resolved(scn, mem);
	if (fclose(mem) != 0 || rc < 0) {
		free(text);
		fprintf(stderr, "loopsim run: --resolve-only: this scenario holds a value the file format cannot say\n");
		return EXIT_USAGE;
	}
	if (!scn->have_seed) {
		/* Drop the "seed = " line of a scenario that names none. */
		char *line = strstr(text, "\nseed = ");
		char *end = line ? strchr(line + 1, '\n') : NULL;
		if (end)
			memmove(line, end, strlen(end) + 1);
		len = strlen(text);
	}
	if (outfile_open(&of, path, err, sizeof err) < 0) {
		free(text);
		fprintf(stderr, "loopsim run: --resolve-only: %s\n", err);
		return EXIT_USAGE;
	}
	outfile_write(&of, text, len);
	free(text);
	if (outfile_commit(&of, err, sizeof err) < 0) {
		fprintf(stderr, "loopsim run: --resolve-only: %s\n", err);
		return EXIT_RUNTIME;
	}
	return EXIT_CLEAN;
}

/* What the command line asks for, parsed and checked before anything starts. */
struct run_args {
	struct run_cfg cfg;
	const char *report, *junit;         /* written after the run */
	const char *resolve_to;             /* --resolve-only: write the scenario here instead of running */
	bool quiet;
	uint8_t multi_peers[RUN_MAX_PEERS]; /* cfg.multi_socket points here */
	struct wire_fate_table *replay;     /* --replay-fates, or NULL; cfg.replay_fates points here */
};

/*
 * Parses and checks argv (the scenario file first, then the flags over it)
 * into *a, and refuses now an output that cannot be written. Returns 0 to
 * run, 1 when --help was printed, -EINVAL for bad usage and another negative
 * errno for what the system refused, with the reason in err. *a is to be
 * freed with run_args_free() in every case.
 */
static int run_args_parse(int argc, char **argv, struct run_args *a, char *err, size_t errlen)
{
	static struct option longopts[64];
	static const struct option fixed[] = {
		{ "peers", required_argument, NULL, OPT_PEERS },
		{ "netcode", required_argument, NULL, OPT_NETCODE },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "input-delay", required_argument, NULL, OPT_INPUT_DELAY },
		{ "disconnect-timeout", required_argument, NULL, OPT_DISCONNECT },
		{ "headless", no_argument, NULL, OPT_HEADLESS },
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "junit", required_argument, NULL, OPT_JUNIT },
		{ "pcap", required_argument, NULL, OPT_PCAP },
		{ "fates", required_argument, NULL, OPT_FATES },
		{ "bundle", required_argument, NULL, OPT_BUNDLE },
		{ "peer-cmd", required_argument, NULL, OPT_PEER_CMD },
		{ "inject-desync", required_argument, NULL, OPT_INJECT },
		{ "link", required_argument, NULL, OPT_LINK },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "screenshot", required_argument, NULL, OPT_SCREENSHOT },
		{ "network-only", no_argument, NULL, OPT_NETWORK_ONLY },
		{ "keep-logs", no_argument, NULL, OPT_KEEP_LOGS },
		{ "localhost-ports", required_argument, NULL, OPT_LOCALHOST_PORTS },
		{ "replay-fates", required_argument, NULL, OPT_REPLAY_FATES },
		{ "multi-socket", optional_argument, NULL, OPT_MULTI_SOCKET },
		{ "addr-base", required_argument, NULL, OPT_ADDR_BASE },
		{ "resolve-only", required_argument, NULL, OPT_RESOLVE_ONLY },
		{ "help", no_argument, NULL, OPT_HELP },
	};
	size_t nopt = 0;
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		longopts[nopt++] = fixed[i];
	nopt = link_opts_longopts(longopts, nopt, sizeof longopts / sizeof longopts[0], OPT_SETTING);

	/* The scenario comes first, wherever it stands on the line: flags override it. */
	memset(a, 0, sizeof *a);
	struct run_cfg *cfg = &a->cfg;
	scn_default(&cfg->scn);
	const char *scenario = NULL;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-') {
			/* Skip values of flags that take one. */
			const char *prev = argv[i - 1];
			bool is_value = false;
			if (i > 1 && prev[0] == '-' && prev[1] == '-' && !strchr(prev, '='))
				for (size_t k = 0; k < nopt; k++)
					if (strcmp(prev + 2, longopts[k].name) == 0)
						is_value = longopts[k].has_arg == required_argument;
			if (!is_value) {
				if (scenario) {
					snprintf(err, errlen, "one scenario at a time: '%s' and '%s'", scenario, argv[i]);
					return -EINVAL;
				}
				scenario = argv[i];
			}
		}
	}
	if (scenario && scn_load(&cfg->scn, scenario, err, errlen) < 0)
		return -EINVAL;

	const char *replay_path = NULL, *multi_arg = NULL;
	bool headless = false, multi = false;
	struct link_opt_item settings[MAX_ITEMS];
	size_t nsettings = 0;
	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		const char *flag = argv[optind - 1];
		uint32_t u;
		switch (c) {
		case OPT_HELP:
			run_help(stdout);
			return 1;
		case OPT_PEERS:
			if (parse_u32("--peers", optarg, 2, 64, &cfg->scn.peers, err, errlen) < 0)
				return -EINVAL;
			break;
		case OPT_NETCODE:
			if (strcmp(optarg, "rollback") == 0)
				cfg->scn.netcode = SCN_ROLLBACK;
			else if (strcmp(optarg, "lockstep") == 0)
				cfg->scn.netcode = SCN_LOCKSTEP;
			else {
				snprintf(err, errlen, "--netcode: '%s' is not rollback or lockstep", optarg);
				return -EINVAL;
			}
			break;
		case OPT_SEED:
			if (parse_u64("--seed", optarg, 0, UINT64_MAX, &cfg->scn.seed, err, errlen) < 0)
				return -EINVAL;
			cfg->scn.have_seed = true;
			break;
		case OPT_DURATION:
			if (parse_seconds("--duration", optarg, 86400, &cfg->scn.duration_s, err, errlen) < 0)
				return -EINVAL;
			if (cfg->scn.duration_s <= 0) {
				snprintf(err, errlen, "--duration: must be above 0");
				return -EINVAL;
			}
			break;
		case OPT_INPUT_DELAY:
			if (parse_u32("--input-delay", optarg, 0, 30, &u, err, errlen) < 0)
				return -EINVAL;
			cfg->scn.input_delay = u;
			break;
		case OPT_DISCONNECT: {
			double d;
			if (parse_seconds("--disconnect-timeout", optarg, SCN_MAX_DISCONNECT_S, &d, err, errlen) < 0)
				return -EINVAL;
			if (d < 1) {
				snprintf(err, errlen, "--disconnect-timeout: must be at least 1 second");
				return -EINVAL;
			}
			cfg->scn.disconnect_s = d;
			break;
		}
		case OPT_HEADLESS:
			headless = true;
			break;
		case OPT_SCREENSHOT:
			cfg->screenshot = optarg;
			break;
		case OPT_REPORT:
			a->report = optarg;
			break;
		case OPT_JUNIT:
			a->junit = optarg;
			break;
		case OPT_PCAP:
			cfg->pcap_path = optarg;
			break;
		case OPT_FATES:
			cfg->fates_path = optarg;
			break;
		case OPT_BUNDLE:
			cfg->bundle_dir = optarg;
			break;
		case OPT_PEER_CMD:
			if (strlen(optarg) >= sizeof cfg->scn.peer_cmd || !*optarg) {
				snprintf(err, errlen, "--peer-cmd: must be 1 to %zu characters",
					 sizeof cfg->scn.peer_cmd - 1);
				return -EINVAL;
			}
			strcpy(cfg->scn.peer_cmd, optarg);
			break;
		case OPT_INJECT: {
			uint64_t frame;
			if (parse_peer_at("--inject-desync", optarg, 64, &cfg->inject_peer, &frame, err, errlen) < 0)
				return -EINVAL;
			if (frame > UINT32_MAX - 1) {
				snprintf(err, errlen, "--inject-desync: frame %" PRIu64 " is too large", frame);
				return -EINVAL;
			}
			cfg->inject = true;
			cfg->inject_frame = (uint32_t)frame;
			break;
		}
		case OPT_LINK: {
			struct scn_setting *o;
			struct parse_link_arg l;
			if (parse_link_arg(optarg, 64, &l, err, errlen) < 0)
				return -EINVAL;
			const char *spec = l.spec;
			int from = l.from, to = l.to, both = l.both;
			/* Each key=value becomes an override, checked now so the message names the flag. */
			char *list = strdup(l.settings), *save = NULL;
			for (char *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
				char *eq = strchr(item, '=');
				struct wire_link_cfg scratch;
				wire_link_cfg_default(&scratch);
				if (!eq || cfg->scn.noverrides >= SCN_MAX_OVERRIDES) {
					snprintf(err, errlen, "--link %s: '%s' is not key=value (or too many)", spec, item);
					free(list);
					return -EINVAL;
				}
				*eq = '\0';
				char what[96];
				snprintf(what, sizeof what, "--link %s: %s", spec, item);
				if (link_opt_set(&scratch, item, eq + 1, what, err, errlen) < 0) {
					free(list);
					return -EINVAL;
				}
				if (from < 0) {
					/* '*' is every link: the scenario's [link *], not an override. */
					if (link_opt_set(&cfg->scn.link, item, eq + 1, what, err, errlen) < 0) {
						free(list);
						return -EINVAL;
					}
					continue;
				}
				o = &cfg->scn.overrides[cfg->scn.noverrides++];
				*o = (struct scn_setting){ .from = from, .to = to, .both = both, .line = 0 };
				snprintf(o->key, sizeof o->key, "%s", item);
				snprintf(o->value, sizeof o->value, "%s", eq + 1);
			}
			free(list);
			break;
		}
		case OPT_QUIET:
			a->quiet = true;
			break;
		case OPT_NETWORK_ONLY:
			cfg->network_only = true;
			break;
		case OPT_KEEP_LOGS:
			cfg->keep_logs = true;
			break;
		case OPT_REPLAY_FATES:
			replay_path = optarg;
			break;
		case OPT_MULTI_SOCKET:
			multi = true;
			multi_arg = optarg;
			break;
		case OPT_ADDR_BASE: {
			uint32_t base;
			if (wire_addr_parse_base("--addr-base", optarg, &base, err, errlen) < 0)
				return -EINVAL;
			wire_addr_set_base(base); /* before any wire or peer starts: the process's plan (addr.h) */
			break;
		}
		case OPT_RESOLVE_ONLY:
			a->resolve_to = optarg;
			break;
		case OPT_LOCALHOST_PORTS:
			if (parse_u32("--localhost-ports", optarg, 1, 65535, &u, err, errlen) < 0)
				return -EINVAL;
			cfg->localhost_base = (uint16_t)u;
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
	if (link_opts_apply(&cfg->scn.link, settings, nsettings, err, errlen) < 0)
		return -EINVAL;
	if (!cfg->scn.peer_cmd[0] && cfg->scn.peers > 16) {
		snprintf(err, errlen, "--peers: the built-in game takes 2 to 16 players (%u asked)", cfg->scn.peers);
		return -EINVAL;
	}
	if (cfg->localhost_base && !cfg->scn.peer_cmd[0]) {
		snprintf(err, errlen, "--localhost-ports: needs --peer-cmd (the built-in peers bind their own address)");
		return -EINVAL;
	}
	if (cfg->localhost_base && cfg->localhost_base + cfg->scn.peers - 1 > 65535) {
		snprintf(err, errlen, "--localhost-ports: BASE %u with %u peers runs past port 65535 (at most %u)",
			 cfg->localhost_base, cfg->scn.peers, 65536 - cfg->scn.peers);
		return -EINVAL;
	}
	if (!cfg->localhost_base && strstr(cfg->scn.peer_cmd, "{port}")) {
		snprintf(err, errlen, "--peer-cmd: {port} needs --localhost-ports BASE");
		return -EINVAL;
	}
	if (cfg->inject && cfg->inject_peer >= cfg->scn.peers) {
		snprintf(err, errlen, "--inject-desync: peer %u is not below --peers %u", cfg->inject_peer,
			 cfg->scn.peers);
		return -EINVAL;
	}
	if (scn_check(&cfg->scn, err, errlen) < 0)
		return -EINVAL;
	/*
	 * --localhost-ports implies --multi-socket: the preload library's HELLO
	 * may reach the harness after the game's first datagram, and a game may
	 * send from more than one socket.
	 */
	if (multi || cfg->localhost_base) {
		if (parse_peer_set("--multi-socket", multi ? multi_arg : NULL, cfg->scn.peers, a->multi_peers, err,
				   errlen) < 0)
			return -EINVAL;
		cfg->multi_socket = a->multi_peers;
	}
	/* An output that cannot be written is refused now, not after the run. */
	const struct {
		const char *flag, *path;
	} outputs[] = { { "--report", a->report }, { "--junit", a->junit }, { "--pcap", cfg->pcap_path },
			{ "--fates", cfg->fates_path }, { "--screenshot", cfg->screenshot } };
	for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
		char why[400];
		if (outputs[i].path && outfile_check(outputs[i].path, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s: %s", outputs[i].flag, why);
			return -EINVAL;
		}
	}
	if (a->resolve_to) /* the scenario is all it writes: no window, no fate log to load */
		return 0;
#ifdef LOOPSIM_HAVE_VIEW
	const char *display = getenv("DISPLAY"), *wayland = getenv("WAYLAND_DISPLAY");
	cfg->window = !headless && ((display && *display) || (wayland && *wayland));
#else
	(void)headless;
	cfg->window = false; /* a build without the viewer is headless everywhere */
	if (cfg->screenshot) {
		snprintf(err, errlen, "--screenshot: this loopsim was built without the viewer (LOOPSIM_VIEW=OFF)");
		return -EINVAL;
	}
#endif
	cfg->progress = !a->quiet && !cfg->window && isatty(STDERR_FILENO);
	cfg->quiet = a->quiet;
	/* A desync is held in the window only for a person watching: not under CI, nor with stdin from a pipe. */
	const char *ci = getenv("CI");
	cfg->hold_desync = cfg->window && isatty(STDIN_FILENO) && !(ci && *ci && strcmp(ci, "false") != 0);

	if (replay_path) {
		char why[400];
		int rc = wire_fate_table_load(replay_path, cfg->scn.peers, &a->replay, why, sizeof why);
		if (rc < 0) {
			snprintf(err, errlen, "--replay-fates: %s", why);
			return rc == -ENOMEM ? rc : -EINVAL; /* a log that cannot be read is the user's to fix */
		}
		cfg->replay_fates = a->replay;
	}
	return 0;
}

static void run_args_free(struct run_args *a)
{
	wire_fate_table_free(a->replay);
	a->replay = NULL;
	a->cfg.replay_fates = NULL;
}

/* Runs the session *a describes, then writes the report and JUnit. Returns the exit code. */
static int run_execute(const struct run_args *a)
{
	char err[512];
	static struct run_result res;
	run_session(&a->cfg, &res);
	/*
	 * The report and JUnit come last. One that cannot be written is a
	 * finding like any other: it changes the verdict of what is written
	 * after it, and of the exit code.
	 */
	if (a->report && report_write_json(&res, a->report, err, sizeof err) < 0) {
		fprintf(stderr, "loopsim run: --report: %s\n", err);
		verdict_note(&res.verdict, VERDICT_FAILED, "--report could not be written: %s", err);
	}
	if (a->junit && report_write_junit(&res, a->junit, err, sizeof err) < 0) {
		fprintf(stderr, "loopsim run: --junit: %s\n", err);
		verdict_note(&res.verdict, VERDICT_FAILED, "--junit could not be written: %s", err);
	}
	res.exit_code = verdict_exit_code(&res.verdict);
	snprintf(res.reason, sizeof res.reason, "%s", res.verdict.reason);
	if (!a->quiet)
		report_print_summary(&res, stderr);
	else if (res.exit_code != 0)
		fprintf(stderr, "loopsim run: %s: %s\n", verdict_name(res.verdict.kind), res.reason);
	free(res.links);
	res.links = NULL;
	return res.exit_code;
}

/* `loopsim` alone, and `loopsim run`, share this. */
int cmd_run(int argc, char **argv)
{
	static struct run_args a; /* the scenario's tables: not on the stack */
	char err[512];
	int rc = run_args_parse(argc, argv, &a, err, sizeof err);
	if (rc == 0)
		rc = a.resolve_to ? resolve_only(&a.cfg.scn, a.resolve_to) : run_execute(&a);
	else
		rc = cli_parse_failed("run", rc, err);
	run_args_free(&a);
	return rc;
}
