/* opcall.h — calling into plugins: the host function table, the per-call context (error slot, scratch
 * memory, what a format reports), binding params from text, choosing an op's variant for a device,
 * infer-then-run with host-owned outputs, and reading and laying out files through formats.
 *
 * Every function here returns 0 or a negative SW_E* code with sw_error set to a one-line message that
 * names the plugin and the op or format. A plugin's SWARM_E_BAD_INPUT becomes SW_EINVALID (the user's
 * input is wrong), SWARM_E_UNSUPPORTED and SWARM_E_DEVICE_FAILED SW_ERETRY (try the next variant), every
 * other plugin failure SW_EPLUGIN. Nothing here keeps global mutable state: the
 * host table is constant, and a call's context lives on the caller's stack for the call's duration. */
#ifndef SW_OPCALL_H
#define SW_OPCALL_H

#include <stddef.h>
#include <stdint.h>

#include "host/plugin.h"

/* The host function table every plugin call receives. */
const swarm_host *sw_host_table(void);

/* A call's context (swarm_call): the error slot and scratch memory of one plugin call. sw_call_begin
 * prepares it; sw_call_end frees what the call left (scratch, reported tensors). */
struct swarm_call {
    const char *plugin; /* id, to prefix log lines and errors */
    const char *what;   /* "op NAME" or "format NAME", for errors */
    int verbosity;      /* as sw_cli's: -1 quiet, 0 normal, 1 verbose */
    int code;           /* what set_error recorded, 0 when nothing */
    char msg[512];
    struct sw_scratch *scratch;
    /* A format's read reports into these; layout emits into header. */
    swarm_tensor_entry *tensors;
    size_t ntensors, tcap;
    swarm_meta *meta;
    size_t nmeta, mcap;
    uint64_t file_size; /* the size of the file being read, to check entries against */
    uint8_t *header;
    size_t hlen, hcap;
    const struct sw_rio *io; /* a records format's read or write: where bytes and records go */
    int io_failed;           /* a host function of io failed: the call fails whatever the plugin returns */
    uint64_t file_end;       /* a format's layout: the file's length set with set_file_size, 0 when none */
    const char *file_name;   /* a format's read: the file's path within its input, or NULL */
    const struct sw_tview *view; /* an op over a collection: its inputs' names and metadata, or NULL */
    char *out_name;              /* an op's infer: the output tensor's name set with set_tensor_name */
    int may_pass;                /* an op's infer alone (sw_op_pass): pass_through is allowed */
    long passed;                 /* the input pass_through named, -1 when none */
};
void sw_call_begin(swarm_call *call, const char *plugin, const char *what, int verbosity);
void sw_call_end(swarm_call *call);
/* Turns a plugin's return code and message into sw_error: "PLUGIN op NAME: message". */
int sw_call_fail(const swarm_call *call, int rc);

/* ---- Params ---------------------------------------------------------------------------------------- */

/* Parses text as a value of param p (bool "true"/"false", int, finite float, string, enum choice).
 * Strings point into text, which must outlive the value. SW_EINVALID with a reason when it does not
 * parse. */
int sw_param_parse(swarm_param_value *out, const swarm_param *p, const char *text);

/* ---- Ops ------------------------------------------------------------------------------------------- */

/* Device choices for an op: "auto" (the best-scoring variant that can run), "cpu", "hip". */
typedef enum { SW_DEVICE_AUTO = 0, SW_DEVICE_CPU, SW_DEVICE_HIP } sw_device_choice;
int sw_device_parse(sw_device_choice *out, const char *text);

/* The variants of op i of plugin p to try for a device choice, best first (indexes into op->variants;
 * *n of them, at most SWARM ops' n_variants). Fails with a reason when no variant can run there. With
 * note (the op is about to run), says once per process when "auto" falls back to the CPU, and why. */
int sw_op_variants(size_t *order, size_t *n, const sw_plugin *p, size_t op, sw_device_choice dev, int note);

/* Allocates an output buffer of size bytes for a call (a tensor's data, a record batch's offsets or
 * bytes); returns NULL on failure. free is called with what alloc returned, and its size, once the
 * caller is done with the outputs (sw_op_outputs_free). */
typedef struct {
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *ptr, size_t size);
    void *ctx;
} sw_allocator;
/* malloc and free. */
extern const sw_allocator sw_heap_allocator;

/* One call of op i of plugin p with one variant: infer, allocate the outputs with a, run, and check
 * what run wrote (a record batch's offsets). out comes from sw_op_outputs_init (op->n_outputs values,
 * each with SWARM_MAX_NDIM shape slots) and may be reused for the next call once its buffers are freed;
 * on failure no output stays allocated. */
/* What an op mapped over a collection may ask about its inputs (ABI 1.3): the name of port's tensor in
 * this call, a metadata value of port's collection (NULL when absent), whether it holds a tensor. */
typedef struct sw_tview {
    const char *(*name)(const void *ctx, size_t port);
    const char *(*meta)(const void *ctx, size_t port, const char *key);
    int (*has)(const void *ctx, size_t port, const char *name);
    const void *ctx;
} sw_tview;

