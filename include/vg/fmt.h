/* fmt.h — `vg fmt`: a source in canonical layout, with its comments.
 *
 * The layout is ast_print's; comments and single blank lines are kept
 * where the source had them (ast_print_source). Formatting a formatted
 * file changes nothing, and the tree it parses to is the same. */
#ifndef VG_FMT_H
#define VG_FMT_H

#include <stdbool.h>
#include <stdio.h>
#include "vg/arena.h"
#include "vg/diag.h"

/* The canonical text of source `file` as a malloc'd, NUL-terminated string
 * (*len its length), or NULL when it does not parse (the errors are in the
 * sink). */
char *fmt_source(Arena *arena, DiagSink *diag, int file, size_t *len);

typedef enum {
    FMT_PRINT,  /* print each file's canonical text */
    FMT_WRITE,  /* -w: rewrite the files that change, each all or nothing */
    FMT_CHECK,  /* --check: name the files that are not formatted */
} FmtMode;

/* `vg fmt [-w | --check] FILE...`. A file that does not parse is left as
 * it is and its diagnostics go to err. Returns the exit status: 2 when a
 * file could not be read, parsed or written, else 1 when --check found
 * one not formatted, else 0. */
int fmt_files(char *const *files, int n, FmtMode mode, FILE *out, FILE *err, bool color);

#endif
