// SPDX-License-Identifier: MIT
// The desync oracle: every peer's confirmed checksums compared frame by frame, with a reference re-simulation.
#ifndef LOOPSIM_HARNESS_ORACLE_H
#define LOOPSIM_HARNESS_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/report.h"

/*
 * Model. Peers report the checksum (and, for the built-in game, the final
 * inputs) of every frame they confirm. Frame f is compared once every live
 * peer has reported past it. On the first frame where checksums differ, the
 * minority is named by majority vote; when there is no strict majority (two
 * peers, or a tie), the oracle's own reference decides: it re-simulates the
 * built-in game from the confirmed inputs and names every peer whose
 * checksum differs from its own. A user's game has no reference; then a tie
 * names every peer.
 *
 * Logs. Whole logs go to disk, not to memory: each report is appended, as
 * it arrives, to workdir/checksums-K.txt and workdir/inputs-K.txt in the
 * bundle's formats (see bundle.h), through buffered stdio. Each frame is
 * written once per peer and in increasing order: a report of a frame at or
 * below the peer's highest (a heartbeat repeats its latest) is dropped, and
 * the frames a restarted peer missed are simply absent lines.
 *
 * Memory is bounded: the oracle holds only a window of ORACLE_WINDOW frames
 * from the next frame to compare (oracle_agreed() + 1): each peer's
 * checksums, one copy of the inputs for the reference, and the reference's
 * checksums; about 12 bytes per peer and 12 + npeers bytes per frame of the
 * window, plus the reference's last REF_KEEP states (oracle.c), whatever
 * the length of the run. The window is 68 s at 60 Hz. A report further
 * ahead than that of the slowest live peer is still logged but not held:
 * that peer sits out that frame's comparison, and oracle_unkept() counts
 * it. A diverged state stays diverged, so such a desync is caught at the
 * first frame that fits. Inputs that do not fit stop the reference for good
 * (it cannot step over a frame it never saw); from then on a two-peer tie
 * names both, as for a user's game.
 */

/* Frames held in memory from the next frame to compare: 4096 (68 s at 60 Hz). */
#define ORACLE_WINDOW 4096u

struct oracle;

/*
 * reference: re-simulate the built-in game for npeers players from seed.
 * workdir: an existing directory; the oracle creates (truncating) its
 * checksums-K.txt and inputs-K.txt there, and writes them until
 * oracle_destroy. Returns NULL with errno set: ENOMEM, or why a log could
 * not be created.
 */
struct oracle *oracle_create(uint32_t npeers, bool reference, uint64_t seed, const char *workdir);
/* Flushes and closes the logs, which stay in the work directory (the caller removes them), then frees. NULL does nothing. */
void oracle_destroy(struct oracle *o);

/* Peer k confirmed frame f with this checksum. */
void oracle_checksum(struct oracle *o, uint32_t k, uint32_t frame, uint64_t hash);
/* Peer k's final inputs of frame f (n players). The first report of a frame feeds the reference. */
void oracle_inputs(struct oracle *o, uint32_t k, uint32_t frame, const uint8_t *inputs, uint32_t n);
/* Peer k is gone (killed, crashed, lost): it no longer holds comparisons back. */
void oracle_peer_gone(struct oracle *o, uint32_t k);
/*
 * Peer k is back (restarted, rejoining from a later frame): comparisons
 * wait for it again. Frames it never reports, those of its absence, are
 * compared among the others.
 */
void oracle_peer_back(struct oracle *o, uint32_t k);

/*
 * Peer j's session dropped peer k, whose inputs end below frame upto (a
 * GONE report): from upto on, j plays k's inputs as neutral. Two peers are
 * compared at frame f only if they dropped the same players at the same
 * frames, as far as f goes, i.e. if they played the same inputs. Survivors
 * of a kill agree where its inputs end and stay comparable; when running
 * peers drop each other (a partition that outlasted the disconnect
 * timeout), each side is compared within itself, so that a desync inside
 * one side is still caught and the split itself is not taken for one. The
 * earliest report for a pair stands until oracle_peer_back(k) or
 * oracle_peer_back(j), which forget every drop of and by that peer.
 */
void oracle_peer_lost(struct oracle *o, uint32_t j, uint32_t k, uint32_t upto);

/*
 * Compares every frame that all live peers have passed. Returns 1 and fills
 * *d (frame, minority, checksums) at the first mismatch, then keeps
 * returning 0; returns 0 while all agree.
 */
int oracle_check(struct oracle *o, struct run_desync *d);

/* The latest frame compared and found equal on every live peer, or -1. */
int64_t oracle_agreed(const struct oracle *o);

/*
 * Writes out what stdio still buffers of every log, so that the files are
 * whole up to the last report. Returns 0, or -1 with errno set if any write
 * to them has failed since oracle_create (then the logs are incomplete).
 */
int oracle_flush(struct oracle *o);

/* Reports logged but not held for comparison or the reference, because they were beyond the window. */
uint64_t oracle_unkept(const struct oracle *o);

/* Peer k's checksum of frame f, while f is in memory (the last ORACLE_WINDOW or so). Returns 0, or -1. */
int oracle_peer_checksum(const struct oracle *o, uint32_t k, uint32_t frame, uint64_t *out);
/* How many of peer k's frames were compared with at least one other peer's and found equal. */
uint64_t oracle_peer_compared(const struct oracle *o, uint32_t k);
/* Frames peer k reported, i.e. one past its highest. */
uint32_t oracle_peer_frames(const struct oracle *o, uint32_t k);
/* The reference's checksum after frame f, among its last ORACLE_WINDOW. Returns 0, or -1 (not simulated, or no reference). */
int oracle_reference_checksum(const struct oracle *o, uint32_t frame, uint64_t *out);
/* The reference's state after frame f, if f is the latest it simulated or kept (see oracle.c). -1 otherwise. */
int oracle_reference_state(const struct oracle *o, uint32_t frame, void *game_state_out);

#endif
