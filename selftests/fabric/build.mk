# selftests/fabric: the multi-homing behaviour suite on the full fabric
# (fabric_mh), a check of its measuring instruments (netns_fabric_traffic),
# and the fabric runner it shares with `make demo`:
#   fabnet.c   the DESIGN.md topology + one xevpnd per leaf, pinned-map readers
#   traffic.c  UDP streams with sequence numbers, AF_PACKET frame taps
# selftests/lib/build.mk is read after this file: write the harness archive's
# path out in prerequisites (HARNESS_LDLIBS expands late, in recipes).

FABRIC_RUN_SRCS := selftests/fabric/fabnet.c selftests/fabric/traffic.c
FABRIC_RUN_OBJS := $(patsubst %.c,$(O)/%.o,$(FABRIC_RUN_SRCS))
FABRIC_RUN_LIB  := $(O)/selftests/libfabricrun.a
FABRIC_SUITES   := $(O)/selftests/netns_fabric_traffic $(O)/selftests/fabric_mh
TEST_SUITES     += $(FABRIC_SUITES)

# paths and names are capped on purpose
$(O)/selftests/fabric/%.o: CFLAGS += -Wno-format-truncation

$(FABRIC_RUN_LIB): $(FABRIC_RUN_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

# Criterion registers tests in a section nothing references: --no-gc-sections.
$(FABRIC_SUITES): $(O)/selftests/%: $(O)/selftests/fabric/%.o $(FABRIC_RUN_LIB) \
		$(O)/selftests/libharness.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -Wl,--no-gc-sections $^ -o $@ $(HARNESS_LDLIBS) $(LIBS_JSON) -lpthread $(LIBS_CRIT)
