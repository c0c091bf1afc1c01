/* program.c — files, imports and the top-level namespace.
 *
 * An import is searched for in the importing file's folder, then in each
 * folder of VG_PATH (colon-separated), then in the stdlib folder; "std/X"
 * names stdlib/X.vg directly. The stdlib folder is VG_STDLIB, else found
 * from the executable's own path, so no path is compiled in and vg works
 * from any current folder, installed under any prefix or not at all. A file is identified by its canonical path
 * (realpath), so the same file reached two ways loads once, and a file that
 * is still on the import stack when imported again is a cycle. */
#include "vg/program.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vg/parse.h"

static const char *sym_kind_name(SymKind k)
{
    static const char *const names[] = {
        [SYM_MODEL] = "model", [SYM_DEF] = "def",
        [SYM_SETTINGS] = "settings", [SYM_LET] = "constant",
    };
    return names[k];
}

/* Where the stdlib may be, relative to the folder of the executable:
 * PREFIX/share/vg/stdlib beside PREFIX/bin (an installed vg), else the
 * source tree's stdlib/ above a build folder (build/vg, build/asan/vg,
 * build/asan/tests/test_x). */
static const char *const stdlib_beside_exe[] = {
    "../share/vg/stdlib", "../stdlib", "../../stdlib", "../../../stdlib",
};
enum { NSTDLIB_BESIDE = sizeof stdlib_beside_exe / sizeof *stdlib_beside_exe };

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The folder of the running executable, or NULL (no /proc). */
static char *exe_dir(Arena *a)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    return slash ? arena_strndup(a, buf, (size_t)(slash - buf)) : NULL;
}

static const char *find_stdlib(Arena *a)
{
    const char *env = getenv("VG_STDLIB");
    if (env && *env)
        return env;
    const char *dir = exe_dir(a);
    for (int i = 0; dir && i < NSTDLIB_BESIDE; i++) {
        char *c = arena_printf(a, "%s/%s", dir, stdlib_beside_exe[i]);
        char canon[PATH_MAX];
        if (is_dir(c))
            return realpath(c, canon) ? arena_strdup(a, canon) : c;
    }
    return NULL;
}

void program_init(Program *p)
{
    memset(p, 0, sizeof *p);
    arena_init(&p->arena);
    diag_init(&p->diag, &p->sources);
    p->diag.max_errors = 0;
    p->stdlib_dir = find_stdlib(&p->arena);
    p->root_file = -1;
}

void program_free(Program *p)
{
    diag_free(&p->diag);
    source_set_free(&p->sources);
    free(p->syms);
    free(p->trains);
    free(p->expects);
    free(p->loaded);
    free(p->loading);
    free(p->imported_at);
    arena_free(&p->arena);
    memset(p, 0, sizeof *p);
}

Symbol *program_lookup(Program *p, const char *name)
{
    for (int i = 0; i < p->nsyms; i++)
        if (strcmp(p->syms[i].name, name) == 0)
            return &p->syms[i];
    return NULL;
}

