/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_main.h - included at the end of every tests/fuzz/fuzz_*.c harness.
 * Built by clang with -fsanitize=fuzzer (tests/fuzz.mk defines
 * TCPRIO_LIBFUZZER), libFuzzer supplies main.  Built by `make tests` with
 * the normal compiler, this main replays inputs instead: each argument is a
 * file or a folder of files, each file one call of LLVMFuzzerTestOneInput.
 * So a corpus or a crash artifact can be replayed where libFuzzer is
 * missing, e.g. under valgrind.
 */
#ifndef TCPRIO_LIBFUZZER
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Run one file through the harness.  0, or -1 if it cannot be read. */
static int fuzz_replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return -1;
	do {
		if (len == cap) {
			uint8_t *nb = realloc(buf, cap = cap ? cap * 2 : 4096);

			if (!nb) {
				free(buf);
				fclose(f);
				return -1;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int runs = 0, bad = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *e;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode) && (d = opendir(argv[i]))) {
			while ((e = readdir(d))) {
				char path[4096];

				if (e->d_name[0] == '.')
					continue;
				snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
				if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
					fuzz_replay_file(path) ? bad++ : runs++;
			}
			closedir(d);
		} else {
			fuzz_replay_file(argv[i]) ? bad++ : runs++;
		}
	}
	printf("replayed %d input(s), %d unreadable\n", runs, bad);
	return bad ? 1 : 0;
}
#endif
