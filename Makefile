# swarm — build, test, demo and benchmarks.
#
#   make deps     install the system packages swarm needs (Debian; apt-get, through sudo when not root)
#   make          build $(BUILD)/swarm
#   make demo     the main job on built-in sample data
#   make test     unit tests and CLI tests (SAN=1: under AddressSanitizer + UBSan, in build-san/)
#   make bench    benchmarks against named peers (not part of make test)
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

# Debian packages: libraries, then the tools tests and benchmarks run.
DEPS_LIBS := build-essential g++ pkg-config libgit2-dev libzstd-dev libarchive-dev liblua5.4-dev \
             libssl-dev libjansson-dev libsqlite3-dev libtorrent-rasterbar-dev
DEPS_TOOLS := git zstd perl time python3 util-linux bsdutils aria2 transmission-cli opentracker
DEPS_BENCH := git-annex git-lfs bc procps bsdutils snakemake

PKGS := libgit2 libzstd libarchive jansson sqlite3 libcrypto lua5.4 libtorrent-rasterbar
# Recursive (=) so pkg-config runs after `make deps` has installed what it asks about. libtorrent's
# flags (defines that fix its ABI) go to the C++ compile only.
PKG_CFLAGS = $(shell pkg-config --cflags $(filter-out libtorrent-rasterbar,$(PKGS)))
TORRENT_CFLAGS = $(shell pkg-config --cflags libtorrent-rasterbar)
PKG_LIBS = $(shell pkg-config --libs $(PKGS)) -lpthread -ldl

CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) $(CFLAGS) $(SANFLAGS) \
             -Icore -Icache -Ilua -Iplugins $(PKG_CFLAGS)
# core/torrent.cpp, the libtorrent shim, is the only C++: it is why swarm and the tests link with $(CXX).
ALL_CXXFLAGS = -std=c++17 -D_FILE_OFFSET_BITS=64 $(WARN) $(CFLAGS) $(SANFLAGS) -Icore -Icache \
               $(TORRENT_CFLAGS)
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)

LIB_SRC := $(wildcard core/*.c core/*.cpp cache/*.c lua/*.c)
LIB_SRC := $(filter-out core/main.c,$(LIB_SRC))
LIB_OBJ := $(addprefix $(BUILD)/obj/,$(addsuffix .o,$(basename $(LIB_SRC))))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
CLI_TESTS := $(filter-out tests/cli/lib.sh,$(wildcard tests/cli/*.sh))
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)

# Plugins: the .c files of plugins/NAME/ make $(BUILD)/plugins/NAME.so (on swarm's search path); each
# tests/plugins/NAME.c makes a test-only $(BUILD)/tests/plugins/NAME.so (not on it).
PLUGIN_NAMES := $(notdir $(patsubst %/,%,$(sort $(dir $(wildcard plugins/*/*.c)))))
PLUGIN_SO := $(PLUGIN_NAMES:%=$(BUILD)/plugins/%.so)
TEST_PLUGIN_SO := $(patsubst tests/plugins/%.c,$(BUILD)/tests/plugins/%.so,$(wildcard tests/plugins/*.c))
# Plugins are C99 against plugins/swarm_plugin.h alone, and export only swarm_plugin_entry.
PLUGIN_FLAGS = -std=c99 -pedantic $(WARN) $(CFLAGS) $(SANFLAGS) -shared -fPIC -fvisibility=hidden -Iplugins \
               -Wl,--version-script=plugins/plugin.map $(LDFLAGS)

.PHONY: all deps deps-bench demo test unit cli bench install clean FORCE
all: $(BUILD)/swarm $(TOOL_BIN) $(PLUGIN_SO)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) -MMD -MP -c $< -o $@

# The plugin search path's built-in folders are compiled into core/plugin.o, which is rebuilt when PREFIX
# changes ($(BUILD)/prefix holds the last one).
$(BUILD)/obj/core/plugin.o: ALL_CFLAGS += -DSW_PLUGIN_BUILD_DIR='"$(abspath $(BUILD)/plugins)"' \
                                          -DSW_PLUGIN_PREFIX_DIR='"$(PREFIX)/lib/swarm/plugins"'
$(BUILD)/obj/core/plugin.o: $(BUILD)/prefix
$(BUILD)/prefix: FORCE
	@mkdir -p $(dir $@)
	@echo '$(PREFIX)' | cmp -s - $@ || echo '$(PREFIX)' >$@

$(BUILD)/swarm: $(BUILD)/obj/core/main.o $(LIB_OBJ)
	$(CXX) $(ALL_LDFLAGS) $^ $(PKG_LIBS) -o $@

.SECONDARY: $(UNIT_SRC:%.c=$(BUILD)/obj/%.o)
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_LDFLAGS) $^ $(PKG_LIBS) -o $@

$(BUILD)/tools/%: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< $(ALL_LDFLAGS) -lm -o $@

.SECONDEXPANSION:
$(BUILD)/plugins/%.so: $$(wildcard plugins/$$*/*.c) plugins/swarm_plugin.h plugins/plugin.map
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_FLAGS) $(filter %.c,$^) -o $@

$(BUILD)/tests/plugins/%.so: tests/plugins/%.c $(wildcard tests/plugins/*.h) plugins/swarm_plugin.h plugins/plugin.map
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_FLAGS) $< -o $@

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Installs only what is missing; a no-op (one dpkg-query) once everything is there.
deps:
	@sh tests/deps.sh $(DEPS_LIBS) $(DEPS_TOOLS)

deps-bench: deps
	@sh tests/deps.sh $(DEPS_BENCH)

demo: deps
	@$(MAKE) --no-print-directory all
	@sh tests/demo.sh $(BUILD)

test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(TEST_PLUGIN_SO)
	@SWARM_BUILD=$(BUILD) LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
		ASAN_OPTIONS=fast_unwind_on_malloc=0 \
		prove --exec '' --timer $(UNIT_BIN) $(CLI_TESTS)

bench: deps-bench
	@$(MAKE) --no-print-directory all $(TEST_PLUGIN_SO)
	@bash tests/bench/run.sh $(BUILD)

# Installs swarm, its plugins, the plugin header and swarm-plugin.pc, so that a plugin author needs only
#     cc -shared $$(pkg-config --cflags swarm-plugin) myop.c -o myop.so
install: $(BUILD)/swarm $(PLUGIN_SO)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/swarm/plugins $(DESTDIR)$(PREFIX)/include/swarm \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0755 $(BUILD)/swarm $(DESTDIR)$(PREFIX)/bin/swarm
	install -m 0755 $(PLUGIN_SO) $(DESTDIR)$(PREFIX)/lib/swarm/plugins/
	install -m 0644 plugins/swarm_plugin.h plugins/plugin.map $(DESTDIR)$(PREFIX)/include/swarm/
	sed 's|@PREFIX@|$(PREFIX)|' plugins/swarm-plugin.pc.in >$(DESTDIR)$(PREFIX)/lib/pkgconfig/swarm-plugin.pc

clean:
	rm -rf build build-san
