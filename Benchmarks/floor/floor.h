// Shared by the C floors: the monotonic time and this process's CPU.
#pragma once
#include <sys/resource.h>
#include <time.h>

#include <stdint.h>

// CLOCK_MONOTONIC in nanoseconds, and in seconds.
static inline int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static inline double now(void) {
    return now_ns() / 1e9;
}

// User + system CPU of this process so far (getrusage).
static inline double cpu(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}
