// A loopback TCP acceptor for the benchmarks: accepts and closes connections as fast as it can
// (epoll, non-blocking accept in a loop, SO_LINGER 0 so closes leave no TIME_WAIT) and keeps the
// count of accepted connections in COUNT_FILE (8 bytes, little-endian, rewritten every 100 ms):
// the benchmarks read the rate at the server from it.
//
// Usage: acceptor PORT COUNT_FILE [HOST ...]   (default host 127.0.0.1)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "floor.h"

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: acceptor PORT COUNT_FILE [HOST ...]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0) { perror(argv[2]); return 1; }
    int epoll = epoll_create1(0);
    int hosts = argc > 3 ? argc - 3 : 1;
    for (int i = 0; i < hosts; i++) {
        const char *host = argc > 3 ? argv[3 + i] : "127.0.0.1";
        struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
        if (inet_pton(AF_INET, host, &address.sin_addr) != 1) { fprintf(stderr, "bad host %s\n", host); return 2; }
        int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        int one = 1;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(s, (struct sockaddr *)&address, sizeof address) < 0 || listen(s, 65535) < 0) { perror(host); return 1; }
        struct epoll_event event = {.events = EPOLLIN, .data.fd = s};
        epoll_ctl(epoll, EPOLL_CTL_ADD, s, &event);
    }
    printf("listening\n");
    fflush(stdout);
    uint64_t count = 0;
    double written = 0;
    struct linger linger = {1, 0};
    for (;;) {
        struct epoll_event events[16];
        int n = epoll_wait(epoll, events, 16, 100);
        for (int i = 0; i < n; i++) {
            for (;;) {
                int c = accept4(events[i].data.fd, NULL, NULL, 0);
                if (c < 0) break;
                setsockopt(c, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
                close(c);
                count++;
            }
        }
        double t = now();
        if (t - written >= 0.1) {
            written = t;
            if (pwrite(out, &count, sizeof count, 0) != sizeof count) { perror("count file"); return 1; }
        }
    }
}
