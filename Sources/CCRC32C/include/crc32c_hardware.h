#ifndef RELAY_CRC32C_HARDWARE_H
#define RELAY_CRC32C_HARDWARE_H

#include <stddef.h>
#include <stdint.h>

/// 1 when the CPU has SSE 4.2's crc32 instruction (CRC-32C in hardware), else 0.
int relay_crc32c_hardware_available(void);

/// Extends the running CRC-32C state `crc` (not inverted here) over `count` bytes with SSE 4.2.
/// Call only when relay_crc32c_hardware_available() returned 1.
uint32_t relay_crc32c_hardware(uint32_t crc, const void *bytes, size_t count);

#endif
