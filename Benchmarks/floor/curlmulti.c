// The download floor: a libcurl multi loop in C fetching URL RATE times a second for SECONDS,
// what a `download` check does at the least: a new connection for every fetch (FRESH_CONNECT +
// FORBID_REUSE, as the check: it measures connect time on every run), the body counted and
// thrown away, a 2xx status checked. Easy handles are kept and re-added, not rebuilt. Prints
// the CPU of this process (user + system, getrusage) per fetch in microseconds, the fetches
// done and the fetches failed (curl error or non-2xx).
//
// Rate: RATE fetches a second, spread evenly, starting the fetches due at most once a
// millisecond: the work the monitor is given by RATE checks at `sleep: 1` (the scheduler spreads
// first runs evenly over the second and wakes at most once a ms). Not as fast as possible: that
// keeps many transfers in flight and spreads one poll over all of them, a cheaper workload than
// the one measured (and one that measures the server as much as the client).
//
// Usage: curlmulti URL RATE SECONDS        (link with -lcurl)
#define _GNU_SOURCE
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include "floor.h"

static size_t discard(char *data, size_t size, size_t count, void *bytes) {
    (void)data;
    *(long *)bytes += size * count;
    return size * count;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: curlmulti URL RATE SECONDS\n");
        return 2;
    }
    const char *url = argv[1];
    double rate = atof(argv[2]), seconds = atof(argv[3]);
    if (rate <= 0 || seconds <= 0) { fprintf(stderr, "RATE and SECONDS must be > 0\n"); return 2; }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *multi = curl_multi_init();
    // Idle easy handles, set up once and re-added for the next fetch.
    int capacity = 1024, idle = 0;
    CURL **free_handles = malloc(capacity * sizeof *free_handles);
    long bytes = 0, started = 0, count = 0, failed = 0;
    double start = now(), end = start + seconds, cpu0 = cpu();
    for (;;) {
        double t = now();
        long due = t < end ? (long)((t - start) * rate) : started;
        while (started < due) {
            CURL *easy;
            if (idle > 0) {
                easy = free_handles[--idle];
            } else {
                easy = curl_easy_init();
                curl_easy_setopt(easy, CURLOPT_URL, url);
                curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
                curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
                curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
                curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 30000L);
                curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
                curl_easy_setopt(easy, CURLOPT_WRITEDATA, &bytes);
            }
            curl_multi_add_handle(multi, easy);
            started++;
        }
        int running = 0, left = 0;
        curl_multi_perform(multi, &running);
        CURLMsg *message;
        while ((message = curl_multi_info_read(multi, &left))) {
            if (message->msg != CURLMSG_DONE) continue;
            CURL *easy = message->easy_handle;
            long status = 0;
            curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
            if (message->data.result == CURLE_OK && status / 100 == 2) count++; else failed++;
            curl_multi_remove_handle(multi, easy);
            if (idle == capacity) free_handles = realloc(free_handles, (capacity *= 2) * sizeof *free_handles);
            free_handles[idle++] = easy;
        }
        if (t >= end && (running == 0 || t >= end + 30)) break;
        // Sleep until the next millisecond tick, a socket is ready or one of curl's timers is due.
        double next = t < end ? start + (int)((t - start) * 1000 + 1) / 1000.0 : t + 0.01;
        int wait = (int)((next - now()) * 1000 + 0.999);
        curl_multi_poll(multi, NULL, 0, wait > 0 ? wait : 0, NULL);
    }
    double used = cpu() - cpu0;
    fprintf(stderr, "%ld bytes in %ld fetches\n", bytes, count);
    printf("%.3f %ld %ld\n", 1e6 * used / (count ? count : 1), count, failed);
    return failed > count / 100 ? 1 : 0;
}
