/* lswarm.c — the `swarm` module (luaopen_swarm) whose functions declare stages into an sw_graph, and
 * the evaluation of a pipeline file in the sandbox (sandbox.h: safe libraries, memory and time limits).
 *
 * Files: a pipeline names paths only through swarm.input, swarm.write and path params, and a path must
 * be a --set value given by the user or a relative path without ".." that resolves (through symbolic
 * links) beneath the current directory: a pipeline from someone else cannot reach beyond what it is given.
 *
 * The swarm.* functions read the caller's tables raw (no metamethod runs while they build a stage), build
 * a stage apart and add it to the graph only when it is whole, and refuse a call made while another runs
 * (from a message handler).
 *
 * Over 850 lines: the five swarm.* functions share one context, the option readers and the pending-stage
 * protocol (sw_enter, sw_commit); the sandbox itself is sandbox.c. */
#include "lua/lswarm.h"
#include "lua/sandbox.h"
#include "base/error.h"
#include "pipeline/compress.h"
#include "bundle/bundle.h"
#include "bundle/names.h"
#include "base/util.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SW_VALUE_MT "swarm.value"
#define SW_PARAMS_MT "swarm.params" /* the params table's metatable (its __metatable hides it) */

/* Everything the module's functions need, kept in the Lua registry as a light userdata. */
typedef struct {
    sw_graph *g;
    const sw_plugins *ps;
    sw_catalog *cat;
    const char *const *keys, *const *vals;
    size_t nsets;
    sw_load_mode mode;
    int params_declared;
    sw_pparams decl; /* the declared params, once swarm.params has run */
    int stopped;     /* SW_LOAD_PARAMS: the declarations are read and the evaluation stopped */
    sw_limits lim;   /* memory and time (sandbox.h) */
    int busy;        /* a swarm.* call runs */
    sw_stage pending; /* the stage the running swarm.* call builds, added to the graph when whole */
} sw_lctx;

/* A value in Lua: the stage that yields it. */
typedef struct {
    size_t stage;
} sw_lvalue;

static sw_lctx *sw_ctx(lua_State *L)
{
    return *(sw_lctx **)lua_getextraspace(L);
}

/* Charges n bytes of C memory kept for the pipeline to its memory cap; raises past the cap. */
static void sw_charge(lua_State *L, size_t n)
{
    sw_sandbox_charge(L, &sw_ctx(L)->lim, n);
}

/* A C copy of a string of the pipeline's, charged to the memory cap. */
static char *sw_lstrdup(lua_State *L, const char *s)
{
    sw_charge(L, strlen(s) + 1);
    return sw_strdup(s);
}

/* Pushes a table key's text for a message: strings and numbers as they are, other keys by type (their
 * __tostring must not run). */
static const char *sw_key_text(lua_State *L, int idx)
{
    int t = lua_type(L, idx);
    if (t == LUA_TSTRING || t == LUA_TNUMBER)
        return luaL_tolstring(L, idx, NULL);
    return lua_pushfstring(L, "(a %s)", luaL_typename(L, idx));
}

/* Ends a swarm.* call however it ends (returning or raising: the __close of the slot sw_enter marks):
 * nothing runs any more, and a stage left half built is freed. */
static int sw_l_leave(lua_State *L)
{
    sw_lctx *c = sw_ctx(L);
    c->busy = 0;
    sw_stage_clear(&c->pending);
    return 0;
}

/* Registers the value whose __close ends each swarm.* call (sw_enter). */
static void sw_leave_register(lua_State *L)
{
    lua_newtable(L);
    lua_newtable(L);
    lua_pushcfunction(L, sw_l_leave);
    lua_setfield(L, -2, "__close");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, "swarm.leave");
}

/* Begins a swarm.* call named fn with its first nargs arguments: refuses it past the deadline or while
 * another swarm.* call runs (the stage array and the pending stage are not for two at once), and marks a
 * to-be-closed slot that calls sw_l_leave when the call ends. */
static sw_lctx *sw_enter(lua_State *L, int nargs, const char *fn)
{
    sw_lctx *c = sw_ctx(L);
    sw_sandbox_check(L, &c->lim);
    if (c->busy)
        luaL_error(L, "%s cannot be called while another swarm call runs", fn);
    lua_settop(L, nargs);
    lua_getfield(L, LUA_REGISTRYINDEX, "swarm.leave");
    lua_toclose(L, -1);
    c->busy = 1;
    return c;
}

/* "FILE:LINE" of the pipeline code calling the current C function. */
static char *sw_where(lua_State *L)
{
    luaL_where(L, 1);
    size_t n;
    const char *w = lua_tolstring(L, -1, &n);
    char *s = sw_sprintf("%.*s", (int)(n >= 2 ? n - 2 : n), w); /* drop ": " */
    lua_pop(L, 1);
    return s;
}

/* Raises the thread's sw_error message as a Lua error at the caller's line. */
static int sw_lraise(lua_State *L)
{
    return luaL_error(L, "%s", sw_error_last());
}

/* ---- Values ----------------------------------------------------------------------------------------- */

static void sw_push_value(lua_State *L, size_t stage)
{
    sw_lvalue *v = lua_newuserdatauv(L, sizeof *v, 0);
    v->stage = stage;
    luaL_setmetatable(L, SW_VALUE_MT);
}

/* The index of the stage whose value is at arg; raises when it is not a value. Stages are held by index:
 * the graph's array moves as it grows. */
