/* sandbox.h — the Lua state a pipeline runs in (used by lswarm.c only).
 *
 * Base functions without dofile, loadfile and collectgarbage (load compiles text only), string without
 * dump, table, math, utf8, and a require that knows only "swarm"; no io, os, debug or package. The state
 * may hold SW_LUA_MEM_MAX bytes, counting the C copies the graph keeps of the pipeline's strings
 * (sw_sandbox_charge); running past the deadline stops it for good: from then on every instruction
 * raises, so pcall cannot go on. setmetatable refuses finalizers (Lua runs __gc with hooks off, out of
 * the deadline's reach), and string.find, match, gmatch and gsub refuse a call whose worst case could
 * pass SW_LUA_MATCH_COST steps (their backtracking runs in C, where the hook never runs). */
#ifndef SW_SANDBOX_H
#define SW_SANDBOX_H

#include <lua.h>
#include <stddef.h>

#define SW_LUA_MEM_MAX ((size_t)256 << 20) /* bytes a pipeline's Lua state may hold */
#define SW_LUA_SECONDS 10                   /* how long declaring the graph may take */
#define SW_LUA_MATCH_COST 1e9               /* the worst-case steps one pattern function call may take */
#define SW_LUA_TOO_MUCH "the pipeline used over 256 MiB of memory"

/* What a state may still use; owned by the caller, it must outlive the state. */
typedef struct {
    size_t mem;      /* bytes the state holds */
    size_t cmem;     /* bytes of C copies kept for the pipeline, charged to the same cap */
    double deadline; /* sw_now() after which the run stops */
    int expired;     /* the deadline passed (or the run was stopped): every instruction raises */
} sw_limits;

/* A new state under lim, its deadline SW_LUA_SECONDS from now, with the safe libraries; `require
 * "swarm"` opens open_swarm. NULL when Lua cannot make one. */
lua_State *sw_sandbox_new(sw_limits *lim, lua_CFunction open_swarm);
/* Stops the run for good: from the next instruction on, everything raises (also at lua_close). */
void sw_sandbox_stop(lua_State *L, sw_limits *lim);
/* Raises when the deadline has passed (for functions the pipeline calls). */
void sw_sandbox_check(lua_State *L, const sw_limits *lim);
/* Charges n bytes of C memory kept for the pipeline to the cap; raises past it. */
void sw_sandbox_charge(lua_State *L, sw_limits *lim, size_t n);
/* Pushes t[key] of the table at idx without metamethods and returns its type. */
int sw_rawfield(lua_State *L, int idx, const char *key);

#endif
