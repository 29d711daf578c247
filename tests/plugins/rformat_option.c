/* rformat_option.c — a records format param named like an option of swarm.write ("compress"). */
#define TEST_ID "org.swarm.test.rformat-option"
#define TEST_RFORMAT_PARAMS {"compress", SWARM_PARAM_STRING, "", "", NULL}
#include "test_plugin.h"