const char *program_dir_of(Program *p, int file)
{
    if (file < 0 || file >= p->sources.n)
        return ".";
    const char *path = p->sources.files[file].path;
    const char *slash = strrchr(path, '/');
    if (!slash)
        return ".";
    if (slash == path)
        return "/";
    return arena_strndup(&p->arena, path, (size_t)(slash - path));
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The folders an import is searched in, in order, each with why it is
 * searched (for the note when none holds the file). */
typedef struct SearchPath {
    const char *dirs[32];
    const char *why[32];
    int n;
} SearchPath;

static void search_add(SearchPath *sp, const char *dir, const char *why)
{
    if (sp->n < 32) {
        sp->dirs[sp->n] = dir;
        sp->why[sp->n++] = why;
    }
}

static void search_path(Program *p, const char *name, const char *base_dir, SearchPath *sp)
{
    sp->n = 0;
    if (strncmp(name, "std/", 4) == 0 || name[0] == '/')
        return;
    search_add(sp, base_dir, "the importing file's folder");
    const char *vp = getenv("VG_PATH");
    while (vp && *vp) {
        const char *colon = strchr(vp, ':');
        size_t len = colon ? (size_t)(colon - vp) : strlen(vp);
        if (len)
            search_add(sp, arena_strndup(&p->arena, vp, len), "VG_PATH");
        vp = colon ? colon + 1 : NULL;
    }
    if (p->stdlib_dir)
        search_add(sp, p->stdlib_dir, "the stdlib");
}

const char *program_resolve_import(Program *p, const char *name, const char *base_dir)
{
    char *c = NULL;
    if (strncmp(name, "std/", 4) == 0) {
        if (p->stdlib_dir)
            c = arena_printf(&p->arena, "%s/%s.vg", p->stdlib_dir, name + 4);
        return c && is_file(c) ? c : NULL;
    }
    if (name[0] == '/') {
        c = arena_printf(&p->arena, "%s.vg", name);
        return is_file(c) ? c : NULL;
    }
    SearchPath sp;
    search_path(p, name, base_dir, &sp);
    for (int i = 0; i < sp.n; i++) {
        c = arena_printf(&p->arena, "%s/%s.vg", sp.dirs[i], name);
        if (is_file(c))
            return c;
    }
    return NULL;
}

/* The note under "cannot find import": every folder searched, or why the
 * stdlib could not be searched. */
static void note_searched(Program *p, const char *name, const char *base_dir)
{
    if (strncmp(name, "std/", 4) == 0 && !p->stdlib_dir) {
        const char *dir = exe_dir(&p->arena);
        diag_note(&p->diag, "no stdlib folder was found beside the vg executable "
                  "(%s/%s or a source tree's stdlib/); set VG_STDLIB to the folder",
                  dir ? dir : "?", stdlib_beside_exe[0]);
        return;
    }
    if (strncmp(name, "std/", 4) == 0) {
        diag_note(&p->diag, "searched the stdlib folder %s (set VG_STDLIB to use another)",
                  p->stdlib_dir);
        return;
    }
    if (name[0] == '/') {
        diag_note(&p->diag, "%s.vg is not a readable file", name);
        return;
    }
    SearchPath sp;
    search_path(p, name, base_dir, &sp);
    char list[4096];
    size_t len = 0;
    for (int i = 0; i < sp.n && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s (%s)",
                                i ? ", " : "", sp.dirs[i], sp.why[i]);
    diag_note(&p->diag, "searched for %s.vg in %s%s", name, list,
              p->stdlib_dir ? "" : "; no stdlib folder was found (set VG_STDLIB)");
}

static bool in_list(const char **list, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

static bool load_resolved(Program *p, const char *path, Span at);
static bool load_source(Program *p, const char *key, int file);

static bool add_import(Program *p, const AstNode *item, const char *base_dir)
{
    const char *path = program_resolve_import(p, item->str, base_dir);
    if (!path) {
        diag_error(&p->diag, item->span, "cannot find import \"%s\"", item->str);
        note_searched(p, item->str, base_dir);
        return false;
    }
    return load_resolved(p, path, item->span);
}

static void push_sym(Program *p, const char *name, SymKind kind, const AstNode *ast)
{
    Symbol s = {.name = name, .kind = kind, .ast = ast};
    VEC_PUSH(p->syms, p->nsyms, p->symcap, s);
}

static bool add_symbol(Program *p, const AstNode *item, SymKind kind)
{
    Symbol *old = program_lookup(p, item->str);
    if (old && p->allow_redefine) {
        *old = (Symbol){.name = item->str, .kind = kind, .ast = item};
        return true;
    }
    if (old) {
        diag_error(&p->diag, item->span, "'%s' is already defined", item->str);
        const Span *o = &old->ast->span;
        diag_note(&p->diag, "the %s '%s' is defined at %s:%d:%d", sym_kind_name(old->kind),
                  old->name, o->file >= 0 ? p->sources.files[o->file].path : "?",
                  o->first_line, o->first_column);
        return false;
    }
    push_sym(p, item->str, kind, item);
    return true;
}

static bool add_train(Program *p, const AstNode *item)
{
    for (int i = 0; i < p->ntrains; i++) {
        if (strcmp(p->trains[i]->str, item->str) != 0)
            continue;
        if (p->allow_redefine) {
            p->trains[i] = item;
            return true;
        }
        diag_error(&p->diag, item->span, "run '%s' is already defined", item->str);
        diag_note(&p->diag, "the first is at line %d", p->trains[i]->span.first_line);
        return false;
    }
    VEC_PUSH(p->trains, p->ntrains, p->traincap, item);
    return true;
}

/* Names are looked up by a linear scan, which a program of real size never
 * notices; a generated file of a million items would take hours, so the
 * count is bounded instead (docs/reliability.md). */
enum { MAX_ITEMS = 10000 };

bool program_add_item(Program *p, const AstNode *item, const char *base_dir)
{
    switch (item->kind) {
    case AST_IMPORT:
        return add_import(p, item, base_dir);
    case AST_LET:
        return add_symbol(p, item, SYM_LET);
    case AST_MODEL:
        return add_symbol(p, item, SYM_MODEL);
    case AST_DEF:
        return add_symbol(p, item, SYM_DEF);
    case AST_SETTINGS:
        return add_symbol(p, item, SYM_SETTINGS);
    case AST_TRAIN:
        return add_train(p, item);
    case AST_EXPECT:
        VEC_PUSH(p->expects, p->nexpects, p->expectcap, item);
        return true;
    default:
        return diag_error(&p->diag, item->span, "a %s cannot stand at the top level",
                          ast_kind_name(item->kind));
    }
}

static bool load_resolved(Program *p, const char *path, Span at)
{
    char canon[PATH_MAX];
    if (!realpath(path, canon))
        return diag_error(&p->diag, at, "cannot open '%s': %s", path, strerror(errno));
    for (int i = 0; i < p->nloading; i++) {
        if (strcmp(p->loading[i].canon, canon) != 0)
            continue;
        diag_error(&p->diag, at, "import cycle: '%s' is already being loaded", path);
        for (int k = i; k < p->nloading; k++)
            diag_note(&p->diag, "'%s' imports '%s'", p->loading[k].shown,
                      k + 1 < p->nloading ? p->loading[k + 1].shown : path);
        return false;
    }
    if (in_list(p->loaded, p->nloaded, canon))
        return true;
    int file = source_load(&p->sources, path);
    if (file < 0)
        return diag_error(&p->diag, at, "cannot open '%s': %s", path, strerror(errno));
    if (file >= p->importedcap) {
        int cap = file * 2 + 8;
        p->imported_at = xrealloc(p->imported_at, (size_t)cap * sizeof *p->imported_at);
        for (int i = p->importedcap; i < cap; i++)
            p->imported_at[i] = SPAN_NONE;
        p->importedcap = cap;
    }
    p->imported_at[file] = at;
    return load_source(p, arena_strdup(&p->arena, canon), file);
}

Span program_import_of(const Program *p, int file, int into)
{
    /* each step goes to the file that imported this one; a chain never
     * holds a file twice (cycles are refused), so it is at most n long */
    for (int steps = 0; file >= 0 && file < p->importedcap && steps < p->sources.n; steps++) {
        Span at = p->imported_at[file];
        if (at.file == into)
            return at;
        file = at.file;
    }
    return SPAN_NONE;
}

/* Parses source `file`, known as key, and adds its items. */
static bool load_source(Program *p, const char *key, int file)
{
    if (p->root_file < 0)
        p->root_file = file;
    AstNode *prog = parse_file(&p->arena, &p->diag, file);
    if (!prog)
        return false;
    struct Loading entry = {key, p->sources.files[file].path};
    VEC_PUSH(p->loading, p->nloading, p->loadingcap, entry);
    const char *dir = program_dir_of(p, file);
    bool ok = true;
    for (const AstNode *it = prog->list.head; it; it = it->next) {
        if (p->nsyms + p->ntrains + p->nexpects >= MAX_ITEMS) {
            ok = diag_error(&p->diag, it->span, "too many items: a program holds at most %d "
                            "lets, models, defs, settings, trains and expects", MAX_ITEMS);
            break;
        }
        ok &= program_add_item(p, it, dir);
    }
    p->nloading--;
    VEC_PUSH(p->loaded, p->nloaded, p->loadedcap, key);
    return ok;
}

void program_forget_file(Program *p, const char *path)
{
    char canon[PATH_MAX], other[PATH_MAX];
    if (!realpath(path, canon))
        return;
    int k = 0;
    for (int i = 0; i < p->nloaded; i++)
        if (strcmp(p->loaded[i], canon) != 0)
            p->loaded[k++] = p->loaded[i];
    p->nloaded = k;
    k = 0;
    for (int i = 0; i < p->nexpects; i++) {
        const char *from = p->sources.files[p->expects[i]->span.file].path;
        if (!realpath(from, other) || strcmp(other, canon) != 0)
            p->expects[k++] = p->expects[i];
    }
    p->nexpects = k;
}

bool program_load(Program *p, const char *path, Span at)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return diag_error(&p->diag, at, "cannot open '%s': %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return diag_error(&p->diag, at, "cannot open '%s': Is a directory", path);
    return load_resolved(p, path, at);
}

bool program_load_text(Program *p, const char *path, const char *text, size_t len)
{
    char canon[PATH_MAX];
    const char *key = arena_strdup(&p->arena, realpath(path, canon) ? canon : path);
    return load_source(p, key, source_add(&p->sources, path, text, len));
}
