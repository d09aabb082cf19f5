// SPDX-License-Identifier: MIT
// Capture: the pcap of delivered datagrams, and the fate log.
#include "wire/capture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wire/addr.h"
#include "wire/sched.h"

struct wire_pcap {
	pcap_t *dead;
	pcap_dumper_t *dumper;
	int error;               /* the first negative errno met, 0 so far */
	uint8_t frame[WIRE_IP_UDP_HEADER + WIRE_MAX_PAYLOAD];
};

struct wire_pcap *wire_pcap_open(const char *path, char *err, size_t errlen)
{
	struct wire_pcap *pc = calloc(1, sizeof *pc);
	if (!pc) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	pc->dead = pcap_open_dead(DLT_RAW, 65535);
	if (!pc->dead) {
		snprintf(err, errlen, "%s: libpcap could not start a capture", path);
		goto err;
	}
	FILE *f = wire_output_open(path, "wb", err, errlen);
	if (!f)
		goto err;
	pc->dumper = pcap_dump_fopen(pc->dead, f);
	if (!pc->dumper) {
		snprintf(err, errlen, "%s: %s", path, pcap_geterr(pc->dead));
		fclose(f);
		goto err;
	}
	return pc;
err:
	if (pc->dead)
		pcap_close(pc->dead);
	free(pc);
	return NULL;
}

/* /dev/stdout, /dev/fd/N, /proc/self/fd/N: a file the user's shell opened for us, to add to and not truncate. */
static bool names_open_file(const char *path)
{
	char link[64];
	ssize_t n = readlink(path, link, sizeof link - 1);
	if (n > 0)
		link[n] = '\0';
	return strncmp(path, "/proc/", 6) == 0 || strncmp(path, "/dev/fd/", 8) == 0 ||
	       (n > 0 && strncmp(link, "/proc/", 6) == 0);
}

FILE *wire_output_open(const char *path, const char *mode, char *err, size_t errlen)
{
	/* O_NONBLOCK only for the open: a FIFO without a reader fails with ENXIO instead of hanging the wire. */
	int how = names_open_file(path) ? O_APPEND : O_CREAT | O_TRUNC;
	int fd = open(path, O_WRONLY | how | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0666);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, e == ENXIO ? "a FIFO that no process is reading" : strerror(e));
		return NULL;
	}
	int fl = fcntl(fd, F_GETFL);
	FILE *f = fl >= 0 && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0 ? fdopen(fd, mode) : NULL;
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

static uint16_t ip_checksum(const uint8_t *h, size_t len)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

void wire_pcap_write(struct wire_pcap *pc, uint64_t ts_us, uint32_t src_ip, uint16_t src_port, uint32_t dst_ip,
		     uint16_t dst_port, const uint8_t *payload, uint32_t len)
{
	if (len > WIRE_MAX_PAYLOAD)
		return;
	uint8_t *ip = pc->frame, *udp = pc->frame + 20;
	uint32_t total = WIRE_IP_UDP_HEADER + len;
	memset(ip, 0, WIRE_IP_UDP_HEADER);
	ip[0] = 0x45; /* IPv4, 5-word header */
	put16(ip + 2, (uint16_t)total);
	put16(ip + 6, 0x4000); /* don't fragment */
	ip[8] = 64;            /* TTL */
	ip[9] = 17;            /* UDP */
	put32(ip + 12, src_ip);
	put32(ip + 16, dst_ip);
	put16(ip + 10, ip_checksum(ip, 20));
	put16(udp, src_port);
	put16(udp + 2, dst_port);
	put16(udp + 4, (uint16_t)(8 + len));
	memcpy(pc->frame + WIRE_IP_UDP_HEADER, payload, len);

	struct pcap_pkthdr h = {
		.ts = { .tv_sec = (time_t)(ts_us / 1000000u), .tv_usec = (suseconds_t)(ts_us % 1000000u) },
		.caplen = total,
		.len = total,
	};
	/* pcap_dump() returns nothing: its stream's error flag tells, and errno is the failed write's. */
	errno = 0;
	pcap_dump((u_char *)pc->dumper, &h, pc->frame);
	if (!pc->error && ferror(pcap_dump_file(pc->dumper)))
		pc->error = errno ? -errno : -EIO;
}

int wire_pcap_flush(struct wire_pcap *pc)
{
	if (!pc)
		return 0;
	errno = 0;
	if ((pcap_dump_flush(pc->dumper) < 0 || ferror(pcap_dump_file(pc->dumper))) && !pc->error)
		pc->error = errno ? -errno : -EIO;
	return pc->error;
}

