// SPDX-License-Identifier: MIT
// The session that run_session() drives, shared by its parts: supervision, rejoin, timeline and viewer glue.
#ifndef LOOPSIM_HARNESS_RUN_INTERNAL_H
#define LOOPSIM_HARNESS_RUN_INTERNAL_H

/*
 * run.c          setup, the loop and the finish: one clock read per loop iteration, passed down as `now`
 * run_peers.c    starting, hearing, judging and stopping the peers (supervision)
 * run_rejoin.c   a restarted built-in peer taken back into the running session
 * run_timeline.c the scenario's [at] events and the viewer's live changes, applied to the wire and peers
 * run_view.c     snapshots for the viewer and what the user does in its window
 * Every part reports findings through run__note(), so one verdict decides the run.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "control.h"
#include "harness/frame_clock.h"
#include "harness/oracle.h"
#include "harness/run.h"
#include "harness/verdict.h"
#include "view/view.h"
#include "wire/addr.h"
#include "wire/relay.h"

/* ms since an arbitrary start, CLOCK_MONOTONIC. */
typedef uint64_t run_time_ms;

/* A peer must say HELLO within this long of being started. */
#define RUN_HELLO_TIMEOUT_MS 10000
/* A user's peer may never speak the control protocol: wait this long, then go on without its HELLO. */
#define RUN_HELLO_GRACE_USER_MS 3000
/* Supervision: no FRAME for this long after the first one is a hang; none at all within FIRST_FRAME_MS too. */
#define RUN_HANG_MS 5000
#define RUN_FIRST_FRAME_MS 15000
/*
 * A peer whose confirmed frame has not moved for this long beyond the
 * disconnect timeout is frozen, even if it heartbeats. The disconnect
 * timeout is how long a built-in peer may rightly wait on a silent remote
 * (a kill, a partition) before it drops it and plays on.
 */
#define RUN_FROZEN_SLACK_MS 5000
/* A peer that closed its control channel but has not exited this long after is still running without it. */
#define RUN_CLOSED_GRACE_MS 1000
/* How far a peer's confirmed frame may lead every other peer's frame before the report is implausible. */
#define RUN_FRAME_LEAD 1024
/* How long a desync waits for the peers' DUMPED answers, and the end for peers to exit after QUIT. */
#define RUN_DUMP_WAIT_MS 3000
#define RUN_EXIT_WAIT_MS 3000
/*
 * A restarted peer must be back within this long of its restart, beyond
 * the disconnect timeout the others need to notice it is gone; then they
 * agree where its inputs end, and one hands over a state.
 */
#define RUN_REJOIN_SLACK_MS 12000
/* Frames between the highest frame any peer reported and the frame a rejoining peer's inputs count from. */
#define RUN_REJOIN_AHEAD_FRAMES 30

/*
 * A restart, step by step: the new process says HELLO, it gets PEERS, the
 * others agree that its old self is gone (a GONE from each), one of them
 * hands over its latest confirmed state (DUMP), then the newcomer gets
 * REJOIN and the others READMIT, with the frame its inputs count from.
 */
enum rejoin_stage { RJ_NONE, RJ_HELLO, RJ_AGREED, RJ_DUMP };

/* How far past its confirmed frame a peer's current frame counts for the frame clock (a rollback's depth). */
#define RUN_CLOCK_LEAD 16

struct slot {
	pid_t pid;
	int ctl;                 /* -1 once closed */
	bool alive;              /* the process has not been reaped */
	bool expected_exit;      /* killed by the timeline, said BYE, or asked to quit at the end */
	bool left;               /* killed by the timeline or said BYE: not expected at the end */
	bool failed;             /* a finding was noted against it: it is judged no further */
	bool hello, framed;
	run_time_ms last_frame_ms;
	run_time_ms closed_ms;   /* when its control channel closed under it, or 0 */
	int64_t confirmed;       /* the highest confirmed frame it reported, -1 before any */
	run_time_ms confirmed_ms; /* when that last moved (or the process started) */
	bool dumped;
	struct ctl_dumped dump;
	/* For the viewer. */
	struct ctl_state state;  /* the latest STATE */
	bool has_state;
	struct ctl_rtt rtt;      /* the latest RTT: its round trip to each remote, as it measured it */
	bool has_rtt;
	bool rtt_mismatch_logged; /* an RTT for another peer count was logged once */
	uint64_t checksum;       /* of its latest confirmed frame */
	run_time_ms advanced_ms; /* when its frame last moved */
	uint32_t last_rollback;
	uint64_t rb_base;        /* rollbacks at the start of the rate window */
	run_time_ms rb_window_ms;
	float rb_per_s;
	bool human;
	run_time_ms started_ms;  /* when this process was started */
	enum rejoin_stage rejoin;
	uint32_t rejoin_source;  /* the peer whose state it takes */
	bool gone_known[RUN_MAX_PEERS];      /* this peer's session agreed that player p was lost ... */
	uint32_t gone_upto[RUN_MAX_PEERS];   /* ... with its inputs ending below this frame */
	run_time_ms gone_ms[RUN_MAX_PEERS];  /* ... at this time */
};

