# libxevpn-dp: userspace side of the XDP/TC dataplane (ctl/dp/dp.h).
# Link: $(DP_LIB) $(LIBS_BPF)
DP_SRCS := ctl/dp/dp.c ctl/dp/trace_fmt.c
DP_OBJS := $(patsubst %.c,$(O)/%.o,$(DP_SRCS))
DP_LIB  := $(O)/ctl/libxevpn-dp.a
BINS    += $(DP_LIB)

$(DP_OBJS): | $(BPF_O)/xevpn.skel.h
# paths are capped at PATH_MAX on purpose
$(DP_OBJS): CFLAGS += -Wno-format-truncation

$(DP_LIB): $(DP_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^
