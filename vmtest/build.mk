# vmtest: the BPF selftests inside a VM running another kernel (see vmtest/README.md).
#
#   make vmtest                      Debian 6.1 LTS kernel, vmtest/inside.sh
#   make vmtest KERNEL=6.1.0-50      another ABI; KERNEL=/path/vmlinuz VMTEST_MODDIR=...
#   make vmtest VMTEST_SHELL=fail    interactive shell in the VM if the tests fail
#   make vmtest VMTEST_SCRIPT=vmtest/selftest-fail.sh   must fail
#
# `make test` runs vmtest/vm_suite.sh (a TAP suite) as its last stage.

KERNEL          ?= 6.1
VMTEST_VARIANT  ?= release
VMTEST_TOOLS    := $(O)/vmtest/vm_probe $(O)/vmtest/vm_attach
VMTEST_OBJS     := $(O)/vmtest/vm_probe.o $(O)/vmtest/vm_attach.o

BINS            += $(VMTEST_TOOLS)
# Appended after every other suite: this fragment is included last (sorted
# */build.mk, and vmtest sorts after all other parts).
TEST_SUITES     += vmtest/vm_suite.sh

# The probe lives here rather than in bpf/ so that it is not part of the product.
$(BPF_O)/vm_probe.bpf.o: vmtest/vm_probe.bpf.c vmtest/vm_probe.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -Ivmtest -c $< -o $@

$(VMTEST_OBJS): CPPFLAGS += -Ivmtest
$(O)/vmtest/vm_probe.o: | $(BPF_O)/vm_probe.skel.h

$(VMTEST_TOOLS): $(O)/vmtest/%: $(O)/vmtest/%.o
	$(CC) $(LDFLAGS) $^ $(LIBS_BPF) -o $@

# The dataplane through its own loader, when libxevpn-dp is part of the tree.
ifneq ($(DP_LIB),)
BINS            += $(O)/vmtest/vm_dp
$(O)/vmtest/vm_dp.o: CPPFLAGS += -Ivmtest
$(O)/vmtest/vm_dp: $(O)/vmtest/vm_dp.o $(DP_LIB)
	$(CC) $(LDFLAGS) $^ $(LIBS_BPF) -o $@
endif

# What the VM runs: the tools above, every BPF object, the packet suites and
# the dataplane netns suite. Only these are built, so a part of the tree under
# construction elsewhere does not block the kernel check.
VMTEST_NEEDS = $(filter $(O)/vmtest/%,$(BINS)) $(BPF_OBJS) $(BPF_O)/vm_probe.bpf.o \
               $(filter $(O)/selftests/pkt_% $(O)/selftests/netns_dataplane% \
                        $(O)/selftests/netns_dp%,$(TEST_SUITES))
.PHONY: vmtest vmtest-build
vmtest-build: $(VMTEST_NEEDS)

# make test (san build): the VM stage prefers release binaries, ASan under TCG
# being about twice as slow; build them here, during the build phase. If that
# fails the VM falls back to the san binaries.
ifeq ($(VARIANT),san)
.PHONY: vmtest-release
vmtest/vm_suite.sh: vmtest-release
vmtest-release:
	-@$(MAKE) --no-print-directory VARIANT=release vmtest-build
endif

# Release variant by default (ASan under TCG is slow), then the VM run.
# Variables (KERNEL, VMTEST_*) reach vmtest.sh through the environment.
vmtest: deps
	@$(MAKE) --no-print-directory VARIANT=$(VMTEST_VARIANT) vmtest-build
	@KERNEL="$(KERNEL)" VMTEST_BIN_VARIANT=$(VMTEST_VARIANT) XEVPN_BUILD=$(abspath $(BUILD)) XEVPN_BIN=$(abspath $(BUILD)/$(VMTEST_VARIANT)) \
		vmtest/vmtest.sh
