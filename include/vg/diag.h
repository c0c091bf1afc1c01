/* diag.h — source files, spans and diagnostics.
 *
 * Library code never prints errors and never exits: it records a Diag in a
 * DiagSink and returns failure. main.c, the REPL and the tests decide what to
 * do with them; diag_render prints one in GNU style:
 *
 *     deep.vg:3:5: error: unexpected '}', expected an expression
 *         3 |     }
 *           |     ^
 *
 * followed by "note: ..." lines where a diagnostic carries a note. */
#ifndef VG_DIAG_H
#define VG_DIAG_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>

/* A source range. Lines and columns are 1-based; columns count bytes.
 * The field names are Bison's, so the parser's YYLTYPE is a Span. */
typedef struct Span {
    int file;  /* index into the SourceSet; -1 for none (command line) */
    int first_line, first_column;
    int last_line, last_column;  /* inclusive end */
} Span;

typedef struct Source {
    char *path;   /* as given by the user, for messages */
    char *text;   /* NUL-terminated; may contain other NULs (len is exact) */
    size_t len;
} Source;

typedef struct SourceSet {
    Source *files;
    int n, cap;
} SourceSet;

typedef enum { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE } DiagSeverity;

typedef struct Diag {
    DiagSeverity severity;
    Span span;
    char *msg;   /* lower-case, no final period */
    char *note;  /* optional, printed as "note: ..." on its own line */
} Diag;

typedef struct DiagSink {
    SourceSet *sources;
    Diag *items;
    int n, cap;
    int errors;
    int max_errors;  /* per sink; further errors are counted, not stored. 0: no limit */
    bool dropped;    /* the latest error was not stored: its notes are dropped too */
} DiagSink;

extern const Span SPAN_NONE;

/* Reads a whole file into the set. Returns its index, or -1 (errno set). */
int source_load(SourceSet *s, const char *path);
/* Adds text under a display name (the REPL, tests, "--set"). */
int source_add(SourceSet *s, const char *path, const char *text, size_t len);
void source_set_free(SourceSet *s);

void diag_init(DiagSink *d, SourceSet *sources);
void diag_free(DiagSink *d);
void diag_clear(DiagSink *d);
/* Records an error. Returns false so callers can `return diag_error(...)`. */
bool diag_error(DiagSink *d, Span at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void diag_warning(DiagSink *d, Span at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Attaches a note to the most recent diagnostic. */
void diag_note(DiagSink *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Adds a note with a place of its own ("file:line:col: note: ..." and its
 * excerpt) after the most recent diagnostic: the other end of a mistake
 * that spans two places, such as a call and the use of its argument. */
void diag_note_at(DiagSink *d, Span at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Renders one diagnostic; color adds ANSI bold/red where useful. */
void diag_render(FILE *out, const SourceSet *s, const Diag *dg, bool color);
void diag_render_all(FILE *out, const DiagSink *d, bool color);
/* Whether to colour what goes to f, by the usual conventions: only on a
 * terminal, not when NO_COLOR is set (non-empty) nor when TERM is "dumb". */
bool diag_color_for(FILE *f);

/* A number for a message: a whole number as an integer ("2147483648",
 * where %g says "2.14748e+09", as if within a limit of 2^31 - 1), anything
 * else as %g ("1.5", "1e-05"), NaN as "NaN" whatever printf's spelling.
 * Returns buf. DIAG_NUM(v) is the same in a buffer of its own, alive to
 * the end of the enclosing block: diag_error(..., "got %s", DIAG_NUM(v)). */
enum { DIAG_NUM_LEN = 32 };
const char *diag_num(double v, char *buf, size_t n);
#define DIAG_NUM(v) diag_num((v), (char[DIAG_NUM_LEN]){0}, DIAG_NUM_LEN)

/* Span covering a through b. */
Span span_join(Span a, Span b);

/* "did you mean" support: the candidate closest to name by edit distance,
 * or NULL when none is close enough to be a likely slip. */
const char *diag_suggest(const char *name, const char *const *candidates, int n);

#endif
