// SPDX-License-Identifier: MIT
// Output files: the preflight check, replacing whole, links followed, devices in place, nothing destroyed.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/outfile.h"

struct fixture {
	char dir[256];
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	const char *tmp = getenv("TMPDIR");
	snprintf(fx->dir, sizeof fx->dir, "%s/loopsim-outfile-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

/* Each test removes what it made; rmdir fails, and so does the test, if anything (a stray .tmp) was left. */
static int teardown(void **state)
{
	struct fixture *fx = *state;
	int rc = rmdir(fx->dir);
	if (rc != 0)
		fprintf(stderr, "%s: %s (a file was left behind)\n", fx->dir, strerror(errno));
	free(fx);
	return rc;
}

static void path_in(const struct fixture *fx, char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", fx->dir, name);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void assert_content(const char *path, const char *text)
{
	char buf[256] = "";
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_string_equal(buf, text);
}

static void write_all(const char *path, const char *text)
{
	struct outfile of;
	char err[512] = "";
	if (outfile_open(&of, path, err, sizeof err) < 0)
		fail_msg("outfile_open: %s", err);
	assert_int_equal(outfile_write(&of, text, strlen(text)), 0);
	if (outfile_commit(&of, err, sizeof err) < 0)
		fail_msg("outfile_commit: %s", err);
}

static void test_outfile_check_refuses_a_directory(void **state)
{
	struct fixture *fx = *state;
	char err[512] = "";
	assert_int_equal(outfile_check(fx->dir, err, sizeof err), -EISDIR);
	assert_non_null(strstr(err, fx->dir));
	assert_non_null(strstr(err, "is a directory"));
}

static void test_outfile_check_refuses_a_missing_directory_naming_it(void **state)
{
	struct fixture *fx = *state;
	char path[320], missing[300], err[512] = "";
	path_in(fx, missing, sizeof missing, "missing");
	snprintf(path, sizeof path, "%s/report.json", missing);
	assert_int_equal(outfile_check(path, err, sizeof err), -ENOENT);
	assert_non_null(strstr(err, path));
	char want[400];
	snprintf(want, sizeof want, "the directory %s does not exist", missing);
	assert_non_null(strstr(err, want));
}

static void test_outfile_check_refuses_a_file_for_a_directory(void **state)
{
	struct fixture *fx = *state;
	char file[300], path[320], err[512] = "";
	path_in(fx, file, sizeof file, "plain");
	put(file, "x");
	snprintf(path, sizeof path, "%s/report.json", file);
	assert_int_equal(outfile_check(path, err, sizeof err), -ENOTDIR);
	assert_non_null(strstr(err, "is not a directory"));
	unlink(file);
}

static void test_outfile_check_refuses_a_dangling_link_into_a_missing_directory(void **state)
{
	struct fixture *fx = *state;
	char link[300], err[512] = "";
	path_in(fx, link, sizeof link, "link");
	assert_int_equal(symlink("nowhere/report.json", link), 0);
	assert_int_equal(outfile_check(link, err, sizeof err), -ENOENT);
	assert_non_null(strstr(err, link));
	unlink(link);
}

static void test_outfile_check_accepts_new_existing_linked_and_device_paths_writing_nothing(void **state)
{
	struct fixture *fx = *state;
	char fresh[300], old[300], link[300], err[512] = "";
	path_in(fx, fresh, sizeof fresh, "new.json");
	path_in(fx, old, sizeof old, "old.json");
	path_in(fx, link, sizeof link, "link.json");
	put(old, "old");
	assert_int_equal(symlink("later.json", link), 0);
	assert_int_equal(outfile_check(fresh, err, sizeof err), 0);
	assert_int_equal(outfile_check(old, err, sizeof err), 0);
	assert_int_equal(outfile_check(link, err, sizeof err), 0);
	assert_int_equal(outfile_check("/dev/null", err, sizeof err), 0);
	assert_int_equal(access(fresh, F_OK), -1);
	assert_content(old, "old");
	unlink(old);
	unlink(link);
}

static void test_outfile_through_a_dangling_link_creates_its_target(void **state)
{
	struct fixture *fx = *state;
	char link[300], target[300];
	path_in(fx, link, sizeof link, "link.json");
	path_in(fx, target, sizeof target, "made.json");
	assert_int_equal(symlink("made.json", link), 0);
	write_all(link, "through");
	struct stat st;
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_content(target, "through");
	unlink(link);
	unlink(target);
}

static void test_outfile_replacing_keeps_the_files_permissions(void **state)
{
	struct fixture *fx = *state;
	char path[300];
	path_in(fx, path, sizeof path, "kept.json");
	put(path, "old");
	assert_int_equal(chmod(path, 0640), 0);
	write_all(path, "new");
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_content(path, "new");
	unlink(path);
}

static void test_outfile_abort_leaves_the_old_file_and_no_tmp(void **state)
{
	struct fixture *fx = *state;
	char path[300], tmp[310], err[512] = "";
	path_in(fx, path, sizeof path, "kept.json");
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	put(path, "old");
	struct outfile of;
	assert_int_equal(outfile_open(&of, path, err, sizeof err), 0);
	assert_int_equal(outfile_write(&of, "half", 4), 0);
	outfile_abort(&of);
	assert_content(path, "old");
	assert_int_equal(access(tmp, F_OK), -1);
	unlink(path);
}

static void test_outfile_does_not_follow_a_link_planted_at_its_tmp(void **state)
{
	struct fixture *fx = *state;
	char path[300], tmp[310], victim[300], err[512] = "";
	path_in(fx, path, sizeof path, "out.json");
	path_in(fx, victim, sizeof victim, "victim");
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	put(victim, "untouched");
	assert_int_equal(symlink("victim", tmp), 0);
	struct outfile of;
	assert_int_equal(outfile_open(&of, path, err, sizeof err), -EEXIST);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "is in the way"));
	assert_content(victim, "untouched");
	struct stat st;
	assert_int_equal(lstat(tmp, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(access(path, F_OK), -1);
	unlink(tmp);
	unlink(victim);
}

static void test_outfile_refuses_a_fifo_that_nobody_reads(void **state)
{
	struct fixture *fx = *state;
	char fifo[300], err[512] = "";
	path_in(fx, fifo, sizeof fifo, "fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(outfile_check(fifo, err, sizeof err), 0); /* a reader may come by the end of the run */
	struct outfile of;
	assert_int_equal(outfile_open(&of, fifo, err, sizeof err), -ENXIO);
	assert_non_null(strstr(err, "no process is reading"));
	struct stat st;
	assert_int_equal(lstat(fifo, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	unlink(fifo);
}

static void test_outfile_through_proc_fd_appends_to_the_open_file_in_place(void **state)
{
	struct fixture *fx = *state;
	/* What `--report /dev/stdout >>log` hands us: a name for a file a shell opened, to add to, not replace. */
	char path[300], name[64];
	path_in(fx, path, sizeof path, "log");
	put(path, "head\n");
	struct stat before, after;
	assert_int_equal(stat(path, &before), 0);
	int fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
	write_all(name, "tail\n");
	close(fd);
	assert_content(path, "head\ntail\n");
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_ino, before.st_ino);
	unlink(path);
}

static void test_outfile_through_dev_fd_writes_a_pipe_in_place(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	char name[64], buf[16] = "";
	snprintf(name, sizeof name, "/dev/fd/%d", p[1]);
	write_all(name, "piped");
	close(p[1]);
	assert_int_equal(read(p[0], buf, sizeof buf - 1), 5);
	assert_string_equal(buf, "piped");
	close(p[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_outfile_check_refuses_a_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outfile_check_refuses_a_missing_directory_naming_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outfile_check_refuses_a_file_for_a_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outfile_check_refuses_a_dangling_link_into_a_missing_directory, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_outfile_check_accepts_new_existing_linked_and_device_paths_writing_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_outfile_through_a_dangling_link_creates_its_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outfile_replacing_keeps_the_files_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outfile_abort_leaves_the_old_file_and_no_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outfile_does_not_follow_a_link_planted_at_its_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outfile_refuses_a_fifo_that_nobody_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outfile_through_proc_fd_appends_to_the_open_file_in_place, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_outfile_through_dev_fd_writes_a_pipe_in_place, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
