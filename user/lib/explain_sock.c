/* SPDX-License-Identifier: BSD-2-Clause */
/* explain_sock.c - see explain_sock.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include "lib/explain_sock.h"

int explain_socket_path(const char *pin_dir, char *buf, size_t len)
{
	struct sockaddr_un sa;
	int n = snprintf(buf, len, "%s/explain%s.sock", EXPLAIN_SOCK_DIR, pin_dir);

	if (n < 0 || (size_t)n >= len || (size_t)n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	for (char *p = buf + strlen(EXPLAIN_SOCK_DIR) + 1; *p; p++)
		if (*p == '/')
			*p = '_';
	return 0;
}
