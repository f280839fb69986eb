# tcprio build.  `make help` lists the targets.
.DELETE_ON_ERROR:
.DEFAULT_GOAL := all

BUILD    ?= build
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH     := $(shell uname -m | sed 's/aarch64/arm64/;s/x86_64/x86/')
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

PKGS     := libbpf libcurl jansson yaml-0.1 libnl-route-3.0 libmicrohttpd libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lelf -lz -lpthread

CFLAGS   ?= -O2 -g
# Header dependencies: each object also writes a .d file listing the headers
# it read, so editing a header rebuilds what uses it.
DEPFLAGS  = -MMD -MP -MF $@.d
# override: `make CFLAGS=-O0` replaces only the optimisation flags; the
# warnings and include paths below are still appended (a plain += is
# ignored for a variable set on the command line).
override CFLAGS += -Wall -Wextra -Wno-unused-parameter -std=gnu11 -D_GNU_SOURCE \
            -Iinclude -Iuser -I$(BUILD) $(PKG_CFLAGS)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
            -Iinclude -Ibpf -idirafter /usr/include/$(MULTIARCH) \
            -idirafter /usr/local/include -idirafter /usr/include

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
BPF_HDRS  := $(wildcard bpf/*.h) $(wildcard include/*.h)

# user/ is split by layer (docs/architecture.md); every .c below it is built.
LAYERS    := lib kube policy sync dp agent cli
USER_SRCS := $(wildcard user/*.c) $(foreach l,$(LAYERS),$(wildcard user/$(l)/*.c))
USER_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(USER_SRCS))
LIB_OBJS  := $(filter-out $(BUILD)/user/main.o,$(USER_OBJS))
USER_HDRS := $(shell find user -name '*.h') $(wildcard include/*.h)

# Every tests/**/test_*.c is one test binary linked with the agent's library.
TEST_SRCS := $(shell find tests -name 'test_*.c' 2>/dev/null)
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
# Helper programs that tests and scripts use (not tests themselves; *.bpf.c
# under tests/ are BPF objects built by their own tests/*.mk).
TOOL_SRCS := $(shell find tests scripts -name '*.c' ! -name 'test_*.c' ! -name '*.bpf.c' 2>/dev/null)
TOOL_BINS := $(patsubst %.c,$(BUILD)/%,$(TOOL_SRCS))

.PHONY: all help deps bpf tcprio tests test clean check-layers
all: check-layers tcprio tests ## build the agent/CLI, BPF objects and test binaries

check-layers: ## fail if a layer includes what it must not (docs/architecture.md)
	$(Q)./scripts/check-layers.sh

help: ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
	  sed 's/:.*## /\t/' | awk -F'\t' '{printf "  %-16s %s\n", $$1, $$2}'

deps: ## install build and test dependencies (Debian 12, root)
	./scripts/install-deps.sh

bpf: $(BPF_OBJS) $(SKELS) ## build the BPF objects and skeletons

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(BUILD)/user/%.o: user/%.c $(SKELS) | $(BUILD)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/libtcprio.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

tcprio: $(BUILD)/tcprio ## build the tcprio binary (agent and CLI)
$(BUILD)/tcprio: $(BUILD)/user/main.o $(BUILD)/libtcprio.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(PKG_LIBS)

tests: $(TEST_BINS) $(TOOL_BINS) ## build test binaries and test tools
$(BUILD)/tests/%: tests/%.c $(BUILD)/libtcprio.a $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -Itests $< -o $@ $(TEST_LDFLAGS) $(BUILD)/libtcprio.a $(PKG_LIBS) -lcmocka -lm
# test_read_file makes fstat(2) fail through a linker wrapper (--wrap).
$(BUILD)/tests/kube/test_read_file: TEST_LDFLAGS := -Wl,--wrap=fstat
$(BUILD)/scripts/%: scripts/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) $< -o $@ -lm

# `make test` installs what is missing (as root), then builds in a fresh make
# so that pkg-config sees the newly installed libraries.
test: ## install dependencies, build, run every test (root: BPF and netns tests too)
	./scripts/install-deps.sh
	$(MAKE) --no-print-directory all
	TCPRIO_KERNEL_MATRIX=1 ./tests/run_tests.sh

$(BUILD):
	$(Q)mkdir -p $(BUILD)/user $(BUILD)/tests

clean: ## remove build output
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Feature fragments (benchmarks, demo, image) add their own targets.
-include $(wildcard scripts/*.mk) $(wildcard deploy/*.mk) $(wildcard tests/*.mk)
