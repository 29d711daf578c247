/* dup_b.c — the same id as dup_a.c, found after it: skipped as a duplicate. */
#define TEST_ID "org.swarm.test.dup"
#include "test_plugin.h"
