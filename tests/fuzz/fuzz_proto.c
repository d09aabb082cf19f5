// SPDX-License-Identifier: MIT
// libFuzzer target: nc_packet_decode as sent and with a right CRC, and the re-encoding (check_proto.h).
#include "check_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_proto_one(data, size);
	return 0;
}
