/* lsp.h — `vg lsp`: a Language Server Protocol server over stdio.
 *
 * JSON-RPC 2.0 messages framed by "Content-Length: N" headers (LSP 3.17,
 * base protocol), read with json-c. It keeps the text of every open
 * document (full synchronisation) and answers:
 *   - diagnostics on didOpen/didChange: exactly `vg check`'s (src/check.c),
 *     errors in imported files published under those files' URIs;
 *   - completion: keywords, built-ins (ops, activations, inits, data sets,
 *     optimizers), settings keys inside settings and train blocks, keyword
 *     arguments inside a call, after "data =", "act =", "init =", … the
 *     values of that kind, the program's names, run names, layer names
 *     and metric paths after "RUN." in expects;
 *   - hover: a built-in's signature and one-line doc, a model's or def's
 *     parameter list;
 *   - definition: of models, defs, settings, lets and runs, and the file an
 *     import names;
 *   - formatting: `vg fmt`'s text (src/fmt.c), as one edit.
 * Positions are LSP's: 0-based lines, columns in UTF-16 code units. */
#ifndef VG_LSP_H
#define VG_LSP_H

#include <stdio.h>

/* Serves until the client's "exit" notification or the end of input.
 * Returns the exit status the protocol asks for: 0 when "shutdown" came
 * before, else 1. A malformed message is answered with a JSON-RPC error
 * and the server goes on; nothing but protocol messages goes to out. log
 * (may be NULL) receives one line per problem with the input. */
int lsp_serve(FILE *in, FILE *out, FILE *log);

#endif
