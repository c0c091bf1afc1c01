/* program.h — a loaded program: its files, its top-level names, its runs.
 *
 * program_load reads a file and, transitively, its imports (relative to the
 * importing file, then each folder of VG_PATH, then the installed stdlib;
 * "std/NAME" names the stdlib), parses each once, and enters every item's
 * name into one namespace shared by all files. The AST of every file lives
 * in the program arena for the program's whole life, because models are
 * elaborated anew for each `train` with that run's arguments. */
#ifndef VG_PROGRAM_H
#define VG_PROGRAM_H

#include <stdbool.h>
#include "vg/arena.h"
#include "vg/ast.h"
#include "vg/diag.h"
#include "vg/value.h"

typedef enum SymKind { SYM_MODEL, SYM_DEF, SYM_SETTINGS, SYM_LET } SymKind;

typedef struct Symbol {
    const char *name;
    SymKind kind;
    const AstNode *ast;   /* the item */
    Value value;          /* SYM_LET: its value once evaluated */
    bool evaluated, evaluating;
} Symbol;

typedef struct Program {
    Arena arena;
    SourceSet sources;
    DiagSink diag;
    Symbol *syms;
    int nsyms, symcap;
    const AstNode **trains;      /* AST_TRAIN items, in order */
    int ntrains, traincap;
    const AstNode **expects;     /* AST_EXPECT items, in order */
    int nexpects, expectcap;
    const char **loaded;         /* canonical paths of loaded files */
    struct Loading {
        const char *canon;       /* identity of the file */
        const char *shown;       /* its path as the user wrote it */
    } *loading;                  /* the import stack, for cycle messages */
    int nloaded, loadedcap, nloading, loadingcap;
    Span *imported_at;           /* per source: the import that loaded it, or
                                    SPAN_NONE (the main file, the REPL's) */
    int importedcap;
    const char *stdlib_dir;      /* overridable for tests (VG_STDLIB) */
    int root_file;               /* source index of the main file, -1 */
    bool allow_redefine;         /* the REPL: a new item replaces an old one */
} Program;

void program_init(Program *p);
void program_free(Program *p);

/* Loads path (and its imports). Diagnostics go to p->diag; returns false on
 * any error. The at span is where the load was asked for (an import), or
 * SPAN_NONE for the command line. */
bool program_load(Program *p, const char *path, Span at);
/* The same for a file whose text is given rather than read (an editor's
 * unsaved buffer): its imports are found relative to path's folder. */
bool program_load_text(Program *p, const char *path, const char *text, size_t len);
/* The file an import names, searched as program_load searches it, in the
 * program arena; NULL if nowhere. */
const char *program_resolve_import(Program *p, const char *name, const char *base_dir);
/* The import in source `into` through which source `file` was loaded,
 * directly or by way of the files it imports; SPAN_NONE when none was (an
 * editor shows an imported file's errors at that import too). */
Span program_import_of(const Program *p, int file, int into);
/* Adds one already-parsed item (files and the REPL share this): enters its
 * name, records trains and expects, follows imports relative to base_dir. */
bool program_add_item(Program *p, const AstNode *item, const char *base_dir);

/* Makes a loaded file loadable again (the REPL's :load of a file it has
 * read): it leaves the loaded list, and its expect lines are dropped so
 * that reading it again does not count them twice. Its imports stay
 * loaded. Nothing happens for a file never loaded. */
void program_forget_file(Program *p, const char *path);

Symbol *program_lookup(Program *p, const char *name);
/* Folder of a source file, for resolving relative paths ("." if none). */
const char *program_dir_of(Program *p, int file);

#endif
