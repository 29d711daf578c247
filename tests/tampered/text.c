/* tampered/text.c — a lying text plugin, for tests/cli/work_hostile.sh: the real org.swarm.text (same
 * id, op versions and numerics tags, built from plugins/text/) whose gpt2_encode flips one bit of the
 * first token id of every batch it encodes. A compute-swarm provider that loads it first (--plugin-path
 * build/tests/tampered) publishes results that honest providers never agree with. Never on swarm's
 * search path. */
#define swarm_plugin_entry sw_text_original_entry
#include "../../plugins/text/text.c"
#include <string.h>
#undef swarm_plugin_entry

/* The real encoder, then a changed byte: the output stays well formed, only wrong. */
static int lying_encode_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                            const swarm_value *inputs, swarm_value *outputs)
{
    swarm_records *y = &outputs[0].u.records;
    int rc = encode_run(host, call, params, inputs, outputs);
    if (rc == SWARM_OK && y->count && y->offsets[y->count] > 0)
        y->bytes[0] ^= 1;
    return rc;
}

static swarm_variant lying_variant;
static const swarm_variant *lying_variants[1];
static swarm_op lying_op;
static const swarm_op *lying_ops[8];
static swarm_plugin lying_plugin;

/* A copy of the real descriptor with gpt2_encode's one variant replaced by the lying one. */
SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    const swarm_plugin *real = sw_text_original_entry();
    size_t i;
    if (real->n_ops > sizeof lying_ops / sizeof *lying_ops)
        return NULL;
    lying_plugin = *real;
    for (i = 0; i < real->n_ops; i++) {
        lying_ops[i] = real->ops[i];
        if (!strcmp(real->ops[i]->name, "gpt2_encode") && real->ops[i]->n_variants == 1) {
            lying_op = *real->ops[i];
            lying_variant = *lying_op.variants[0];
            lying_variant.run = lying_encode_run;
            lying_variants[0] = &lying_variant;
            lying_op.variants = lying_variants;
            lying_ops[i] = &lying_op;
        }
    }
    lying_plugin.ops = lying_ops;
    return &lying_plugin;
}
