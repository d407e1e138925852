// The hostport floor: a C loop doing loopback connect+close (what one hostport check does at the
// least), as fast as it can for SECONDS, against the benchmark's acceptor. Prints the CPU of
// this process (user + system, getrusage) per connect in microseconds, and the count.
//
// Usage: connect HOST PORT SECONDS
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "floor.h"

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: connect HOST PORT SECONDS\n");
        return 2;
    }
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    if (inet_pton(AF_INET, argv[1], &address.sin_addr) != 1) { fprintf(stderr, "bad host %s\n", argv[1]); return 2; }
    double seconds = atof(argv[3]);
    double start = now(), cpu0 = cpu();
    long count = 0, failed = 0;
    while (now() - start < seconds) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(s, (struct sockaddr *)&address, sizeof address) == 0) count++; else failed++;
        close(s);
    }
    double used = cpu() - cpu0;
    printf("%.3f %ld %ld\n", 1e6 * used / (count ? count : 1), count, failed);
    return failed > count / 100 ? 1 : 0;
}
