# BPF objects and skeletons: <dir>/<name>.bpf.c -> $(BPF_O)/<name>.bpf.o -> <name>.skel.h
# for dir in bpf/ and selftests/*/. Objects keep BTF (-g) so bpftool map/prog dump show
# field names.
BPF_SRCS := $(wildcard bpf/*.bpf.c) $(wildcard selftests/*/*.bpf.c)
BPF_OBJS += $(patsubst %.bpf.c,$(BPF_O)/%.bpf.o,$(notdir $(BPF_SRCS)))
SKELS    += $(patsubst %.bpf.c,$(BPF_O)/%.skel.h,$(notdir $(BPF_SRCS)))

vpath %.bpf.c $(sort $(dir $(BPF_SRCS)))

$(BPF_O)/%.bpf.o: %.bpf.c $(wildcard include/xevpn/*.h bpf/lib/*.h)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BPF_O)/%.skel.h: $(BPF_O)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@.tmp && mv $@.tmp $@
