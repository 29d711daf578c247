/* swarm_plugin.h — the C ABI between swarm and its op plugins. Self-contained: C99 or C++, no other
 * swarm header needed. Copy plugins/example/example.c to start a plugin; PIPELINES.md walks through it.
 *
 * A plugin is a shared object that exports one symbol, swarm_plugin_entry, which returns a static,
 * read-only descriptor (swarm_plugin) of the plugin's ops. swarm reads the descriptor's abi_version
 * before anything else, validates every string and schema in it, and only then calls plugin code again.
 *
 * Rules of the ABI:
 * - Versions. SWARM_PLUGIN_ABI_VERSION is (major << 16) | minor. swarm loads a plugin built for its own
 *   major and a minor not newer than its own. Within a major, structs that carry a struct_size only grow
 *   at their end, the host table only gains functions at its end, and new flags, codes and enum values
 *   are only added. Leaf records kept in plain arrays (swarm_param, swarm_port) never change within a
 *   major; what later minors add about them goes into new fields at the end of swarm_op.
 * - Identity. Plugin id (reverse-DNS, stable forever), op name and op_version go into the cache key of
 *   every result; the package version and build id do not (a rebuild must not empty the cache).
 *   Bump op_version whenever the outputs for the same inputs and params may change.
 * - Memory. The host allocates every input and output buffer, on the variant's device; buffers never
 *   change owner across the boundary. Temporary memory comes from swarm_host.alloc_scratch. For a GPU
 *   variant the host copies the inputs to device 0 of the variant's type (compact, byte_offset 0),
 *   allocates the outputs there, and copies them back after run, which returns only once its device
 *   work has finished (SWARM_E_DEVICE_FAILED when it failed).
 * - Errors. infer and run return SWARM_OK or a negative SWARM_E_* code and explain a failure with
 *   swarm_host.set_error (a probe returns a score instead). Nothing may exit, abort, longjmp or throw
 *   across the boundary.
 * - Threads. Each function pointer below names its thread class:
 *     [discovery]  called while plugins load: one thread, never concurrently with any other call into
 *                  the plugin;
 *     [worker]     called on any thread, concurrently with other worker calls, those of the same op
 *                  for other items included, unless the op sets SWARM_OP_SERIAL, which serializes
 *                  the op's infer and run calls;
 *     [in call]    a host function: call it only during the plugin call that received the swarm_call,
 *                  on the thread running that call.
 *   Ops are stateless: outputs are a function of inputs and params only. */
#ifndef SWARM_PLUGIN_H
#define SWARM_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SWARM_PLUGIN_ABI_MAJOR 1
#define SWARM_PLUGIN_ABI_MINOR 3
#define SWARM_PLUGIN_ABI_VERSION (((uint32_t)SWARM_PLUGIN_ABI_MAJOR << 16) | (uint32_t)SWARM_PLUGIN_ABI_MINOR)

/* Marks the entry function as exported; build with -fvisibility=hidden so nothing else is. */
#if defined(__GNUC__)
#define SWARM_PLUGIN_EXPORT __attribute__((visibility("default")))
#define SWARM_PLUGIN_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define SWARM_PLUGIN_EXPORT
#define SWARM_PLUGIN_PRINTF(fmt, args)
#endif

/* Return codes of every plugin function. UNSUPPORTED and DEVICE_FAILED let the host try the next
 * variant (usually the CPU one); BAD_INPUT is shown to the user with the op's name and never retried. */
enum {
    SWARM_OK = 0,
    SWARM_E_BAD_INPUT = -1,     /* the inputs or params are wrong for this op */
    SWARM_E_UNSUPPORTED = -2,   /* this variant cannot do this (dtype, size, device); another may */
    SWARM_E_DEVICE_FAILED = -3, /* the device failed (out of device memory, kernel launch, driver) */
    SWARM_E_INTERNAL = -4       /* a bug or a failed allocation in the plugin */
};

/* ---- Data crossing the boundary ------------------------------------------------------------------ */

/* Device types: DLPack's codes. A pipeline's device = "hip" means a GPU variant: ROCM, or CUDA for the same
 * HIP kernels built with nvcc for an NVIDIA GPU (1.1). */
enum {
    SWARM_DEVICE_CPU = 1,  /* kDLCPU */
    SWARM_DEVICE_CUDA = 2, /* kDLCUDA: an NVIDIA GPU (1.1) */
    SWARM_DEVICE_ROCM = 10 /* kDLROCM: an AMD GPU through HIP */
};

