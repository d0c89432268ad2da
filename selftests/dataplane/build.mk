# Dataplane suites (pkt_*, netns_dataplane) and benchmarks. The BPF packet-test
# harness (selftests/lib/pkt.c) is built here into its own archive.
PKT_LIB      := $(O)/selftests/libpkt.a
PKT_OBJS     := $(O)/selftests/lib/pkt.o
DPT_ENV_OBJS := $(O)/selftests/dataplane/env.o
DPT_LIB      := $(O)/ctl/libxevpn-dp.a

$(PKT_LIB): $(PKT_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

DPT_SUITES := pkt_dataplane pkt_dataplane_props netns_dataplane
DPT_SUITE_BINS := $(patsubst %,$(O)/selftests/%,$(DPT_SUITES))
TEST_SUITES += $(DPT_SUITE_BINS)

$(DPT_ENV_OBJS) $(patsubst %,$(O)/selftests/dataplane/%.o,$(DPT_SUITES)): | $(BPF_O)/xevpn.skel.h

$(filter-out %/netns_dataplane,$(DPT_SUITE_BINS)): $(O)/selftests/%: $(O)/selftests/dataplane/%.o $(DPT_ENV_OBJS) $(PKT_LIB) $(DPT_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ $(LIBS_BPF) $(LIBS_CRIT) -lpthread

# netns suite: the shared netns library (selftests/lib/build.mk)
$(O)/selftests/netns_dataplane: $(O)/selftests/dataplane/netns_dataplane.o $(DPT_LIB) $(O)/selftests/libharness.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -Wl,--no-gc-sections $^ -o $@ $(HARNESS_LDLIBS) $(LIBS_BPF) $(LIBS_CRIT) -lpthread

# Benchmark (make bench): ns/packet per path and packets/s against the Linux
# vxlan + bridge path and a minimal encap program (bench_dataplane.c).
DPT_BENCH     := $(O)/selftests/bench_dataplane
BENCH_BINS    += $(DPT_BENCH)
BINS          += $(DPT_BENCH)
# bench_dp.bpf.c compiles the product programs in
$(BPF_O)/bench_dp.bpf.o: bpf/xevpn.bpf.c
$(O)/selftests/dataplane/bench_dataplane.o: | $(BPF_O)/xevpn.skel.h $(BPF_O)/bench_dp.skel.h
$(DPT_BENCH): $(O)/selftests/dataplane/bench_dataplane.o $(DPT_ENV_OBJS) $(PKT_LIB) $(DPT_LIB) $(O)/selftests/libharness.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ $(HARNESS_LDLIBS) -lpthread
