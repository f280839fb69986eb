/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * agent.h - `tcprio agent`: load, pin and attach the datapath, then keep its
 * maps in sync with the pods of this node on the Kubernetes API.
 */
#ifndef TCPRIO_AGENT_H
#define TCPRIO_AGENT_H

/* Run the agent until SIGTERM/SIGINT.  argv[0] is "agent".  Returns the
 * process exit code: 0 clean stop, 1 start-up failure, 2 bad usage. */
int cmd_agent(int argc, char **argv);

#endif
