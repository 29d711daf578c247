/* sandbox.c — the Lua state a pipeline runs in (see sandbox.h). */
#include "lua/sandbox.h"
#include "base/util.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#define SW_LIMITS_KEY "swarm.limits" /* the registry's light userdata: the state's sw_limits */

static sw_limits *sw_limits_of(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, SW_LIMITS_KEY);
    sw_limits *lim = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return lim;
}

int sw_rawfield(lua_State *L, int idx, const char *key)
{
    lua_pushstring(L, key);
    return lua_rawget(L, idx < 0 ? idx - 1 : idx);
}

void sw_sandbox_charge(lua_State *L, sw_limits *lim, size_t n)
{
    if (n > SW_LUA_MEM_MAX || lim->mem + lim->cmem + n > SW_LUA_MEM_MAX)
        luaL_error(L, SW_LUA_TOO_MUCH);
    lim->cmem += n;
}

void sw_sandbox_check(lua_State *L, const sw_limits *lim)
{
    if (lim->expired)
        luaL_error(L, "the pipeline ran for over %d s without finishing its declarations", SW_LUA_SECONDS);
}

/* require: "swarm" only (upvalue 1: the function that opens it). */
static int sw_l_require(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    if (strcmp(name, "swarm"))
        return luaL_error(L, "require '%s': a pipeline can only require \"swarm\"", name);
    luaL_requiref(L, "swarm", lua_tocfunction(L, lua_upvalueindex(1)), 0);
    return 1;
}

/* load: text chunks from strings only (binary chunks can break the VM's invariants). */
static int sw_l_load(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *name = luaL_optstring(L, 2, "=(load)");
    int env = !lua_isnone(L, 4);
    if (luaL_loadbufferx(L, s, n, name, "t") != LUA_OK) {
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    if (env) {
        lua_pushvalue(L, 4);
        if (!lua_setupvalue(L, -2, 1))
            lua_pop(L, 1);
    }
    return 1;
}

/* The allocator: Lua's own, with a cap on the state's total. */
static void *sw_lalloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    sw_limits *lim = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        lim->mem -= old;
        return NULL;
    }
    if (nsize > old && lim->mem + lim->cmem - old + nsize > SW_LUA_MEM_MAX)
        return NULL;
    void *p = realloc(ptr, nsize);
    if (p)
        lim->mem = lim->mem - old + nsize;
    return p;
}

/* Stops the pipeline for good once the deadline has passed: from then on the hook runs at every instruction
 * and raises, so a pcall that catches the error cannot go on. */
static void sw_lhook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    sw_limits *lim = sw_limits_of(L);
    if (!lim->expired && sw_now() <= lim->deadline)
        return;
    if (!lim->expired)
        lua_sethook(L, sw_lhook, LUA_MASKCOUNT, 1);
    lim->expired = 1;
    luaL_error(L, "the pipeline ran for over %d s without finishing its declarations", SW_LUA_SECONDS);
}

/* setmetatable without finalizers: Lua runs __gc with hooks off (during any allocation, and at lua_close
 * after the pipeline has failed), out of the time limit's reach. */
static int sw_l_setmetatable(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TTABLE && sw_rawfield(L, 2, "__gc") != LUA_TNIL)
        return luaL_error(L, "setmetatable: a pipeline cannot set finalizers (__gc)");
    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 2, 1);
    return 1;
}

/* The worst-case steps of Lua's matcher for a pattern p (m bytes) over n bytes of subject, from every
 * start: each item repeated by '*', '+' or '-' (and each %b or back-reference) may try every length, '?'
 * two, so the product over the items, times n + 1 starts, times m per attempt. */
static double sw_match_cost(const char *p, size_t m, size_t n)
{
    double per = 1;
    for (size_t i = 0; i < m;) {
        size_t e = i + 1; /* the end of the single-character class at i */
        if (p[i] == '%' && i + 1 < m && (p[i + 1] == 'b' || (p[i + 1] >= '1' && p[i + 1] <= '9'))) {
            per *= (double)n + 1;
            i += p[i + 1] == 'b' ? 4 : 2;
            continue;
        }
        if (p[i] == '%') {
            e = i + 2;
        } else if (p[i] == '[') {
            e += e < m && p[e] == '^';
            do /* as Lua's classEnd: the first ']' is a member */
                e += p[e] == '%' ? 2 : 1;
            while (e < m && p[e] != ']');
            e++;
        }
        if (e < m && (p[e] == '*' || p[e] == '+' || p[e] == '-'))
            per *= (double)n + 1, e++;
        else if (e < m && p[e] == '?')
            per *= 2, e++;
        i = e;
    }
    return per * ((double)n + 1) * ((double)m + 1);
}

