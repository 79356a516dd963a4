#ifndef RELAY_SYSTEM_SHIMS_H
#define RELAY_SYSTEM_SHIMS_H

/// Opens the file behind `descriptor` once more, write-only with `O_DIRECT` (writes go from the
/// caller's memory to the device, bypassing the page cache), through `/proc/self/fd`, so a rename
/// since the first open does not matter. Returns the new descriptor, or -1 with `errno` set
/// (`EINVAL` where the file system has no direct I/O, `ENOTSUP` where the system has no `O_DIRECT`).
int relay_reopen_for_direct_writes(int descriptor);

/// Names the calling thread (`pthread_setname_np`; Linux keeps the first 15 bytes), as `top -H`,
/// `perf` and `/proc/PID/task/TID/comm` show it. Does nothing where that is not available.
void relay_name_current_thread(const char *name);

/// Parses an IPv4 (`inet_pton`: exactly four decimal parts) or IPv6 address literal into `bytes`
/// (network order). Returns 4 or 16, the number of bytes written, or 0 when `text` is neither.
int relay_parse_ip_address(const char *text, unsigned char bytes[16]);

/// Binds a TCP socket to 127.0.0.1 port 0, reads the port the system chose and closes the socket.
/// Returns the port, or -1 with `errno` set.
int relay_free_loopback_port(void);

/// Resolves `host` (a name or an address literal) to its TCP addresses with `getaddrinfo`, writing
/// them as numeric text, one per line, into `buffer` (at most `size` bytes, NUL-terminated). Blocks
/// while the system resolves. Returns the number of addresses written, or a negative `getaddrinfo`
/// error code (`EAI_NONAME` for a name that does not exist).
int relay_resolve_host(const char *host, char *buffer, int size);

#endif
