// SPDX-License-Identifier: MIT
// A session from start to verdict: setup, the loop, and the finish that writes every output.
#include "harness/run.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "harness/bundle.h"
#include "harness/launch.h"
#include "harness/run_internal.h"

run_time_ms run__clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

double run__elapsed_s(const struct session *s, run_time_ms now)
{
	return now > s->start_ms ? (double)(now - s->start_ms) / 1000.0 : 0;
}

static void vlog(struct session *s, const char *fmt, va_list ap)
{
	struct run_result *r = s->res;
	if (r->nlog >= RUN_MAX_LOG) {
		r->log_dropped++;
		return;
	}
	struct run_log_entry *e = &r->log[r->nlog++];
	e->t_s = s->start_ms ? run__elapsed_s(s, run__clock_ms()) : 0;
	vsnprintf(e->what, sizeof e->what, fmt, ap);
}

void run__log(struct session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(s, fmt, ap);
	va_end(ap);
}

void run__note(struct session *s, enum verdict_kind kind, const char *fmt, ...)
{
	char line[VERDICT_REASON_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	verdict_note(&s->verdict, kind, "%s", line);
	run__log(s, "%s", line);
}

void run__peer_failed(struct session *s, uint32_t k, const char *fmt, ...)
{
	struct slot *sl = &s->slot[k];
	struct run_peer *rp = &s->res->peers[k];
	if (sl->failed)
		return;
	sl->failed = true;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rp->problem, sizeof rp->problem, fmt, ap);
	va_end(ap);
	run__note(s, VERDICT_FAILED, "peer %u %s", k, rp->problem);
}

bool run__decided(const struct session *s)
{
	return s->verdict.kind >= VERDICT_FAILED;
}

static void progress_line(struct session *s, run_time_ms now)
{
	uint32_t frame = 0;
	uint64_t rollbacks = 0, dropped = 0;
	for (uint32_t k = 0; k < s->n; k++) {
		if (s->res->peers[k].frames > frame)
			frame = s->res->peers[k].frames;
		rollbacks += s->res->peers[k].rollbacks;
	}
	for (uint32_t i = 0; i < s->n; i++)
		for (uint32_t j = 0; j < s->n; j++) {
			struct wire_link_stats st;
			if (i == j || wire_link_stats(s->wire, i, j, &st) < 0)
				continue;
			for (int r = 1; r < WIRE_FATE_COUNT; r++)
				dropped += st.dropped[r];
		}
	fprintf(stderr, "\r\033[K%6.1fs / %.0fs  frame %u  agreed %" PRId64 "  rollbacks %" PRIu64 "  drops %" PRIu64,
		run__elapsed_s(s, now), s->cfg->scn.duration_s, frame, oracle_agreed(s->oracle), rollbacks, dropped);
}

static void collect_links(struct session *s)
{
	struct run_result *r = s->res;
	r->links = calloc((size_t)s->n * s->n, sizeof *r->links);
	r->nlinks = 0;
	for (uint32_t i = 0; r->links && i < s->n; i++)
		for (uint32_t j = 0; j < s->n; j++) {
			if (i == j)
				continue;
			struct run_link *l = &r->links[r->nlinks++];
			l->from = i;
			l->to = j;
			wire_link_stats(s->wire, i, j, &l->stats);
			wire_link_delay(s->wire, i, j, &l->delay);
			wire_link_lateness(s->wire, i, j, &l->lateness);
			l->rtt_ms = run__pair_rtt_ms(s, i, j);
			l->rtt_known = l->rtt_ms >= 0;
		}
	struct wire_totals t;
	wire_get_totals(s->wire, &t);
	r->wire = (struct run_wire){ .received = t.received,
				     .strays = t.strays,
				     .pool_full = t.pool_full,
				     .unroutable = t.unroutable,
				     .send_errors = t.send_errors,
				     .kernel_drops = t.kernel_drops,
				     .spoofed = t.spoofed,
				     .replayed = t.replayed,
				     .unreplayed = t.unreplayed };
}

static void seed_if_unset(struct scenario *scn, bool quiet)
{
	if (scn->have_seed)
		return;
	uint64_t v = 0;
	if (getrandom(&v, sizeof v, 0) != sizeof v)
		v = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull;
	scn->seed = v % 1000000000ull;
	scn->have_seed = true;
	if (!quiet)
		fprintf(stderr, "loopsim: seed %" PRIu64 " (add --seed %" PRIu64 " to repeat this run)\n", scn->seed,
			scn->seed);
}