static size_t sw_check_value(lua_State *L, int arg)
{
    sw_lvalue *v = luaL_testudata(L, arg, SW_VALUE_MT);
    if (!v)
        luaL_argerror(L, arg, "expected a value made by swarm.input, swarm.read or swarm.op");
    return v->stage;
}

/* The stage at index i. */
static const sw_stage *sw_stage_at(lua_State *L, size_t i)
{
    return &sw_ctx(L)->g->v[i];
}

static int sw_value_tostring(lua_State *L)
{
    const sw_stage *s = sw_stage_at(L, sw_check_value(L, 1));
    lua_pushfstring(L, "%s from stage '%s'", sw_valkind_name(s->out), s->name);
    return 1;
}

/* ---- Paths ------------------------------------------------------------------------------------------ */

/* Whether path is a --set value: the user's own choice, wherever it leads. */
static int sw_path_given(const sw_lctx *c, const char *path)
{
    for (size_t i = 0; i < c->nsets; i++)
        if (!strcmp(c->vals[i], path))
            return 1;
    return 0;
}

/* Whether the pipeline's own path text stays put: relative, without "..". */
static int sw_path_relative(const char *path)
{
    if (!*path || path[0] == '/')
        return 0;
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return 0;
        p += n + (p[n] == '/');
    }
    return 1;
}

/* Raises unless the pipeline may touch path: a --set value, or a relative path without ".." that
 * resolves (through symbolic links; for a path still to be made, its deepest existing ancestor) beneath
 * the current directory. */
static void sw_check_path(lua_State *L, const char *path, const char *what)
{
    if (sw_path_given(sw_ctx(L), path))
        return;
    if (!sw_path_relative(path))
        luaL_error(L, "%s '%s' is outside the pipeline's reach: give it with --set, or use a relative path "
                      "without '..'", what, path);
    char *cwd = NULL, *real = NULL;
    int r = sw_path_resolve(&cwd, ".");
    if (!r)
        r = sw_path_resolve(&real, path);
    int inside = !r && sw_path_beneath(cwd, real);
    free(cwd);
    free(real);
    if (r)
        luaL_error(L, "%s '%s': %s", what, path, sw_error_last());
    if (!inside)
        luaL_error(L, "%s '%s' leads outside the current directory through a symbolic link: give it with --set "
                      "if that is meant", what, path);
}

/* ---- Stage options ---------------------------------------------------------------------------------- */

/* opts[key] as a string, or NULL when absent; raises when present but not a string. */
static const char *sw_opt_string(lua_State *L, int opts, const char *key)
{
    if (opts == 0)
        return NULL;
    sw_rawfield(L, opts, key);
    const char *s = NULL;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "option '%s' must be a string", key);
        s = lua_tostring(L, -1);
    }
    lua_pop(L, 1);
    return s;
}

/* Refuses keys of an options table that are not in allowed (NULL-terminated). */
static void sw_opts_only(lua_State *L, int opts, const char *const *allowed, const char *fn)
{
    if (opts == 0)
        return;
    lua_pushnil(L);
    while (lua_next(L, opts)) {
        lua_pop(L, 1);
        int ok = 0;
        if (lua_type(L, -1) == LUA_TSTRING)
            for (size_t i = 0; allowed[i] && !ok; i++)
                ok = !strcmp(lua_tostring(L, -1), allowed[i]);
        if (!ok) {
            char list[256] = "";
            for (size_t i = 0; allowed[i]; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", allowed[i]);
            luaL_error(L, "%s: unknown option '%s' (options: %s)", fn, sw_key_text(L, -1), list);
        }
    }
}

/* The options table at arg (0 when absent). */
static int sw_opts_arg(lua_State *L, int arg)
{
    if (lua_isnoneornil(L, arg))
        return 0;
    luaL_checktype(L, arg, LUA_TTABLE);
    return arg;
}

/* The stage the running swarm.* call builds, empty, of kind: added to the graph by sw_commit when whole
 * (freed by sw_l_leave when the call raises first). */
static sw_stage *sw_pending(lua_State *L, sw_stagekind kind)
{
    sw_stage *s = &sw_ctx(L)->pending;
    sw_stage_clear(s);
    s->kind = kind;
    return s;
}

/* Gives the pending stage its inputs (n of them), adds it to the graph named name (NULL: from
 * base) and pushes its value; raises on a taken name or a bad one. */
static int sw_commit(lua_State *L, const size_t *in, size_t n, const char *name, const char *base)
{
    sw_lctx *c = sw_ctx(L);
    if (name) {
        int ok = *name != 0 && strlen(name) <= 64;
        for (const char *p = name; *p && ok; p++)
            ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                 strchr("_.-", *p);
        if (!ok)
            luaL_error(L, "stage name '%s' is not [A-Za-z0-9_.-]+ (at most 64)", name);
    }
    char *where = sw_where(L);
    lua_pushstring(L, where); /* freed by Lua if charging raises */
    free(where);
    sw_charge(L, sizeof(sw_stage) + n * sizeof *in + lua_rawlen(L, -1) + 2 * (strlen(name ? name : base) + 16));
    if (n) {
        c->pending.inputs = sw_malloc(n * sizeof *in);
        memcpy(c->pending.inputs, in, n * sizeof *in);
    }
    c->pending.ninputs = n;
    size_t index;
    if (sw_graph_add(&index, c->g, &c->pending, name, base, lua_tostring(L, -1)))
        return sw_lraise(L);
    sw_push_value(L, index);
    return 1;
}

/* ---- swarm.params ----------------------------------------------------------------------------------- */

/* Reads the declaration of the parameter at -2 (name) / -1 (doc or { DEFAULT, DOC }) into p; raises on
 * a malformed one. The copies are charged to the memory cap and owned by the context's list. */
static void sw_param_decl(lua_State *L, sw_pparam *p)
{
    if (lua_type(L, -2) != LUA_TSTRING)
        luaL_error(L, "swarm.params: parameter names must be strings");
    const char *key = lua_tostring(L, -2), *def = NULL, *doc = "";
    if (lua_istable(L, -1)) {
        if (lua_rawgeti(L, -1, 1) != LUA_TSTRING && !lua_isnumber(L, -1))
            luaL_error(L, "swarm.params: '%s' = { DEFAULT, DOC } needs a default string", key);
        def = lua_tostring(L, -1);
        if (lua_rawgeti(L, -2, 2) == LUA_TSTRING)
            doc = lua_tostring(L, -1);
        lua_pop(L, 2);
    } else if (!lua_isstring(L, -1)) {
        luaL_error(L, "swarm.params: '%s' must be \"doc\" (required) or { DEFAULT, \"doc\" }", key);
    } else {
        doc = lua_tostring(L, -1);
    }
    p->name = sw_lstrdup(L, key);
    p->def = def ? sw_lstrdup(L, def) : NULL;
    p->doc = sw_lstrdup(L, doc);
}

static int sw_pparam_cmp(const void *a, const void *b)
{
    return strcmp(((const sw_pparam *)a)->name, ((const sw_pparam *)b)->name);
}

/* Reads the declarations in the table at 1 into the context's list, sorted by name. */
static void sw_params_read(lua_State *L, sw_pparams *d)
{
    size_t cap = 0;
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        sw_grow(&d->v, &cap, d->n + 1, sizeof *d->v);
        d->v[d->n] = (sw_pparam){0};
        sw_param_decl(L, &d->v[d->n++]);
        lua_pop(L, 1);
    }
    if (d->n)
        qsort(d->v, d->n, sizeof *d->v, sw_pparam_cmp);
}

