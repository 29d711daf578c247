/* wrong_major.c — built for plugin ABI 2.0: refused, the reason naming both versions. */
#define TEST_ABI ((2u << 16) | 0u)
#define TEST_ID "org.swarm.test.wrong-major"
#include "test_plugin.h"
