#ifndef HEALTHMONITOR_CLINUX_SHIM_H
#define HEALTHMONITOR_CLINUX_SHIM_H
// Linux socket APIs the Glibc module does not import: epoll and eventfd (the hostport connect
// loop), the ICMP filters of raw sockets (ping), and the control-message macros recvmsg needs
// for kernel receive timestamps and TTLs; getrandom (result identifiers).
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/icmp6.h>
#include <linux/icmp.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <string.h>

// memmem is a GNU extension: <string.h> declares it only under _GNU_SOURCE, which the Glibc
// module is not built with. The download check's body search uses it.
void *memmem(const void *haystack, size_t haystacklen, const void *needle, size_t needlelen);
static inline const void *clinux_memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length) {
    return memmem(haystack, haystack_length, needle, needle_length);
}

// Names the calling thread (15 bytes at most) for top -H, gdb and /proc/PID/task/TID/comm;
// prctl is variadic, which Swift cannot call.
static inline int clinux_set_thread_name(const char *name) {
    return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

// The calling thread's id (for its nice value); syscall is variadic, which Swift cannot call.
static inline pid_t clinux_gettid(void) {
    return (pid_t)syscall(SYS_gettid);
}

// CMSG_FIRSTHDR, CMSG_NXTHDR, CMSG_DATA and CMSG_SPACE are macros, which Swift cannot call:
// each shim wraps one as a typed function.
static inline struct cmsghdr *clinux_cmsg_firsthdr(struct msghdr *message) {
    return CMSG_FIRSTHDR(message);
}
static inline struct cmsghdr *clinux_cmsg_nxthdr(struct msghdr *message, struct cmsghdr *header) {
    return CMSG_NXTHDR(message, header);
}
static inline const unsigned char *clinux_cmsg_data(const struct cmsghdr *header) {
    return CMSG_DATA(header);
}
static inline size_t clinux_cmsg_space(size_t length) {
    return CMSG_SPACE(length);
}

// M_ARENA_MAX and M_MMAP_THRESHOLD are macros and mallopt lives in <malloc.h>, which the Glibc
// module leaves out.
static inline int clinux_limit_malloc_arenas(int arenas) {
    return mallopt(M_ARENA_MAX, arenas);
}
static inline int clinux_set_mmap_threshold(int bytes) {
    return mallopt(M_MMAP_THRESHOLD, bytes);
}

// MADV_PAGEOUT (Linux 5.4) is missing from older C library headers; the kernel's value is 21.
// An older kernel answers EINVAL.
static inline int clinux_madvise_pageout(void *address, size_t length) {
#ifdef MADV_PAGEOUT
    return madvise(address, length, MADV_PAGEOUT);
#else
    return madvise(address, length, 21);
#endif
}

#endif