struct session {
	const struct run_cfg *cfg;
	struct run_result *res;
	uint32_t n;
	struct wire *wire;
	struct oracle *oracle;
	struct frame_clock *clock;     /* when each frame ran, on the fate log's clock; NULL if memory ran out */
	struct slot slot[RUN_MAX_PEERS];
	struct verdict verdict;
	char workdir[64];
	char program[512];
	char peers_list[RUN_MAX_PEERS * WIRE_ADDR_STRLEN];
	run_time_ms start_ms;
	sim_time_us start_us;          /* start_ms on the fate log's clock (from the wire's creation) */
	uint64_t session_id;
	int sigfd;
	bool builtin;
	bool split_noted;
	bool stopping;              /* run__stop_peers() has sent QUIT */
	uint32_t partitions_active; /* a partition from the timeline or the viewer is in force */
	run_time_ms explained_until_ms; /* a kill or partition explains stalls of user peers until then */
	char pcap[600], fates[600];
	/* The viewer, when there is one. */
	struct view *view;
	struct view_snapshot *snap;
	struct wire_flight *flights;
	struct wire_link_stats *link_stats;
	struct view_mark marks[VIEW_MAX_MARKS];  /* drops, newest last, with their time */
	double mark_t[VIEW_MAX_MARKS];
	uint32_t nmarks;
	uint64_t drop_cursor;
	run_time_ms last_view_ms;
	bool quit_requested;
	/* Stray sources (wire_stray_sources), and the peer whose process owns each, plus one; 0 not found yet. */
	int stray_owner[WIRE_STRAY_SOURCES];
	run_time_ms strays_checked_ms;
	double played_s;            /* from START to the end of the loop, before the peers are stopped */
};

/* run.c */
run_time_ms run__clock_ms(void);
double run__elapsed_s(const struct session *s, run_time_ms now);
void run__log(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A finding against the run (verdict_note), also logged as an event. */
void run__note(struct session *s, enum verdict_kind kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A finding against peer k: its problem in the report, the run's verdict, and k judged no further. */
void run__peer_failed(struct session *s, uint32_t k, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The run should stop now: a desync or a failure decided it. */
bool run__decided(const struct session *s);

/* run_misfit.c */
/* Finds which peer's process sent each new stray source, while the peers live. now = 0: check at once. */
void run__track_strays(struct session *s, run_time_ms now);
/* At the end, after wire_stop(): the misfit findings into the result, and the failing ones into the verdict. */
void run__misfits(struct session *s);

/* run_peers.c */
int run__launch_slot(struct session *s, uint32_t k, run_time_ms now);
void run__peers_msg(struct session *s, struct ctl_msg *m);
void run__send_to(struct session *s, uint32_t k, const struct ctl_msg *m);
void run__close_ctl(struct slot *sl);
void run__read_peers(struct session *s, int timeout_ms);
bool run__interrupted(struct session *s);
void run__reap(struct session *s, bool ending);
void run__supervise(struct session *s, run_time_ms now);
void run__check_split(struct session *s);
int run__start_peers(struct session *s);
void run__stop_peers(struct session *s);
void run__collect_dumps(struct session *s, uint32_t frame);
uint32_t run__disconnect_ms(const struct session *s);
/* Peer from's latest round trip to peer to in ms, from its RTT messages; negative when it reported none. */
double run__pair_rtt_ms(const struct session *s, uint32_t from, uint32_t to);

/* run_rejoin.c */
void run__restart_peer(struct session *s, uint32_t k, run_time_ms now);
void run__advance_rejoins(struct session *s, run_time_ms now);
/* Peer j is one that a rejoin of peer k waits on: running, reachable, not rejoining itself. */
bool run__remaining(const struct session *s, uint32_t j, uint32_t k);

/* run_timeline.c */
void run__set_links(struct session *s, const struct scn_setting *set);
void run__apply_event(struct session *s, const struct scn_event *e, run_time_ms now);
void run__partition(struct session *s, const uint32_t *groups, run_time_ms now);

/* run_view.c */
int run__open_view(struct session *s, char *err, size_t errlen);
void run__view_tick(struct session *s, bool hold, run_time_ms now);
void run__build_snapshot(struct session *s, run_time_ms now);
/* Renders --screenshot (if asked) and closes the viewer; a screenshot that cannot be written is a finding. */
void run__close_view(struct session *s);

#endif
