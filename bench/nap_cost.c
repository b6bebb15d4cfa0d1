/* bench/nap_cost.c: what a short timed sleep costs the sleeping thread on this machine.
 *
 * For each length, 20,000 nanosleep() calls with a 1 ns timer slack (as a confab lane sets
 * it): wall time and thread CPU time per call, and voluntary context switches per call (0:
 * the call returned without ever sleeping). On the Firecracker VMs of docs/PERFORMANCE.md
 * arming the timer costs 20-30 us of CPU however short the sleep, so a nap shorter than that
 * never sleeps and is pure CPU (session 16).
 *
 *   cc -O2 -o /tmp/nap_cost bench/nap_cost.c && /tmp/nap_cost
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

static double clock_s(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
  prctl(PR_SET_TIMERSLACK, 1);
  const long lengths_ns[] = {1000, 5000, 10000, 20000, 30000, 50000, 100000};
  const int n = 20000;
  for (unsigned k = 0; k < sizeof lengths_ns / sizeof *lengths_ns; k++) {
    struct timespec d = {0, lengths_ns[k]};
    struct rusage r0, r1;
    getrusage(RUSAGE_THREAD, &r0);
    double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    for (int i = 0; i < n; i++) nanosleep(&d, 0);
    double w1 = clock_s(CLOCK_MONOTONIC), c1 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    getrusage(RUSAGE_THREAD, &r1);
    printf("nanosleep %6ld ns: wall %6.1f us, CPU %5.1f us, switches %.2f per call\n",
           lengths_ns[k], (w1 - w0) / n * 1e6, (c1 - c0) / n * 1e6,
           (double)(r1.ru_nvcsw - r0.ru_nvcsw) / n);
  }
  return 0;
}
