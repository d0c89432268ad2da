# xevpn — top-level build.
#
#   make            deps + release build of everything
#   make demo       deps + build + 3-leaf fabric demo in network namespaces
#   make test       deps + sanitizer build + every test suite, one summary line
#   make bench      deps + release build + benchmarks (BENCH lines)
#   make vmtest     BPF selftests inside a VM running another kernel (vmtest/build.mk)
#   make clean      remove the build directory (the tree is left clean)
#
# Each part of the tree contributes a fragment (<dir>/build.mk) that appends to
# BINS, TEST_SUITES and BENCH_BINS; this file only holds the shared rules.

SHELL        := /bin/bash
.DEFAULT_GOAL := all

BUILD        ?= build
VARIANT      ?= release
O            := $(BUILD)/$(VARIANT)
BPF_O        := $(BUILD)/bpf
GEN          := $(BUILD)/gen
export XEVPN_SHARED ?= $(abspath ../shared)

CC           ?= gcc
CLANG        ?= clang
BPFTOOL      ?= bpftool
PROTOC_C     ?= protoc-c

ARCH_INC     := /usr/include/$(shell $(CC) -dumpmachine)
WARN         := -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
CPPFLAGS     += -Iinclude -I$(BPF_O) -I$(GEN) -Igobgp-bridge -Ictl -Iselftests/lib -D_GNU_SOURCE
CFLAGS       ?= -O2 -g
CFLAGS       += -std=gnu11 $(WARN) -ffunction-sections -fdata-sections -MMD -MP
# --gc-sections would drop Criterion's test registration sections: products that
# want it (xevpnd links the generated gRPC code) add $(LDFLAGS_GC) themselves.
LDFLAGS_GC   := -Wl,--gc-sections
ifeq ($(VARIANT),san)
CFLAGS       += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS      += -fsanitize=address,undefined
endif

BPF_CFLAGS   := -O2 -g -target bpf -D__TARGET_ARCH_x86 -Iinclude -Ibpf -I$(ARCH_INC) \
                -Wall -Werror -Wno-unused-function -Wno-compare-distinct-pointer-types

LIBS_BPF     := -lbpf -lelf -lz
LIBS_UV      := -luv
LIBS_MNL     := -lmnl
LIBS_SSL     := -lcrypto
LIBS_GRPC    := -lgrpc -lgpr -lprotobuf-c
LIBS_CRIT    := -lcriterion

BINS         :=
TEST_SUITES  :=
BENCH_BINS   :=
BPF_OBJS     :=
SKELS        :=
GEN_HDRS     :=
# Test harness archive (selftests/lib/build.mk builds it); named here so every
# fragment can depend on it whatever the include order.
HARNESS_LIB  := $(O)/selftests/libharness.a

include mk/deps.mk
include mk/bpf.mk
-include $(sort $(wildcard */build.mk */*/build.mk))

# Userspace objects. A fragment whose objects include a skeleton or a
# generated header declares that itself (e.g. `$(MY_OBJS): | $(BPF_O)/x.skel.h`),
# so a part under construction never blocks the build of another.
$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(O)/gen/%.o: $(GEN)/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(filter-out -Werror -Wextra,$(CFLAGS)) -c $< -o $@

.PHONY: all build bpf tests test bench demo clean deps
all: deps
	@$(MAKE) --no-print-directory build
build: $(BPF_OBJS) $(SKELS) $(BINS)
bpf: $(BPF_OBJS) $(SKELS)
tests: build $(TEST_SUITES)

# make test: sanitizer build, then every suite through the runner, which
# prints the final "N passed, N failed" line and cleans up after each suite.
test: deps
	@$(MAKE) --no-print-directory VARIANT=san tests
	@XEVPN_BUILD=$(abspath $(BUILD)) XEVPN_BIN=$(abspath $(BUILD)/san) \
		selftests/run-suites $(abspath $(patsubst $(O)/%,$(BUILD)/san/%,$(TEST_SUITES)))

bench: all
	@XEVPN_BUILD=$(abspath $(BUILD)) XEVPN_BIN=$(abspath $(O)) \
		selftests/run-bench $(abspath $(BENCH_BINS))

demo: all
	@XEVPN_BUILD=$(abspath $(BUILD)) XEVPN_BIN=$(abspath $(O)) ./demo/demo.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
