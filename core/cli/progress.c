/* progress.c — the progress line (see progress.h). */
#include "cli/progress.h"
#include "base/util.h"

#include <stdio.h>

void sw_progress_begin(sw_progress *p, int on, const char *label, uint64_t total)
{
    p->label = label;
    p->total = total;
    p->done = 0;
    p->start = sw_now();
    p->drawn = 0;
    p->seen = 0;
    p->moved = p->start;
    p->on = on;
    p->peers = -1;
}

static void sw_progress_draw(sw_progress *p, double now)
{
    char done[32], total[32];
    double secs = now - p->start;
    double rate = secs > 0 ? (double)p->done / secs : 0;
    int width = 24, fill = p->total ? (int)((double)width * (double)p->done / (double)p->total) : 0;
    char bar[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    if (p->done != p->seen) {
        p->seen = p->done;
        p->moved = now;
    }
    char eta[32] = "ETA --:--"; /* nothing has moved yet: no rate to go by */
    if (now - p->moved > SW_PROGRESS_STALL && p->done < p->total)
        snprintf(eta, sizeof eta, "stalled %.0f s", now - p->moved);
    else if (rate > 0 && p->total > p->done) {
        long left = (long)((double)(p->total - p->done) / rate);
        snprintf(eta, sizeof eta, "ETA %ld:%02ld", left / 60, left % 60);
    }
    char peers[32] = "";
    if (p->peers >= 0)
        snprintf(peers, sizeof peers, "  %d peer%s", p->peers, p->peers == 1 ? "" : "s");
    fprintf(stderr, "\r\033[K%s [%s] %s / %s  %.1f MB/s%s  %s", p->label, bar,
            sw_fmt_bytes(done, sizeof done, p->done), sw_fmt_bytes(total, sizeof total, p->total), rate / 1e6, peers,
            eta);
    fflush(stderr);
}

void sw_progress_step(void *ctx, uint64_t n)
{
    sw_progress *p = ctx;
    p->done += n;
    if (!p->on)
        return;
    double now = sw_now();
    if (now - p->drawn >= 0.1) {
        p->drawn = now;
        sw_progress_draw(p, now);
    }
}

void sw_progress_end(sw_progress *p)
{
    if (p->on && p->drawn > 0) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
}
