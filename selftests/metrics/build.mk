# selftests/metrics: registry + exposition + EWMA (unit_metrics), and /metrics
# over real HTTP on loopback with promtool (unit_metrics_http).
# Criterion registers tests in a linker section nothing references:
# --no-gc-sections keeps --gc-sections from dropping every test.

METRICS_TEST_SUITES := $(O)/selftests/unit_metrics $(O)/selftests/unit_metrics_http
TEST_SUITES += $(METRICS_TEST_SUITES)

$(O)/selftests/unit_metrics: $(O)/selftests/metrics/unit_metrics.o $(METRICS_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--no-gc-sections $^ -o $@ $(LIBS_METRICS) $(LIBS_CRIT)

$(O)/selftests/unit_metrics_http: $(O)/selftests/metrics/unit_metrics_http.o $(METRICS_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--no-gc-sections $^ -o $@ $(LIBS_METRICS) $(LIBS_CRIT) -lpthread
