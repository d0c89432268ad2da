# xevpnd (controller daemon) and xevpnctl (CLI).
#
# The EVPN core (config, model, DF election, state dump) is a static library
# with no dependency on the dataplane or the GoBGP bridge, so its unit suites
# build even while those parts are under construction.

CTL_CORE_SRCS := ctl/esi.c ctl/config.c ctl/hash.c ctl/log.c ctl/routes.c ctl/evpn.c ctl/evpn_df.c \
                 ctl/fib_mem.c ctl/state_json.c
CTL_CORE_OBJS := $(patsubst %.c,$(O)/%.o,$(CTL_CORE_SRCS))
CTL_CORE_LIB  := $(O)/ctl/libxevpn-ctl-core.a
LIBS_YAML     := -lyaml
LIBS_JSON     := -ljansson

$(CTL_CORE_LIB): $(CTL_CORE_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

# Field paths and names in messages are deliberately capped with snprintf.
$(O)/ctl/%.o: CFLAGS += -Wno-format-truncation

# xevpnd links the core; the dataplane (ctl/dp) and the GoBGP bridge are
# plugged in through the fib.h / routes.h adapters below. Paths are spelled
# out (not $(DP_LIB) / $(GOBGP_BRIDGE_LIB)): those fragments sort after this one.
CTL_DP_LIB     := $(O)/ctl/libxevpn-dp.a
CTL_BRIDGE_LIB := $(O)/gobgp-bridge/libgobgp-bridge.a
CTL_ADAPT_OBJS := $(O)/ctl/fib_dp.o $(O)/ctl/routes_bridge.o
$(O)/ctl/fib_dp.o $(O)/ctl/xevpnd.o: | $(BPF_O)/xevpn.skel.h
$(O)/ctl/routes_bridge.o $(O)/ctl/xevpnd.o: | $(GEN)/.gobgp-protos.stamp
# Health actions (ctl/xevpnd_health.c): the heartbeat engine on xevpnd's loop.
CTL_ADAPT_OBJS += $(O)/ctl/xevpnd_health.o

# Observability (ctl/xevpnd_metrics.c): /metrics, traffic rates, watch events.
CTL_OBS_OBJS   := $(O)/ctl/xevpnd_metrics.o $(O)/ctl/metrics/libxevpn_metrics.a \
                  $(O)/ctl/health/libxevpn_health.a
$(O)/ctl/xevpnd_metrics.o: | $(BPF_O)/xevpn.skel.h $(GEN)/.gobgp-protos.stamp

$(O)/xevpnd: $(O)/ctl/xevpnd.o $(CTL_ADAPT_OBJS) $(CTL_OBS_OBJS) $(CTL_CORE_LIB) $(CTL_DP_LIB) $(CTL_BRIDGE_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $(LDFLAGS_GC) $^ -o $@ $(LIBS_YAML) $(LIBS_JSON) $(LIBS_UV) $(LIBS_MNL) \
		$(LIBS_BPF) $(LIBS_GRPC) $(LIBS_SSL) -lmicrohttpd -lm -lpthread

# CLI views of the observability commands and the interactive shell (libedit).
CTL_CLI_OBJS   := $(O)/ctl/xevpnctl_obs.o $(O)/ctl/xevpnctl_shell.o
CTL_CLI_OBJS   += $(O)/ctl/xevpnctl_health.o

$(O)/xevpnctl: $(O)/ctl/xevpnctl.o $(CTL_CLI_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ $(LIBS_JSON) -ledit

BINS += $(O)/xevpnd $(O)/xevpnctl
