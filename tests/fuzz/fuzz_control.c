// SPDX-License-Identifier: MIT
// libFuzzer target: ctl_decode, and ctl_encode of whatever it accepts (check_control.h).
#include "check_control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why;
	fz_control_one(data, size, &why);
	return 0;
}
