// SPDX-License-Identifier: MIT
// libFuzzer target: the command line's value parsers and their documented ranges (check_cli_args.h).
#include "check_cli_args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	fz_cli_args_one(data, size, err, sizeof err);
	return 0;
}
