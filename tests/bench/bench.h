// SPDX-License-Identifier: MIT
// loopsim-bench: the subcommands, and the helpers that every one of them shares.
#ifndef LOOPSIM_BENCH_H
#define LOOPSIM_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cJSON.h>

struct msghdr;

/*
 * Contract of every subcommand: argv[0] is the subcommand's name; the return
 * value is the process's exit code. Progress and human-readable lines go to
 * stderr; the last line on stdout is one JSON object with the figures, so a
 * script can take `tail -n 1`. Each subcommand lives in its own
 * bench_<name>.c and is listed once in bench_main.c.
 */
enum bench_exit {
	BENCH_EXIT_OK = 0,    /* the benchmark ran, whether or not it met its targets */
	BENCH_EXIT_USAGE = 2, /* a bad option; the message names it */
	BENCH_EXIT_SETUP = 3, /* a socket, thread or allocation the benchmark needs was refused */
};

int bench_wire(int argc, char **argv);
int bench_rollback(int argc, char **argv);
int bench_view(int argc, char **argv);
int bench_soak(int argc, char **argv);
int bench_scale(int argc, char **argv);
int bench_jitter(int argc, char **argv);
int bench_sweep(int argc, char **argv);

/* CLOCK_MONOTONIC in nanoseconds. */
typedef uint64_t bench_ns;

#define BENCH_NS_PER_US 1000u
#define BENCH_NS_PER_MS 1000000u
#define BENCH_NS_PER_S 1000000000u

bench_ns bench_now_ns(void);
/* Sleeps until t on CLOCK_MONOTONIC (absolute, so a late wake-up never stretches a measurement window). */
void bench_sleep_until_ns(bench_ns t);
/* CLOCK_REALTIME - CLOCK_MONOTONIC in ns, from the tightest of a few bracketed readings. */
int64_t bench_realtime_offset_ns(void);

/*
 * A fixed-capacity array of signed samples (ns). Adding never allocates, so
 * it is safe on a measured path; samples past the capacity are counted in
 * `overflow` and left out.
 */
struct bench_samples {
	int64_t *v;
	size_t len, cap;
	uint64_t overflow;
};

/* Returns 0, or -1 when the allocation fails. */
int bench_samples_init(struct bench_samples *s, size_t cap);
/* Frees the array. Safe on a zeroed struct. */
void bench_samples_fini(struct bench_samples *s);
static inline void bench_samples_add(struct bench_samples *s, int64_t v)
{
	if (s->len < s->cap)
		s->v[s->len++] = v;
	else
		s->overflow++;
}
/* The nearest-rank q-quantile (q in [0, 1]) in µs. Sorts the samples in place. 0 when empty. */
double bench_samples_quantile_us(struct bench_samples *s, double q);

/*
 * A UDP socket bound to ip (host order, inside 127.0.0.0/8) on a port the
 * OS picks: non-blocking, close-on-exec, SO_RXQ_OVFL on, 4 MiB buffers (the
 * same as the wire's public sockets, so neither side of a comparison has
 * deeper queues). Returns the fd and sets *port, or -1 with a reason in err.
 */
int bench_udp_bind(uint32_t ip, uint16_t *port, char *err, size_t errlen);
/* Kernel drops reported by an SO_RXQ_OVFL control message in mh since *seen; updates *seen. */
uint32_t bench_rxq_ovfl(struct msghdr *mh, uint32_t *seen);

/* The calling thread's kernel id. */
pid_t bench_gettid(void);
/* CPU time (user + system) that thread tid of this process has used, in ns, at clock-tick resolution. */
int bench_thread_cpu_ns(pid_t tid, uint64_t *out_ns);
/* The parent and the CPU time (utime + stime, ns at clock-tick resolution) from a /proc stat file; either pointer
 * may be NULL. Returns 0, or -1 if the file is gone or unreadable. */
int bench_proc_stat(const char *path, pid_t *ppid, uint64_t *cpu_ns);
/* Lists this process's thread ids into out. Returns how many, or -1. */
int bench_list_tids(pid_t *out, int cap);
/* Calls start(obj), which starts one thread, and returns that thread's id: 0 if it cannot be told apart from the
 * others within a second, or if start failed (then *err is its negative errno). */
pid_t bench_start_and_find_thread(int (*start)(void *), void *obj, int *err);

/*
 * Parses a decimal number in [lo, hi] for option `name`. Returns 0, or -1
 * after printing a message that names the option and the range.
 */
int bench_parse_double(const char *prog, const char *name, const char *s, double lo, double hi, double *out);

/* Prints obj unformatted as one line on stdout and flushes. Does not take ownership. */
void bench_json_emit(const cJSON *obj);

#endif