typedef struct {
    swarm_value *v;
    int64_t (*shapes)[SWARM_MAX_NDIM];
    uint64_t *counts; /* a records output's count as infer gave it (what was allocated); run may lower v's */
    size_t n;
    const sw_tview *view; /* set by the caller for an op over a collection, else NULL */
    char *name;           /* after a call: the output tensor's new name (owned), NULL when infer set none */
} sw_op_outputs;
void sw_op_outputs_init(sw_op_outputs *o, const swarm_op *op);
void sw_op_outputs_free(sw_op_outputs *o, const sw_allocator *a);
int sw_op_call(sw_op_outputs *out, const sw_plugin *p, size_t op, size_t variant, const swarm_param_value *params,
               const swarm_value *inputs, const sw_allocator *a, int verbosity);
/* The first call of an op with SWARM_OP_PASS over a collection's tensors: variant's infer alone, the
 * inputs' data NULL. *input is the input the op passes through as its output (out describes it, its
 * name included: its dtype and shape are checked to be the input's), or -1 when it does not (then the
 * caller calls the op as usual). */
int sw_op_pass(long *input, sw_op_outputs *out, const sw_plugin *p, size_t op_index, size_t variant,
               const swarm_param_value *params, const swarm_value *inputs, int verbosity);
/* Calls the op with the n variants of order (from sw_op_variants), best first, until one does not fail
 * with SW_ERETRY, and sets *used to the variant that ran. A GPU variant that failed gets a one-line note,
 * once per op and variant, when another variant follows; the last one's failure is the caller's error. */
int sw_op_call_first(sw_op_outputs *out, size_t *used, const sw_plugin *p, size_t op, const size_t *order, size_t n,
                     const swarm_param_value *params, const swarm_value *inputs, const sw_allocator *a,
                     int verbosity);

/* The first name met twice among n structs laid out stride bytes apart, each starting with a
 * const char * name, or NULL: one sort, not a scan per name, so a hostile file with millions of tensors
 * costs O(n log n). */
const char *sw_first_dup(const void *base, size_t n, size_t stride);

/* Bytes of a compact tensor of this dtype and shape, or SW_EINVALID on overflow or a partial byte. */
int sw_tensor_nbytes(uint64_t *out, swarm_dtype dt, int32_t ndim, const int64_t *shape);

/* ---- Formats --------------------------------------------------------------------------------------- */

/* What a format's read found: tensors in data order and metadata pairs (owned; sw_tindex_free). */
typedef struct {
    swarm_tensor_entry *tensors; /* names owned */
    size_t ntensors;
    swarm_meta *meta; /* keys and values owned */
    size_t nmeta;
} sw_tindex;
void sw_tindex_free(sw_tindex *ix);

/* Finds format name in the plugins, "NAME" when one plugin has it, or "PLUGIN_ID/NAME": a tensor format
 * (*f set, *rf NULL) or a records format (*rf set, *f NULL). */
int sw_format_find(const sw_plugin **p, const swarm_format **f, const swarm_records_format **rf,
                   const sw_plugins *ps, const char *name);

/* Reads a file's index through format f of plugin p (name: the file's path within its input, which the
 * format may ask for, or NULL; earlier: what the input's files before this one reported, which the
 * format's meta_value asks for on port 0, or NULL); every entry is checked to lie inside the file and to
 * have the bytes its shape and dtype need. */
int sw_format_read(sw_tindex *out, const sw_plugin *p, const swarm_format *f, const char *name,
                   const sw_tview *earlier, const uint8_t *file, uint64_t size, int verbosity);

/* Lays a file out through format f: sets tensors[i].offset and returns the header (caller frees) and its
 * length; checks that the tensors lie after the header without overlapping. *total is the file's size:
 * where the last tensor ends, or more when the format set it (set_file_size). */
int sw_format_layout(uint8_t **header, size_t *hlen, uint64_t *total, const sw_plugin *p, const swarm_format *f,
                     swarm_tensor_entry *tensors, size_t n, const swarm_meta *meta, size_t nmeta, int verbosity);

/* ---- Records formats ------------------------------------------------------------------------------ */

/* The caller's side of a records format's read (pull, put_record) or write (next_record, put_bytes).
 * pull returns a byte count (0 at the end), next_record 1 or 0 at the end, the others 0; a failure is a
 * negative SW_E* code with sw_error set, which the format's call then fails with. */
typedef struct sw_rio {
    int64_t (*pull)(void *ctx, void *buf, size_t cap);
    int (*put_record)(void *ctx, const void *data, size_t len);
    int (*next_record)(void *ctx, const uint8_t **data, size_t *len);
    int (*put_bytes)(void *ctx, const void *data, size_t len);
    void *ctx;
} sw_rio;

/* Reads one file through records format f (io's pull and put_record), or writes one (next_record and
 * put_bytes), with the format's bound params. */
int sw_rformat_read(const sw_plugin *p, const swarm_records_format *f, const swarm_param_value *params,
                    const sw_rio *io, int verbosity);
int sw_rformat_write(const sw_plugin *p, const swarm_records_format *f, const swarm_param_value *params,
                     const sw_rio *io, int verbosity);

#endif
