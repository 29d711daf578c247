/* param_type.c — a param of an unknown type. */
#define TEST_ID "org.swarm.test.param-type"
#define TEST_PARAMS {"n", 42, "1", "", NULL}
#include "test_plugin.h"
