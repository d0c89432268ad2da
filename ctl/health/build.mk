# ctl/health: heartbeat engine (codec, state machine, libuv transport) as a
# static library for xevpnd, and xevpn-health, the engine alone on its own
# loop for debugging.
#
# Users link the library and its libraries (name the path literally in
# prerequisites: fragments are read in sorted path order):
#   $(O)/xevpnd: ... $(O)/ctl/health/libxevpn_health.a
#   	$(CC) ... $(O)/ctl/health/libxevpn_health.a $(LIBS_HEALTH)
# Include as "health/health.h" (ctl/ is on the include path).

HEALTH_SRCS := ctl/health/codec.c ctl/health/engine.c ctl/health/transport.c
HEALTH_OBJS := $(patsubst %.c,$(O)/%.o,$(HEALTH_SRCS))
HEALTH_LIB  := $(O)/ctl/health/libxevpn_health.a
LIBS_HEALTH  = $(LIBS_UV) $(LIBS_SSL)

BINS += $(HEALTH_LIB) $(O)/xevpn-health

$(HEALTH_LIB): $(HEALTH_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(O)/xevpn-health: $(O)/ctl/health/main.o $(HEALTH_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(LIBS_HEALTH)