/* The declared parameter called name, or NULL. */
static const sw_pparam *sw_param_find(const sw_lctx *c, const char *name)
{
    for (size_t i = 0; i < c->decl.n; i++)
        if (!strcmp(c->decl.v[i].name, name))
            return &c->decl.v[i];
    return NULL;
}

/* The --set value for key, or NULL. */
static const char *sw_set_value(const sw_lctx *c, const char *key)
{
    for (size_t i = 0; i < c->nsets; i++)
        if (!strcmp(c->keys[i], key))
            return c->vals[i];
    return NULL;
}

/* The names of the declared parameters (pointers into the context's list; caller frees the array). */
static const char **sw_param_names(const sw_lctx *c)
{
    const char **names = sw_malloc((c->decl.n ? c->decl.n : 1) * sizeof *names);
    for (size_t i = 0; i < c->decl.n; i++)
        names[i] = c->decl.v[i].name;
    return names;
}

/* Raises for the first --set key the pipeline does not declare, suggesting the nearest declared name. */
static void sw_params_unknown_sets(lua_State *L, const sw_lctx *c)
{
    for (size_t i = 0; i < c->nsets; i++) {
        if (sw_param_find(c, c->keys[i]))
            continue;
        const char **names = sw_param_names(c);
        const char *near = sw_nearest(c->keys[i], names, c->decl.n);
        free(names);
        luaL_error(L, "--set %s: the pipeline has no parameter '%s'%s%s%s", c->keys[i], c->keys[i],
                   near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    }
}

/* Appends text to the string on top of the stack (Lua owns it: nothing leaks when a later step raises). */
static void sw_lappend(lua_State *L, const char *text)
{
    lua_pushstring(L, text);
    lua_concat(L, 2);
}

/* Raises naming every required parameter that --set does not give, all at once. */
static void sw_params_missing(lua_State *L, const sw_lctx *c)
{
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++) { /* the names, then the --set options to give */
        lua_pushliteral(L, "");
        n = 0;
        for (size_t i = 0; i < c->decl.n; i++) {
            const char *name = c->decl.v[i].name;
            if (c->decl.v[i].def || sw_set_value(c, name))
                continue;
            lua_pushfstring(L, pass ? "%s--set %s=VALUE" : "%s'%s'", n++ ? (pass ? " " : ", ") : "", name);
            lua_concat(L, 2);
        }
    }
    if (n)
        luaL_error(L, "parameter%s %s %s required: give %s with %s", n > 1 ? "s" : "", lua_tostring(L, -2),
                   n > 1 ? "are" : "is", n > 1 ? "them" : "it", lua_tostring(L, -1));
    lua_pop(L, 2);
}

/* The params table's __index: a parameter the pipeline did not declare is a mistake, not nil; raises at
 * the pipeline's line with the nearest declared name (the table's keys), or else the list of them. */
