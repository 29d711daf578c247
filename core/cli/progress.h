/* progress.h — a one-line progress display on stderr (bytes, rate, ETA), drawn only when enabled
 * (stderr is a terminal and the user did not ask for -q). Redrawn at most ten times a second. */
#ifndef SW_PROGRESS_H
#define SW_PROGRESS_H

#include <stdint.h>

typedef struct {
    const char *label;
    uint64_t total, done;
    double start, drawn;
    uint64_t seen;  /* done at the last change, and when that was: a line with no progress for */
    double moved;   /* SW_PROGRESS_STALL seconds says "stalled" instead of an ETA */
    int on;
    int peers; /* shown when >= 0 (transfers); sw_progress_begin sets -1 */
} sw_progress;

#define SW_PROGRESS_STALL 5.0

void sw_progress_begin(sw_progress *p, int on, const char *label, uint64_t total);
/* Adds n bytes; the signature fits sw_progress_fn (ctx is the sw_progress). */
void sw_progress_step(void *p, uint64_t n);
/* Clears the line. */
void sw_progress_end(sw_progress *p);

#endif
