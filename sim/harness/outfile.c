// SPDX-License-Identifier: MIT
// Output files a user names: through a rename for regular files, in place for devices and FIFOs.
#include "harness/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Symlinks followed before giving up with ELOOP, as the kernel's own limit. */
#define OUTFILE_MAX_LINKS 40

static void set_err(char *err, size_t errlen, const char *path, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", path, why);
}

/* "dir/name" -> "dir", "/name" -> "/", "name" -> ".". Returns NULL without memory. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/*
 * A name for a file some process has open (/dev/stdout is a link to
 * /proc/self/fd/1): what /proc shows as its link is no path to rename over
 * ("pipe:[123]"), and a regular file behind it is the caller's shell
 * redirection, which it means to be written, not replaced.
 */
static bool names_open_file(const char *path)
{
	return strncmp(path, "/proc/", 6) == 0 || strncmp(path, "/dev/fd/", 8) == 0;
}

/*
 * Follows path, while it is a symlink, to the path the chain ends at (which
 * need not exist: a dangling link is written through, creating its target).
 * Symlinks in the directories on the way are the kernel's to follow. Stops
 * at a name for an open file (*open_file set), which is the kernel's to
 * follow too. Returns 0 with *out owned by the caller, or a negative errno.
 */
static int resolve(const char *path, char **out, bool *open_file)
{
	char *cur = strdup(path);
	if (!cur)
		return -ENOMEM;
	for (int hops = 0;; hops++) {
		struct stat st;
		*open_file = names_open_file(cur);
		if (*open_file || lstat(cur, &st) < 0 || !S_ISLNK(st.st_mode)) {
			*out = cur; /* what it is, or why it cannot be seen, is the caller's stat to tell */
			return 0;
		}
		char link[PATH_MAX];
		ssize_t n = hops < OUTFILE_MAX_LINKS ? readlink(cur, link, sizeof link - 1) : -1;
		if (n < 0) {
			int e = hops < OUTFILE_MAX_LINKS ? errno : ELOOP;
			free(cur);
			return -e;
		}
		link[n] = '\0';
		char *next = NULL;
		if (link[0] == '/' || !strchr(cur, '/')) {
			next = strdup(link);
		} else {
			/* Relative to the directory holding the link. */
			size_t dlen = (size_t)(strrchr(cur, '/') - cur);
			if (asprintf(&next, "%.*s/%s", (int)dlen, cur, link) < 0)
				next = NULL;
		}
		free(cur);
		if (!next)
			return -ENOMEM;
		cur = next;
	}
}

static void of_free(struct outfile *of)
{
	free(of->path);
	free(of->target);
	free(of->tmp);
	of->path = of->target = of->tmp = NULL;
	of->fd = -1;
}

/* Why a path that is not a regular file cannot take an output, or NULL if it can (a device or a FIFO). */
static const char *unusable(mode_t mode, int *e)
{
	if (S_ISDIR(mode)) {
		*e = EISDIR;
		return "is a directory; name a file in it";
	}
	if (S_ISSOCK(mode)) {
		*e = ENXIO;
		return "is a socket, not a file";
	}
	return NULL;
}

/*
 * Devices, FIFOs and open files: in place, never renamed over; appended to,
 * so that a regular file behind /dev/stdout keeps what was written to it
 * before. O_NONBLOCK only for the open, so a FIFO without a reader fails.
 */
static int open_in_place(struct outfile *of, mode_t mode, char *err, size_t errlen)
{
	int fd = open(of->target, O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		set_err(err, errlen, of->path,
			e == ENXIO && S_ISFIFO(mode) ? "a FIFO that no process is reading" : strerror(e));
		return -e;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		int e = errno;
		close(fd);
		set_err(err, errlen, of->path, strerror(e));
		return -e;
	}
	of->fd = fd;
	return 0;
}