static int sw_l_param_unknown(lua_State *L)
{
    const sw_lctx *c = sw_ctx(L);
    const char *key = sw_key_text(L, 2);
    const char **names = sw_param_names(c);
    const char *near = lua_type(L, 2) == LUA_TSTRING ? sw_nearest(key, names, c->decl.n) : NULL;
    free(names);
    if (near)
        return luaL_error(L, "unknown parameter '%s' (did you mean '%s'?)", key, near);
    lua_pushstring(L, c->decl.n ? "the pipeline's parameters: " : "the pipeline declares none");
    for (size_t i = 0; i < c->decl.n; i++) {
        sw_lappend(L, i ? ", " : "");
        sw_lappend(L, c->decl.v[i].name);
    }
    return luaL_error(L, "unknown parameter '%s' (%s)", key, lua_tostring(L, -1));
}

/* Stops a `pipeline params` evaluation once the declarations are read: nothing of the pipeline runs after
 * swarm.params (every instruction raises, as past the deadline, so a pcall cannot go on). */
static int sw_params_stop(lua_State *L, sw_lctx *c)
{
    c->stopped = 1;
    sw_sandbox_stop(L, &c->lim);
    return luaL_error(L, "swarm.params: declarations read");
}

/* swarm.params { NAME = "doc" | { DEFAULT, "doc" }, ... } → a table of the values: --set's, else the
 * default; a param without a default must be set (in a graph, a missing one reads "<NAME>"). Every --set
 * key must be declared; reading an undeclared name from the table raises (sw_l_param_unknown). */
static int sw_l_params(lua_State *L)
{
    sw_lctx *c = sw_enter(L, 1, "swarm.params");
    luaL_checktype(L, 1, LUA_TTABLE);
    if (c->params_declared++)
        return luaL_error(L, "swarm.params may be called once");
    sw_params_read(L, &c->decl);
    if (c->mode == SW_LOAD_PARAMS)
        return sw_params_stop(L, c);
    sw_params_unknown_sets(L, c);
    if (c->mode == SW_LOAD_RUN)
        sw_params_missing(L, c);
    lua_createtable(L, 0, (int)c->decl.n);
    for (size_t i = 0; i < c->decl.n; i++) {
        const sw_pparam *p = &c->decl.v[i];
        const char *val = sw_set_value(c, p->name);
        if (val || p->def)
            lua_pushstring(L, val ? val : p->def);
        else
            lua_pushfstring(L, "<%s>", p->name);
        lua_setfield(L, -2, p->name);
    }
    luaL_setmetatable(L, SW_PARAMS_MT);
    return 1;
}

/* ---- swarm.input ------------------------------------------------------------------------------------ */

/* Splits "NAME@VERSION[/PATH]" when the text has that form. */
static int sw_split_ref(char **name, char **version, char **sub, const char *text)
{
    const char *at = strchr(text, '@');
    if (!at || memchr(text, '/', (size_t)(at - text)))
        return 0;
    const char *slash = strchr(at, '/');
    char *ref = slash ? sw_sprintf("%.*s", (int)(slash - text), text) : sw_strdup(text);
    int r = sw_ref_parse(name, version, ref, 0);
    free(ref);
    if (r)
        return 0;
    *sub = slash && slash[1] ? sw_strdup(slash + 1) : NULL;
    return 1;
}