/* Element type codes: DLPack's (dlpack.h 1.1). The float8/6/4 codes name their exact format; their bits
 * are 8, 6 or 4 and a tensor of them must fill whole bytes. */
enum {
    SWARM_DTYPE_INT = 0,
    SWARM_DTYPE_UINT = 1,
    SWARM_DTYPE_FLOAT = 2,
    SWARM_DTYPE_BFLOAT = 4,
    SWARM_DTYPE_COMPLEX = 5,
    SWARM_DTYPE_BOOL = 6,
    SWARM_DTYPE_FLOAT8_E4M3FN = 10,
    SWARM_DTYPE_FLOAT8_E4M3FNUZ = 11,
    SWARM_DTYPE_FLOAT8_E5M2 = 12,
    SWARM_DTYPE_FLOAT8_E5M2FNUZ = 13,
    SWARM_DTYPE_FLOAT8_E8M0FNU = 14,
    SWARM_DTYPE_FLOAT6_E2M3FN = 15,
    SWARM_DTYPE_FLOAT6_E3M2FN = 16,
    SWARM_DTYPE_FLOAT4_E2M1FN = 17,
    /* swarm's own codes, 128 and up (1.1): block-quantized types DLPack has no code for. Their bits are 0;
     * a tensor of one has its logical shape (elements), its last dimension is a multiple of the block, and
     * its bytes are elements / block x bytes per block. */
    SWARM_DTYPE_Q8_0 = 128, /* ggml's Q8_0: blocks of 32 elements in 34 bytes (fp16 scale, 32 x int8) */
    SWARM_DTYPE_Q4_0 = 129  /* ggml's Q4_0: blocks of 32 elements in 18 bytes (fp16 scale, 16 nibble pairs) */
};

/* Where a buffer lives (DLPack's DLDevice). */
typedef struct swarm_device {
    int32_t device_type; /* SWARM_DEVICE_* */
    int32_t device_id;   /* which device of that type; 0 for the CPU */
} swarm_device;

/* An element type (DLPack's DLDataType): float32 is {SWARM_DTYPE_FLOAT, 32, 1}. */
typedef struct swarm_dtype {
    uint8_t code;   /* SWARM_DTYPE_* */
    uint8_t bits;   /* bits per lane: 8, 16, 32, 64; 0 for the block types */
    uint16_t lanes; /* 1 except for vector types */
} swarm_dtype;

/* The largest ndim a tensor may have; the host gives each output this many shape slots in infer. */
#define SWARM_MAX_NDIM 16

/* An n-dimensional array, laid out exactly as DLPack's DLTensor, so a pointer to one may be handed to
 * code that takes a DLTensor. Raw bytes are a 1-D tensor of uint8. */
typedef struct swarm_tensor {
    void *data;           /* base of the buffer (a device pointer for a GPU); read-only for inputs */
    swarm_device device;  /* where data lives */
    int32_t ndim;         /* number of dimensions, 0 (a scalar) to SWARM_MAX_NDIM */
    swarm_dtype dtype;    /* element type */
    int64_t *shape;       /* ndim sizes */
    int64_t *strides;     /* ndim strides in elements, or NULL for compact row-major (always so for outputs) */
    uint64_t byte_offset; /* where the first element starts, in bytes from data */
} swarm_tensor;

/* A batch of variable-length records (text, samples), laid out as an Arrow binary column. */
typedef struct swarm_records {
    uint64_t count;    /* number of records */
    uint64_t *offsets; /* count + 1 offsets into bytes, offsets[0] = 0, never decreasing: record i is the
                          bytes from offsets[i] up to (not including) offsets[i + 1] */
    uint8_t *bytes;    /* the records back to back; read-only for inputs */
    uint64_t nbytes;   /* size of bytes. Inputs: offsets[count]. Outputs: infer sets it to the most that
                          run may write; run sets offsets[count] <= nbytes to what it wrote */
} swarm_records;
/* Outputs: infer sets count to the most records run may write, and the host allocates count + 1 offsets;
 * run may lower count to what it wrote (1.2), so an op can drop records (a filter). */

/* Kinds of data a port carries. */
enum {
    SWARM_KIND_TENSOR = 1,
    SWARM_KIND_RECORDS = 2
};

