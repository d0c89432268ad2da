# selftests/health: heartbeat codec vectors and drops (unit_health_codec),
# state machine on a fake clock incl. key rotation (unit_health_fsm), and real
# sockets between three namespaces on a bridge (netns_health, which runs the
# xevpn-health binary in each namespace).
# Criterion registers tests in a linker section nothing references:
# --no-gc-sections keeps --gc-sections from dropping every test.

HEALTH_TEST_SUITES := $(O)/selftests/unit_health_codec $(O)/selftests/unit_health_fsm \
                      $(O)/selftests/netns_health
TEST_SUITES += $(HEALTH_TEST_SUITES)

$(O)/selftests/unit_health_codec: $(O)/selftests/health/unit_health_codec.o \
		$(O)/ctl/health/libxevpn_health.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--no-gc-sections $^ -o $@ $(LIBS_HEALTH) $(LIBS_CRIT)

$(O)/selftests/unit_health_fsm: $(O)/selftests/health/unit_health_fsm.o \
		$(O)/selftests/health/sim.o $(O)/ctl/health/libxevpn_health.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--no-gc-sections $^ -o $@ $(LIBS_HEALTH) $(LIBS_CRIT)

# The suite starts $(O)/xevpn-health (found next to itself: ../xevpn-health).
$(O)/selftests/netns_health: $(O)/selftests/health/netns_health.o \
		$(O)/selftests/lib/netns.o | $(O)/xevpn-health
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--no-gc-sections $(filter %.o,$^) -o $@ $(LIBS_MNL) $(LIBS_CRIT)
