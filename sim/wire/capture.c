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
	char delay[24] = "-", copy_delay[24] = "-", flags[4] = "-";
	int nflags = 0;
	if (f->ncopies >= 1) {
		snprintf(delay, sizeof delay, "%" PRIu64, f->copy[0].deliver_at_us - t_us);
		if (f->copy[0].reordered)
			flags[nflags++] = 'r';
		if (f->copy[0].corrupt_bit >= 0)
			flags[nflags++] = 'c';
	}
	if (f->ncopies == 2) {
		snprintf(copy_delay, sizeof copy_delay, "%" PRIu64, f->copy[1].deliver_at_us - t_us);
		if (f->copy[1].corrupt_bit >= 0)
			flags[nflags++] = 'C';
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
