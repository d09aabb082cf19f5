// SPDX-License-Identifier: MIT
// example_peer: a tiny lockstep "game" over plain UDP that reports to loopsim through <loopsim/peer.h> alone.
/*
 * Read this as documentation: it is the kind of program you bring to loopsim with
 *
 *   loopsim run --peers 3 --peer-cmd './example_peer {index} {addr} {peers} {seed}'
 *
 * It links no loopsim library; one header does the talking to the harness. Build it with
 *
 *   cc -std=c99 -O2 -I peers/include tests/example_peer.c -o example_peer
 *
 * Without the harness, run it behind `loopsim wire` with PEERS from the wire's table (see --help there), and
 * set EXAMPLE_FRAMES=N to stop after N frames; otherwise it plays until the harness sends QUIT.
 *
 * The game: each player has one input per frame (4 bits; a hash of seed, index and frame stands in for a
 * player's keys), and the state is a 64-bit FNV-1a hash over every input, frame by frame, in player order.
 * Frame f is played only once every player's input for f has arrived (lockstep), so if the netcode is right
 * every peer computes the same state, and the harness's oracle checks exactly that from the FRAME reports.
 */
#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L /* clock_nanosleep */
#endif
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "loopsim/peer.h"

#define HZ 30
#define TICK_NS (1000000000L / HZ)
#define INPUT_DELAY 2       /* our input for frame f goes out at f-2: up to 2 ticks of latency cost no stall */
#define WINDOW 8            /* inputs per datagram: the newest frame's and 7 before it, so one loss costs nothing */
#define RING 64             /* frames of remote inputs kept; peers are at most INPUT_DELAY + 1 frames apart */
#define LINGER_TICKS HZ     /* after the last frame, resend for a second: a peer may still wait for our input */
#define HEARTBEAT_NS 500000000LL            /* while stalled, repeat the last FRAME: waiting, not hung */
#define STALL_LIMIT_NS (30 * 1000000000LL) /* no progress for this long: a peer is gone, give up */
#define PICTURE_EVERY 3     /* frames between two STATE pictures for the viewer: 10 a second */
#define FIELD (1000 << 16)  /* the viewer's field, in 16.16 fixed point */

/* Every peer's inputs that have arrived: slot f % RING holds frame f's input when tag == f + 1. */
struct inputs {
	uint32_t tag[LOOPSIM_PEER_MAX_PEERS][RING];
	uint8_t input[LOOPSIM_PEER_MAX_PEERS][RING];
};

/* A stand-in for a player's keys: 4 bits of a hash of (seed, index, frame), the splitmix64 finaliser. */
static uint8_t input_of(uint64_t seed, unsigned index, uint32_t frame)
{
	uint64_t x = seed + 0x9e3779b97f4a7c15ull * (((uint64_t)index << 32 | frame) + 1);
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return (uint8_t)((x ^ (x >> 31)) & 15);
}

/*
 * What the viewer shows of this game (STATE, optional): one ship per player, steered by its inputs. Bits 0-1
 * turn it (0 left, 3 right, else straight) among 8 headings, it moves 6 units a frame, and bit 3 scores a
 * point. The picture plays no part in the checksum; it only gives the window something to draw.
 */
struct picture {
	struct loopsim_peer_ship ship[LOOPSIM_PEER_STATE_SHIPS];
	uint8_t heading[LOOPSIM_PEER_STATE_SHIPS];
};

static void picture_init(struct picture *pic, unsigned npeers)
{
	for (unsigned k = 0; k < npeers && k < LOOPSIM_PEER_STATE_SHIPS; k++) {
		pic->ship[k] = (struct loopsim_peer_ship){ .x = (int32_t)(100 + k * 293 % 800) << 16,
							   .y = (int32_t)(100 + k * 557 % 800) << 16,
							   .alive = 1 };
		pic->heading[k] = (uint8_t)(k & 7);
		pic->ship[k].angle = (uint16_t)(pic->heading[k] * 128);
	}
}

