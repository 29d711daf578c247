/* bad_id.c — an id that is not reverse-DNS. */
#define TEST_ID "Swarm Test"
#include "test_plugin.h"
