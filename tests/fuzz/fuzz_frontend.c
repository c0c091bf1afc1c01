/* fuzz_frontend.c — libFuzzer harness over lexer → parser → elaboration.
 *
 * The input is one .vg file. It is parsed, its items enter a program (its
 * imports resolve against the current directory and the stdlib), and every
 * `train` has its settings and its model elaborated, then the memory check
 * `vg run` makes before allocating runs with a 64 MiB cap, so a huge
 * `dense` is refused by arithmetic, never allocated. Untrained models whose
 * parameters all have defaults are elaborated too, and every `expect` is
 * evaluated (without runs, so run names are unknown: the evaluator's error
 * paths are what it exercises). Nothing is trained: that needs data and
 * time, and the front end is where arbitrary input arrives.
 *
 * A second property is checked on every input that parses: the canonical
 * printer (`vg fmt`) must print something that parses again, and printing
 * that must give the same text. A failure aborts, which libFuzzer reports
 * as a crash with the input saved. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vg/ast.h"
#include "vg/elab.h"
#include "vg/exec.h"
#include "vg/fmt.h"
#include "vg/parse.h"
#include "vg/program.h"
#include "vg/settings.h"

enum { FUZZ_MAX_BYTES = 64 << 20, FUZZ_BATCH = 64 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* vg fmt (comments kept) of x must parse, and fmt(fmt(x)) must equal
 * fmt(x). */
static void check_fmt_round_trip(Program *p, int file)
{
    size_t len, len2;
    char *text = fmt_source(&p->arena, &p->diag, file, &len);
    if (!text)
        abort();
    Program q;
    program_init(&q);
    int again = source_add(&q.sources, "fmt.vg", text, len);
    char *text2 = fmt_source(&q.arena, &q.diag, again, &len2);
    if (!text2) {
        fprintf(stderr, "vg fmt printed text that does not parse:\n%s\n", text);
        diag_render_all(stderr, &q.diag, false);
        abort();
    }
    if (len != len2 || memcmp(text, text2, len) != 0) {
        fprintf(stderr, "vg fmt is not idempotent:\n--- first\n%s\n--- second\n%s\n", text,
                text2);
        abort();
    }
    free(text2);
    free(text);
    program_free(&q);
}

/* What `vg run` does before allocating anything for a run's model. */
static void elaborate(Program *p, const AstNode *call, int batch)
{
    IrGraph g;
    ir_init(&g, &p->arena, call->a->str);
    size_t bytes;
    if (elab_model(p, call, &g) && params_check(&g, FUZZ_MAX_BYTES, &bytes, &p->diag)) {
        Exec e;
        if (exec_plan(&e, &g, NULL, batch, FUZZ_MAX_BYTES - bytes, &p->diag))
            exec_free(&e);
    }
    ir_free(&g);
}

/* Models no run trains, called with their defaults as `vg check` does. */
static void elaborate_untrained(Program *p)
{
    for (int i = 0; i < p->nsyms; i++) {
        const Symbol *s = &p->syms[i];
        if (s->kind != SYM_MODEL || !ast_all_defaults(s->ast))
            continue;
        AstNode *call = ast_new(&p->arena, AST_CALL, s->ast->span);
        call->a = ast_new(&p->arena, AST_NAME, s->ast->span);
        call->a->str = s->name;
        elaborate(p, call, FUZZ_BATCH);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Program p;
    program_init(&p);
    int file = source_add(&p.sources, "fuzz.vg", (const char *)data, size);
    p.root_file = file;
    AstNode *prog = parse_file(&p.arena, &p.diag, file);
    if (prog) {
        check_fmt_round_trip(&p, file);
        bool ok = true;
        for (const AstNode *it = prog->list.head; it; it = it->next)
            ok &= program_add_item(&p, it, ".");
        for (int i = 0; ok && i < p.ntrains; i++) {
            Settings s;
            int batch = FUZZ_BATCH;
            Member *ms;
            int nm;
            if (elab_members(&p, p.trains[i], &ms, &nm) &&
                settings_of(&p, &ms[0], NULL, 0, -1, &s) && s.batch <= FUZZ_BATCH)
                batch = (int)s.batch;
            elaborate(&p, p.trains[i]->a, batch);
        }
        if (ok)
            elaborate_untrained(&p);
        for (int i = 0; ok && i < p.nexpects; i++) {
            Value v;
            elab_eval(&p, NULL, p.expects[i]->a, &v);
        }
    }
    program_free(&p);
    return 0;
}
