# Stand-in CNI programs for the coexistence tests (tests/cni/).  The tool
# tests/cni/cni_attach.c is built by the generic TOOL_BINS rule.
CNI_STANDIN := $(BUILD)/tests/cni/cni_standin.bpf.o
tests: $(CNI_STANDIN)
$(CNI_STANDIN): tests/cni/cni_standin.bpf.c | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
