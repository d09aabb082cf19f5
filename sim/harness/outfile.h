// SPDX-License-Identifier: MIT
// Output files a user names: written whole or not at all, never replacing what is not a regular file.
#ifndef LOOPSIM_HARNESS_OUTFILE_H
#define LOOPSIM_HARNESS_OUTFILE_H

#include <stddef.h>

/*
 * What a path names decides how it is written, so that nothing is destroyed
 * and no failure goes unsaid:
 *   - a regular file, or none yet: the bytes go to "TARGET.tmp" beside it,
 *     which is fsync'd and renamed over TARGET on commit, so that readers
 *     see the old file or the whole new one, never half (the replaced
 *     file's permission bits are kept);
 *   - a symbolic link: followed to the path it finally names (which may not
 *     exist yet), and that is written as above; the link stays a link;
 *   - a character or block device, or a FIFO: written in place, opened
 *     O_WRONLY, never renamed over or truncated (/dev/null, a pipe to
 *     another program). A FIFO that no process reads is refused (ENXIO)
 *     rather than waited on;
 *   - a name for a file a process has open (/dev/stdout, /dev/fd/N,
 *     /proc/self/fd/N, whatever the file): written in place as well, and
 *     appended to (O_APPEND), so that `--report /dev/stdout >>log` adds to
 *     the log rather than replacing it;
 *   - a directory, a socket, or a path whose directory does not exist: an
 *     error.
 * Every write, flush, sync, close and rename error is reported, with errno
 * kept from the call that failed: a full disk (or /dev/full) is ENOSPC,
 * whether it shows at write time or only when the file is closed.
 */
struct outfile {
	int fd;                   /* -1 when not open */
	int error;                /* the first negative errno of a write, 0 so far */
	char *path;               /* as given, for messages; owned */
	char *target;             /* path with its symlinks followed: where the bytes land; owned */
	char *tmp;                /* "target.tmp" when written through a rename, NULL when in place; owned */
};

/*
 * Opens path for writing as above. Returns 0, or a negative errno with
 * "path: reason" in err and nothing created or left open (of needs no
 * abort then).
 */
int outfile_open(struct outfile *of, const char *path, char *err, size_t errlen);

/*
 * Writes all of buf (retrying short writes and EINTR). Returns 0, or the
 * first negative errno this file has met; after an error nothing more is
 * written, and outfile_commit() reports it.
 */
int outfile_write(struct outfile *of, const void *buf, size_t len);

/*
 * Finishes the file: a regular file is fsync'd, closed and renamed over its
 * target; a device or FIFO is closed. Returns 0 only if every byte was
 * written and the file is in place; otherwise a negative errno with
 * "path: reason" in err, the temporary file removed and the target as it was
 * (a device or FIFO may have taken part of the bytes). Frees what of holds,
 * either way.
 */
int outfile_commit(struct outfile *of, char *err, size_t errlen);

/* Gives up: closes, removes the temporary file, frees. The target is untouched. Safe on a closed outfile. */
void outfile_abort(struct outfile *of);

/*
 * A check before a run, so that an output that cannot be written is refused
 * before minutes of work rather than after: path must be a regular file, a
 * device or a FIFO (after its symlinks), or not exist in a directory that
 * does; and the place must be writable as far as access(2) tells (as root
 * that is only a read-only file system). Writes nothing. Returns 0, or a
 * negative errno with "path: reason" in err ("is a directory", "the
 * directory D does not exist", ...).
 */
int outfile_check(const char *path, char *err, size_t errlen);

#endif
