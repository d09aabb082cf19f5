// SPDX-License-Identifier: MIT
// Where loopsim finds its own files: beside its executable in a build tree, under its prefix once installed.
#ifndef LOOPSIM_HARNESS_PATHS_H
#define LOOPSIM_HARNESS_PATHS_H

#include <stddef.h>

/*
 * The layouts it knows, tried in this order:
 *   $LOOPSIM_DATA_DIR                    set by the user: the data folder itself
 *   <bindir>/../share/loopsim            an installed loopsim (cmake --install, any prefix)
 *   the source tree's assets/            a build tree (the path is compiled in)
 * Programs (loopsim-peer) and the preload library sit beside the
 * executable in a build tree, and in <bindir> and <libdir>/loopsim once
 * installed.
 */

/* The directory of the running executable, without a trailing slash. Returns 0, or -1 if it cannot be read. */
int paths_exe_dir(char *out, size_t cap);

/*
 * The data folder that holds `probe` (a path relative to it, e.g.
 * "fonts/DejaVuSansMono.ttf"), from the list above. Returns 0 with the folder in
 * out, or -1 when none holds it (out then names the installed location it expected).
 */
int paths_data_dir(const char *probe, char *out, size_t cap);

/* A file in the data folder: `rel` joined to paths_data_dir(rel). Returns 0, or -1 as paths_data_dir(). */
int paths_data_file(const char *rel, char *out, size_t cap);

/*
 * A library of loopsim's (the preload library): beside the executable, else in
 * the installed <libdir>/loopsim. Returns 0 with the path (resolved, absolute),
 * or -1 with the build-tree path it expected in out.
 */
int paths_lib_file(const char *name, char *out, size_t cap);

#endif