int wire_pcap_close(struct wire_pcap *pc)
{
	if (!pc)
		return 0;
	int rc = wire_pcap_flush(pc);
	/*
	 * pcap_dump_close() drops fclose()'s result. A file system that reports
	 * late errors at close (NFS) does so on the close of any descriptor of
	 * the file, so a duplicate is closed first and its result kept.
	 */
	int dup_fd = dup(fileno(pcap_dump_file(pc->dumper)));
	if (dup_fd >= 0 && close(dup_fd) < 0 && !rc && errno != EINTR)
		rc = -errno;
	pcap_dump_close(pc->dumper);
	pcap_close(pc->dead);
	free(pc);
	return rc;
}

int wire_fate_format(char *buf, size_t cap, sim_time_us t_us, uint32_t from, uint32_t to, uint32_t size,
		     const struct wire_fate *f)
{
	char delay[24] = "-", copy_delay[24] = "-", flags[32] = "-";
	int nflags = 0;
	if (f->ncopies >= 1) {
		snprintf(delay, sizeof delay, "%" PRIu64, f->copy[0].deliver_at_us - t_us);
		if (f->copy[0].reordered)
			flags[nflags++] = 'r';
		if (f->copy[0].corrupt_bit >= 0)
			nflags += snprintf(flags + nflags, sizeof flags - (size_t)nflags, "c%" PRId32,
					   f->copy[0].corrupt_bit);
	}
	if (f->ncopies == 2) {
		snprintf(copy_delay, sizeof copy_delay, "%" PRIu64, f->copy[1].deliver_at_us - t_us);
		if (f->copy[1].corrupt_bit >= 0)
			nflags += snprintf(flags + nflags, sizeof flags - (size_t)nflags, "C%" PRId32,
					   f->copy[1].corrupt_bit);
	}
	if (nflags)
		flags[nflags] = '\0';
	int n = snprintf(buf, cap, "%" PRIu64 "\t%u\t%u\t%" PRIu64 "\t%u\t%s\t%s\t%s\t%s\n", t_us, from, to, f->index,
			 size, wire_fate_name(f->kind), delay, copy_delay, flags);
	return n < (int)cap ? n : (int)cap - 1;
}

void wire_fate_header(FILE *f, uint64_t seed, uint32_t npeers)
{
	fprintf(f, "# loopsim fate log v1 seed=%" PRIu64 " peers=%u\n", seed, npeers);
	fprintf(f, "# t_us\tfrom\tto\tindex\tsize\tfate\tdelay_us\tcopy_delay_us\tflags\n");
}

/* ---- Reading a fate log ---- */

#define FATE_FIELDS 9

static const char *const fate_field_name[FATE_FIELDS] = { "t_us", "from",	   "to",	    "index", "size",
							  "fate", "delay_us", "copy_delay_us", "flags" };

/* A whole unsigned decimal number in [0, max]: no sign, no blanks, no junk after it. */
static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	if (*s < '0' || *s > '9')
		return false;
	uint64_t v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* Parses the flags field into r; r's kind, ncopies and size are set. Returns 0 or -1 with why. */
static int parse_flags(char *s, struct wire_fate_record *r, char *why, size_t whylen)
{
	if (strcmp(s, "-") == 0)
		return 0;
	if (r->kind != WIRE_FATE_DELIVER) {
		snprintf(why, whylen, "flags '%s' on a datagram that was dropped (want '-')", s);
		return -1;
	}
	bool seen[3] = { false, false, false };
	for (char *p = s; *p;) {
		char c = *p++;
		int which = c == 'r' ? 0 : c == 'c' ? 1 : c == 'C' ? 2 : -1;
		if (which < 0) {
			snprintf(why, whylen, "flags '%s': '%c' is none of r, c, C", s, c);
			return -1;
		}
		if (seen[which]) {
			snprintf(why, whylen, "flags '%s': '%c' twice", s, c);
			return -1;
		}
		seen[which] = true;
		if (which == 0) {
			r->reordered = true;
			continue;
		}
		uint32_t copy = (uint32_t)which - 1;
		if (copy >= r->ncopies) {
			snprintf(why, whylen, "flags '%s': 'C' (the copy corrupted) but copy_delay_us is '-'", s);
			return -1;
		}
		if (r->size == 0) {
			snprintf(why, whylen, "flags '%s': a datagram of 0 bytes has no bit to flip", s);
			return -1;
		}
		char digits[16];
		size_t nd = 0;
		while (*p >= '0' && *p <= '9' && nd < sizeof digits - 1)
			digits[nd++] = *p++;
		digits[nd] = '\0';
		if (nd == 0) {
			r->corrupt_bit[copy] = WIRE_FATE_BIT_UNKNOWN;
			continue;
		}
		uint64_t bit;
		if (!parse_u64(digits, UINT32_MAX, &bit) || (*p >= '0' && *p <= '9') || bit >= (uint64_t)r->size * 8) {
			snprintf(why, whylen, "flags '%s': bit %s is not inside the %u-byte payload", s, digits, r->size);
			return -1;
		}
		r->corrupt_bit[copy] = (int32_t)bit;
	}
	return 0;
}

