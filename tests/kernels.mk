# The kernel matrix (tests/kernels/test_kernels.sh): boot Debian's 5.10,
# 6.1 and 6.12 kernels under qemu and run the datapath, node and traffic
# suites in each.  `make test` runs it too (it is one of the suites).
.PHONY: test-kernels
test-kernels: ## boot Debian's 5.10/6.1/6.12 kernels under qemu and run the datapath suites in each (root)
	./scripts/install-deps.sh
	$(MAKE) --no-print-directory all
	TCPRIO_KERNEL_MATRIX=1 ./tests/run_tests.sh tests/kernels/