int outfile_open(struct outfile *of, const char *path, char *err, size_t errlen)
{
	*of = (struct outfile){ .fd = -1 };
	if (!path || !*path) {
		set_err(err, errlen, "(output)", "an empty file name");
		return -EINVAL;
	}
	of->path = strdup(path);
	bool open_file = false;
	int rc = of->path ? resolve(path, &of->target, &open_file) : -ENOMEM;
	if (rc < 0) {
		set_err(err, errlen, path, strerror(-rc));
		of_free(of);
		return rc;
	}
	struct stat st;
	bool exists = stat(of->target, &st) == 0;
	if (!exists && (errno != ENOENT || open_file)) {
		int e = errno;
		set_err(err, errlen, path, strerror(e));
		of_free(of);
		return -e;
	}
	if (exists && (!S_ISREG(st.st_mode) || open_file)) {
		int e = 0;
		const char *why = unusable(st.st_mode, &e);
		rc = why ? -e : open_in_place(of, st.st_mode, err, errlen);
		if (why)
			set_err(err, errlen, path, why);
		if (rc < 0)
			of_free(of);
		return rc;
	}

	if (asprintf(&of->tmp, "%s.tmp", of->target) < 0) {
		of->tmp = NULL;
		set_err(err, errlen, path, strerror(ENOMEM));
		of_free(of);
		return -ENOMEM;
	}
	/*
	 * "TARGET.tmp" is ours by name: an old one (a crash) is truncated. But
	 * never followed (O_NOFOLLOW) and never taken if it is not a regular
	 * file: a link or a FIFO planted there is not written through
	 * (O_NONBLOCK keeps such a FIFO from blocking the open; a regular file
	 * ignores it).
	 */
	int fd = open(of->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0666);
	struct stat tst;
	if ((fd < 0 && errno == ELOOP) || (fd >= 0 && (fstat(fd, &tst) < 0 || !S_ISREG(tst.st_mode)))) {
		if (fd >= 0)
			close(fd);
		char why[PATH_MAX + 64];
		snprintf(why, sizeof why, "%s is in the way and is not a regular file", of->tmp);
		set_err(err, errlen, path, why);
		of_free(of);
		return -EEXIST;
	}
	if (fd < 0) {
		int e = errno;
		set_err(err, errlen, path, strerror(e));
		of_free(of);
		return -e;
	}
	if (exists)
		fchmod(fd, st.st_mode & 07777); /* the file it replaces keeps its permissions */
	of->fd = fd;
	return 0;
}

int outfile_write(struct outfile *of, const void *buf, size_t len)
{
	if (of->error)
		return of->error;
	if (of->fd < 0)
		return of->error = -EBADF;
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(of->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return of->error = n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int outfile_commit(struct outfile *of, char *err, size_t errlen)
{
	int rc = of->fd < 0 ? -EBADF : of->error;
	/* A regular file's data reaches the disk before its name does: a crash leaves the old file, not an empty one. */
	if (!rc && of->tmp && fsync(of->fd) < 0)
		rc = -errno;
	if (of->fd >= 0 && close(of->fd) < 0 && !rc && errno != EINTR)
		rc = -errno; /* NFS and quotas report late write errors here */
	of->fd = -1;
	if (!rc && of->tmp && rename(of->tmp, of->target) < 0)
		rc = -errno;
	if (rc < 0) {
		if (of->tmp)
			unlink(of->tmp);
		set_err(err, errlen, of->path ? of->path : "(output)", strerror(-rc));
	}
	of_free(of);
	return rc;
}

void outfile_abort(struct outfile *of)
{
	if (of->fd >= 0)
		close(of->fd);
	if (of->tmp)
		unlink(of->tmp);
	of_free(of);
}

int outfile_check(const char *path, char *err, size_t errlen)
{
	if (!path || !*path) {
		set_err(err, errlen, "(output)", "an empty file name");
		return -EINVAL;
	}
	char *target = NULL, *dir = NULL, why[PATH_MAX + 96] = "";
	bool open_file = false;
	int rc = resolve(path, &target, &open_file);
	if (rc < 0) {
		set_err(err, errlen, path, strerror(-rc));
		return rc;
	}
	struct stat st;
	int e = 0;
	bool renamed = true; /* a regular file, or none yet: written beside, then renamed into place */
	if (stat(target, &st) == 0) {
		const char *msg = unusable(st.st_mode, &e);
		renamed = S_ISREG(st.st_mode) && !open_file;
		if (msg)
			snprintf(why, sizeof why, "%s", msg);
		else if (!renamed && access(target, W_OK) < 0)
			e = errno; /* a device, FIFO or open file, written in place */
	} else if (open_file || (errno != ENOENT && errno != ENOTDIR)) {
		e = errno;
	}
	if (!e && renamed) {
		/* The directory must exist and take a new file. */
		if (!(dir = dir_of(target)))
			e = ENOMEM;
		else if (stat(dir, &st) < 0)
			e = errno;
		else if (!S_ISDIR(st.st_mode))
			e = ENOTDIR;
		else if (access(dir, W_OK | X_OK) < 0)
			e = errno;
		if (e == ENOENT || e == ENOTDIR)
			snprintf(why, sizeof why, "the directory %s %s", dir,
				 e == ENOENT ? "does not exist" : "is not a directory");
		else if (e && dir)
			snprintf(why, sizeof why, "cannot create files in %s: %s", dir, strerror(e));
	}
	if (e)
		set_err(err, errlen, path, why[0] ? why : strerror(e));
	free(target);
	free(dir);
	return -e;
}