/* The session's setup up to a running wire and an oracle. Returns 0, or -1 with a finding noted. */
static int setup(struct session *s)
{
	const struct run_cfg *cfg = s->cfg;
	struct run_result *res = s->res;
	snprintf(s->workdir, sizeof s->workdir, "/tmp/loopsim-run-XXXXXX");
	if (!mkdtemp(s->workdir)) {
		s->workdir[0] = '\0';
		run__note(s, VERDICT_FAILED, "cannot create a work directory in /tmp: %s", strerror(errno));
		return -1;
	}
	if (s->builtin && launch_default_program(s->program, sizeof s->program) < 0) {
		run__note(s, VERDICT_FAILED, "cannot find loopsim-peer beside loopsim (set LOOPSIM_PEER)");
		return -1;
	}
	snprintf(s->pcap, sizeof s->pcap, "%s", cfg->pcap_path ? cfg->pcap_path : "");
	snprintf(s->fates, sizeof s->fates, "%s", cfg->fates_path ? cfg->fates_path : "");
	if (!s->pcap[0])
		snprintf(s->pcap, sizeof s->pcap, "%s/capture.pcap", s->workdir);
	if (!s->fates[0])
		snprintf(s->fates, sizeof s->fates, "%s/fates.tsv", s->workdir);

	struct wire_config wc;
	wire_config_default(&wc);
	wc.npeers = s->n;
	wc.seed = cfg->scn.seed;
	wc.link = cfg->scn.link;
	wc.pcap_path = s->pcap;
	wc.fates_path = s->fates;
	wc.registered_ports_only = s->builtin; /* the built-in peers' ports come from their HELLO only */
	wc.multi_socket = cfg->multi_socket;
	wc.replay = cfg->replay_fates;
	char err[512];
	if (wire_create(&wc, &s->wire, err, sizeof err) < 0) {
		run__note(s, VERDICT_FAILED, "%s", err);
		return -1;
	}
	for (uint32_t i = 0; i < s->n; i++)
		for (uint32_t j = 0; j < s->n; j++) {
			struct wire_link_cfg c;
			if (i != j && scn_link_cfg(&cfg->scn, i, j, &c, err, sizeof err) == 0)
				wire_set_link(s->wire, (int)i, (int)j, &c);
		}
	size_t used = 0;
	for (uint32_t k = 0; k < s->n; k++) {
		char a[WIRE_ADDR_STRLEN];
		used += (size_t)snprintf(s->peers_list + used, sizeof s->peers_list - used, "%s%s", k ? "," : "",
					 wire_addr_str(a, sizeof a, wire_peer_ip(k), wire_public_port(s->wire, k)));
		res->peers[k].public_port = wire_public_port(s->wire, k);
	}
	s->clock = frame_clock_create(); /* without it, a bundle's lanes fall back to 60 frames a second */
	s->oracle = oracle_create(s->n, s->builtin, cfg->scn.seed, s->workdir);
	if (!s->oracle) {
		run__note(s, VERDICT_FAILED, "cannot start the oracle's logs in %s: %s", s->workdir, strerror(errno));
		return -1;
	}
	if (wire_start(s->wire) < 0) {
		run__note(s, VERDICT_FAILED, "cannot start the wire's thread");
		return -1;
	}
	return 0;
}

/*
 * The loop: one clock read per iteration, passed down. It ends at
 * --duration, a signal, the user closing the window, a desync or a failure.
 */
static void loop(struct session *s)
{
	const struct run_cfg *cfg = s->cfg;
	struct run_result *res = s->res;
	uint32_t next_event = 0;
	run_time_ms last_progress = 0, end_ms = s->start_ms + (uint64_t)(cfg->scn.duration_s * 1000);
	for (;;) {
		run__read_peers(s, s->view ? 4 : 20);
		run_time_ms now = run__clock_ms();
		run__view_tick(s, false, now);
		if (run__interrupted(s))
			return;
		if (s->quit_requested) {
			/* Closing the window is the user's Ctrl-C. */
			bool decides = VERDICT_INTERRUPTED > s->verdict.kind;
			run__note(s, VERDICT_INTERRUPTED, "closed by the user after %.1f s: the run was cut short",
				  run__elapsed_s(s, now));
			if (decides)
				s->verdict.signal = SIGINT;
			return;
		}
		run__reap(s, false);
		run__advance_rejoins(s, now);
		run__supervise(s, now);
		run__track_strays(s, now);
		if (run__decided(s))
			return;
		while (next_event < cfg->scn.nevents && cfg->scn.events[next_event].at_s <= run__elapsed_s(s, now))
			run__apply_event(s, &cfg->scn.events[next_event++], now);
		/* A split is named before the frames beyond it are compared, so that it is not taken for a desync. */
		run__check_split(s);
		if (oracle_check(s->oracle, &res->desync)) {
			char who[200];
			size_t used = 0;
			who[0] = '\0';
			for (uint32_t m = 0; m < res->desync.npeers && used < sizeof who - 8; m++)
				used += (size_t)snprintf(who + used, sizeof who - used, "%s%u", m ? ", " : "",
							 res->desync.peers[m]);
			run__note(s, VERDICT_DESYNC, "desync at frame %u: peer%s %s differ%s from the others", res->desync.frame,
				  res->desync.npeers == 1 ? "" : "s", who, res->desync.npeers == 1 ? "s" : "");
			return;
		}
		if (cfg->progress && now - last_progress >= 1000) {
			progress_line(s, now);
			last_progress = now;
		}
		if (now >= end_ms)
			return;
	}
}

