// SPDX-License-Identifier: MIT
// Capture: the pcap of delivered datagrams, and the fate log of every datagram.
#ifndef LOOPSIM_WIRE_CAPTURE_H
#define LOOPSIM_WIRE_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wire/link.h"

/*
 * Opens one of the wire's outputs (the pcap, the fate log) with fopen's
 * mode, which must write: a regular file is created or truncated in place,
 * a device or FIFO is written in place (nothing is ever renamed over), a
 * name for an open file (/dev/stdout, /dev/fd/N) is appended to, a
 * FIFO that no process reads is refused (ENXIO) rather than waited on, a
 * directory is refused (EISDIR). Close-on-exec, so no peer inherits it.
 * Returns the stream, or NULL with "path: reason" in err.
 */
FILE *wire_output_open(const char *path, const char *mode, char *err, size_t errlen);

/*
 * The pcap holds what the receivers got, as raw IPv4 (LINKTYPE_RAW) with the
 * addresses the peers see: source = the sender's public address, destination
 * = the receiver's own bound address. UDP checksums are left 0, which IPv4
 * allows, so a corrupted datagram shows its flipped bit and not a checksum
 * error. Written through libpcap, so Wireshark and tshark read it.
 */
struct wire_pcap;

/*
 * Creates path, or writes in place what is not a regular file (a device, a
 * FIFO: nothing is renamed over). Returns NULL with a reason in err on
 * failure.
 */
struct wire_pcap *wire_pcap_open(const char *path, char *err, size_t errlen);
/*
 * Appends one datagram; ts_us is wall-clock time since the epoch. Addresses
 * in host byte order. A write error is kept (see wire_pcap_close()); stdio
 * buffers, so most show only at the next flush.
 */
void wire_pcap_write(struct wire_pcap *pc, uint64_t ts_us, uint32_t src_ip, uint16_t src_port, uint32_t dst_ip,
		     uint16_t dst_port, const uint8_t *payload, uint32_t len);
/* Pushes what is buffered to the file. Returns 0, or the first negative errno the capture has met so far. */
int wire_pcap_flush(struct wire_pcap *pc);
/*
 * Flushes and closes. Returns 0 if every datagram reached the file, or the
 * first negative errno met on the way: a write, a flush, or the close (where
 * NFS and quotas report late). NULL returns 0.
 */
int wire_pcap_close(struct wire_pcap *pc);

/*
 * The fate log: text, one line per datagram that entered a link, in the
 * order the wire saw them:
 *   t_us  from  to  index  size  fate  delay_us  copy_delay_us  flags
 * t_us counts from the wire's start. delay_us is the scheduled delay of the
 * datagram ("-" when dropped); copy_delay_us that of its duplicate, or "-".
 * flags: 'r' skipped the delay (reordered), 'c' the original was corrupted,
 * 'C' the copy was, each of c and C followed by the flipped bit's offset
 * ("c1234": bit 1234 of the payload, counted from the first byte's least
 * significant bit); "-" for none. Lines starting with '#' are comments.
 */
#define WIRE_FATE_LINE_MAX 160

/* Formats one record with its newline. Returns its length. This function can't fail. */
int wire_fate_format(char *buf, size_t cap, sim_time_us t_us, uint32_t from, uint32_t to, uint32_t size,
		     const struct wire_fate *fate);
/* Writes the header comment, naming the seed so that the run can be repeated. Errors show in ferror(f). */
void wire_fate_header(FILE *f, uint64_t seed, uint32_t npeers);

/* A corrupted copy whose log line gave no bit offset (a log from before offsets were written). */
#define WIRE_FATE_BIT_UNKNOWN (-2)

/* One line of a fate log, parsed. Plain value type. */
struct wire_fate_record {
	uint64_t t_us;
	uint32_t from, to;
	uint64_t index;
	uint32_t size;
	enum wire_fate_kind kind;
	uint32_t ncopies;              /* 0 for a drop, else 1 or 2 */
	uint64_t delay_us[2];          /* of each copy, from t_us */
	int32_t corrupt_bit[2];        /* -1 intact, WIRE_FATE_BIT_UNKNOWN, or the bit flipped */
	bool reordered;                /* the original skipped the delay */
};

/*
 * Parses one line of a fate log (its newline, and a CR before it, may be
 * there or not). Returns 1 with *r filled for a record, 0 for a comment or
 * a blank line, or -1 with a sentence naming the field in why. Untrusted
 * input: every field is checked (numbers whole and in range, the fate a
 * known name, delays present exactly for deliveries, flags that fit the
 * copies and bit offsets inside the payload). This function can't fail
 * otherwise.
 */
int wire_fate_parse(const char *line, struct wire_fate_record *r, char *why, size_t whylen);

/*
 * A fate log loaded for replay: the record of each (link, n), so that the
 * n-th datagram on a link can be given the fate it had, whatever the timing
 * of the run that replays it. Memory: about 70 bytes for every n up to the
 * largest on each link, allocated once by wire_fate_table_load(); a lookup
 * is O(1) and allocates nothing.
 */
struct wire_fate_table;

/*
 * Reads the fate log at path for a session of npeers into *out, which the
 * caller owns. Returns 0, or a negative errno with "path:line: reason" (or
 * "path: reason") in err and *out NULL: -EINVAL for a log that is refused (a
 * malformed line, a link between peers the session does not have, the same
 * (link, n) twice), what open() or read() said for one that cannot be read,
 * -ENOMEM when memory runs out.
 */
int wire_fate_table_load(const char *path, uint32_t npeers, struct wire_fate_table **out, char *err, size_t errlen);
/* Frees a table; NULL does nothing. */
void wire_fate_table_free(struct wire_fate_table *t);
/* How many records the table holds. */
uint64_t wire_fate_table_count(const struct wire_fate_table *t);
/* The record of the n-th datagram on from->to, or NULL if the log had none. O(1). */
const struct wire_fate_record *wire_fate_table_find(const struct wire_fate_table *t, uint32_t from, uint32_t to,
						    uint64_t n);

#endif
