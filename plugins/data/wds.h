/* wds.h — the "webdataset" records format's parts: reading (wds_read.c), writing (wds_write.c) and the
 * naming rules both follow (wds.c, which also holds the format's descriptor). Records are sample records
 * (common/sample.h). */
#ifndef SW_DATA_WDS_H
#define SW_DATA_WDS_H

#include "data.h"

/* The largest member and the largest sample record, in bytes: 4 GiB. */
#ifndef DT_WDS_MAX
#define DT_WDS_MAX ((uint64_t)1 << 32)
#endif

int dt_wds_read(const swarm_host *host, swarm_call *call, const swarm_param_value *params);
int dt_wds_write(const swarm_host *host, swarm_call *call, const swarm_param_value *params);

/* Whether a path is unsafe to name a member: empty, absolute, or holding a ".." component. */
int dt_wds_unsafe(const char *path, size_t len);
/* Where the basename of path[0..len) starts (after its last '/'). */
size_t dt_wds_base(const char *path, size_t len);
/* Whether a basename is WebDataset metadata, "__*__" (at least four characters). */
int dt_wds_is_meta(const char *base, size_t len);
/* A printable copy of a name for messages: at most 120 bytes, control bytes as '?', NUL-terminated. */
const char *dt_wds_show(char out[128], const void *name, size_t len);

#endif
