/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * yaml_guard.h - a first pass over a YAML text (libyaml's event API) before
 * a document is built from it: libyaml's document loader takes time
 * quadratic in the nesting depth (80,000 levels: 8 s), and a scalar may hold
 * a NUL ("\0" escape) that C strings silently cut ("normal\0-evil" would
 * read as "normal").  Used by the class table and the kubeconfig parsers.
 */
#ifndef TCPRIO_YAML_GUARD_H
#define TCPRIO_YAML_GUARD_H

#include <stddef.h>

/* Scan len bytes of yaml (need not be NUL-terminated).  Stops at the first
 * of: a list or mapping nested deeper than max_depth, a scalar (key or
 * value) holding a NUL byte, a syntax error.  Returns 0, -EINVAL with err
 * (errlen bytes) saying which and where ("line N"), or -ENOMEM.  Cost:
 * linear in the bytes read up to the first problem. */
int yaml_guard(const char *yaml, size_t len, int max_depth, const char *expected,
	       char *err, size_t errlen);

#endif
