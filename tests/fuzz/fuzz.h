// SPDX-License-Identifier: MIT
// What the fuzz checks share: a failure hook and exact-size C strings.
#ifndef LOOPSIM_FUZZ_H
#define LOOPSIM_FUZZ_H

/*
 * The check_<target>.h headers hold each target's decoder calls and the
 * properties they must keep. They are included twice: by the libFuzzer
 * target fuzz_<target>.c, where a broken property aborts (a finding), and
 * by tests/test_fuzz_regressions.c, which defines FZ_FAIL as cmocka's
 * fail_msg before including them and replays the stored inputs.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FZ_FAIL
#define FZ_FAIL(...) (fprintf(stderr, "fuzz check failed: " __VA_ARGS__), fputc('\n', stderr), abort())
#endif

/* A property of the decoder under test; breaking it is a finding. */
#define FZ_REQUIRE(cond, ...)             \
	do {                              \
		if (!(cond))              \
			FZ_FAIL(__VA_ARGS__); \
	} while (0)

/*
 * The bytes as a C string in a buffer of exactly len + 1 bytes, so that
 * AddressSanitizer sees any read past its end. An embedded NUL ends the
 * string early, as it would for a real argv or key. The caller frees it.
 */
static inline char *fz_cstr(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);
	FZ_REQUIRE(s, "out of memory");
	if (len)
		memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

/* Whether s starts with prefix. */
static inline bool fz_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

#endif
