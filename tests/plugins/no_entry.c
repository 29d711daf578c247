/* no_entry.c — a shared object without swarm_plugin_entry (its entry has another name, so the version
 * script hides it). */
#include "swarm_plugin.h"

SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_init(void)
{
    return NULL;
}
