// SPDX-License-Identifier: MIT
// The relay's insides, shared by its event loop (relay.c) and the calls other threads make (relay_ctl.c).
#ifndef LOOPSIM_WIRE_RELAY_INTERNAL_H
#define LOOPSIM_WIRE_RELAY_INTERNAL_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include "wire/capture.h"
#include "wire/relay.h"
#include "wire/sched.h"

/* Datagrams per recvmmsg/sendmmsg call. */
#define WIRE_BATCH 64
/* Deliveries taken off the heap at once: enough that each sender's share fills a sendmmsg. */
#define WIRE_TX_MAX 1024
/* Kernel buffer asked for on each public socket, so bursts wait in the kernel and not on the floor. */
#define WIRE_SOCKBUF_BYTES (4 << 20)
/* Recent drops kept for the viewer; older ones are overwritten. */
#define WIRE_DROP_RING 1024
/* How often the captures reach the disk while running, so a crash loses at most this much. */
#define WIRE_FLUSH_US 1000000u

struct wire {
	uint32_t npeers;
	uint64_t seed;
	struct wire_model model;
	struct wire_sched sched;
	int *fd;                 /* public socket of each peer */
	uint16_t *public_port;
	uint16_t *private_port;  /* 0 until learned or registered */
	uint8_t *multi_socket;   /* per peer: 1 if known by its IP alone */
	bool registered_only;    /* ports come from wire_register_port() only */
	const struct wire_fate_table *replay; /* borrowed; NULL unless replaying */
	/*
	 * Per link, [from * npeers + to]: hand-off minus due, µs. Each is
	 * allocated at the link's first delivery (an idle link costs a pointer);
	 * without memory for it, that delivery's lateness is not counted.
	 */
	struct wire_hist **lateness;
	uint32_t *ovfl_seen;     /* last SO_RXQ_OVFL counter per socket */
	int epfd, timerfd, stopfd;
	sim_time_us timer_armed_us; /* 0 when disarmed */
	sim_time_us t0_us, last_flush_us;
	uint64_t realtime0_us;
	struct wire_pcap *pcap;
	FILE *fates;
	char *pcap_path, *fates_path; /* for messages; owned */
	int pcap_error, fates_error;  /* the first negative errno each met, 0 so far */
	struct wire_totals totals;
	struct wire_peer_misfit *misfit;      /* per peer */
	struct wire_stray_source stray_src[WIRE_STRAY_SOURCES];
	uint32_t nstray_src;
	uint64_t stray_unlisted;
	struct wire_drop drops[WIRE_DROP_RING];
	uint64_t ndrops;         /* ever recorded; the ring holds the last WIRE_DROP_RING */

	pthread_mutex_t lock;    /* held by the relay while it works a batch, by callers to read or change */
	pthread_t thread;
	bool running;

	struct mmsghdr rx_msg[WIRE_BATCH];
	struct iovec rx_iov[WIRE_BATCH];
	struct sockaddr_in rx_addr[WIRE_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} rx_ctl[WIRE_BATCH];
	uint8_t *rx_buf;         /* WIRE_BATCH * WIRE_MAX_PAYLOAD */

	struct mmsghdr tx_msg[WIRE_BATCH];
	struct iovec tx_iov[WIRE_BATCH];
	struct sockaddr_in tx_addr[WIRE_BATCH];
	struct wire_pkt *tx_due[WIRE_TX_MAX];  /* due, in heap order */
	struct wire_pkt *tx_pkt[WIRE_TX_MAX];  /* the same, grouped by sender */
	uint8_t tx_sent[WIRE_TX_MAX];          /* 0 unroutable, 1 sent, 2 refused */
	sim_time_us tx_at[WIRE_TX_MAX];        /* when sendmmsg handed a sent one to the kernel */
	uint16_t tx_port[WIRE_TX_MAX];         /* the receiver's port, read under the lock */
	uint32_t *tx_count;                    /* npeers + 1 counters for the sort */
};

#endif