int wire_fate_parse(const char *line, struct wire_fate_record *r, char *why, size_t whylen)
{
	char buf[WIRE_FATE_LINE_MAX + 2];
	size_t len = strlen(line);
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	size_t lead = strspn(line, " \t");
	if (lead >= len || line[lead] == '#')
		return 0;
	if (len > WIRE_FATE_LINE_MAX) {
		snprintf(why, whylen, "a line of %zu characters: no record is longer than %u", len, WIRE_FATE_LINE_MAX);
		return -1;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';

	char *field[FATE_FIELDS];
	int nf = 0;
	for (char *save = NULL, *tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (nf == FATE_FIELDS) {
			snprintf(why, whylen, "more than %d fields (t_us from to index size fate delay_us copy_delay_us flags)",
				 FATE_FIELDS);
			return -1;
		}
		field[nf++] = tok;
	}
	if (nf < FATE_FIELDS) {
		snprintf(why, whylen, "%d fields, want %d: t_us from to index size fate delay_us copy_delay_us flags", nf,
			 FATE_FIELDS);
		return -1;
	}

	*r = (struct wire_fate_record){ .corrupt_bit = { -1, -1 } };
	uint64_t v[5];
	const uint64_t max[5] = { UINT64_MAX, WIRE_MAX_PEERS - 1, WIRE_MAX_PEERS - 1, UINT64_MAX, WIRE_MAX_PAYLOAD };
	for (int i = 0; i < 5; i++) {
		if (!parse_u64(field[i], max[i], &v[i])) {
			snprintf(why, whylen, "%s '%s' is not a whole number from 0 to %" PRIu64, fate_field_name[i], field[i],
				 max[i]);
			return -1;
		}
	}
	r->t_us = v[0];
	r->from = (uint32_t)v[1];
	r->to = (uint32_t)v[2];
	r->index = v[3];
	r->size = (uint32_t)v[4];
	if (r->from == r->to) {
		snprintf(why, whylen, "link %u->%u: a peer sends nothing to itself", r->from, r->to);
		return -1;
	}
	int kind = -1;
	for (int k = 0; k < WIRE_FATE_COUNT; k++)
		if (strcmp(field[5], wire_fate_name((enum wire_fate_kind)k)) == 0)
			kind = k;
	if (kind < 0) {
		snprintf(why, whylen, "fate '%s' is none of deliver, loss, partition, queue, mtu", field[5]);
		return -1;
	}
	r->kind = (enum wire_fate_kind)kind;
	for (int c = 0; c < 2; c++) {
		const char *d = field[6 + c];
		if (strcmp(d, "-") == 0) {
			if (c == 0 && r->kind == WIRE_FATE_DELIVER) {
				snprintf(why, whylen, "delay_us '-' for a datagram delivered");
				return -1;
			}
			continue;
		}
		if (r->kind != WIRE_FATE_DELIVER) {
			snprintf(why, whylen, "%s '%s' for a datagram dropped (%s): want '-'", fate_field_name[6 + c], d,
				 field[5]);
			return -1;
		}
		if (!parse_u64(d, UINT64_MAX / 2, &r->delay_us[c])) {
			snprintf(why, whylen, "%s '%s' is not a whole number of µs", fate_field_name[6 + c], d);
			return -1;
		}
		r->ncopies = (uint32_t)c + 1;
	}
	return parse_flags(field[8], r, why, whylen) < 0 ? -1 : 1;
}

struct wire_fate_table {
	uint32_t npeers;
	uint64_t count;
	uint64_t *base;                 /* npeers * npeers + 1: link l's slots are [base[l], base[l + 1]) */
	struct wire_fate_record *slot;  /* the record of each (link, n) */
	uint32_t *line;                 /* its line in the log; 0: no record */
};

/* A record read, before the table is laid out. */
struct fate_read {
	struct wire_fate_record r;
	uint32_t line;
};

/* The header's session size, if the line is the header: "# loopsim fate log v1 seed=S peers=N". */
static int parse_header(const char *line, uint32_t *npeers, char *why, size_t whylen)
{
	const char *tag = "# loopsim fate log ";
	if (strncmp(line, tag, strlen(tag)) != 0)
		return 0;
	unsigned long long seed;
	unsigned peers;
	if (sscanf(line + strlen(tag), "v1 seed=%llu peers=%u", &seed, &peers) != 2) {
		snprintf(why, whylen, "a fate log header this version does not read (want 'v1 seed=S peers=N')");
		return -1;
	}
	*npeers = peers;
	return 1;
}

int wire_fate_table_load(const char *path, uint32_t npeers, struct wire_fate_table **out, char *err, size_t errlen)
{
	*out = NULL;
	FILE *f = fopen(path, "re");
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	int rc = -EINVAL;
	struct wire_fate_table *t = calloc(1, sizeof *t);
	struct fate_read *rd = NULL;
	uint64_t nrd = 0, cap = 0;
	char *line = NULL, why[200];
	size_t linecap = 0;
	uint32_t lineno = 0;
	size_t nlinks = (size_t)npeers * npeers;
	if (!t || !(t->base = calloc(nlinks + 1, sizeof *t->base)))
		goto nomem;
	t->npeers = npeers;
	errno = 0;
	while (getline(&line, &linecap, f) >= 0) {
		if (++lineno == UINT32_MAX) {
			snprintf(err, errlen, "%s:%u: too many lines for a fate log", path, lineno);
			goto err;
		}
		uint32_t logged_peers;
		int h = parse_header(line, &logged_peers, why, sizeof why);
		if (h < 0 || (h > 0 && logged_peers > npeers)) {
			if (h > 0)
				snprintf(why, sizeof why, "a log of %u peers, and this session has %u", logged_peers, npeers);
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			goto err;
		}
		struct wire_fate_record r;
		int got = wire_fate_parse(line, &r, why, sizeof why);
		if (got < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			goto err;
		}
		if (got == 0)
			continue;
		if (r.from >= npeers || r.to >= npeers) {
			snprintf(err, errlen, "%s:%u: link %u->%u, and this session has %u peers (0 to %u)", path, lineno,
				 r.from, r.to, npeers, npeers - 1);
			goto err;
		}
		if (nrd == cap) {
			uint64_t ncap = cap ? cap * 2 : 1024;
			struct fate_read *n = realloc(rd, sizeof *rd * ncap);
			if (!n)
				goto nomem;
			rd = n;
			cap = ncap;
		}
		rd[nrd++] = (struct fate_read){ r, lineno };
		/* base[l + 1] holds link l's slot count (its largest n + 1) until the prefix sum below. */
		uint64_t *slots = &t->base[(size_t)r.from * npeers + r.to + 1];
		if (r.index >= *slots) {
			/* A log's indices count up from 0 on each link; one far beyond its records is no run's. */
			if (r.index >= nrd + ((uint64_t)1 << 20)) {
				snprintf(err, errlen, "%s:%u: link %u->%u datagram %" PRIu64 " is far beyond the %" PRIu64
						      " records read so far: indices count up from 0 on each link",
					 path, lineno, r.from, r.to, r.index, nrd);
				goto err;
			}
			*slots = r.index + 1;
		}
	}
	if (ferror(f)) {
		rc = -(errno ? errno : EIO);
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto err;
	}
	for (size_t l = 0; l < nlinks; l++)
		t->base[l + 1] += t->base[l];
	uint64_t total = t->base[nlinks];
	t->slot = calloc(total ? total : 1, sizeof *t->slot);
	t->line = calloc(total ? total : 1, sizeof *t->line);
	if (!t->slot || !t->line)
		goto nomem;
	for (uint64_t i = 0; i < nrd; i++) {
		const struct wire_fate_record *r = &rd[i].r;
		uint64_t at = t->base[(size_t)r->from * npeers + r->to] + r->index;
		if (t->line[at]) {
			snprintf(err, errlen, "%s:%u: link %u->%u datagram %" PRIu64 " again (first at line %u)", path,
				 rd[i].line, r->from, r->to, r->index, t->line[at]);
			goto err;
		}
		t->slot[at] = *r;
		t->line[at] = rd[i].line;
	}
	t->count = nrd;
	free(rd);
	free(line);
	fclose(f);
	*out = t;
	return 0;
nomem:
	rc = -ENOMEM;
	snprintf(err, errlen, "%s: out of memory for the fate log", path);
err:
	free(rd);
	free(line);
	fclose(f);
	wire_fate_table_free(t);
	return rc;
}

void wire_fate_table_free(struct wire_fate_table *t)
{
	if (!t)
		return;
	free(t->base);
	free(t->slot);
	free(t->line);
	free(t);
}

uint64_t wire_fate_table_count(const struct wire_fate_table *t)
{
	return t->count;
}

const struct wire_fate_record *wire_fate_table_find(const struct wire_fate_table *t, uint32_t from, uint32_t to,
						    uint64_t n)
{
	if (from >= t->npeers || to >= t->npeers)
		return NULL;
	size_t l = (size_t)from * t->npeers + to;
	uint64_t at = t->base[l] + n;
	return at < t->base[l + 1] && t->line[at] ? &t->slot[at] : NULL;
}
