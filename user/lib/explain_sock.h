/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * explain_sock.h - where a running agent answers `tcprio explain` queries:
 * a unix socket, mode 0600 owned by root, in EXPLAIN_SOCK_DIR (a bpffs pin
 * folder cannot hold sockets), one per pin folder so that several agents
 * (tests, two pin folders) do not collide.
 *
 * Protocol (read-only): the client sends one line, "pod NAMESPACE/NAME\n"
 * or "ip ADDRESS\n"; the agent answers one JSON document and closes.
 * The answer's shape: agent/explain.h.
 */
#ifndef TCPRIO_EXPLAIN_SOCK_H
#define TCPRIO_EXPLAIN_SOCK_H

#include <stddef.h>

#define EXPLAIN_SOCK_DIR "/run/tcprio"
#define EXPLAIN_SOCK_MAX_REQUEST 512   /* bytes of the request line */

/*
 * The socket path for pin_dir: EXPLAIN_SOCK_DIR "/explain" + pin_dir with
 * every '/' as '_' + ".sock", e.g. /sys/fs/bpf/tcprio ->
 * /run/tcprio/explain_sys_fs_bpf_tcprio.sock.  Returns 0, or -ENAMETOOLONG
 * when it does not fit len or a unix socket address (108 bytes).
 */
int explain_socket_path(const char *pin_dir, char *buf, size_t len);

#endif
