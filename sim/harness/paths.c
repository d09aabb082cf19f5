// SPDX-License-Identifier: MIT
// Where loopsim finds its own files.
#include "harness/paths.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef LOOPSIM_SOURCE_ASSETS
#define LOOPSIM_SOURCE_ASSETS "assets"
#endif
/* From the installed bindir to the data folder and to loopsim's own libraries (CMake computes both). */
#ifndef LOOPSIM_DATA_REL
#define LOOPSIM_DATA_REL "../share/loopsim"
#endif
#ifndef LOOPSIM_LIB_REL
#define LOOPSIM_LIB_REL "../lib/loopsim"
#endif

int paths_exe_dir(char *out, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return -1;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return snprintf(out, cap, "%s", self) < (int)cap ? 0 : -1;
}

/* dir/probe is readable. */
static int holds(const char *dir, const char *probe)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/%s", dir, probe) >= (int)sizeof path)
		return 0;
	return access(path, R_OK) == 0;
}

int paths_data_dir(const char *probe, char *out, size_t cap)
{
	const char *env = getenv("LOOPSIM_DATA_DIR");
	if (env && *env) {
		snprintf(out, cap, "%s", env);
		return holds(env, probe) ? 0 : -1;
	}
	char exe[PATH_MAX], installed[PATH_MAX + 32];
	if (paths_exe_dir(exe, sizeof exe) == 0) {
		snprintf(installed, sizeof installed, "%s/%s", exe, LOOPSIM_DATA_REL);
		char real[PATH_MAX];
		if (holds(installed, probe) && realpath(installed, real)) {
			snprintf(out, cap, "%s", real);
			return 0;
		}
	} else {
		snprintf(installed, sizeof installed, "%s", LOOPSIM_DATA_REL);
	}
	if (holds(LOOPSIM_SOURCE_ASSETS, probe)) {
		snprintf(out, cap, "%s", LOOPSIM_SOURCE_ASSETS);
		return 0;
	}
	snprintf(out, cap, "%s", installed);
	return -1;
}

int paths_data_file(const char *rel, char *out, size_t cap)
{
	char dir[PATH_MAX];
	int rc = paths_data_dir(rel, dir, sizeof dir);
	if (snprintf(out, cap, "%s/%s", dir, rel) >= (int)cap)
		return -1;
	return rc;
}

int paths_lib_file(const char *name, char *out, size_t cap)
{
	char exe[PATH_MAX], installed[PATH_MAX + 64];
	if (cap)
		*out = '\0';
	if (paths_exe_dir(exe, sizeof exe) < 0 || snprintf(out, cap, "%s/%s", exe, name) >= (int)cap)
		return -1;
	if (access(out, R_OK) == 0)
		return 0;
	snprintf(installed, sizeof installed, "%s/%s/%s", exe, LOOPSIM_LIB_REL, name);
	char real[PATH_MAX];
	if (access(installed, R_OK) == 0 && realpath(installed, real) && strlen(real) < cap) {
		strcpy(out, real);
		return 0;
	}
	return -1;
}
