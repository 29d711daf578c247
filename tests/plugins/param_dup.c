/* param_dup.c — two params with one name. */
#define TEST_ID "org.swarm.test.param-dup"
#define TEST_PARAMS {"n", SWARM_PARAM_INT, "1", "", NULL}, {"n", SWARM_PARAM_FLOAT, "1", "", NULL}
#include "test_plugin.h"
