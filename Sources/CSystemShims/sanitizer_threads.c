// Only in builds with the thread sanitizer (`make tsan`): librdkafka starts its threads with C11's
// thrd_create (and joins them with thrd_join), which glibc implements by calling its internal
// pthread functions directly, past the sanitizer's interceptors. The sanitizer then knows nothing
// of those threads and crashes in the first allocation or close one of them makes, or when a
// joined thread's id is reused. These definitions, in the executable, take librdkafka's calls and
// go through the public pthread functions, which the sanitizer intercepts. Other builds do not
// contain them.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer) && defined(__linux__)
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

struct relay_thread_start {
    thrd_start_t function;
    void *argument;
};

static void *relay_thread_trampoline(void *opaque) {
    struct relay_thread_start start = *(struct relay_thread_start *)opaque;
    free(opaque);
    // glibc's thrd_join reads a C11 thread's int result back out of the pointer.
    return (void *)(intptr_t)start.function(start.argument);
}

int thrd_create(thrd_t *thread, thrd_start_t function, void *argument) {
    struct relay_thread_start *start = malloc(sizeof *start);
    if (start == NULL) return thrd_nomem;
    start->function = function;
    start->argument = argument;
    int status = pthread_create(thread, NULL, relay_thread_trampoline, start);
    if (status == 0) return thrd_success;
    free(start);
    return thrd_error;
}

int thrd_join(thrd_t thread, int *result) {
    void *value = NULL;
    if (pthread_join(thread, &value) != 0) return thrd_error;
    if (result != NULL) *result = (int)(intptr_t)value;
    return thrd_success;
}

int thrd_detach(thrd_t thread) {
    return pthread_detach(thread) == 0 ? thrd_success : thrd_error;
}
#endif
#endif
