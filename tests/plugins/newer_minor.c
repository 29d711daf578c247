/* newer_minor.c — built for a minor newer than the host's: refused, the reason naming both versions. */
#define TEST_ABI (SWARM_PLUGIN_ABI_VERSION + 1)
#define TEST_ID "org.swarm.test.newer-minor"
#include "test_plugin.h"