static void picture_step(struct picture *pic, unsigned k, uint8_t input)
{
	static const int8_t dx[8] = { 6, 4, 0, -4, -6, -4, 0, 4 }, dy[8] = { 0, 4, 6, 4, 0, -4, -6, -4 };
	if (k >= LOOPSIM_PEER_STATE_SHIPS)
		return;
	struct loopsim_peer_ship *sh = &pic->ship[k];
	pic->heading[k] = (uint8_t)((pic->heading[k] + ((input & 3) == 0 ? 7 : (input & 3) == 3 ? 1 : 0)) & 7);
	sh->angle = (uint16_t)(pic->heading[k] * 128);
	sh->x = (int32_t)(((int64_t)sh->x + dx[pic->heading[k]] * 65536 + FIELD) % FIELD);
	sh->y = (int32_t)(((int64_t)sh->y + dy[pic->heading[k]] * 65536 + FIELD) % FIELD);
	sh->score = (int16_t)(sh->score + (input >> 3));
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * The datagram: 'E' 'X', sender index (u8), count (u8), newest frame (u32, little-endian), then the sender's
 * inputs for the `count` frames up to the newest, oldest first. Sent to every other peer once per tick,
 * whether or not we advanced: a lost datagram is simply repaired by the next one.
 */
static void send_inputs(int fd, const struct loopsim_peer *lp, uint32_t newest)
{
	uint8_t buf[8 + WINDOW];
	unsigned count = newest + 1 < WINDOW ? newest + 1 : WINDOW;
	buf[0] = 'E';
	buf[1] = 'X';
	buf[2] = (uint8_t)lp->index;
	buf[3] = (uint8_t)count;
	for (int i = 0; i < 4; i++)
		buf[4 + i] = (uint8_t)(newest >> (8 * i));
	for (unsigned i = 0; i < count; i++)
		buf[8 + i] = input_of(lp->seed, lp->index, newest - (count - 1 - i));
	for (unsigned k = 0; k < lp->npeers; k++)
		if (k != lp->index) /* errors are ignored: UDP may lose it anyway, and the next tick resends */
			sendto(fd, buf, 8 + count, 0, (const struct sockaddr *)&lp->peer[k], sizeof lp->peer[k]);
}

/* Reads every datagram waiting and keeps the inputs for frames `frame` (the one we wait on) and later. */
static void receive_inputs(int fd, const struct loopsim_peer *lp, uint32_t frame, struct inputs *in)
{
	uint8_t buf[64];
	ssize_t n;
	while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) >= 0) {
		/* Anything can arrive on a UDP port: check before trusting. */
		if (n < 8 || buf[0] != 'E' || buf[1] != 'X')
			continue;
		unsigned from = buf[2], count = buf[3];
		uint32_t newest = (uint32_t)buf[4] | (uint32_t)buf[5] << 8 | (uint32_t)buf[6] << 16 | (uint32_t)buf[7] << 24;
		if (from >= lp->npeers || from == lp->index || count < 1 || count > WINDOW || (size_t)n != 8u + count ||
		    newest < count - 1)
			continue;
		for (unsigned i = 0; i < count; i++) {
			uint32_t f = newest - (count - 1 - i);
			if (f >= frame && f - frame < RING && in->tag[from][f % RING] != f + 1) {
				in->tag[from][f % RING] = f + 1;
				in->input[from][f % RING] = buf[8 + i];
			}
		}
	}
}

static int have_all(const struct loopsim_peer *lp, const struct inputs *in, uint32_t f)
{
	for (unsigned k = 0; k < lp->npeers; k++)
		if (k != lp->index && in->tag[k][f % RING] != f + 1)
			return 0;
	return 1;
}

static void sleep_until(int64_t t_ns)
{
	struct timespec ts = { (time_t)(t_ns / 1000000000LL), (long)(t_ns % 1000000000LL) };
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) /* EINTR: sleep on */
		;
}