/* One input or output of a call: kind says which member of u is meant. */
typedef struct swarm_value {
    int32_t kind; /* SWARM_KIND_*: always the kind the op's port declares */
    union {
        swarm_tensor tensor;
        swarm_records records;
    } u;
} swarm_value;

/* ---- Params -------------------------------------------------------------------------------------- */

/* Param types. Defaults are written as text: bool "true"/"false", int decimal ("-3"), float as C's
 * strtod reads it ("1.0", "1e-6"; finite), string as is, enum one of the choices. */
enum {
    SWARM_PARAM_BOOL = 1,
    SWARM_PARAM_INT = 2,   /* int64_t */
    SWARM_PARAM_FLOAT = 3, /* double */
    SWARM_PARAM_STRING = 4,
    SWARM_PARAM_ENUM = 5, /* one of a fixed list of names */
    /* 1.2: a file or directory the op or format reads (a vocabulary), as a non-empty path string. The cache
     * key holds its content's id, not the path: an edited file makes a new key, a moved one does not. */
    SWARM_PARAM_PATH = 6
};

/* One param of an op's schema. The host binds the pipeline's arguments against it, reports type errors
 * with the pipeline's file and line before any plugin code runs, and prints it in `swarm plugin info`. */
typedef struct swarm_param {
    const char *name;            /* [a-z][a-z0-9_]*, at most 64 characters, unique in the op */
    int32_t type;                /* SWARM_PARAM_* */
    const char *default_value;   /* the default as text (see the types), or NULL: the param is required */
    const char *doc;             /* what it does, for help; may be "" */
    const char *const *choices;  /* SWARM_PARAM_ENUM: the names allowed ([a-z][a-z0-9_]*), NULL-terminated;
                                    NULL for other types */
} swarm_param;

/* A bound param as infer and run receive it: one per schema entry, in schema order. */
typedef union swarm_param_value {
    int64_t i;     /* BOOL (0 or 1), INT, ENUM (index into choices) */
    double f;      /* FLOAT */
    const char *s; /* STRING: NUL-terminated UTF-8, valid during the call */
} swarm_param_value;

/* ---- The host ------------------------------------------------------------------------------------ */

/* The context of one call into the plugin (a probe, infer or run). Opaque; valid only during that call.
 * Errors and scratch memory belong to it, not to the thread: work may hop threads between calls. */
typedef struct swarm_call swarm_call;

/* One tensor of a file, as a format's read reports it or its layout places it (defined with the formats). */
typedef struct swarm_tensor_entry swarm_tensor_entry;

/* Log levels for swarm_host.log. */
enum {
    SWARM_LOG_ERROR = 0,
    SWARM_LOG_WARN = 1,
    SWARM_LOG_INFO = 2,
    SWARM_LOG_DEBUG = 3
};

/* Functions the host offers, passed to every plugin call. Never older than the plugin's header (the host
 * refuses plugins with a newer minor), so a plugin may use every function its header declares. */
