/* pool.h — a fixed set of worker threads running submitted tasks, for the pipeline runner. Tasks are
 * plain C (never Lua); each reports its own result through its argument. sw_pool_wait returns once
 * every task submitted so far has finished. One thread submits and waits; a pool is not shared. */
#ifndef SW_POOL_H
#define SW_POOL_H

#include <stddef.h>

typedef struct sw_pool sw_pool;
typedef void (*sw_task_fn)(void *arg);

/* Starts n worker threads (at least 1). */
sw_pool *sw_pool_new(int n);
/* Waits for the tasks, stops the threads and frees the pool; NULL is fine. */
void sw_pool_free(sw_pool *p);
void sw_pool_submit(sw_pool *p, sw_task_fn fn, void *arg);
void sw_pool_wait(sw_pool *p);
/* Waits at most seconds; 1 when every task has finished, 0 when some still run. */
int sw_pool_wait_for(sw_pool *p, double seconds);

#endif
