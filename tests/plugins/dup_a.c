/* dup_a.c — loads; dup_b.c has the same id and is skipped as a duplicate. */
#define TEST_ID "org.swarm.test.dup"
#include "test_plugin.h"
