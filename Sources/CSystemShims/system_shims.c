#define _GNU_SOURCE
#include "system_shims.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netdb.h>
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

int relay_resolve_host(const char *host, char *buffer, int size) {
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo *results = NULL;
    int status = getaddrinfo(host, NULL, &hints, &results);
    if (status != 0) return status < 0 ? status : -status;
    int count = 0;
    int used = 0;
    buffer[0] = 0;
    for (struct addrinfo *entry = results; entry != NULL; entry = entry->ai_next) {
        char text[INET6_ADDRSTRLEN];
        const void *address = NULL;
        if (entry->ai_family == AF_INET) {
            address = &((struct sockaddr_in *)entry->ai_addr)->sin_addr;
        } else if (entry->ai_family == AF_INET6) {
            address = &((struct sockaddr_in6 *)entry->ai_addr)->sin6_addr;
        }
        if (address == NULL || inet_ntop(entry->ai_family, address, text, sizeof text) == NULL) continue;
        int length = (int)strlen(text);
        if (used + length + 2 > size) break;
        memcpy(buffer + used, text, (size_t)length);
        used += length;
        buffer[used++] = '\n';
        buffer[used] = 0;
        count += 1;
    }
    freeaddrinfo(results);
    return count;
}
