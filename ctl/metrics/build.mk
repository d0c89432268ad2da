# ctl/metrics: metrics registry + Prometheus exposition, /metrics over HTTP
# (libmicrohttpd on a libuv loop), EWMA traffic rates.
#
# Users link the static library and its libraries, e.g.
#   $(O)/xevpnd: ... $(O)/ctl/metrics/libxevpn_metrics.a
#   	$(CC) ... $(O)/ctl/metrics/libxevpn_metrics.a $(LIBS_METRICS)
# (fragments are included in sorted path order, so ctl/build.mk is read before
# this file: name the library path literally in prerequisites; variables used
# only inside recipes, like LIBS_METRICS, are fine anywhere).

METRICS_SRCS := ctl/metrics/metrics.c ctl/metrics/http.c ctl/metrics/ewma.c \
                ctl/metrics/xevpn_metrics.c
METRICS_OBJS := $(patsubst %.c,$(O)/%.o,$(METRICS_SRCS))
METRICS_LIB  := $(O)/ctl/metrics/libxevpn_metrics.a
LIBS_METRICS := -lmicrohttpd $(LIBS_UV) -lm

BINS += $(METRICS_LIB)

$(METRICS_LIB): $(METRICS_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^
