/* null_entry.c — an entry that returns NULL. */
#include "swarm_plugin.h"

SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    return NULL;
}
