# selftests/harness: suites that prove the netns test library itself
# (netns_harness: namespaces, teardown on every exit path, two gobgpd
# exchanging an EVPN route) and the fabric topology (netns_fabric_topo).
# Criterion registers tests in a section nothing references: keep it with
# --no-gc-sections.

HARNESS_SUITES := $(O)/selftests/netns_harness $(O)/selftests/netns_fabric_topo
TEST_SUITES += $(HARNESS_SUITES)

$(HARNESS_SUITES): $(O)/selftests/%: $(O)/selftests/harness/%.o $(O)/selftests/libharness.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -Wl,--no-gc-sections $^ -o $@ $(HARNESS_LDLIBS) $(LIBS_CRIT)

$(O)/selftests/harness/%.o: CFLAGS += -Wno-format-truncation