typedef struct swarm_host {
    uint32_t abi_version; /* SWARM_PLUGIN_ABI_VERSION of the host; first, always */
    uint32_t struct_size; /* sizeof(swarm_host) of the host; functions are only ever appended */
    /* [in call] Records why the call fails: code is the SWARM_E_* the call will return, which set_error returns,
     * so `return host->set_error(call, SWARM_E_BAD_INPUT, "factor %g is not finite", f);` reads well.
     * The message is one line; the host adds the plugin id and op name. A later call replaces it. */
    int (*set_error)(swarm_call *call, int code, const char *fmt, ...) SWARM_PLUGIN_PRINTF(3, 4);
    /* [in call] Host memory for the call's own use, aligned for any type, freed by the host when the call returns.
     * Returns NULL when it cannot (return SWARM_E_INTERNAL then). */
    void *(*alloc_scratch)(swarm_call *call, size_t size);
    /* [in call] A one-line message at a SWARM_LOG_* level; the host decides what to show. */
    void (*log)(swarm_call *call, int level, const char *msg);
    /* [in call] A format's read reports one tensor of the file (the host copies it); tensors are reported
     * in the order of their data. Returns SWARM_OK, or SWARM_E_BAD_INPUT when the entry is not sound
     * (bytes outside the file, a size that does not match the shape and dtype, a duplicate name). */
    int (*add_tensor)(swarm_call *call, const swarm_tensor_entry *entry);
    /* [in call] A format's read reports one metadata pair (UTF-8 strings; the host copies them). */
    int (*add_meta)(swarm_call *call, const char *key, const char *value);
    /* [in call] A format's layout appends len bytes to the file's header; a records format's write appends
     * them to the file it writes. */
    int (*emit)(swarm_call *call, const void *data, size_t len);
    /* 1.2: records formats. */
    /* [in call] A records format's read pulls the file's next bytes, decompressed (the host undoes gzip, zstd,
     * xz and bzip2 for files named .gz, .zst, .xz, .bz2): at most cap (at least 1) bytes into buf. Returns
     * how many, 0 at the end of the file, or a negative SWARM_E_* code with the error set (return it: a
     * call whose host function failed fails whatever it returns). */
    int64_t (*read_bytes)(swarm_call *call, void *buf, size_t cap);
    /* [in call] A records format's read reports the file's next record (the host copies it). */
    int (*add_record)(swarm_call *call, const void *data, size_t len);
    /* [in call] A records format's write takes the next record of the file it writes: 1 with *data and *len
     * set (valid until the next call), 0 when the file has no more. */
    int (*next_record)(swarm_call *call, const uint8_t **data, size_t *len);
    /* 1.3: formats of whole folders, ops that see their collection, files padded at the end. */
    /* [in call] A format's layout: the file's length, when it must end after its last tensor (GGUF pads
     * the last tensor to the alignment, as ggml does); the host writes zeros up to it. Less than where
     * the last tensor ends is SWARM_E_INTERNAL. */
    int (*set_file_size)(swarm_call *call, uint64_t size);
    /* [in call] A format's read: the path of the file being read within its input, '/'-separated
     * ("config.json", "model-00001-of-00002.safetensors"), so that one format can read a folder holding
     * files of several kinds. NULL when the host reads a file of its own (a test). */
    const char *(*file_name)(swarm_call *call);
    /* [in call] An op mapped over a collection's tensors: the name of the tensor of input port that this
     * call receives; NULL for a records port. */
    const char *(*tensor_name)(swarm_call *call, size_t port);
    /* [in call] An op mapped over a collection's tensors: the value of metadata key of input port's
     * collection, NULL when it has none. A format's read of one file of an input of several (a folder,
     * a bundle version), port 0: the value that the input's files before this one, in path order,
     * reported (the hf format reads config.json's vocab_size while it reads tokenizer.json). */
    const char *(*meta_value)(swarm_call *call, size_t port, const char *key);
    /* [in call] An op mapped over a collection's tensors: 1 when input port's collection holds a tensor
     * of that name, else 0. */
    int (*has_tensor)(swarm_call *call, size_t port, const char *name);
    /* [in call] An op's infer, mapped over a collection's tensors: the name of its output tensor (by
     * default the input's). Names must stay unique in the output collection, or the stage fails. The
     * op's output then depends on the names and metadata its calls read: both are part of the input
     * collection's id, so of the stage's key. */
    int (*set_tensor_name)(swarm_call *call, const char *name);
    /* [in call] The infer of an op with SWARM_OP_PASS over a collection's tensors: this call's output (its
     * only one) is input `input` unchanged, the dtype and shape infer describes being that input's (the
     * name may differ). The host takes the input's bytes as they are: it neither reads them nor
     * allocates the output nor calls run. Returns SWARM_OK when taken; anywhere else (the host calling
     * infer with the data present, an older host) it returns nonzero and changes nothing: infer goes on
     * and run computes the output as usual, so the op must still be able to. */
    int (*pass_through)(swarm_call *call, size_t input);
} swarm_host;

/* ---- Ops and their variants ---------------------------------------------------------------------- */

/* One implementation of an op for one kind of device. */
typedef struct swarm_variant {
    uint32_t struct_size; /* sizeof(swarm_variant) */
    int32_t device_type;  /* SWARM_DEVICE_CPU, SWARM_DEVICE_ROCM or SWARM_DEVICE_CUDA (1.1) */
    /* Variants of an op with the same tag promise bit-identical outputs; the tag goes into the cache key.
     * [a-z0-9][a-z0-9._-]*, at most 64 characters, e.g. "ref-f32". */
    const char *numerics;
    /* [discovery] How well this variant runs on device device_id of its type: 0 (cannot run here: no
     * device, architecture not compiled in; say why with set_error) to 100. Called once per device while
     * plugins load; the host orders variants by score. Must not allocate device memory. */
    int (*probe)(const swarm_host *host, swarm_call *call, int32_t device_id);
    /* [worker] From the params and inputs (data not to be read: on a device it may not be there yet),
     * describe the outputs: a tensor's ndim, dtype and shape (the host provides SWARM_MAX_NDIM shape slots;
     * leave data and strides alone), a record batch's count and nbytes. The host then builds the cache
     * key and, on a miss, allocates the outputs on this variant's device and calls run. */
    int (*infer)(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                 const swarm_value *inputs, swarm_value *outputs);
    /* [worker] Compute the outputs into the buffers the host allocated as infer described. Inputs are
     * read-only. */
    int (*run)(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
               const swarm_value *inputs, swarm_value *outputs);
} swarm_variant;

