/* data.c — the org.swarm.data plugin's descriptor: dataset files as records formats and ops over records.
 *   records formats  jsonl (jsonl.c), webdataset (wds.c, wds_read.c, wds_write.c), llmc and nanogpt
 *                    (tokens.c); compression (.gz, .zst) is the host's.
 *   ops              shuffle (shuffle.c), filter (filter.c).
 * Record conventions: text records hold one document's UTF-8; ids records a document's token ids as
 * little-endian uint32; sample records one WebDataset sample (common/sample.h). */
#include "data.h"

static const swarm_op *const dt_ops[] = {&dt_shuffle_op, &dt_filter_op};
static const swarm_records_format *const dt_records_formats[] = {&dt_jsonl_format, &dt_wds_format, &dt_llmc_format,
                                                                  &dt_nanogpt_format};

static const swarm_plugin dt_plugin = {
    .abi_version = SWARM_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(swarm_plugin),
    .id = "org.swarm.data",
    .version = "1.0.0",
    .build = NULL,
    .ops = dt_ops,
    .n_ops = sizeof dt_ops / sizeof *dt_ops,
    .formats = NULL,
    .n_formats = 0,
    .flags = 0,
    .records_formats = dt_records_formats,
    .n_records_formats = sizeof dt_records_formats / sizeof *dt_records_formats,
};

SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    return &dt_plugin;
}
