# selftests/lib: the netns test library (namespaces, veths, processes, bpffs),
# gobgpd in a namespace, and the DESIGN.md fabric topology, in one archive
# that netns/fabric suites link:
#
#   $(O)/selftests/my_suite: my_suite.o $(O)/selftests/libharness.a
#   	$(CC) $(LDFLAGS) -Wl,--no-gc-sections $^ -o $@ $(HARNESS_LDLIBS) $(LIBS_CRIT)
#
# Fragments are included in alphabetical order, so a fragment that sorts
# before this one sees HARNESS_LIB empty while its rules are read: there,
# write the path $(O)/selftests/libharness.a in prerequisites (HARNESS_LDLIBS
# is fine in recipes, which expand late).

HARNESS_SRCS   := selftests/lib/netns.c selftests/lib/gobgpd.c selftests/lib/fabric.c
HARNESS_OBJS   := $(patsubst %.c,$(O)/%.o,$(HARNESS_SRCS))
HARNESS_LIB    := $(O)/selftests/libharness.a
HARNESS_LDLIBS  = $(LIBS_BPF) $(LIBS_MNL) -ljansson

# fabric.c includes the LAG skeleton
$(O)/selftests/lib/fabric.o: | $(BPF_O)/lag.skel.h
# names and paths are capped on purpose (IFNAMSIZ, PATH_MAX)
$(HARNESS_OBJS): CFLAGS += -Wno-format-truncation

$(HARNESS_LIB): $(HARNESS_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^
