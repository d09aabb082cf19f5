// SPDX-License-Identifier: MIT
// The desync bundle as written: every file there, every write error reported, no capture read that is no file.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/bundle.h"
#include "harness/oracle.h"
#include "harness/scenario.h"

#define NPEERS 2

struct fixture {
	char work[256];           /* the run's work directory: oracle logs, peer logs, captures */
	char dir[300];            /* the bundle, inside it */
	char pcap[300], fates[300];
	struct scenario scn;
	struct run_result *res;
	struct oracle *oracle;
	struct bundle_input in;
};

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	const char *tmp = getenv("TMPDIR");
	snprintf(fx->work, sizeof fx->work, "%s/loopsim-bundle-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (!mkdtemp(fx->work))
		return -1;
	snprintf(fx->dir, sizeof fx->dir, "%s/bundle", fx->work);
	snprintf(fx->pcap, sizeof fx->pcap, "%s/capture.pcap", fx->work);
	snprintf(fx->fates, sizeof fx->fates, "%s/fates.tsv", fx->work);
	put(fx->pcap, "pcap bytes");
	put(fx->fates, "# fates\n");
	for (int k = 0; k < NPEERS; k++) {
		char log[320];
		snprintf(log, sizeof log, "%s/peer-%d.log", fx->work, k);
		put(log, "a peer's output\n");
	}
	scn_default(&fx->scn);
	fx->scn.peers = NPEERS;
	fx->oracle = oracle_create(NPEERS, false, 1, fx->work);
	fx->res = calloc(1, sizeof *fx->res);
	if (!fx->oracle || !fx->res)
		return -1;
	for (uint32_t f = 0; f < 3; f++)
		for (uint32_t k = 0; k < NPEERS; k++)
			oracle_checksum(fx->oracle, k, f, f == 2 && k == 1 ? 0xbad : f);
	fx->res->npeers = NPEERS;
	fx->res->desync = (struct run_desync){ .found = true, .frame = 2, .npeers = 1, .peers = { 1 } };
	fx->in = (struct bundle_input){ .scn = &fx->scn, .res = fx->res, .oracle = fx->oracle, .pcap = fx->pcap,
					.fates = fx->fates, .workdir = fx->work };
	*state = fx;
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	oracle_destroy(fx->oracle);
	int rc = nftw(fx->work, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fx->res);
	free(fx);
	return rc;
}

static bool regular_in(const struct fixture *fx, const char *name)
{
	char path[400];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", fx->dir, name);
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static char *slurp_in(const struct fixture *fx, const char *name)
{
	char path[400];
	snprintf(path, sizeof path, "%s/%s", fx->dir, name);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	static char buf[8192];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static bool have_dev_full(void)
{
	struct stat st;
	return stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode);
}

static void test_bundle_write_writes_every_file_and_names_the_bundle(void **state)
{
	struct fixture *fx = *state;
	char err[512] = "";
	if (bundle_write(&fx->in, fx->dir, err, sizeof err) < 0)
		fail_msg("bundle_write: %s", err);
	static const char *const names[] = { "scenario.ini", "checksums-0.txt", "checksums-1.txt", "inputs-0.txt",
					     "inputs-1.txt", "peer-0.log", "peer-1.log", "capture.pcap",
					     "fates.tsv", "diff.txt", "README.txt" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!regular_in(fx, names[i]))
			fail_msg("%s is not in the bundle", names[i]);
	assert_string_equal(slurp_in(fx, "capture.pcap"), "pcap bytes");
	assert_string_equal(fx->res->desync.bundle, fx->dir);
}

static void test_bundle_write_reports_a_file_that_cannot_be_written(void **state)
{
	struct fixture *fx = *state;
	if (!have_dev_full())
		skip();
	/* README.txt is a link to a full device: written in place, it fails with ENOSPC at its first write. */
	char link[400], err[512] = "";
	assert_int_equal(mkdir(fx->dir, 0755), 0);
	snprintf(link, sizeof link, "%s/README.txt", fx->dir);
	assert_int_equal(symlink("/dev/full", link), 0);
	assert_int_equal(bundle_write(&fx->in, fx->dir, err, sizeof err), -1);
	assert_non_null(strstr(err, link));
	assert_non_null(strstr(err, strerror(ENOSPC)));
	/* The rest is written all the same, but the run is not told a bundle is there. */
	assert_true(regular_in(fx, "diff.txt"));
	assert_true(regular_in(fx, "capture.pcap"));
	assert_string_equal(fx->res->desync.bundle, "");
}

static void test_bundle_write_does_not_read_captures_that_are_no_files(void **state)
{
	struct fixture *fx = *state;
	/* A --pcap to /dev/zero would be read for ever, a --fates to a FIFO would wait for a writer for ever. */
	char fifo[300], err[512] = "";
	snprintf(fifo, sizeof fifo, "%s/fates.fifo", fx->work);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	fx->in.pcap = "/dev/zero";
	fx->in.fates = fifo;
	if (bundle_write(&fx->in, fx->dir, err, sizeof err) < 0)
		fail_msg("bundle_write: %s", err);
	assert_false(regular_in(fx, "capture.pcap"));
	assert_false(regular_in(fx, "fates.tsv"));
	const char *readme = slurp_in(fx, "README.txt");
	assert_non_null(strstr(readme, "capture.pcap is missing: /dev/zero is not a regular file"));
	assert_non_null(strstr(readme, "fates.tsv is missing"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bundle_write_writes_every_file_and_names_the_bundle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bundle_write_reports_a_file_that_cannot_be_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bundle_write_does_not_read_captures_that_are_no_files, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