/* swarm.input(PATH | "NAME@VERSION[/PATH]" [, {name=}]) → files. The input must exist now. */
static int sw_l_input(lua_State *L)
{
    sw_lctx *c = sw_enter(L, 2, "swarm.input");
    const char *text = luaL_checkstring(L, 1);
    int opts = sw_opts_arg(L, 2);
    static const char *const allowed[] = {"name", NULL};
    sw_opts_only(L, opts, allowed, "swarm.input");
    char *name = NULL, *version = NULL, *sub = NULL;
    struct stat st;
    sw_charge(L, 2 * (lua_rawlen(L, 1) + 1)); /* the copies below: the path, or NAME, VERSION and PATH */
    if (sw_split_ref(&name, &version, &sub, text) && stat(text, &st) != 0) {
        sw_manifest *m = NULL;
        if (c->cat &&
            (sw_bundle_version(&version, c->cat, name) || sw_catalog_read(&m, c->cat, name, version))) {
            free(name);
            free(version);
            free(sub);
            return sw_lraise(L);
        }
        int missing = m && sub && !sw_manifest_find(m, sub);
        sw_manifest_free(m);
        if (missing) {
            lua_pushfstring(L, "input %s: the version has no file '%s'", text, sub);
            free(name);
            free(version);
            free(sub);
            return lua_error(L);
        }
        sw_stage *s = sw_pending(L, SW_STAGE_INPUT);
        s->bundle = name;
        s->version = version;
        s->subpath = sub;
        s->out = SW_VAL_FILES;
        return sw_commit(L, NULL, 0, sw_opt_string(L, opts, "name"), "input");
    }
    sw_check_path(L, text, "input");
    int present = stat(text, &st) == 0;
    if (!present && c->mode == SW_LOAD_RUN)
        return luaL_error(L, "input '%s' does not exist", text);
    if (present && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return luaL_error(L, "input '%s' is not a file or a directory", text);
    sw_stage *s = sw_pending(L, SW_STAGE_INPUT);
    s->path = sw_strdup(text);
    s->out = SW_VAL_FILES;
    return sw_commit(L, NULL, 0, sw_opt_string(L, opts, "name"), "input");
}

/* The Lua value at idx as the text of param p, checked by sw_param_parse; raises on a mistyped value. */
static char *sw_param_text(lua_State *L, int idx, const swarm_param *p, const char *what)
{
    char *text = NULL;
    int t = lua_type(L, idx);
    if (t == LUA_TBOOLEAN && p->type == SWARM_PARAM_BOOL)
        text = sw_strdup(lua_toboolean(L, idx) ? "true" : "false");
    else if (t == LUA_TNUMBER && lua_isinteger(L, idx) && (p->type == SWARM_PARAM_INT || p->type == SWARM_PARAM_FLOAT))
        text = sw_sprintf("%lld", (long long)lua_tointeger(L, idx));
    else if (t == LUA_TNUMBER && p->type == SWARM_PARAM_FLOAT)
        text = sw_sprintf("%.17g", lua_tonumber(L, idx));
    else if (t == LUA_TSTRING)
        text = sw_strdup(lua_tostring(L, idx));
    else
        luaL_error(L, "%s: param '%s' must be %s %s, not %s", what, p->name,
                   p->type == SWARM_PARAM_INT || p->type == SWARM_PARAM_ENUM ? "an" : "a",
                   sw_plugin_param_type_name(p->type), luaL_typename(L, idx));
    sw_charge(L, strlen(text) + 1);
    swarm_param_value v;
    if (sw_param_parse(&v, p, text)) {
        free(text);
        luaL_error(L, "%s: param '%s': %s", what, p->name, sw_error_last());
    }
    /* Canonical text: what parses to the same value always reads the same in the cache key. */
    char *canon = p->type == SWARM_PARAM_INT ? sw_sprintf("%lld", (long long)v.i)
                  : p->type == SWARM_PARAM_FLOAT ? sw_sprintf("%.17g", v.f == 0 ? 0.0 : v.f)
                                                 : NULL;
    if (canon) {
        free(text);
        text = canon;
    }
    return text;
}

/* Whether key is one of the NULL-terminated names (names may be NULL: none). */
static int sw_named(const char *key, const char *const *names)
{
    for (size_t i = 0; names && names[i]; i++)
        if (!strcmp(key, names[i]))
            return 1;
    return 0;
}

/* Binds the table at idx (0: none) against a param schema into s: what names the op or format for
 * messages ("op convert/cast"); keys in options are the caller's own and not params. */
static void sw_bind_params(lua_State *L, sw_stage *s, int idx, const swarm_param *schema, size_t n, const char *what,
                           const char *const *options)
{
    if (idx) {
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            lua_pop(L, 1);
            const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
            size_t k = 0;
            while (k < n && strcmp(schema[k].name, key))
                k++;
            if (k < n || sw_named(key, options))
                continue;
            char list[512] = "";
            for (size_t i = 0; i < n; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", schema[i].name);
            if (!options)
                luaL_error(L, "%s has no param '%s' (params: %s)", what, sw_key_text(L, -1), n ? list : "none");
            snprintf(list + strlen(list), sizeof list - strlen(list), "%soptions: ", n ? "; " : "");
            for (size_t i = 0; options[i]; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", options[i]);
            luaL_error(L, "%s has no param or option '%s' (%s%s)", what, sw_key_text(L, -1),
                       n ? "params: " : "", list);
        }
    }
    sw_charge(L, n * (sizeof *s->param_text + sizeof *s->params));
    s->nparams = n;
    s->param_text = sw_calloc(n ? n : 1, sizeof *s->param_text);
    s->params = sw_calloc(n ? n : 1, sizeof *s->params);
    for (size_t k = 0; k < n; k++) {
        const swarm_param *p = &schema[k];
        if (idx)
            sw_rawfield(L, idx, p->name);
        if (!idx || lua_isnil(L, -1)) {
            if (!p->default_value)
                luaL_error(L, "%s: param '%s' is required", what, p->name);
            s->param_text[k] = sw_lstrdup(L, p->default_value);
        } else {
            s->param_text[k] = sw_param_text(L, -1, p, what);
        }
        if (p->type == SWARM_PARAM_PATH)
            sw_check_path(L, s->param_text[k], "path");
        if (idx)
            lua_pop(L, 1);
        sw_param_parse(&s->params[k], p, s->param_text[k]); /* parsed before: cannot fail */
    }
}

/* ---- swarm.read / swarm.write ----------------------------------------------------------------------- */

/* Sets a read or write stage's format: "lines" (built in, records) or a plugin's tensor or records format. */
static void sw_set_format(lua_State *L, sw_stage *s, const char *format)
{
    s->format_name = sw_lstrdup(L, format);
    if (!strcmp(format, "lines") || !strcmp(format, "stats"))
        return;
    if (sw_format_find(&s->plugin, &s->format, &s->rformat, sw_ctx(L)->ps, format))
        sw_lraise(L);
    free(s->format_name);
    s->format_name = sw_strdup(s->format ? s->format->name : s->rformat->name);
}

/* Binds a records format's params from the options table opts (its other keys: the function's options),
 * or, for the other formats, allows only those options. */
static void sw_format_opts(lua_State *L, sw_stage *s, int opts, const char *const *options, const char *fn)
{
    if (!s->rformat) {
        sw_opts_only(L, opts, options, fn);
        return;
    }
    char *what = sw_sprintf("format %s", s->rformat->name);
    lua_pushstring(L, what); /* freed by Lua if binding raises */
    free(what);
    sw_bind_params(L, s, opts, s->rformat->params, s->rformat->n_params, lua_tostring(L, -1), options);
    lua_pop(L, 1);
}

/* swarm.read(FORMAT, files [, {name=}]) → tensors (a plugin format) or records ("lines"). */
static int sw_l_read(lua_State *L)
{
    sw_enter(L, 3, "swarm.read");
    const char *format = luaL_checkstring(L, 1);
    size_t from = sw_check_value(L, 2);
    int opts = sw_opts_arg(L, 3);
    static const char *const allowed[] = {"name", NULL};
    if (sw_stage_at(L, from)->out != SW_VAL_FILES)
        return luaL_error(L, "swarm.read takes files (from swarm.input or swarm.write), not %s",
                          sw_valkind_name(sw_stage_at(L, from)->out));
    sw_stage *s = sw_pending(L, SW_STAGE_READ);
    sw_set_format(L, s, format);
    if (sw_stage_stats(s))
        return luaL_error(L, "format stats is written, not read");
    sw_format_opts(L, s, opts, allowed, "swarm.read");
    s->out = s->format ? SW_VAL_TENSORS : SW_VAL_RECORDS;
    return sw_commit(L, &from, 1, sw_opt_string(L, opts, "name"), "read");
}

/* Order of metadata pairs: by key. */
static int sw_meta_cmp(const void *a, const void *b)
{
    return strcmp(((const swarm_meta *)a)->key, ((const swarm_meta *)b)->key);
}

/* opts.meta, a table of string keys to string values, into s->meta sorted by key (a Lua table has no
 * order; the key must not depend on one). */
static void sw_opt_meta(lua_State *L, int opts, sw_stage *s)
{
    if (opts == 0)
        return;
    if (sw_rawfield(L, opts, "meta") == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    if (!lua_istable(L, -1))
        luaL_error(L, "option 'meta' must be a table of strings");
    int t = lua_gettop(L);
    size_t cap = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "option 'meta' must map strings to strings");
        sw_charge(L, sizeof *s->meta);
        sw_grow(&s->meta, &cap, s->nmeta + 1, sizeof *s->meta);
        s->meta[s->nmeta++] = (swarm_meta){sw_lstrdup(L, lua_tostring(L, -2)), NULL};
        s->meta[s->nmeta - 1].value = sw_lstrdup(L, lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (s->nmeta)
        qsort(s->meta, s->nmeta, sizeof *s->meta, sw_meta_cmp);
}

/* opts.NAME as a count from 1 to 2^53 (0 when absent). */
static uint64_t sw_opt_count(lua_State *L, int opts, const char *name)
{
    uint64_t n = 0;
    if (sw_rawfield(L, opts, name) != LUA_TNIL) {
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > ((lua_Integer)1 << 53))
            luaL_error(L, "option '%s' must be a positive integer", name);
        n = (uint64_t)lua_tointeger(L, -1);
    }
    lua_pop(L, 1);
    return n;
}

/* A records write's shard_records, shard_bytes and compress options. compress defaults to what the name
 * (file, else path) ends in (.gz, .zst). */
static void sw_opt_shards(lua_State *L, int opts, sw_stage *s, const char *path, const char *file)
{
    const char *name = file ? file : path ? path : "";
    s->compress = sw_compress_of_name(name);
    if (!opts)
        return;
    s->shard_records = sw_opt_count(L, opts, "shard_records");
    s->shard_bytes = sw_opt_count(L, opts, "shard_bytes");
    const char *c = sw_opt_string(L, opts, "compress");
    sw_compress comp;
    if (c && sw_compress_parse(&comp, c))
        sw_lraise(L);
    if (c)
        s->compress = comp;
}

/* swarm.write(FORMAT, value, {path=, publish="NAME@VERSION", file=, name=, meta={K=V}}) → files; records
 * also take shard_records=, shard_bytes=, compress= and a records format's params (PIPELINES.md). */

static int sw_l_write(lua_State *L)
{
    sw_enter(L, 3, "swarm.write");
    const char *format = luaL_checkstring(L, 1);
    size_t from = sw_check_value(L, 2);
    int opts = sw_opts_arg(L, 3);
    static const char *const tensor_opts[] = {"path", "publish", "file", "name", "meta", NULL};
    static const char *const stats_opts[] = {"path", "publish", "file", "name", NULL};
    const char *path = sw_opt_string(L, opts, "path"), *publish = sw_opt_string(L, opts, "publish");
    const char *file = sw_opt_string(L, opts, "file"), *name = sw_opt_string(L, opts, "name");
    if (path)
        sw_check_path(L, path, "output");
    if (file && sw_path_check(file))
        return luaL_error(L, "file: %s", sw_error_last());
    sw_valkind kind = sw_stage_at(L, from)->out;
    sw_stage *s = sw_pending(L, SW_STAGE_WRITE);
    /* The stage owns what is parsed into it, so nothing leaks when a later check raises. */
    if (publish)
        sw_charge(L, strlen(publish) + 2);
    if (publish && sw_ref_parse(&s->publish_name, &s->publish_version, publish, 0))
        return luaL_error(L, "publish: %s", sw_error_last());
    sw_set_format(L, s, format);
    int tensors = s->format || sw_stage_stats(s);
    if (kind != (tensors ? SW_VAL_TENSORS : SW_VAL_RECORDS))
        return luaL_error(L, "format %s writes %s, not %s", s->format_name, tensors ? "tensors" : "records",
                          sw_valkind_name(kind));
    sw_format_opts(L, s, opts, s->format ? tensor_opts : tensors ? stats_opts : sw_records_options, "swarm.write");
    s->out = SW_VAL_FILES;
    sw_opt_meta(L, opts, s);
    if (!tensors)
        sw_opt_shards(L, opts, s, path, file);
    s->save_path = path ? sw_lstrdup(L, path) : NULL;
    if (file && (s->shard_records || s->shard_bytes) && strchr(file, '/'))
        return luaL_error(L, "file: '%s' names shards in the folder at path: a prefix, without '/'", file);
    if (file) {
        s->file_name = sw_lstrdup(L, file);
    } else if (s->shard_records || s->shard_bytes) {
        s->file_name = sw_strdup("shard"); /* shards are named shard_000000.EXT in the folder at path */
    } else {
        const char *base = path ? strrchr(path, '/') : NULL;
        s->file_name = sw_lstrdup(L, base ? base + 1 : path ? path : s->format_name);
    }
    return sw_commit(L, &from, 1, name, "write");
}

/* ---- swarm.op --------------------------------------------------------------------------------------- */

/* Finds "PLUGIN/OP", PLUGIN being a plugin's id or the last label of exactly one plugin's id. */
static void sw_find_op(lua_State *L, sw_stage *s, const char *ref)
{
    const char *slash = strrchr(ref, '/');
    if (!slash)
        luaL_error(L, "op '%s' should be PLUGIN/OP, e.g. convert/cast (see swarm plugin ls)", ref);
    const sw_plugin *found;
    int r = sw_plugins_lookup(&found, sw_ctx(L)->ps, ref, (size_t)(slash - ref));
    if (r)
        luaL_error(L, r == SW_ECONFLICT ? "op '%s': %s" : "unknown op '%s': %s", ref, sw_error_last());
    for (size_t k = 0; k < found->desc->n_ops; k++)
        if (!strcmp(found->desc->ops[k]->name, slash + 1)) {
            s->plugin = found;
            s->op_index = k;
            return;
        }
    luaL_error(L, "unknown op '%s': plugin %s has no op '%s' (see swarm plugin info %s)", ref, found->desc->id,
               slash + 1, found->desc->id);
}

/* swarm.op("PLUGIN/OP", inputs, {params} [, {name=, device=, batch=}]) → tensors or records. inputs is
 * one value or a list of them, one per input port of the op. */
static int sw_l_op(lua_State *L)
{
    sw_enter(L, 4, "swarm.op");
    const char *ref = luaL_checkstring(L, 1);
    size_t in[64], nin = 0;
    if (lua_istable(L, 2) && !luaL_testudata(L, 2, SW_VALUE_MT)) {
        nin = (size_t)lua_rawlen(L, 2);
        if (nin > 64)
            return luaL_error(L, "op %s: more than 64 inputs", ref);
        if (nin == 0)
            return luaL_error(L, "op %s: the list of inputs is empty", ref);
        for (size_t i = 0; i < nin; i++) {
            lua_rawgeti(L, 2, (lua_Integer)i + 1);
            in[i] = sw_check_value(L, lua_gettop(L));
            lua_pop(L, 1);
        }
    } else {
        in[nin++] = sw_check_value(L, 2);
    }
    int params = sw_opts_arg(L, 3), opts = sw_opts_arg(L, 4);
    static const char *const allowed[] = {"name", "device", "batch", NULL};
    sw_opts_only(L, opts, allowed, "swarm.op");
    const char *device = sw_opt_string(L, opts, "device");
    lua_Integer batch = 1024;
    if (opts) {
        sw_rawfield(L, opts, "batch");
        if (!lua_isnil(L, -1) && (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > 1 << 24))
            return luaL_error(L, "op %s: batch must be an integer from 1 to 16777216", ref);
        if (!lua_isnil(L, -1))
            batch = lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    const sw_graph *g = sw_ctx(L)->g; /* no stage is added before sw_commit: g->v stays put */
    sw_valkind kind = g->v[in[0]].out;
    sw_stage *s = sw_pending(L, SW_STAGE_OP);
    sw_find_op(L, s, ref);
    const swarm_op *op = sw_stage_op(s);
    if (device && sw_device_parse(&s->device, device))
        return luaL_error(L, "op %s: %s", ref, sw_error_last());
    s->batch = (uint64_t)batch;
    if (op->n_outputs != 1)
        return luaL_error(L, "op %s has %d outputs; pipelines map ops with one output", ref, (int)op->n_outputs);
    if (nin != op->n_inputs)
        return luaL_error(L, "op %s takes %d input%s (%s...), given %d", ref, (int)op->n_inputs,
                          op->n_inputs == 1 ? "" : "s", op->n_inputs ? op->inputs[0].name : "", (int)nin);
    for (size_t i = 0; i < nin; i++) {
        sw_valkind want = op->inputs[i].kind == SWARM_KIND_TENSOR ? SW_VAL_TENSORS : SW_VAL_RECORDS;
        if (g->v[in[i]].out != want)
            return luaL_error(L, "op %s: input '%s' takes %s, given %s (from stage '%s')", ref, op->inputs[i].name,
                              sw_valkind_name(want), sw_valkind_name(g->v[in[i]].out), g->v[in[i]].name);
    }
    if (kind == SW_VAL_RECORDS && nin > 2)
        return luaL_error(L, "op %s: an op mapped over records takes one input, or two zipped record by record", ref);
    s->out = op->outputs[0].kind == SWARM_KIND_TENSOR ? SW_VAL_TENSORS : SW_VAL_RECORDS;
    if (s->out != kind)
        return luaL_error(L, "op %s maps %s to %s; pipelines map an op over tensors to tensors, or records to "
                          "records", ref, sw_valkind_name(kind), sw_valkind_name(s->out));
    char *what = sw_sprintf("op %s", ref);
    lua_pushstring(L, what); /* freed by Lua if binding raises */
    free(what);
    sw_bind_params(L, s, params, op->params, op->n_params, lua_tostring(L, -1), NULL);
    lua_pop(L, 1);
    return sw_commit(L, in, nin, sw_opt_string(L, opts, "name"), op->name);
}

/* ---- The module ----------------------------------------------------------------------------------- */

static const luaL_Reg sw_lib[] = {
    {"params", sw_l_params}, {"input", sw_l_input}, {"read", sw_l_read},
    {"op", sw_l_op},         {"write", sw_l_write}, {NULL, NULL},
};

/* Registers the metatable called name with one metamethod, event = fn, hidden from the pipeline: its
 * __metatable (its name) is what getmetatable returns, and setmetatable refuses to replace it. */
static void sw_hidden_metatable(lua_State *L, const char *name, const char *event, lua_CFunction fn)
{
    luaL_newmetatable(L, name);
    lua_pushcfunction(L, fn);
    lua_setfield(L, -2, event);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}

int luaopen_swarm(lua_State *L)
{
    sw_hidden_metatable(L, SW_VALUE_MT, "__tostring", sw_value_tostring);
    sw_hidden_metatable(L, SW_PARAMS_MT, "__index", sw_l_param_unknown);
    luaL_newlib(L, sw_lib);
    return 1;
}

void sw_pparams_free(sw_pparams *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].name);
        free(p->v[i].def);
        free(p->v[i].doc);
    }
    free(p->v);
    memset(p, 0, sizeof *p);
}