/* A desync: every peer's state at the frame, the bundle, and the window held on it if a person watches. */
static void on_desync(struct session *s)
{
	const struct run_cfg *cfg = s->cfg;
	struct run_result *res = s->res;
	char err[512];
	run_time_ms found_ms = run__clock_ms();
	if (s->view)
		run__build_snapshot(s, found_ms); /* the moment of the desync, which the window then holds */
	run__collect_dumps(s, res->desync.frame);
	struct bundle_input bi = { .scn = &cfg->scn, .res = res, .oracle = s->oracle, .pcap = s->pcap,
				   .fates = s->fates, .workdir = s->workdir, .clock = s->clock, .start_us = s->start_us };
	uint64_t ran_us;
	if (frame_clock_at(s->clock, res->desync.frame, &ran_us)) {
		res->desync.has_t = true;
		res->desync.t_s = ran_us > s->start_us ? (double)(ran_us - s->start_us) / 1e6 : 0;
	}
	for (uint32_t k = 0; k < s->n; k++)
		if (s->slot[k].dumped && s->slot[k].dump.ok && s->slot[k].dump.frame == res->desync.frame) {
			bi.dump[k] = s->slot[k].dump.data;
			bi.dump_len[k] = s->slot[k].dump.len;
		}
	wire_stop(s->wire); /* the captures are complete before they are moved into the bundle */
	if (bundle_write(&bi, cfg->bundle_dir, err, sizeof err) < 0)
		run__note(s, VERDICT_FAILED, "the desync bundle could not be written: %s", err);
	if (s->view) {
		snprintf(s->snap->desync.field, sizeof s->snap->desync.field, "%s", res->desync.field);
		/*
		 * A window holds the desync on screen for the person watching it, to
		 * the end of --duration at most; with nobody to watch (stdin not a
		 * terminal, or CI set) the run ends at once.
		 */
		run_time_ms end_ms = s->start_ms + (uint64_t)(cfg->scn.duration_s * 1000);
		while (cfg->window && cfg->hold_desync && !s->quit_requested && !run__interrupted(s)) {
			run_time_ms now = run__clock_ms();
			if (now >= end_ms)
				break;
			run__read_peers(s, 10);
			run__view_tick(s, true, now);
		}
	}
}

/* After wire_stop(): notes a pcap or fate log that could not be written whole. */
static void check_outputs(struct session *s)
{
	char err[600];
	if (s->wire && wire_outputs_status(s->wire, err, sizeof err) < 0)
		run__note(s, VERDICT_FAILED, "a capture could not be written: %s", err);
}

/* The work directory holds the peers' logs; keep it when something went wrong, or for a user's peers. */
static void clean_workdir(struct session *s)
{
	if (!s->workdir[0] || s->workdir[0] != '/')
		return;
	bool keep_all = s->verdict.kind != VERDICT_CLEAN && s->verdict.kind != VERDICT_NETWORK_ONLY;
	bool keep_logs = keep_all || !s->builtin || s->cfg->keep_logs;
	if (keep_all) {
		snprintf(s->res->workdir, sizeof s->res->workdir, "%s", s->workdir);
		return;
	}
	char path[700];
	const char *names[] = { "capture.pcap", "fates.tsv" };
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/%s", s->workdir, names[i]);
		unlink(path);
	}
	for (uint32_t k = 0; k < s->n; k++) {
		snprintf(path, sizeof path, "%s/checksums-%u.txt", s->workdir, k);
		unlink(path);
		snprintf(path, sizeof path, "%s/inputs-%u.txt", s->workdir, k);
		unlink(path);
		if (!keep_logs) {
			snprintf(path, sizeof path, "%s/peer-%u.log", s->workdir, k);
			unlink(path);
		}
	}
	if (keep_logs)
		snprintf(s->res->workdir, sizeof s->res->workdir, "%s", s->workdir);
	else
		rmdir(s->workdir);
}

