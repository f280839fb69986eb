// SPDX-License-Identifier: BSD-2-Clause
/* map_ops.c - the shapes of the maps the sync engine writes (map_ops.h). */
#include "sync/map_ops.h"

const struct sync_map_info sync_map_info[SYNC_MAP_COUNT] = {
	[SYNC_MAP_ENDPOINTS] = { "tcprio_endpoints", sizeof(struct tcprio_ip),
				 sizeof(struct tcprio_endpoint), TCPRIO_MAX_ENDPOINTS, false },
	[SYNC_MAP_PORT_RULES] = { "tcprio_port_rules", sizeof(struct tcprio_port_key),
				  sizeof(struct tcprio_port_rule), TCPRIO_MAX_PORT_RULES, false },
	[SYNC_MAP_PODS] = { "tcprio_pods", sizeof(__u64), sizeof(struct tcprio_pod),
			    TCPRIO_MAX_PODS, false },
	[SYNC_MAP_CLASSES] = { "tcprio_classes", sizeof(__u32), sizeof(struct tcprio_class),
			       TCPRIO_MAX_CLASSES, true },
	[SYNC_MAP_DSCP_CLASSES] = { "tcprio_dscp_classes", sizeof(__u32),
				    sizeof(struct tcprio_dscp_class), TCPRIO_DSCP_VALUES, true },
	[SYNC_MAP_CONFIG] = { "tcprio_config", sizeof(__u32), sizeof(struct tcprio_config), 1,
			      true },
	[SYNC_MAP_RULE_BLOCKS] = { "tcprio_rule_blocks", sizeof(__u32),
				   sizeof(struct tcprio_rule_block), TCPRIO_RULE_BLOCKS, true },
};
