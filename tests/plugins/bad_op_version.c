/* bad_op_version.c — op_version 0 (versions start at 1). */
#define TEST_ID "org.swarm.test.bad-op-version"
#define TEST_OP_VERSION 0
#include "test_plugin.h"
