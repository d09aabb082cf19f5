// SPDX-License-Identifier: MIT
// The viewer's side of a session in a build without the viewer (LOOPSIM_VIEW=OFF): there is nothing to draw.
#include <stdio.h>

#include "harness/run_internal.h"

int run__open_view(struct session *s, char *err, size_t errlen)
{
	if (!s->cfg->window && !s->cfg->screenshot)
		return 0;
	snprintf(err, errlen, "this loopsim was built without the viewer (LOOPSIM_VIEW=OFF): no window, no --screenshot");
	return -1;
}

void run__view_tick(struct session *s, bool hold, run_time_ms now)
{
	(void)s;
	(void)hold;
	(void)now;
}

void run__build_snapshot(struct session *s, run_time_ms now)
{
	(void)s;
	(void)now;
}

void run__close_view(struct session *s)
{
	(void)s;
}
