# libFuzzer harnesses over the agent's parsers (tests/fuzz/fuzz_*.c), built
# with clang -fsanitize=fuzzer,address,undefined from the parser sources
# directly (not libtcprio.a, which the normal compiler builds without
# sanitizers).  `make fuzz` runs each for FUZZ_SECONDS; tests/fuzz/test_fuzz.sh
# (run by `make test`) runs each for a few seconds.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_NAMES   := pod annotations class_table kubeconfig scalars watch_lines route_table
# every file of the layers the parsers live in (no BPF, no netlink), so a
# helper file added there needs no change here
FUZZ_SRCS    := $(wildcard user/lib/*.c user/kube/*.c user/policy/*.c)
# a harness that #includes a parser's .c (to reach its static functions)
# leaves that file out of its sources
FUZZ_INCLUDED_watch_lines := user/kube/kube_watch.c
# the route-table harness includes user/dp/uplink_auto.c and needs libnl-route
FUZZ_CFLAGS_route_table := $(shell pkg-config --cflags libnl-route-3.0 2>/dev/null)
FUZZ_LIBS_route_table   := $(shell pkg-config --libs libnl-route-3.0 2>/dev/null)
FUZZ_BINS    := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_NAMES))
FUZZ_CFLAGS  := -g -O1 -std=gnu11 -D_GNU_SOURCE -DTCPRIO_LIBFUZZER -Iinclude -Iuser \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
                $(shell pkg-config --cflags jansson yaml-0.1 libcurl libcrypto 2>/dev/null)
FUZZ_LIBS    := $(shell pkg-config --libs jansson yaml-0.1 libcurl libcrypto 2>/dev/null) -lpthread -lm

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS) ## build the libFuzzer harnesses (clang) into $(BUILD)/fuzz

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_main.h $(FUZZ_SRCS) $(USER_HDRS)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_CFLAGS_$*) $< $(filter-out $(FUZZ_INCLUDED_$*),$(FUZZ_SRCS)) \
	  -o $@ $(FUZZ_LIBS) $(FUZZ_LIBS_$*)

# Seeds: tests/fuzz/seeds/NAME, and the real Pod objects of tests/fixtures
# for the pod harness.  New inputs go to $(BUILD)/fuzz/corpus/NAME (the
# seed folders stay untouched); a crash is written to
# $(BUILD)/fuzz/artifacts/NAME-crash-... and fails the target.
fuzz_seeds = tests/fuzz/seeds/$(1) $(if $(filter pod,$(1)),tests/fixtures/k8s/pod)
fuzz: fuzz-build ## run every libFuzzer harness for FUZZ_SECONDS seconds (default 60)
	$(Q)for n in $(FUZZ_NAMES); do \
	  mkdir -p $(BUILD)/fuzz/corpus/$$n $(BUILD)/fuzz/artifacts tests/fuzz/seeds/$$n; \
	  echo "  FUZZ     $$n ($(FUZZ_SECONDS) s)"; \
	  $(BUILD)/fuzz/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=1024 \
	    -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/artifacts/$$n- \
	    $(BUILD)/fuzz/corpus/$$n tests/fuzz/seeds/$$n $$( [ $$n = pod ] && echo tests/fixtures/k8s/pod ) \
	    2>$(BUILD)/fuzz/$$n.log || { tail -40 $(BUILD)/fuzz/$$n.log; exit 1; }; \
	  grep -E 'stat::number_of_executed_units' $(BUILD)/fuzz/$$n.log; \
	done