/* string.find, match, gmatch and gsub (the original at upvalue 1; upvalue 2: whether it is find, whose 4th
 * argument asks for a plain search) behind a bound on their work: the matcher
 * backtracks in C, where the time limit's hook never runs, so a call whose worst case passes
 * SW_LUA_MATCH_COST steps is refused. */
static int sw_l_match_guard(lua_State *L)
{
    size_t n, m;
    luaL_checklstring(L, 1, &n);
    const char *p = luaL_checklstring(L, 2, &m);
    int plain = lua_toboolean(L, lua_upvalueindex(2)) && lua_toboolean(L, 4);
    double cost = plain ? ((double)n + 1) * ((double)m + 1) : sw_match_cost(p, m, n);
    if (cost > SW_LUA_MATCH_COST)
        return luaL_error(L, "a pattern of %I bytes over %I bytes of text could take too long in a pipeline (its "
                          "repetitions try every length: use a shorter text or a simpler pattern)", (lua_Integer)m,
                          (lua_Integer)n);
    int nargs = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, nargs, LUA_MULTRET);
    return lua_gettop(L);
}

/* Puts sw_l_match_guard in front of the string table's (at -1) pattern functions. */
static void sw_guard_patterns(lua_State *L)
{
    static const char *const fns[] = {"find", "match", "gmatch", "gsub", NULL};
    for (size_t i = 0; fns[i]; i++) {
        lua_getfield(L, -1, fns[i]);
        lua_pushboolean(L, i == 0);
        lua_pushcclosure(L, sw_l_match_guard, 2);
        lua_setfield(L, -2, fns[i]);
    }
}

/* Opens the safe standard libraries and removes what could reach outside the sandbox. */
static void sw_sandbox_open(lua_State *L, lua_CFunction open_swarm)
{
    static const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},       {LUA_TABLIBNAME, luaopen_table},
                                    {LUA_STRLIBNAME, luaopen_string}, {LUA_MATHLIBNAME, luaopen_math},
                                    {LUA_UTF8LIBNAME, luaopen_utf8},  {NULL, NULL}};
    for (const luaL_Reg *l = libs; l->func; l++) {
        luaL_requiref(L, l->name, l->func, 1);
        lua_pop(L, 1);
    }
    static const char *const removed[] = {"dofile", "loadfile", "collectgarbage", NULL};
    for (size_t i = 0; removed[i]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, removed[i]);
    }
    lua_getglobal(L, "string");
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    sw_guard_patterns(L);
    lua_pop(L, 1);
    lua_getglobal(L, "setmetatable");
    lua_pushcclosure(L, sw_l_setmetatable, 1);
    lua_setglobal(L, "setmetatable");
    lua_pushcfunction(L, sw_l_load);
    lua_setglobal(L, "load");
    lua_pushcfunction(L, open_swarm);
    lua_pushcclosure(L, sw_l_require, 1);
    lua_setglobal(L, "require");
}

lua_State *sw_sandbox_new(sw_limits *lim, lua_CFunction open_swarm)
{
    lim->deadline = sw_now() + SW_LUA_SECONDS;
    lua_State *L = lua_newstate(sw_lalloc, lim);
    if (!L)
        return NULL;
    lua_pushlightuserdata(L, lim);
    lua_setfield(L, LUA_REGISTRYINDEX, SW_LIMITS_KEY);
    sw_sandbox_open(L, open_swarm);
    lua_sethook(L, sw_lhook, LUA_MASKCOUNT, 1 << 20);
    return L;
}

void sw_sandbox_stop(lua_State *L, sw_limits *lim)
{
    lim->expired = 1;
    lua_sethook(L, sw_lhook, LUA_MASKCOUNT, 1);
}