int main(int argc, char **argv)
{
	static struct inputs in; /* 20 KB: static rather than on the stack */
	struct loopsim_peer lp;
	if (argc != 5) {
		fprintf(stderr, "usage: example_peer INDEX ADDR PEERS SEED   (PEERS: ip:port,ip:port,... in index order)\n");
		return 2;
	}
	/* The command line carries what --peer-cmd's placeholders give; the control fd comes from the environment. */
	if (loopsim_peer_init_args(&lp, argv[1], argv[2], argv[3], argv[4], getenv("LOOPSIM_CONTROL_FD")) < 0) {
		fprintf(stderr, "example_peer: %s\n", lp.error);
		return 2;
	}
	const char *env = getenv("EXAMPLE_FRAMES");
	char *end = NULL;
	unsigned long frames = env ? strtoul(env, &end, 10) : 0; /* 0: until QUIT */
	if (env && (!*env || *end || frames > UINT32_MAX)) {
		fprintf(stderr, "example_peer: EXAMPLE_FRAMES='%s' is not a frame count\n", env);
		return 2;
	}

	/* Our own IP, any port; then tell the harness which port, so the wire can deliver to us at once. */
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in me;
	socklen_t len = sizeof me;
	if (fd < 0 || bind(fd, (const struct sockaddr *)&lp.addr, sizeof lp.addr) < 0 ||
	    getsockname(fd, (struct sockaddr *)&me, &len) < 0) {
		perror("example_peer: socket");
		loopsim_peer_bye(&lp, LOOPSIM_PEER_BYE_ERROR);
		return 1;
	}
	loopsim_peer_hello(&lp, ntohs(me.sin_port));

	uint32_t frame = 0;                       /* the next frame to play */
	uint64_t state = 0xcbf29ce484222325ull;   /* FNV-1a's offset basis */
	uint64_t past[RING];                      /* the state after frame f, in slot f % RING: what DUMP asks for */
	struct picture pic;
	picture_init(&pic, lp.npeers);
	enum loopsim_peer_bye_reason why = LOOPSIM_PEER_BYE_DONE;
	int64_t next_tick = now_ns(), last_progress = next_tick, last_report = next_tick;
	for (;;) {
		int64_t now = now_ns();
		if (loopsim_peer_poll_quit(&lp)) {
			why = LOOPSIM_PEER_BYE_QUIT;
			break;
		}
		receive_inputs(fd, &lp, frame, &in);
		if (have_all(&lp, &in, frame)) {
			for (unsigned k = 0; k < lp.npeers; k++) {
				uint8_t input = k == lp.index ? input_of(lp.seed, k, frame) : in.input[k][frame % RING];
				state = (state ^ input) * 0x100000001b3ull; /* FNV-1a, one byte per player */
				picture_step(&pic, k, input);
			}
			if (lp.perturb_frame == (int64_t)frame)
				state ^= 1; /* --inject-desync: a deliberate desync, this peer only */
			past[frame % RING] = state;
			loopsim_peer_frame(&lp, frame, frame, state); /* every input is final: confirmed == frame */
			if (frame % PICTURE_EVERY == 0)
				loopsim_peer_state(&lp, frame, pic.ship,
						   lp.npeers < LOOPSIM_PEER_STATE_SHIPS ? lp.npeers : LOOPSIM_PEER_STATE_SHIPS,
						   NULL, 0);
			last_progress = last_report = now;
			if (++frame == frames)
				break;
		} else if (frame > 0 && now - last_report >= HEARTBEAT_NS) {
			loopsim_peer_frame(&lp, frame - 1, frame - 1, state);
			last_report = now;
		}
		if (lp.dump_frame >= 0) {
			/* The harness wants our state after a frame, for its desync bundle: 8 bytes, little-endian. */
			uint32_t f = (uint32_t)lp.dump_frame;
			uint8_t bytes[8];
			for (int i = 0; i < 8; i++)
				bytes[i] = (uint8_t)(past[f % RING] >> (8 * i));
			loopsim_peer_dumped(&lp, f, f < frame && frame - f <= RING ? bytes : NULL, sizeof bytes);
		}
		if (now - last_progress > STALL_LIMIT_NS) {
			fprintf(stderr, "example_peer %u: no input for frame %" PRIu32 " in 30 s; giving up\n", lp.index,
				frame);
			why = LOOPSIM_PEER_BYE_ERROR;
			break;
		}
		send_inputs(fd, &lp, frame + INPUT_DELAY);
		next_tick += TICK_NS;
		sleep_until(next_tick);
	}
	/* Our datagram with the last frame's input may have been lost, and a peer still waiting for it would stall:
	 * keep resending it for a second (unless the harness says stop). */
	for (int i = 0; why == LOOPSIM_PEER_BYE_DONE && frame > 0 && i < LINGER_TICKS; i++) {
		if (loopsim_peer_poll_quit(&lp))
			break;
		send_inputs(fd, &lp, frame - 1);
		next_tick += TICK_NS;
		sleep_until(next_tick);
	}
	if (frame > 0)
		fprintf(stderr, "example_peer %u: frame %" PRIu32 " state %016" PRIx64 "\n", lp.index, frame - 1,
			state);
	loopsim_peer_bye(&lp, why);
	close(fd);
	return why == LOOPSIM_PEER_BYE_ERROR;
}
