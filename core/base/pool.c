/* pool.c — worker threads over one FIFO queue of tasks, guarded by one mutex (see pool.h). */
#include "base/pool.h"
#include "base/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

typedef struct {
    sw_task_fn fn;
    void *arg;
} sw_task;

struct sw_pool {
    pthread_mutex_t mu;
    pthread_cond_t work, idle; /* a task was queued; the last running task finished */
    sw_task *q;
    size_t head, n, cap; /* a ring of cap slots: n queued from head */
    size_t running;
    int stop;
    pthread_t *threads;
    int nthreads;
};

static void *sw_pool_main(void *arg)
{
    sw_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->n && !p->stop)
            pthread_cond_wait(&p->work, &p->mu);
        if (!p->n)
            break;
        sw_task t = p->q[p->head];
        p->head = (p->head + 1) % p->cap;
        p->n--;
        p->running++;
        pthread_mutex_unlock(&p->mu);
        t.fn(t.arg);
        pthread_mutex_lock(&p->mu);
        if (--p->running == 0 && !p->n)
            pthread_cond_broadcast(&p->idle);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

sw_pool *sw_pool_new(int n)
{
    sw_pool *p = sw_calloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->idle, NULL);
    p->nthreads = n < 1 ? 1 : n;
    p->threads = sw_calloc((size_t)p->nthreads, sizeof *p->threads);
    for (int i = 0; i < p->nthreads; i++)
        if (pthread_create(&p->threads[i], NULL, sw_pool_main, p) != 0)
            sw_oom(NULL); /* no thread: as fatal as no memory */
    return p;
}

void sw_pool_submit(sw_pool *p, sw_task_fn fn, void *arg)
{
    pthread_mutex_lock(&p->mu);
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        sw_task *q = sw_malloc(cap * sizeof *q);
        for (size_t i = 0; i < p->n; i++)
            q[i] = p->q[(p->head + i) % p->cap];
        free(p->q);
        p->q = q;
        p->head = 0;
        p->cap = cap;
    }
    p->q[(p->head + p->n) % p->cap] = (sw_task){fn, arg};
    p->n++;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
}

void sw_pool_wait(sw_pool *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->n || p->running)
        pthread_cond_wait(&p->idle, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

int sw_pool_wait_for(sw_pool *p, double seconds)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)seconds;
    until.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->mu);
    while ((p->n || p->running) && pthread_cond_timedwait(&p->idle, &p->mu, &until) == 0)
        ;
    int idle = !p->n && !p->running;
    pthread_mutex_unlock(&p->mu);
    return idle;
}

void sw_pool_free(sw_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->idle);
    free(p->q);
    free(p->threads);
    free(p);
}
