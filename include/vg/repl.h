/* repl.h — the interactive session, `vg repl`.
 *
 * A session reads entries — items, statements, expressions — and `:commands`
 * line by line, with the language's own parser deciding when an entry is
 * complete. It keeps one Program (where a new definition replaces an old
 * one) and one RunSet for its whole life. Errors are diagnostics located at
 * `<repl>:LINE:COL`, LINE counting the session's input lines; they never end
 * the session. docs/repl.md describes what users see. */
#ifndef VG_REPL_H
#define VG_REPL_H

#include <stdbool.h>
#include <stdio.h>

typedef struct ReplOptions {
    const char *file;   /* loaded first, as with `:load`; NULL for none */
    bool echo;          /* print each prompt and input line, as a transcript */
} ReplOptions;

/* Runs a session reading from in, printing results to out and diagnostics
 * to err. When in and out are both terminals it is interactive: prompts,
 * line editing, completion, history in ~/.vg_history, colour (unless
 * NO_COLOR or TERM=dumb). Otherwise it is a script: no prompts, no colour, every entry
 * runs even after an error. Returns the exit status: 0 for an interactive
 * session; for a script the worst status of its entries, as LANGUAGE.md
 * numbers them (1 an expect failed, 2 an error, 3 a runtime failure), or
 * 130 when interrupted while reading. */
int repl_session(FILE *in, FILE *out, FILE *err, const ReplOptions *o);

#endif
