# gobgp-bridge suites: codec unit tests, netns integration with real gobgpd,
# and the route-add benchmark. Paths of other parts' archives are written out
# (fragments are read in alphabetical order; see selftests/lib/build.mk).

BRIDGE_LIB_A     := $(O)/gobgp-bridge/libgobgp-bridge.a
BRIDGE_HARNESS_A := $(O)/selftests/libharness.a
BRIDGE_T_OBJS    := $(patsubst %.c,$(O)/%.o,$(wildcard selftests/bridge/*.c))

# the tests include the generated protobuf headers through codec.h
$(BRIDGE_T_OBJS): | $(GEN)/.gobgp-protos.stamp

$(O)/selftests/unit_bridge: $(O)/selftests/bridge/unit_bridge.o $(BRIDGE_LIB_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ $(GOBGP_BRIDGE_LDLIBS) $(LIBS_CRIT)

$(O)/selftests/netns_bridge: $(O)/selftests/bridge/netns_bridge.o \
		$(O)/selftests/bridge/bridge_env.o $(BRIDGE_LIB_A) $(BRIDGE_HARNESS_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -Wl,--no-gc-sections $^ -o $@ $(GOBGP_BRIDGE_LDLIBS) $(HARNESS_LDLIBS) \
		$(LIBS_CRIT)

$(O)/selftests/bench_bridge: $(O)/selftests/bridge/bench_bridge.o \
		$(O)/selftests/bridge/bridge_env.o $(BRIDGE_LIB_A) $(BRIDGE_HARNESS_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -Wl,--no-gc-sections $^ -o $@ $(GOBGP_BRIDGE_LDLIBS) $(HARNESS_LDLIBS)

TEST_SUITES += $(O)/selftests/unit_bridge $(O)/selftests/netns_bridge
BENCH_BINS  += $(O)/selftests/bench_bridge
