/* param_default.c — a float param whose default does not parse as a float. */
#define TEST_ID "org.swarm.test.param-default"
#define TEST_PARAMS {"factor", SWARM_PARAM_FLOAT, "1.0x", "", NULL}
#include "test_plugin.h"