/* Op flags. */
enum {
    SWARM_OP_DETERMINISTIC = 1u << 0, /* the same inputs and params give the same bytes: results are cached */
    SWARM_OP_SERIAL = 1u << 1,        /* never call this op's infer or run concurrently */
    /* 1.2: the op's records input comes in one batch holding every record of the stream, for ops that need
     * the whole dataset (dedup, shuffle); the host holds it in memory and calls run once, even over no
     * records. Without it, an op over records is called once per batch of records. */
    SWARM_OP_WHOLE = 1u << 2,
    /* 1.3: an op over a collection's tensors whose infer may call host->pass_through (one that renames
     * or reorders some tensors and leaves the rest as they are). The host first calls infer alone, the
     * inputs' data NULL (infer never reads it); when it passes its input through, that is the call. */
    SWARM_OP_PASS = 1u << 3
};

/* A named input or output of an op. */
typedef struct swarm_port {
    const char *name; /* [a-z][a-z0-9_]*, at most 64 characters, unique among the op's inputs or outputs */
    int32_t kind;     /* SWARM_KIND_* */
    const char *doc;  /* what it holds, for help; may be "" */
} swarm_port;

/* An operation: a pure function from inputs and params to outputs. infer and run receive exactly
 * n_inputs inputs and n_outputs outputs, in the order declared here. */
typedef struct swarm_op {
    uint32_t struct_size;    /* sizeof(swarm_op) */
    const char *name;        /* [a-z][a-z0-9_]*, at most 64 characters, unique in the plugin */
    uint32_t op_version;     /* 1 or more; bump whenever outputs for the same inputs and params may change */
    uint32_t flags;          /* SWARM_OP_* */
    const char *doc;         /* what it does, for help; may be "" */
    const swarm_param *params; /* the param schema, n_params entries (NULL when 0) */
    size_t n_params;
    const swarm_port *inputs;  /* n_inputs entries (NULL when 0) */
    size_t n_inputs;
    const swarm_port *outputs; /* n_outputs entries, at least 1 */
    size_t n_outputs;
    const swarm_variant *const *variants; /* n_variants pointers, at least 1 */
    size_t n_variants;
} swarm_op;

/* ---- Formats: file codecs for tensor collections -------------------------------------------------- */

struct swarm_tensor_entry {
    const char *name;              /* UTF-8, unique in the file */
    swarm_dtype dtype;
    int32_t ndim;                  /* 0 (a scalar) to SWARM_MAX_NDIM */
    int64_t shape[SWARM_MAX_NDIM]; /* row-major, outermost first (PyTorch's order) */
    uint64_t offset;               /* where the tensor's bytes start, from the start of the file */
    uint64_t nbytes;               /* how many bytes it has: the product of shape times bits / 8 */
};

/* A metadata pair of a collection. */
typedef struct swarm_meta {
    const char *key, *value; /* UTF-8 */
} swarm_meta;

/* A file format holding a collection of named tensors and string metadata (safetensors, GGUF). The host
 * reads such a file by asking the format where each tensor's bytes are, and writes one by asking it for
 * the header and each tensor's place; the host moves the tensor bytes itself, so formats never copy
 * data, and zero bytes fill what lies between tensors. */
