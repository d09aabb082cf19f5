// SPDX-License-Identifier: MIT
// libFuzzer target: the wire's ENet header labeller on any bytes (check_enet_label.h).
#include "check_enet_label.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_enet_label_one(data, size);
	return 0;
}
