// SPDX-License-Identifier: BSD-2-Clause
/* yaml_guard.c - see yaml_guard.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>
#include "lib/yaml_guard.h"

int yaml_guard(const char *yaml, size_t len, int max_depth, const char *expected,
	       char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int depth = 0, ret = 0;
	bool done = false;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	while (!done && !ret) {
		if (!yaml_parser_parse(&parser, &ev)) {
			snprintf(err, errlen, "YAML syntax error: %s at line %lu column %lu",
				 parser.problem ? parser.problem : "unknown",
				 (unsigned long)parser.problem_mark.line + 1,
				 (unsigned long)parser.problem_mark.column + 1);
			ret = -EINVAL;
			break;
		}
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > max_depth) {
				snprintf(err, errlen, "(document): lists and mappings nested "
					 "deeper than %d levels at line %lu; expected %s",
					 max_depth, (unsigned long)ev.start_mark.line + 1, expected);
				ret = -EINVAL;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
			if (memchr(ev.data.scalar.value, '\0', ev.data.scalar.length)) {
				snprintf(err, errlen, "a string at line %lu contains a NUL "
					 "character (\"\\0\"); expected text without it",
					 (unsigned long)ev.start_mark.line + 1);
				ret = -EINVAL;
			}
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return ret;
}