typedef struct swarm_format {
    uint32_t struct_size;    /* sizeof(swarm_format) */
    const char *name;        /* [a-z][a-z0-9_]*, at most 64 characters, unique in the plugin */
    uint32_t format_version; /* 1 or more; bump whenever layout may write other bytes for the same collection */
    const char *doc;         /* what it reads and writes, for help; may be "" */
    /* [worker] Reads the file (all of it, read-only, size bytes) and reports each tensor with
     * host->add_tensor, in the order of their data, and each metadata pair with host->add_meta. Refuses a
     * malformed file with SWARM_E_BAD_INPUT and a one-line reason. */
    int (*read)(const swarm_host *host, swarm_call *call, const uint8_t *file, uint64_t size);
    /* [worker] Lays out a file holding these n tensors (names, dtypes, shapes and nbytes set; offsets not)
     * and metadata, in this order: appends the header bytes with host->emit and sets every
     * tensors[i].offset. Offsets must not be below the header's length nor overlap; the file ends where
     * the last tensor does, or later with host->set_file_size (1.3). */
    int (*layout)(const swarm_host *host, swarm_call *call, swarm_tensor_entry *tensors, size_t n,
                  const swarm_meta *meta, size_t nmeta);
} swarm_format;

/* A file format holding records (1.2): JSONL, tar shards, token files. The host calls read once per input
 * file, in path order, and write once per output file (several when a write stage shards its records),
 * always on one thread per file. Both receive the format's params, bound from the options of
 * swarm.read and swarm.write (they go into the stage's cache key; no param may take the name of one of
 * those calls' own options: name, path, publish, file, shard_records, shard_bytes, compress). Compression is the host's: read_bytes
 * gives the decompressed bytes, and what write emits is compressed when the stage asks for it. */
typedef struct swarm_records_format {
    uint32_t struct_size;      /* sizeof(swarm_records_format) */
    const char *name;          /* [a-z][a-z0-9_]*, at most 64 characters, unique among the plugin's formats */
    uint32_t format_version;   /* 1 or more; bump whenever read or write may give other records or bytes */
    const char *doc;           /* what it reads and writes, for help; may be "" */
    const char *extension;     /* the extension of the files write makes, without the dot ("jsonl") */
    const swarm_param *params; /* n_params entries (NULL when 0) */
    size_t n_params;
    /* [worker] Reads one file: pulls its bytes with host->read_bytes and reports each record with
     * host->add_record. Refuses a malformed file with SWARM_E_BAD_INPUT and a one-line reason. */
    int (*read)(const swarm_host *host, swarm_call *call, const swarm_param_value *params);
    /* [worker] Writes one file: takes records with host->next_record until it returns 0, and emits the
     * file's bytes with host->emit. A record it cannot write is SWARM_E_BAD_INPUT. */
    int (*write)(const swarm_host *host, swarm_call *call, const swarm_param_value *params);
} swarm_records_format;

/* What swarm_plugin_entry returns: static, read-only, the same pointer on every call. */
typedef struct swarm_plugin {
    uint32_t abi_version;    /* SWARM_PLUGIN_ABI_VERSION: first, always */
    uint32_t struct_size;    /* sizeof(swarm_plugin) */
    /* Reverse-DNS, stable forever: lowercase labels of [a-z0-9-] joined by dots, at least two, at most
     * 128 characters ("org.example.text"). */
    const char *id;
    const char *version; /* the package's version, provenance only (not in cache keys), e.g. "1.2.0" */
    const char *build;   /* a build id (commit, date), provenance only; may be NULL */
    const swarm_op *const *ops; /* n_ops pointers */
    size_t n_ops;
    const swarm_format *const *formats; /* n_formats pointers; a plugin has at least one op or format
                                          (of either kind) */
    size_t n_formats;
    /* SWARM_PLUGIN_* (1.1). The host reads it only when struct_size covers it: a 1.0 plugin has none. */
    uint32_t flags;
    /* n_records_formats pointers (1.2); names are unique among formats and records formats together. */
    const swarm_records_format *const *records_formats;
    size_t n_records_formats;
} swarm_plugin;

/* Plugin flags (1.1). */
enum {
    /* A companion: it adds variants to the ops of the plugin with the same id, loaded from another file
     * (the GPU variants of a CPU plugin live in NAME.hip.so beside NAME.so, so that the CPU plugin never
     * links a GPU runtime). Each of its ops must be one of that plugin's ops exactly (name, op_version,
     * flags, params with their defaults and choices, ports); the host merges their variants into the op.
     * A companion has no formats. One that matches no loaded plugin, or differs from it, is skipped. */
    SWARM_PLUGIN_COMPANION = 1u << 0
};

/* The one symbol a plugin exports. [discovery] Returns the plugin's descriptor; it allocates nothing,
 * starts no threads and touches no device. Define it with SWARM_PLUGIN_EXPORT. */
SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void);
typedef const swarm_plugin *(*swarm_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif
