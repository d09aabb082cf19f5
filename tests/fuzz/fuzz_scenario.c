// SPDX-License-Identifier: MIT
// libFuzzer target: scn_load on a memfd, scn_check, and the resolved writer's round trip (check_scenario.h).
#include "check_scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024];
	fz_scenario_one(data, size, err, sizeof err);
	return 0;
}
