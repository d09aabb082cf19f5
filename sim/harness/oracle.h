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
 * Logs are kept whole from frame 0 (8 bytes per peer per frame, plus one
 * byte per player for inputs), because the bundle and replay need them.
 */

struct oracle;

/* reference: re-simulate the built-in game for npeers players from seed. Returns NULL on no memory. */
struct oracle *oracle_create(uint32_t npeers, bool reference, uint64_t seed);
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
 * Compares every frame that all live peers have passed. Returns 1 and fills
 * *d (frame, minority, checksums) at the first mismatch, then keeps
 * returning 0; returns 0 while all agree.
 */
int oracle_check(struct oracle *o, struct run_desync *d);

/* The latest frame compared and found equal on every live peer, or -1. */
int64_t oracle_agreed(const struct oracle *o);

/* Peer k's checksum of frame f. Returns 0, or -1 if never reported. */
int oracle_peer_checksum(const struct oracle *o, uint32_t k, uint32_t frame, uint64_t *out);
/* Peer k's inputs of frame f (npeers bytes). Returns 0, or -1 if never reported. */
int oracle_peer_inputs(const struct oracle *o, uint32_t k, uint32_t frame, uint8_t *out);
/* Frames peer k reported, i.e. one past its highest. */
uint32_t oracle_peer_frames(const struct oracle *o, uint32_t k);
/* The reference's checksum after frame f. Returns 0, or -1 if not simulated (yet, or no reference). */
int oracle_reference_checksum(const struct oracle *o, uint32_t frame, uint64_t *out);
/* The reference's state after frame f, if f is the latest it simulated or kept (see oracle.c). -1 otherwise. */
int oracle_reference_state(const struct oracle *o, uint32_t frame, void *game_state_out);

#endif