/* The verdict's end rules, then everything the report needs from it. */
static void decide(struct session *s)
{
	struct verdict_peer vp[RUN_MAX_PEERS];
	for (uint32_t k = 0; k < s->n; k++) {
		const struct slot *sl = &s->slot[k];
		vp[k] = (struct verdict_peer){ .live = sl->pid > 0 && !sl->left && !sl->failed,
					       .reported = sl->framed,
					       .confirmed = sl->confirmed,
					       .compared = s->oracle ? oracle_peer_compared(s->oracle, k) : 0 };
		s->res->peers[k].compared = vp[k].compared;
	}
	struct verdict_run vr = { .network_only = s->cfg->network_only,
				  .agreed = s->oracle ? oracle_agreed(s->oracle) : -1,
				  .played_s = s->res->duration_s };
	verdict_finish(&s->verdict, vp, s->n, &vr);
	if (s->verdict.kind == VERDICT_CLEAN)
		snprintf(s->verdict.reason, sizeof s->verdict.reason,
			 "ran for %.1f s; every live peer's confirmed frames were compared, up to frame %" PRId64,
			 s->res->duration_s, vr.agreed);
}

int run_session(const struct run_cfg *cfg_in, struct run_result *res)
{
	struct run_cfg cfg = *cfg_in;
	seed_if_unset(&cfg.scn, cfg.quiet);
	struct session s = { .cfg = &cfg, .res = res, .n = cfg.scn.peers, .sigfd = -1 };
	verdict_init(&s.verdict);
	memset(res, 0, sizeof *res);
	res->version = LOOPSIM_VERSION;
	res->seed = cfg.scn.seed;
	/* The built-in peers' netcode; a --peer-cmd program brings its own, which loopsim does not know. */
	res->netcode = cfg.scn.peer_cmd[0] ? "peer-cmd" : scn_netcode_name(cfg.scn.netcode);
	res->npeers = s.n;
	s.builtin = cfg.scn.peer_cmd[0] == '\0';
	s.session_id = cfg.scn.seed * 0x9e3779b97f4a7c15ull + 1;
	for (uint32_t k = 0; k < s.n; k++) {
		res->peers[k].index = k;
		res->peers[k].addr = wire_peer_ip(k);
		res->peers[k].confirmed_frame = -1;
		res->peers[k].exit_status = -1;
		s.slot[k].ctl = -1;
		s.slot[k].confirmed = -1;
	}

	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	s.sigfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (launch_init() < 0)
		run__log(&s, "cannot become a child subreaper: processes a peer detaches may outlive the run");

	char err[512];
	if (setup(&s) < 0)
		goto out;
	s.start_ms = run__clock_ms();
	if (run__open_view(&s, err, sizeof err) < 0) {
		run__note(&s, VERDICT_FAILED, "cannot open the viewer: %s", err);
		goto stop;
	}
	if (run__start_peers(&s) < 0)
		goto stop;
	s.start_ms = run__clock_ms(); /* the timeline counts from START */
	s.start_us = wire_clock_us() - wire_started_us(s.wire);
	run__log(&s, "start: %u peers, %s, seed %" PRIu64, s.n, res->netcode, cfg.scn.seed);
	loop(&s);
	if (cfg.progress)
		fputc('\n', stderr);
	if (s.verdict.kind == VERDICT_DESYNC)
		on_desync(&s);
	run__track_strays(&s, 0);
	s.played_s = run__elapsed_s(&s, run__clock_ms());
stop:
	run__stop_peers(&s);
out:
	res->duration_s = s.start_ms ? run__elapsed_s(&s, run__clock_ms()) : 0;
	run__close_view(&s);
	if (s.wire) {
		wire_stop(s.wire);
		collect_links(&s);
		run__misfits(&s);
		check_outputs(&s);
	}
	if (s.oracle && oracle_flush(s.oracle) < 0 && !res->desync.found)
		run__log(&s, "the oracle's logs in %s are incomplete: %s", s.workdir, strerror(errno));
	decide(&s);
	wire_destroy(s.wire);
	oracle_destroy(s.oracle);
	frame_clock_destroy(s.clock);
	if (s.sigfd >= 0)
		close(s.sigfd);
	res->verdict = s.verdict;
	res->exit_code = verdict_exit_code(&s.verdict);
	snprintf(res->reason, sizeof res->reason, "%s", s.verdict.reason[0] ? s.verdict.reason : "ran to the end");
	clean_workdir(&s);
	return res->exit_code;
}
