// SPDX-License-Identifier: MIT
// libFuzzer target: link_opt_set and link_opt_set_list on one link's settings (check_wire_opts.h).
#include "check_wire_opts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	fz_wire_opts_one(data, size, err, sizeof err);
	return 0;
}
