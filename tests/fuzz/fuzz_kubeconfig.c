// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_kubeconfig.c - libFuzzer harness: kube_config_from_file over any
 * text, written to a memfd and read through /proc/self/fd (the parser
 * takes a path).  Relative file references resolve under /proc/self/fd,
 * where nothing useful lives.  Seeds: tests/fuzz/seeds/kubeconfig.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "kube/kube_client.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct kube_config c;
	char path[64], err[512];

	if (fd < 0) {
		log_set_level(LOG_LVL_WARN);
		fd = memfd_create("kubeconfig", MFD_CLOEXEC);
		if (fd < 0)
			abort();
	}
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (kube_config_from_file(&c, path, err, sizeof(err)) == 0)
		kube_config_free(&c);
	return 0;
}

#include "fuzz_main.h"
