/* parallel.h — running a function over slices of the documents on several threads. */
#ifndef SW_DEDUP_PARALLEL_H
#define SW_DEDUP_PARALLEL_H

#include <stdint.h>

/* The most threads dd_threads ever chooses. */
#define DD_MAX_THREADS 64

/* How many threads to use for n documents: $SWARM_DEDUP_THREADS when it is a number from 1 to
 * DD_MAX_THREADS, else the online CPUs (at most 16); never more than one per 64 documents. */
int dd_threads(uint64_t n);

/* Calls fn(ctx, t, lo, hi) for t = 0 .. nthreads-1, where slice t is documents [lo, hi) of n, contiguous
 * and in order; slice 0 runs on the calling thread, the others on threads of their own (or on the calling
 * thread, after slice 0, when one cannot be started). Returns when every slice is done. */
void dd_parallel(int nthreads, uint64_t n, void (*fn)(void *ctx, int t, uint64_t lo, uint64_t hi), void *ctx);

/* Where slice t of nthreads over n documents starts: t * n / nthreads, without overflow. */
uint64_t dd_slice_start(uint64_t n, int nthreads, int t);

#endif
