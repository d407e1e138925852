// The ping floor: ICMP echo round trips from C, what a `ping` check with count 1 does at the
// least (send one echo request, receive its reply, match it on identifier, sequence and source,
// take the round trip from the kernel's receive timestamp), to TARGETS loopback addresses
// 127.0.X.Y (X = i / 250, Y = i % 250 + 2: the benchmark's targets) for SECONDS. One raw socket
// keeping echo replies only (ICMP_FILTER), as root; an unprivileged datagram ICMP socket when raw
// sockets are not allowed. Prints the CPU of this process (user + system, getrusage) per round
// trip in microseconds, the replies received and the requests lost (no reply within 1 s).
//
// Rate: TARGETS echoes a second, spread evenly, waking at most once a millisecond to send the
// echoes due and read the replies waiting: the work the monitor is given by `sleep: 1, count: 1`
// (the scheduler spreads first runs evenly over the second and wakes at most once a ms). Not
// as fast as possible, nor in a burst of TARGETS once a second: both spread one wake-up over
// thousands of sends and replies, a cheaper workload than the one measured, so the ratio would
// compare different work (and a burst larger than the receive buffer loses replies).
//
// Usage: icmp TARGETS SECONDS
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/icmp.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "floor.h"

#define PAYLOAD 56     // ping's default: 64-byte ICMP packets
#define WAIT_NS 1000000000LL

static uint16_t checksum(const void *data, size_t length) {
    const uint8_t *p = data;
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < length; i += 2) sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (length & 1) sum += (uint32_t)p[length - 1] << 8;
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    return htons(~sum & 0xFFFF);
}

// A request waiting for its reply, by sequence number.
struct pending {
    int64_t sent;  // CLOCK_MONOTONIC ns; 0 when not waiting
    int64_t sent_real;  // CLOCK_REALTIME ns, to compare with the kernel's receive stamp
    uint32_t target;
};

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: icmp TARGETS SECONDS\n");
        return 2;
    }
    long targets = atol(argv[1]);
    double seconds = atof(argv[2]);
    if (targets < 1 || targets > 250 * 256) { fprintf(stderr, "TARGETS must be 1 to 64000\n"); return 2; }
    struct sockaddr_in *address = calloc(targets, sizeof *address);
    for (long i = 0; i < targets; i++) {
        address[i].sin_family = AF_INET;
        address[i].sin_addr.s_addr = htonl(127u << 24 | (uint32_t)(i / 250) << 8 | (uint32_t)(i % 250 + 2));
    }

    int raw = 1;
    int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ICMP);
    uint16_t identifier = (uint16_t)(getpid() & 0xFFFF);
    if (fd >= 0) {
        struct icmp_filter filter = {~(1u << ICMP_ECHOREPLY)};  // bits set are types dropped
        if (setsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof filter) != 0) { perror("ICMP_FILTER"); return 1; }
    } else {
        int rawErrno = errno;
        raw = 0;
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, IPPROTO_ICMP);
        if (fd < 0) {
            fprintf(stderr, "no ICMP socket: raw: %s; datagram: %s\n", strerror(rawErrno), strerror(errno));
            return 1;
        }
        struct sockaddr_in any = {.sin_family = AF_INET};
        socklen_t length = sizeof any;
        if (bind(fd, (struct sockaddr *)&any, sizeof any) != 0 || getsockname(fd, (struct sockaddr *)&any, &length) != 0) {
            perror("bind");
            return 1;
        }
        identifier = ntohs(any.sin_port);  // the kernel replaces the identifier with this
    }
    int one = 1, buffer = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) != 0) { perror("SO_TIMESTAMPNS"); return 1; }

    static struct pending pending[65536];
    uint8_t request[sizeof(struct icmphdr) + PAYLOAD] = {0};
    uint8_t reply[2048];
    char control[256];
    long sent = 0, received = 0, waiting = 0;
    uint16_t sequence = 0;
    double rtt_sum = 0;
    int64_t start = now_ns(), end = start + (int64_t)(seconds * 1e9), tick = 1000000;
    double cpu0 = cpu();

    for (;;) {
        int64_t now = now_ns();
        if (now >= end + WAIT_NS || (now >= end && waiting == 0)) break;
        // Send the echoes due by now: TARGETS a second, round-robin over the targets.
        long due = now < end ? (long)((now - start) / 1e9 * targets) : sent;
        while (sent < due) {
            sequence++;
            if (pending[sequence].sent) waiting--;  // never answered within 65536 requests: lost
            struct icmphdr *header = (struct icmphdr *)request;
            header->type = ICMP_ECHO;
            header->code = 0;
            header->un.echo.id = htons(identifier);
            header->un.echo.sequence = htons(sequence);
            header->checksum = 0;
            header->checksum = checksum(request, sizeof request);
            uint32_t target = (uint32_t)(sent % targets);
            struct timespec real;
            clock_gettime(CLOCK_REALTIME, &real);
            pending[sequence] = (struct pending){now_ns(), real.tv_sec * 1000000000LL + real.tv_nsec, target};
            if (sendto(fd, request, sizeof request, MSG_DONTWAIT, (struct sockaddr *)&address[target], sizeof address[target]) < 0) {
                pending[sequence].sent = 0;
            } else {
                waiting++;
            }
            sent++;
        }
        // Read every reply waiting, then sleep until the next tick or a reply.
        for (;;) {
            struct sockaddr_in from;
            struct iovec io = {reply, sizeof reply};
            struct msghdr message = {&from, sizeof from, &io, 1, control, sizeof control, 0};
            ssize_t n = recvmsg(fd, &message, MSG_DONTWAIT);
            if (n < 0) break;
            const uint8_t *icmp = reply;
            if (raw) {
                size_t header = (reply[0] & 0x0F) * 4;
                if ((size_t)n < header + sizeof(struct icmphdr)) continue;
                icmp += header;
                n -= header;
            }
            const struct icmphdr *h = (const struct icmphdr *)icmp;
            if (n != sizeof request || h->type != ICMP_ECHOREPLY || ntohs(h->un.echo.id) != identifier) continue;
            struct pending *p = &pending[ntohs(h->un.echo.sequence)];
            if (!p->sent || from.sin_addr.s_addr != address[p->target].sin_addr.s_addr) continue;
            int64_t arrived = 0;
            for (struct cmsghdr *c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c)) {
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
                    struct timespec stamp;
                    memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
                    arrived = stamp.tv_sec * 1000000000LL + stamp.tv_nsec;
                }
            }
            int64_t rtt = arrived ? arrived - p->sent_real : now_ns() - p->sent;
            p->sent = 0;
            waiting--;
            if (rtt > WAIT_NS) continue;  // late: lost
            rtt_sum += rtt / 1e3;
            received++;
        }
        int64_t next = now < end ? ((now - start) / tick + 1) * tick + start : now + tick;
        int64_t left = next - now_ns();
        struct timespec timeout = {0, left > 0 ? left : 0};
        struct pollfd poll = {fd, POLLIN, 0};
        ppoll(&poll, 1, &timeout, NULL);
    }
    double used = cpu() - cpu0;
    long lost = sent - received;
    fprintf(stderr, "%s socket, %ld sent, average round trip %.1f us\n", raw ? "raw" : "datagram", sent,
            received ? rtt_sum / received : 0);
    printf("%.3f %ld %ld\n", 1e6 * used / (received ? received : 1), received, lost);
    return lost > received / 100 ? 1 : 0;
}