/* Evaluates the pipeline at file in a fresh sandbox with the context c (its graph, plugins, sets and
 * mode), then frees the state. Returns 0, or SW_EINVALID with "FILE:LINE: ..." (a stopped SW_LOAD_PARAMS
 * evaluation is a success). */
static int sw_evaluate(sw_lctx *c, const char *file)
{
    sw_graph *out = c->g;
    char *text;
    size_t len;
    if (sw_read_file(&text, &len, file, (size_t)16 << 20))
        return sw_error_wrap(SW_EINVALID, "pipeline");
    lua_State *L = sw_sandbox_new(&c->lim, luaopen_swarm);
    if (!L) {
        free(text);
        return sw_error(SW_ERROR, "cannot create a Lua state");
    }
    *(sw_lctx **)lua_getextraspace(L) = c;
    sw_leave_register(L);
    out->file = sw_strdup(file);
    out->real = realpath(file, NULL);
    if (!out->real)
        out->real = sw_strdup(file);
    sw_sha256_buf(&out->file_hash, text, len);
    char *chunk = sw_sprintf("@%s", file);
    int r = luaL_loadbufferx(L, text, len, chunk, "t");
    if (r == LUA_OK)
        r = lua_pcall(L, 0, 0, 0);
    free(chunk);
    free(text);
    int rc = 0;
    if (c->stopped) {
        rc = 0;
    } else if (r != LUA_OK || c->lim.expired) {
        const char *msg = lua_tostring(L, -1);
        rc = sw_error(SW_EINVALID, "%s", r == LUA_ERRMEM ? SW_LUA_TOO_MUCH : msg ? msg : "the pipeline failed");
    } else if (c->nsets && !c->params_declared) {
        rc = sw_error(SW_EINVALID, "--set %s: the pipeline declares no parameters (swarm.params)", c->keys[0]);
    } else if (!out->n && c->mode != SW_LOAD_PARAMS) {
        rc = sw_error(SW_EINVALID, "%s declares no stages", file);
    }
    sw_sandbox_stop(L, &c->lim); /* nothing of the pipeline runs at lua_close */
    lua_close(L);
    sw_stage_clear(&c->pending);
    return rc;
}

int sw_pipeline_load(sw_graph *out, const char *file, const sw_plugins *ps, sw_catalog *cat,
                     const char *const *keys, const char *const *vals, size_t nsets, sw_load_mode mode)
{
    memset(out, 0, sizeof *out);
    sw_lctx c = {.g = out, .ps = ps, .cat = cat, .keys = keys, .vals = vals, .nsets = nsets, .mode = mode};
    int rc = sw_evaluate(&c, file);
    sw_pparams_free(&c.decl);
    if (rc)
        sw_graph_free(out);
    return rc;
}

int sw_pipeline_params(sw_pparams *out, const char *file, const sw_plugins *ps)
{
    memset(out, 0, sizeof *out);
    sw_graph g = {0};
    sw_lctx c = {.g = &g, .ps = ps, .mode = SW_LOAD_PARAMS};
    int rc = sw_evaluate(&c, file);
    sw_graph_free(&g);
    if (!rc) {
        *out = c.decl;
        out->declared = c.params_declared;
        return 0;
    }
    sw_pparams_free(&c.decl);
    return rc;
}
