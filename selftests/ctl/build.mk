# Unit suites of the controller core (pure logic: no kernel, no gobgpd).
comma := ,
# Criterion registers tests in their own sections: no --gc-sections for suites.
CTL_UNIT_SUITES := unit_ctl_config unit_ctl_df unit_ctl_model

define ctl_unit_suite
$(O)/selftests/$(1): $(O)/selftests/ctl/$(1).o $(CTL_CORE_LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(filter-out -Wl$$(comma)--gc-sections,$$(LDFLAGS)) $$^ -o $$@ $$(LIBS_YAML) $$(LIBS_JSON) $$(LIBS_CRIT)
endef
$(foreach s,$(CTL_UNIT_SUITES),$(eval $(call ctl_unit_suite,$(s))))
$(O)/selftests/ctl/%.o: CFLAGS += -Wno-format-truncation

TEST_SUITES += $(addprefix $(O)/selftests/,$(CTL_UNIT_SUITES))

# netns suite: real gobgpd + real dataplane + xevpnd on the fabric topology.
# The harness archive's path is written out (selftests/lib/build.mk sorts after).
# ctl_env.o: fabric, xevpnd config/start/stop and pinned-map readers of the netns suites.
CTL_NETNS_ENV := $(O)/selftests/ctl/ctl_env.o
$(O)/selftests/netns_ctl: $(O)/selftests/ctl/netns_ctl.o $(CTL_NETNS_ENV) $(O)/selftests/libharness.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -Wl,--no-gc-sections $^ -o $@ $(HARNESS_LDLIBS) $(LIBS_CRIT)
$(O)/selftests/netns_ctl: | $(O)/xevpnd $(O)/xevpnctl

TEST_SUITES += $(O)/selftests/netns_ctl

# Heartbeat actions of xevpnd on the same fabric (DF takeover, self-fence, key rotation).
$(O)/selftests/netns_ctl_health: $(O)/selftests/ctl/netns_ctl_health.o $(CTL_NETNS_ENV) $(O)/selftests/libharness.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -Wl,--no-gc-sections $^ -o $@ $(HARNESS_LDLIBS) $(LIBS_CRIT)
$(O)/selftests/netns_ctl_health: | $(O)/xevpnd $(O)/xevpnctl

TEST_SUITES += $(O)/selftests/netns_ctl_health

# /metrics scraped during traffic, promtool, JSON of every xevpnctl command.
$(O)/selftests/netns_ctl_metrics: $(O)/selftests/ctl/netns_ctl_metrics.o $(CTL_NETNS_ENV) $(O)/selftests/libharness.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -Wl,--no-gc-sections $^ -o $@ $(HARNESS_LDLIBS) $(LIBS_CRIT)
$(O)/selftests/netns_ctl_metrics: | $(O)/xevpnd $(O)/xevpnctl

TEST_SUITES += $(O)/selftests/netns_ctl_metrics

# Benchmarks over the real maps and a real gobgpd (make bench).
BENCH_CTL_OBJS := $(O)/selftests/ctl/bench_ctl.o $(O)/ctl/fib_dp.o $(O)/ctl/routes_bridge.o
$(O)/selftests/ctl/bench_ctl.o: | $(BPF_O)/xevpn.skel.h $(GEN)/.gobgp-protos.stamp
$(O)/selftests/bench_ctl: $(BENCH_CTL_OBJS) $(CTL_CORE_LIB) $(O)/ctl/libxevpn-dp.a \
		$(O)/gobgp-bridge/libgobgp-bridge.a $(O)/selftests/libharness.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ $(LIBS_YAML) $(LIBS_JSON) $(LIBS_UV) $(HARNESS_LDLIBS) \
		$(LIBS_GRPC) -lpthread

BENCH_BINS += $(O)/selftests/bench_ctl

# Conversions to/from gobgp-bridge (links the codec; no gobgpd).
$(O)/selftests/ctl/unit_ctl_routes.o: | $(GEN)/.gobgp-protos.stamp
$(O)/selftests/unit_ctl_routes: $(O)/selftests/ctl/unit_ctl_routes.o $(O)/ctl/routes_bridge.o \
		$(CTL_CORE_LIB) $(O)/gobgp-bridge/libgobgp-bridge.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ $(LIBS_YAML) $(LIBS_JSON) $(LIBS_UV) $(LIBS_GRPC) -lpthread $(LIBS_CRIT)
TEST_SUITES += $(O)/selftests/unit_ctl_routes

# MAC aging of the map writer over the real dataplane (packet-test leaf of
# selftests/dataplane/env.c, frames by BPF_PROG_TEST_RUN).
$(O)/selftests/ctl/pkt_ctl_aging.o: CFLAGS += -Iselftests/dataplane
$(O)/selftests/ctl/pkt_ctl_aging.o: | $(BPF_O)/xevpn.skel.h
$(O)/selftests/pkt_ctl_aging: $(O)/selftests/ctl/pkt_ctl_aging.o $(O)/ctl/fib_dp.o \
		$(O)/selftests/dataplane/env.o $(O)/selftests/libpkt.a $(CTL_CORE_LIB) $(O)/ctl/libxevpn-dp.a
	@mkdir -p $(@D)
	$(CC) $(filter-out -Wl$(comma)--gc-sections,$(LDFLAGS)) $^ -o $@ $(LIBS_BPF) $(LIBS_YAML) $(LIBS_JSON) $(LIBS_CRIT) -lpthread
TEST_SUITES += $(O)/selftests/pkt_ctl_aging
