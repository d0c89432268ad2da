# gobgp-bridge: EVPN routes <-> GoBGP gRPC API.
#
# C code for GoBGP's API is generated at build time from the .proto files
# Debian installs (golang-github-osrg-gobgp-dev) plus the protobuf well-known
# types they import (libprotobuf-dev, /usr/include/google/protobuf).

GOBGP_API_DIR   ?= /usr/share/gocode/src/github.com/osrg/gobgp/api
GOBGP_PROTOS    := gobgp attribute capability
GOBGP_WKT       := google/protobuf/any google/protobuf/empty google/protobuf/timestamp
GOBGP_GEN_BASES := $(GOBGP_PROTOS) $(GOBGP_WKT)
GOBGP_GEN_C     := $(patsubst %,$(GEN)/%.pb-c.c,$(GOBGP_GEN_BASES))
GOBGP_GEN_H     := $(patsubst %,$(GEN)/%.pb-c.h,$(GOBGP_GEN_BASES))
GOBGP_GEN_STAMP := $(GEN)/.gobgp-protos.stamp
GEN_HDRS        += $(GOBGP_GEN_H)

# One protoc-c run writes every file; the stamp makes that a single rule.
$(GOBGP_GEN_STAMP): $(patsubst %,$(GOBGP_API_DIR)/%.proto,$(GOBGP_PROTOS)) gobgp-bridge/build.mk
	@mkdir -p $(GEN)
	$(PROTOC_C) -I$(GOBGP_API_DIR) -I/usr/include --c_out=$(GEN) \
		$(patsubst %,%.proto,$(GOBGP_PROTOS) $(GOBGP_WKT))
	@touch $@
$(GOBGP_GEN_C) $(GOBGP_GEN_H): $(GOBGP_GEN_STAMP) ;

GOBGP_BRIDGE_SRCS := gobgp-bridge/codec.c gobgp-bridge/client.c
GOBGP_BRIDGE_OBJS := $(patsubst %.c,$(O)/%.o,$(GOBGP_BRIDGE_SRCS))
GOBGP_GEN_OBJS    := $(patsubst %,$(O)/gen/%.pb-c.o,$(GOBGP_GEN_BASES))
GOBGP_BRIDGE_LIB  := $(O)/gobgp-bridge/libgobgp-bridge.a

# Consumers link $(GOBGP_BRIDGE_LIB) $(GOBGP_BRIDGE_LDLIBS).
GOBGP_BRIDGE_LDLIBS := $(LIBS_GRPC) $(LIBS_UV) -lpthread

$(GOBGP_BRIDGE_OBJS) $(GOBGP_GEN_OBJS): | $(GOBGP_GEN_STAMP)

$(GOBGP_BRIDGE_LIB): $(GOBGP_BRIDGE_OBJS) $(GOBGP_GEN_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

BINS += $(GOBGP_BRIDGE_LIB)
