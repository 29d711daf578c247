/* shuffle.c — the op "shuffle": a seeded, deterministic permutation of every record of a stream (the op is
 * SWARM_OP_WHOLE, so one call sees them all).
 *
 * The order is defined bit for bit, so the same seed gives the same bytes on every machine:
 *   PRNG    splitmix64 (Steele, Lea, Flood 2014; Vigna's reference code): state = seed as a uint64 (two's
 *           complement for a negative seed); each draw adds 0x9e3779b97f4a7c15 to the state and mixes it:
 *           z ^= z >> 30, z *= 0xbf58476d1ce4e5b9, z ^= z >> 27, z *= 0x94d049bb133111eb, z ^= z >> 31.
 *   bound   a uniform j in [0, m) by rejection: draws below (2^64 - m) mod m are redrawn, then j = draw mod m.
 *   order   Fisher–Yates (Durstenfeld): p = identity over the n records; for i = n - 1 down to 1, draw j in
 *           [0, i + 1) and swap p[i] and p[j]. Output record k is input record p[k]. */
#include "data.h"

#include <stdlib.h>
#include <string.h>

enum { SHF_SEED = 0 };

static uint64_t shf_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A uniform draw in [0, m), m >= 1, without modulo bias. */
static uint64_t shf_below(uint64_t *state, uint64_t m)
{
    uint64_t lim = (0 - m) % m, x;
    do
        x = shf_next(state);
    while (x < lim);
    return x % m;
}

/* Fills p[0..n) with the permutation of the seed, as the top of the file defines it. */
static void shf_permutation(uint64_t *p, uint64_t n, int64_t seed)
{
    uint64_t state = (uint64_t)seed;
    for (uint64_t i = 0; i < n; i++)
        p[i] = i;
    for (uint64_t i = n; i-- > 1;) {
        uint64_t j = shf_below(&state, i + 1), t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
}

/* As many records and bytes out as in. */
static int shf_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                     const swarm_value *inputs, swarm_value *outputs)
{
    (void)host;
    (void)call;
    (void)params;
    outputs[0].u.records.count = inputs[0].u.records.count;
    outputs[0].u.records.nbytes = inputs[0].u.records.nbytes;
    return SWARM_OK;
}

/* Copies the records in the seed's order. Fails with BAD_INPUT for unsound offsets or output space short of
 * the input, INTERNAL when the permutation does not fit in memory. */
static int shf_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                   const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_records *x = &inputs[0].u.records;
    swarm_records *y = &outputs[0].u.records;
    uint64_t *p, off = 0;
    int rc = dt_check_records(host, call, x);
    if (rc)
        return rc;
    if (y->count < x->count || y->nbytes < x->offsets[x->count])
        return host->set_error(call, SWARM_E_BAD_INPUT, "output space smaller than the input");
    if (x->count > SIZE_MAX / sizeof *p || !(p = malloc((size_t)(x->count ? x->count : 1) * sizeof *p)))
        return host->set_error(call, SWARM_E_INTERNAL, "out of memory for a permutation of %llu records",
                               (unsigned long long)x->count);
    shf_permutation(p, x->count, params[SHF_SEED].i);
    y->offsets[0] = 0;
    for (uint64_t k = 0; k < x->count; k++) {
        uint64_t a = x->offsets[p[k]], n = x->offsets[p[k] + 1] - a;
        if (n)
            memcpy(y->bytes + off, x->bytes + a, (size_t)n);
        off += n;
        y->offsets[k + 1] = off;
    }
    y->count = x->count;
    free(p);
    return SWARM_OK;
}

static const swarm_param shf_params[] = {
    {"seed", SWARM_PARAM_INT, "0", "the seed of the permutation (splitmix64 + Fisher-Yates): same seed, same order",
     NULL},
};
static const swarm_port shf_in[] = {{"in", SWARM_KIND_RECORDS, "the records, all of them"}};
static const swarm_port shf_out[] = {{"out", SWARM_KIND_RECORDS, "the same records in the seed's order"}};
static const swarm_variant shf_cpu = {sizeof(swarm_variant), SWARM_DEVICE_CPU, "data-1", dt_cpu_probe, shf_infer,
                                      shf_run};
static const swarm_variant *const shf_variants[] = {&shf_cpu};

const swarm_op dt_shuffle_op = {
    .struct_size = sizeof(swarm_op),
    .name = "shuffle",
    .op_version = 1,
    .flags = SWARM_OP_DETERMINISTIC | SWARM_OP_WHOLE,
    .doc = "A seeded, deterministic permutation of all records (splitmix64 + Fisher-Yates; the same seed gives "
           "the same order everywhere).",
    .params = shf_params,
    .n_params = 1,
    .inputs = shf_in,
    .n_inputs = 1,
    .outputs = shf_out,
    .n_outputs = 1,
    .variants = shf_variants,
    .n_variants = 1,
};
