/* SPDX-License-Identifier: BSD-2-Clause */
/* STUB: subcommand dispatcher, replaced during integration. */
#include <stdio.h>
int main(int argc, char **argv) { fprintf(stderr, "tcprio: not built yet\n"); return 1; }
