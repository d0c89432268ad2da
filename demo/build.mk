# make demo: demo/demo.sh runs $(O)/demo/fabric-demo, the 3-leaf fabric with
# a live view of both server links, a failover and a restore. It shares the
# fabric runner of selftests/fabric (libfabricrun) and the netns harness;
# both are read after this file, so their archives are named by path here.

DEMO_BIN := $(O)/demo/fabric-demo
BINS     += $(DEMO_BIN)

$(O)/demo/%.o: CFLAGS += -Wno-format-truncation

$(DEMO_BIN): $(O)/demo/fabric-demo.o $(O)/selftests/libfabricrun.a $(O)/selftests/libharness.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ $(HARNESS_LDLIBS) $(LIBS_JSON) -lpthread
