#define _GNU_SOURCE
#include "system_shims.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

int relay_reopen_for_direct_writes(int descriptor) {
#if defined(__linux__) && defined(O_DIRECT)
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", descriptor);
    return open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
#else
    (void)descriptor;
    errno = ENOTSUP;
    return -1;
#endif
}

void relay_name_current_thread(const char *name) {
#if defined(__linux__)
    char truncated[16];
    strncpy(truncated, name, sizeof truncated - 1);
    truncated[sizeof truncated - 1] = 0;
    pthread_setname_np(pthread_self(), truncated);
#else
    (void)name;
#endif
}

int relay_parse_ip_address(const char *text, unsigned char bytes[16]) {
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, text, &v4) == 1) {
        memcpy(bytes, &v4, 4);
        return 4;
    }
    if (inet_pton(AF_INET6, text, &v6) == 1) {
        memcpy(bytes, &v6, 16);
        return 16;
    }
    return 0;
}

int relay_free_loopback_port(void) {
    int descriptor = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (descriptor < 0) return -1;
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = 0;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    int result = -1;
    if (bind(descriptor, (struct sockaddr *)&address, sizeof address) == 0
        && getsockname(descriptor, (struct sockaddr *)&address, &length) == 0) {
        result = ntohs(address.sin_port);
    }
    int saved = errno;
    close(descriptor);
    errno = saved;
    return result;
}
