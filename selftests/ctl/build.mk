# Unit suites of the controller core (pure logic: no kernel, no gobgpd).
comma := ,
# Criterion registers tests in their own sections: no --gc-sections for suites.
CTL_UNIT_SUITES := unit_ctl_config unit_ctl_df unit_ctl_model

define ctl_unit_suite
$(O)/selftests/$(1): $(O)/selftests/ctl/$(1).o $(CTL_CORE_LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(filter-out -Wl$$(comma)--gc-sections,$$(LDFLAGS)) $$^ -o $$@ $$(LIBS_YAML) $$(LIBS_JSON) $$(LIBS_CRIT)
endef
$(foreach s,$(CTL_UNIT_SUITES),$(eval $(call ctl_unit_suite,$(s))))
$(O)/selftests/ctl/%.o: CFLAGS += -Wno-format-truncation

TEST_SUITES += $(addprefix $(O)/selftests/,$(CTL_UNIT_SUITES))
