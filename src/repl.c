/* repl.c — `vg repl`: a session of entries and `:commands`.
 *
 * Lines accumulate until parse_entry stops asking for more (an open bracket
 * or an operator at the end of a line), so the grammar alone decides where
 * an entry ends. Each complete entry becomes a source of its own, preceded
 * by as many newlines as lines came before it: the parser's positions are
 * then session positions, and a diagnostic shows `<repl>:LINE:COL` with the
 * entry's own text under it. The padding costs one byte per earlier line
 * per entry, nothing next to what a run holds.
 *
 * An entry that fails leaves the session as it was: a binding is evaluated
 * before it replaces the old value, a model is checked (when its parameters
 * all have defaults) before it replaces the old model, and a run is
 * prepared before it replaces the run of that name. */
#include "vg/repl.h"

#include <errno.h>
#include <histedit.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vg/elab.h"
#include "vg/exit.h"
#include "vg/expect.h"
#include "vg/ir.h"
#include "vg/metrics.h"
#include "vg/parse.h"
#include "vg/program.h"
#include "vg/report.h"
#include "vg/runval.h"
#include "vg/train.h"

enum {
    HISTORY_SIZE = 1000,
    MAX_WORDS = 8,
    MAX_NAMES = 2048,         /* completion candidates */
};

static const char PROMPT[] = "vg> ";
static const char CONTINUE[] = "... ";
static const char SOURCE_NAME[] = "<repl>";

typedef struct Repl {
    Program p;
    RunSet runs;
    const AstNode **seen;     /* train items already prepared (or tried) */
    int nseen, seencap;
    FILE *in, *out, *err;
    bool interactive, echo, color_out, color_err;
    int line;                 /* input lines read so far */
    const char *line_text;    /* the line being handled */
    int line_file;            /* its source, once a diagnostic needed one; -1 */
    char *pending;            /* the lines of an entry still open */
    size_t plen, pcap;
    int pending_line;         /* where that entry began */
    int status;               /* worst exit status so far */
    bool quit;
    EditLine *el;
    History *hist;
    char *hist_path;          /* NULL: no history file */
} Repl;

/* A word of a command line and the column it starts at. */
typedef struct Word {
    const char *s;
    int len, col;
} Word;

/* ---- runs ---- */

/* Values name runs by their index in the RunSet, so a run that a new one
 * replaces keeps its place: it is freed and left behind under a name no
 * identifier can match. */
static const char RETIRED[] = "(a replaced run)";

static bool retired(const Run *run)
{
    return run->ast == NULL;
}

static int run_names(const Repl *r, const char **out, int max)
{
    int n = 0;
    for (int i = 0; i < r->runs.n && n < max; i++)
        if (!retired(r->runs.runs[i]))
            out[n++] = r->runs.runs[i]->name;
    return n;
}

/* ---- sources and diagnostics ---- */

/* Adds text found at line:col of the session as a source, padded so that
 * the parser's positions are the session's. */
static int add_source(Repl *r, int line, int col, const char *text, size_t len)
{
    size_t nl = (size_t)(line - 1), sp = (size_t)(col - 1);
    char *buf = xmalloc(nl + sp + len + 1);
    memset(buf, '\n', nl);
    memset(buf + nl, ' ', sp);
    memcpy(buf + nl + sp, text, len);
    int f = source_add(&r->p.sources, SOURCE_NAME, buf, nl + sp + len);
    free(buf);
    return f;
}

/* Prints an entry's diagnostics and folds its outcome into the session's
 * status; an entry that reported an error counts as failed whatever it
 * returned. Results go out first, so a transcript keeps its order. */
static void settle(Repl *r, int code)
{
    fflush(r->out);
    if (r->p.diag.errors && code == 0)
        code = EXIT_USAGE;
    diag_render_all(r->err, &r->p.diag, r->color_err);
    fflush(r->err);
    diag_clear(&r->p.diag);
    if (code > r->status)
        r->status = code;
}

/* Where a word of the current command line is; the line becomes a source
 * the first time a diagnostic needs one. */
static Span word_span(Repl *r, const Word *w)
{
    if (r->line_file < 0)
        r->line_file = add_source(r, r->line, 1, r->line_text, strlen(r->line_text));
    return (Span){r->line_file, r->line, w->col, r->line, w->col + (w->len ? w->len : 1) - 1};
}

/* An error at a word of the current command line. */
static int cmd_error(Repl *r, const Word *w, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int cmd_error(Repl *r, const Word *w, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag_error(&r->p.diag, word_span(r, w), "%s", msg);
    return EXIT_USAGE;
}

static void suggest_note(Repl *r, const char *name, const char *const *names, int n)
{
    const char *best = diag_suggest(name, names, n);
    if (best)
        diag_note(&r->p.diag, "did you mean '%s'?", best);
}

/* ---- printing values ---- */

static void print_signature(FILE *out, const AstNode *item)
{
    fprintf(out, "%s(", item->str);
    for (const AstNode *q = item->list.head; q; q = q->next) {
        fputs(q->str, out);
        if (q->a) {
            fputs(" = ", out);
            ast_print(out, q->a, 0);
        }
        if (q->next)
            fputs(", ", out);
    }
    fputc(')', out);
}

/* A run's name as one word of a command: a family member's without its
 * spaces (f[2,1]), which find_run reads back. */
static const char *as_word(const char *name, char *buf, size_t n)
{
    size_t len = 0;
    for (; *name && len + 1 < n; name++)
        if (*name != ' ')
            buf[len++] = *name;
    buf[len] = '\0';
    return buf;
}

static void not_trained(Repl *r, const Run *run)
{
    char w[256];
    fprintf(r->out, "run %s is defined but has not trained yet; ':run %s' trains it\n",
            run->name, as_word(run->name, w, sizeof w));
}

/* Every metric of one layer at one report, one per line (those of
 * recurrent and attention layers only where they apply). */
static void show_layer(Repl *r, const Run *run, const Report *rep, const char *name)
{
    int l = ir_find_layer(&run->g, name);
    const LayerMetrics *m = &rep->layers[l];
    char buf[32];
    fprintf(r->out, "%s at step %ld: %s\n", name, rep->step, verdict_name(m->verdict));
    for (int k = 0; k < M_COUNT; k++)
        if ((!metric_recurrent((MetricId)k) && !metric_attention((MetricId)k)) ||
            !isnan(metric_get(m, (MetricId)k)))
            fprintf(r->out, "  %-14s %s\n", metric_names[k],
                    report_num(metric_get(m, (MetricId)k), buf, sizeof buf));
    if (m->bptt) {
        fprintf(r->out, "  %-14s", "bptt");
        for (int t = 0; t < m->bptt_len; t++)
            fprintf(r->out, " %s", report_num(m->bptt[t], buf, sizeof buf));
        fputc('\n', r->out);
    }
}

static void show_family(Repl *r, const Run *run, const char *family)
{
    size_t n = strlen(family);
    const char *sep = "";
    for (int l = 0; l < run->g.nlayers; l++) {
        const char *ln = run->g.layers[l].name;
        if (strncmp(ln, family, n) == 0 && ln[n] == '[') {
            fprintf(r->out, "%s%s", sep, ln);
            sep = ", ";
        }
    }
    fprintf(r->out, " (index one: %s[1])\n", family);
}

static void show_value(Repl *r, const Value *v)
{
    const Run *run = v->kind >= VAL_RUN && v->kind <= VAL_LAYER ? r->runs.runs[v->run] : NULL;
    const Report *rep = run ? run_report(run, v->kind == VAL_RUN ? REPORT_FINAL : v->report) : NULL;
    if (run && retired(run)) {
        fputs("this run was replaced by a newer definition\n", r->out);
        return;
    }
    if (run && !rep && v->kind != VAL_LAYERS) {
        not_trained(r, run);
        return;
    }
    switch (v->kind) {
    case VAL_RUN:
        report_print_header(r->out, &r->p, run);
        report_print_table(r->out, run, rep, r->color_out);
        if (run->diverged)
            fprintf(r->out, "diverged at step %ld\n", run->diverged_at);
        break;
    case VAL_REPORT:
        report_print_table(r->out, run, rep, r->color_out);
        break;
    case VAL_LAYER:
        show_layer(r, run, rep, v->str);
        break;
    case VAL_LAYERS:
        show_family(r, run, v->str);
        break;
    case VAL_MODEL:
        fputs("model ", r->out);
        print_signature(r->out, v->ast);
        fputc('\n', r->out);
        break;
    default:
        value_print(r->out, v);
        fputc('\n', r->out);
        break;
    }
}

static bool was_seen(const Repl *r, const AstNode *t)
{
    for (int i = 0; i < r->nseen; i++)
        if (r->seen[i] == t)
            return true;
    return false;
}

/* Constants that hold a run, a report or a layer refer to a run by its
 * index; when a run is replaced they are evaluated again, from their
 * expression, against the new run. */
static void forget_run_values(Repl *r)
{
    for (int i = 0; i < r->p.nsyms; i++) {
        Symbol *s = &r->p.syms[i];
        if (s->kind == SYM_LET && s->evaluated && s->value.kind >= VAL_RUN &&
            s->value.kind <= VAL_LAYER)
            s->evaluated = false;
    }
}

static void retire(Repl *r, int i)
{
    Run *old = r->runs.runs[i];
    run_free(old);
    old->name = old->model = RETIRED;
    forget_run_values(r);
}

/* Prepares every train item not seen before, typed or loaded: a run is
 * elaborated, its data loaded and its buffers planned when it is defined,
 * so its mistakes show at once; training waits for `:run`. A run that
 * fails to prepare leaves the run of its name, if any, in place. */
static int sync_member(Repl *r, const Member *m)
{
    const AstNode *t = m->train;
    Run *fresh = xcalloc(1, sizeof *fresh);
    TrainOptions o = {.seed = -1, .max_memory = TRAIN_DEFAULT_MAX_MEMORY};
    if (!run_prepare(&r->p, m, &o, fresh)) {
        run_free(fresh);
        free(fresh);
        return EXIT_USAGE;
    }
    int old = runset_find(&r->runs, fresh->name);
    runset_push(&r->runs, fresh);
    if (old >= 0)
        retire(r, old);
    fprintf(r->out, "run %s: ", fresh->name);
    ast_print(r->out, t->a, 0);
    if (t->str2)
        fprintf(r->out, " with %s", t->str2);
    char w[256];
    fprintf(r->out, ", %ld step%s; ':run %s' trains it\n", fresh->set.steps,
            fresh->set.steps == 1 ? "" : "s", as_word(fresh->name, w, sizeof w));
    return 0;
}

static int sync_runs(Repl *r)
{
    int code = 0;
    for (int i = 0; i < r->p.ntrains; i++) {
        const AstNode *t = r->p.trains[i];
        if (was_seen(r, t))
            continue;
        VEC_PUSH(r->seen, r->nseen, r->seencap, t);
        Member *ms;
        int nm;
        if (!elab_members(&r->p, t, &ms, &nm)) {
            code = EXIT_USAGE;
            continue;
        }
        int failed = 0;
        for (int j = 0; j < nm; j++)
            failed |= sync_member(r, &ms[j]);
        /* members of an earlier definition of the name that the new one
         * does not have (train f[w in [2, 4]] after train f[w in [1, 2]]) */
        for (int j = 0; !failed && j < r->runs.n; j++) {
            const Run *old = r->runs.runs[j];
            if (old->ast && old->ast != t && strcmp(old->ast->str, t->str) == 0)
                retire(r, j);
        }
        code |= failed;
    }
    return code;
}

/* Trains in stretches that end where a report is due, printing each report
 * as it is measured. run_train reports at its last step, so stretches end
 * only at multiples of `report` or at the target: the reports are those one
 * call would have made. */
static int train(Repl *r, Run *run, long steps)
{
    long target = steps < 0 ? run->set.steps : run->step + steps;
    if (run->nreports == 0)
        report_print_header(r->out, &r->p, run);
    else
        fprintf(r->out, "run %s: step %ld to %ld\n", run->name, run->step, target);
    TrainOptions o = {.seed = -1, .max_memory = TRAIN_DEFAULT_MAX_MEMORY};
    ReportProgress pg;   /* the progress line, on a terminal */
    if (r->interactive) {
        o.progress = report_progress;
        o.progress_ctx = &pg;
    }
    report_progress_start(&pg, r->out, run);
    int shown = run->nreports, code = 0;
    train_interrupted = 0;
    for (long stretch = 0; code == 0 && !train_interrupted && !run->diverged;) {
        code = run_train(&r->p, run, stretch, &o);   /* first: only the step-0 report */
        report_progress_clear(&pg);
        for (; shown < run->nreports; shown++)
            report_print_table(r->out, run, &run->reports[shown], r->color_out);
        fflush(r->out);
        if (run->step >= target)
            break;
        stretch = target - run->step;
        if (run->set.report > 0 && run->set.report - run->step % run->set.report < stretch)
            stretch = run->set.report - run->step % run->set.report;
    }
    if (run->diverged)
        fprintf(r->out, "diverged at step %ld\n", run->diverged_at);
    if (train_interrupted) {
        char w[256];
        fprintf(r->out, "interrupted: run %s stopped at step %ld; ':run %s' goes on\n",
                run->name, run->step, as_word(run->name, w, sizeof w));
        train_interrupted = 0;
    }
    return code;
}

/* ---- entries ---- */

/* Brackets the text leaves open. */
static int open_brackets(SourceSet *s, int file, Lexer *lx, Span *last)
{
    Arena a;
    DiagSink quiet;
    arena_init(&a);
    diag_init(&quiet, s);
    lex_init(lx, &a, &quiet, file);
    Token t;
    while (lex_next(lx, &t) != T_EOF)
        *last = t.span;
    diag_free(&quiet);
    arena_free(&a);
    return lx->depth;
}

/* True while the text is an entry that needs more lines: the parser wants
 * more, or it found an error but a bracket is still open — the rest of
 * the entry is read first, so one slip is reported once rather than as a
 * cascade over the entry's remaining lines. A throw-away parse, so
 * unfinished text leaves nothing in the program. */
static bool needs_more(const char *text, size_t len)
{
    SourceSet s = {0};
    DiagSink d;
    Arena a;
    diag_init(&d, &s);
    arena_init(&a);
    AstNode *e;
    int f = source_add(&s, SOURCE_NAME, text, len);
    ParseStatus st = parse_entry(&a, &d, f, &e);
    Lexer lx;
    Span last;
    bool more = st == PARSE_MORE || (st == PARSE_ERROR && open_brackets(&s, f, &lx, &last) > 0);
    arena_free(&a);
    diag_free(&d);
    source_set_free(&s);
    return more;
}

/* The input ended, or a command came, while an entry was still open. */
static void incomplete(Repl *r)
{
    int f = add_source(r, r->pending_line, 1, r->pending, r->plen);
    Lexer lx;
    Span last = {f, r->pending_line, 1, r->pending_line, 1};
    if (open_brackets(&r->p.sources, f, &lx, &last) > 0) {
        int i = (lx.depth < LEX_MAX_OPEN ? lx.depth : LEX_MAX_OPEN) - 1;
        diag_error(&r->p.diag, lx.open[i], "incomplete entry: this '%c' is not closed",
                   lx.open_char[i]);
    } else {
        diag_error(&r->p.diag, last, "incomplete entry: more was expected after this");
    }
    r->plen = 0;
    settle(r, EXIT_USAGE);
}

static AstNode *default_call(Repl *r, const char *model, Span at)
{
    AstNode *callee = ast_new(&r->p.arena, AST_NAME, at);
    callee->str = model;
    AstNode *call = ast_new(&r->p.arena, AST_CALL, at);
    call->a = callee;
    return call;
}

/* "model mlp: [2] -> [3], 3 layers, 4610 parameters" */
static void model_summary(Repl *r, const IrGraph *g)
{
    char in[64], out[64];
    size_t params = 0;
    for (int k = 0; k < g->nparams; k++)
        params += shape_size(g->params[k].shape);
    fprintf(r->out, "model %s: %s -> %s, %d layer%s, %zu parameters\n", g->name,
            g->input >= 0 ? shape_str(g->nodes[g->input].shape, in, sizeof in) : "?",
            g->output >= 0 ? shape_str(g->nodes[g->output].shape, out, sizeof out) : "?",
            g->nlayers, g->nlayers == 1 ? "" : "s", params);
}

/* A model whose parameters all have defaults is elaborated with them at
 * once, so a shape mistake shows now and leaves the old model in place. */
static int define_model(Repl *r, AstNode *item)
{
    Program *p = &r->p;
    Symbol *old = program_lookup(p, item->str);
    Symbol saved = old ? *old : (Symbol){0};
    int nsyms = p->nsyms;
    if (!program_add_item(p, item, "."))
        return EXIT_USAGE;
    if (ast_all_defaults(item)) {
        IrGraph g;
        ir_init(&g, &p->arena, item->str);
        bool ok = elab_model(p, default_call(r, item->str, item->span), &g);
        if (ok)
            model_summary(r, &g);
        ir_free(&g);
        if (!ok) {
            if (old)
                *program_lookup(p, item->str) = saved;
            else
                p->nsyms = nsyms;
            return EXIT_USAGE;
        }
    }
    for (int i = 0; old && i < r->runs.n; i++)
        if (strcmp(r->runs.runs[i]->model, item->str) == 0)
            fprintf(r->out, "run %s keeps the model %s it was defined with; enter its "
                    "train line again to use this one\n", r->runs.runs[i]->name, item->str);
    return 0;
}

/* `NAME = expr` and `let NAME = expr` bind at once (a file's lets are
 * evaluated when first used): the value is what the expression meant when
 * it was entered, as in any REPL. */
static int bind(Repl *r, AstNode *e)
{
    Program *p = &r->p;
    Value v;
    if (!runs_eval(p, &r->runs, e->a, &v))
        return EXIT_USAGE;
    AstNode *let = e;
    if (e->kind == AST_ASSIGN) {
        let = ast_new(&p->arena, AST_LET, e->span);
        let->str = e->str;
        let->a = e->a;
    }
    if (!program_add_item(p, let, "."))
        return EXIT_USAGE;
    Symbol *s = program_lookup(p, let->str);
    s->value = v;
    s->evaluated = true;
    return 0;
}

/* An expect entered at the prompt is checked at once, on its own: first
 * that it resolves against the runs as defined (as `vg check` does), so a
 * misspelling is an error even before its run has trained. */
static int check_expect(Repl *r, const AstNode *item)
{
    if (!expect_check_static(&r->p, &r->runs, &item, 1))
        return EXIT_USAGE;
    ExpectResult res;
    int code = expect_check_one(&r->p, &r->runs, item, &res);
    report_print_expects(r->out, &r->p, &res, 1, r->color_out);
    return code;
}

static int exec_entry(Repl *r, AstNode *e)
{
    Value v;
    switch (e->kind) {
    case AST_EXPR_STMT:
        if (!runs_eval(&r->p, &r->runs, e->a, &v))
            return EXIT_USAGE;
        show_value(r, &v);
        return 0;
    case AST_ASSIGN:
    case AST_LET:
        return bind(r, e);
    case AST_MODEL:
        return define_model(r, e);
    case AST_TRAIN:
        return program_add_item(&r->p, e, ".") ? sync_runs(r) : EXIT_USAGE;
    case AST_EXPECT:
        return check_expect(r, e);
    case AST_INPUT:
        diag_error(&r->p.diag, e->span, "'input' declares a model's input, and tensors exist "
                   "only inside a model");
        diag_note(&r->p.diag, "write it in a model body: model NAME() { input %s[...] ... }",
                  e->str);
        return EXIT_USAGE;
    case AST_LAYER:
    case AST_FOR:
    case AST_IF:
    case AST_RETURN:
        diag_error(&r->p.diag, e->span, "'%s' is a statement of model and def bodies",
                   ast_kind_name(e->kind));
        diag_note(&r->p.diag, "at the prompt, enter items, NAME = value bindings and "
                  "expressions; ':help' says more");
        return EXIT_USAGE;
    default:
        return program_add_item(&r->p, e, ".") ? 0 : EXIT_USAGE;
    }
}

static int entry(Repl *r)
{
    int f = add_source(r, r->pending_line, 1, r->pending, r->plen);
    AstNode *e;
    if (parse_entry(&r->p.arena, &r->p.diag, f, &e) != PARSE_OK)
        return EXIT_USAGE;
    return e ? exec_entry(r, e) : 0;
}

/* ---- commands ---- */

typedef int (*CmdFn)(Repl *r, const Word *args, int nargs);

typedef struct Command {
    const char *name, *usage, *help;
    int min, max;   /* words after the name; max -1: the rest of the line */
    CmdFn fn;
} Command;

static int cmd_help(Repl *r, const Word *a, int n);
static int cmd_load(Repl *r, const Word *a, int n);
static int cmd_run(Repl *r, const Word *a, int n);
static int cmd_report(Repl *r, const Word *a, int n);
static int cmd_ir(Repl *r, const Word *a, int n);
static int cmd_list(Repl *r, const Word *a, int n);
static int cmd_expect(Repl *r, const Word *a, int n);
static int cmd_reset(Repl *r, const Word *a, int n);
static int cmd_quit(Repl *r, const Word *a, int n);

static const Command commands[] = {
    {":help", "", "this help", 0, 0, cmd_help},
    {":load", "FILE", "load a .vg file (again: read it anew)", 1, -1, cmd_load},
    {":run", "RUN [STEPS]", "train a run (or each member of a run family); STEPS more "
     "steps of one that trained", 1, 2, cmd_run},
    {":report", "RUN [--json]", "every report of a run", 1, 2, cmd_report},
    {":ir", "MODEL | MODEL(args) | RUN", "the IR graph of a model or of a run", 1, -1, cmd_ir},
    {":list", "", "models, defs, settings, constants and runs", 0, 0, cmd_list},
    {":expect", "", "check the expect lines of loaded files", 0, 0, cmd_expect},
    {":reset", "", "forget everything defined in the session", 0, 0, cmd_reset},
    {":quit", "", "leave (end of input and Ctrl-D too)", 0, 0, cmd_quit},
};
enum { NCOMMANDS = sizeof commands / sizeof *commands };

static int cmd_help(Repl *r, const Word *a, int n)
{
    (void)a, (void)n;
    fputs("Enter items (model, def, settings, train, let, import, expect), NAME = value\n"
          "bindings and expressions, as in a .vg file; an expression prints its value.\n"
          "A line that leaves a '{', '(' or '[' open continues on the next.\n"
          "A train item defines a run; ':run' trains it.\n\n", r->out);
    for (int i = 0; i < NCOMMANDS; i++) {
        char head[64];
        snprintf(head, sizeof head, "%s %s", commands[i].name, commands[i].usage);
        fprintf(r->out, "  %-34s %s\n", head, commands[i].help);
    }
    fputs("\nA command may be shortened while it stays unambiguous (:q). Tab completes\n"
          "keywords, built-ins, names and commands. Ctrl-C stops a :run after the\n"
          "current step. docs/repl.md has more.\n", r->out);
    return 0;
}

static void word_copy(const Word *w, char *buf, size_t n)
{
    snprintf(buf, n, "%.*s", w->len, w->s);
}

/* The rest of the line from word a, without trailing blanks. */
static int rest_len(const Word *a)
{
    size_t len = strlen(a->s);
    while (len && (a->s[len - 1] == ' ' || a->s[len - 1] == '\t' || a->s[len - 1] == '\n' ||
                   a->s[len - 1] == '\r'))
        len--;
    return (int)len;
}

static int find_run(Repl *r, const Word *w)
{
    char name[256];
    word_copy(w, name, sizeof name);
    int i = runset_find(&r->runs, name);
    for (int j = 0; i < 0 && j < r->runs.n; j++) {
        char other[256];
        if (strcmp(as_word(r->runs.runs[j]->name, other, sizeof other), name) == 0)
            i = j;
    }
    if (i >= 0)
        return i;
    cmd_error(r, w, "no run named '%s'", name);
    const char *names[MAX_NAMES];
    int n = run_names(r, names, MAX_NAMES);
    const Symbol *s = program_lookup(&r->p, name);
    if (s && s->kind == SYM_MODEL)
        diag_note(&r->p.diag, "'%s' is a model; a run trains it: train NAME = %s() with SETTINGS",
                  name, name);
    else if (n == 0)
        diag_note(&r->p.diag, "no run is defined yet: train NAME = MODEL() with SETTINGS "
                  "defines one");
    else
        suggest_note(r, name, names, n);
    return -1;
}

static int run_one(Repl *r, const Word *a, Run *run, long steps);

static int cmd_run(Repl *r, const Word *a, int n)
{
    long steps = -1;
    if (n == 2) {
        char buf[32], *end;
        word_copy(&a[1], buf, sizeof buf);
        errno = 0;
        steps = strtol(buf, &end, 10);
        if (errno || end == buf || *end || steps < 1)
            return cmd_error(r, &a[1], "STEPS must be a positive integer, got '%s'", buf);
    }
    /* a run family's name trains each of its members in turn */
    char name[256];
    word_copy(&a[0], name, sizeof name);
    const AstNode *family = runset_find_family(&r->runs, name);
    int status = 0;
    for (int i = 0; family && i < r->runs.n && status == 0 && !train_interrupted; i++)
        if (r->runs.runs[i]->ast == family)
            status = run_one(r, a, r->runs.runs[i], steps);
    if (family)
        return status;
    int i = find_run(r, &a[0]);
    if (i < 0)
        return EXIT_USAGE;
    return run_one(r, a, r->runs.runs[i], steps);
}

static int run_one(Repl *r, const Word *a, Run *run, long steps)
{
    if (run->diverged)
        return cmd_error(r, &a[0], "run '%s' diverged at step %ld; enter its train line "
                         "again to start it anew", run->name, run->diverged_at);
    if (steps < 0 && run->step >= run->set.steps) {
        char w[256];
        fprintf(r->out, "run %s has trained its %ld step%s; ':run %s N' trains N more\n",
                run->name, run->set.steps, run->set.steps == 1 ? "" : "s",
                as_word(run->name, w, sizeof w));
        return 0;
    }
    return train(r, run, steps);
}

static int cmd_report(Repl *r, const Word *a, int n)
{
    bool json = false;
    const Word *name = NULL;
    for (int k = 0; k < n; k++) {
        if (a[k].len == 6 && strncmp(a[k].s, "--json", 6) == 0)
            json = true;
        else if (!name)
            name = &a[k];
        else
            return cmd_error(r, &a[k], "usage: :report RUN [--json]");
    }
    if (!name)
        return cmd_error(r, &a[0], "usage: :report RUN [--json]");
    int i = find_run(r, name);
    if (i < 0)
        return EXIT_USAGE;
    const Run *run = r->runs.runs[i];
    if (run->nreports == 0) {
        not_trained(r, run);
        return 0;
    }
    if (json) {
        /* One run's JSON Lines, as `vg run --json` writes them. The header's
         * file and digest are those of the file the run came from; a run
         * typed at the prompt has no file to digest. */
        int file = run->ast->span.file;
        bool typed = strcmp(r->p.sources.files[file].path, SOURCE_NAME) == 0;
        Program view = r->p;
        view.root_file = typed ? -1 : file;
        Run *only = (Run *)run;
        RunSet one = {.runs = &only, .n = 1, .cap = 1};
        ReportDoc doc = {.p = &view, .rs = &one, .file = r->p.sources.files[file].path};
        report_write_json(r->out, &doc);
        return 0;
    }
    report_print_header(r->out, &r->p, run);
    for (int k = 0; k < run->nreports; k++)
        report_print_table(r->out, run, &run->reports[k], r->color_out);
    if (run->diverged)
        fprintf(r->out, "diverged at step %ld\n", run->diverged_at);
    return 0;
}

static int cmd_ir(Repl *r, const Word *a, int n)
{
    (void)n;
    Program *p = &r->p;
    int len = rest_len(a);
    Word all = {a->s, len, a->col};
    int f = add_source(r, r->line, a->col, a->s, (size_t)len);
    AstNode *e;
    ParseStatus st = parse_entry(&p->arena, &p->diag, f, &e);
    /* Parsed, the argument's source shows the whole command line again
     * (the AST keeps nothing of the text), so diagnostics quote it. */
    Source *src = &p->sources.files[f];
    memcpy(src->text + src->len - (size_t)len - (size_t)(a->col - 1), r->line_text,
           (size_t)(a->col - 1));
    if (st == PARSE_ERROR)
        return EXIT_USAGE;
    const AstNode *x = st == PARSE_OK && e && e->kind == AST_EXPR_STMT ? e->a : NULL;
    const AstNode *callee = x && x->kind == AST_CALL ? x->a : x;
    if (!callee || callee->kind != AST_NAME)
        return cmd_error(r, &all, "usage: :ir MODEL | MODEL(args) | RUN");
    int i = x == callee ? runset_find(&r->runs, callee->str) : -1;
    if (i >= 0) {
        ir_print(r->out, &r->runs.runs[i]->g);
        return 0;
    }
    const Symbol *s = program_lookup(p, callee->str);
    if (!s || s->kind != SYM_MODEL) {
        diag_error(&p->diag, callee->span, "'%s' is not a model%s", callee->str,
                   x == callee ? " or a run" : "");
        const char *names[MAX_NAMES];
        int k = 0;
        for (int j = 0; j < p->nsyms && k < MAX_NAMES; j++)
            if (p->syms[j].kind == SYM_MODEL)
                names[k++] = p->syms[j].name;
        if (x == callee)
            k += run_names(r, names + k, MAX_NAMES - k);
        suggest_note(r, callee->str, names, k);
        return EXIT_USAGE;
    }
    const AstNode *call = x == callee ? default_call(r, callee->str, callee->span) : x;
    IrGraph g;
    ir_init(&g, &p->arena, callee->str);
    bool ok = elab_model(p, call, &g);
    if (ok)
        ir_print(r->out, &g);
    ir_free(&g);
    return ok ? 0 : EXIT_USAGE;
}

static void list_kind(Repl *r, SymKind kind, const char *title)
{
    const char *sep = "";
    for (int i = 0; i < r->p.nsyms; i++) {
        const Symbol *s = &r->p.syms[i];
        if (s->kind != kind)
            continue;
        fprintf(r->out, "%s%s", *sep ? sep : title, kind == SYM_MODEL ? "" : s->name);
        if (kind == SYM_MODEL)
            print_signature(r->out, s->ast);
        if (kind == SYM_LET && s->evaluated && !(s->value.kind >= VAL_RUN &&
                                                  s->value.kind <= VAL_LAYER)) {
            fputs(" = ", r->out);
            value_print(r->out, &s->value);
        }
        sep = ", ";
    }
    if (*sep)
        fputc('\n', r->out);
}

static int cmd_list(Repl *r, const Word *a, int n)
{
    (void)a, (void)n;
    list_kind(r, SYM_MODEL, "models:    ");
    list_kind(r, SYM_DEF, "defs:      ");
    list_kind(r, SYM_SETTINGS, "settings:  ");
    list_kind(r, SYM_LET, "constants: ");
    const char *sep = "runs:      ";
    for (int i = 0; i < r->runs.n; i++) {
        const Run *run = r->runs.runs[i];
        if (retired(run))
            continue;
        fprintf(r->out, "%s%s (", sep, run->name);
        sep = ", ";
        if (run->diverged)
            fprintf(r->out, "diverged at step %ld", run->diverged_at);
        else if (run->nreports == 0)
            fputs("defined", r->out);
        else if (run->step < run->set.steps)
            fprintf(r->out, "trained to step %ld of %ld", run->step, run->set.steps);
        else
            fprintf(r->out, "trained to step %ld", run->step);
        fputc(')', r->out);
    }
    if (*sep == ',')
        fputc('\n', r->out);
    if (r->p.nsyms == 0 && *sep != ',')
        fputs("nothing is defined yet\n", r->out);
    return 0;
}

static int cmd_expect(Repl *r, const Word *a, int n)
{
    (void)a, (void)n;
    if (r->p.nexpects == 0) {
        fputs("no expect lines are loaded (an expect entered at the prompt is checked "
              "at once)\n", r->out);
        return 0;
    }
    ExpectResult *res = xcalloc((size_t)r->p.nexpects, sizeof *res);
    int code = expect_check_all(&r->p, &r->runs, res);
    report_print_expects(r->out, &r->p, res, r->p.nexpects, r->color_out);
    free(res);
    return code;
}

static int load_file(Repl *r, const char *path, Span at)
{
    program_forget_file(&r->p, path);  /* loading again reads it anew */
    int nexpects = r->p.nexpects;
    if (!program_load(&r->p, path, at))
        return EXIT_USAGE;
    fprintf(r->out, "loaded %s\n", path);
    int code = sync_runs(r);
    int added = r->p.nexpects - nexpects;
    if (added > 0)
        fprintf(r->out, "%d expect line%s: ':expect' checks %s once the runs have trained\n",
                added, added == 1 ? "" : "s", added == 1 ? "it" : "them");
    return code;
}

static int cmd_load(Repl *r, const Word *a, int n)
{
    (void)n;
    char path[PATH_MAX];
    int len = rest_len(a);
    const char *s = a->s;
    if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
        s++;
        len -= 2;
    }
    snprintf(path, sizeof path, "%.*s", len, s);
    Word w = {a->s, rest_len(a), a->col};
    Span at = word_span(r, &w);
    return load_file(r, path, at);
}

static void reset(Repl *r)
{
    runset_free(&r->runs);
    program_free(&r->p);
    program_init(&r->p);
    r->p.allow_redefine = true;
    r->nseen = 0;
    r->line_file = -1;
}

static int cmd_reset(Repl *r, const Word *a, int n)
{
    (void)a, (void)n;
    const char *line = r->line_text;
    reset(r);
    r->line_text = line;
    fputs("session reset: every model, setting, constant and run is gone\n", r->out);
    return 0;
}

static int cmd_quit(Repl *r, const Word *a, int n)
{
    (void)a, (void)n;
    r->quit = true;
    return 0;
}

static int split_words(const char *line, Word *w, int max)
{
    int n = 0;
    const char *s = line;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
            s++;
        if (!*s || n == max)
            return n;
        const char *b = s;
        while (*s && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            s++;
        w[n++] = (Word){b, (int)(s - b), (int)(b - line) + 1};
    }
}

static const Command *find_command(Repl *r, const Word *w)
{
    char name[64];
    word_copy(w, name, sizeof name);
    const Command *hit = NULL;
    int nhits = 0;
    for (int i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
        if (strncmp(commands[i].name, name, strlen(name)) == 0) {
            hit = &commands[i];
            nhits++;
        }
    }
    if (nhits == 1)
        return hit;
    if (nhits > 1) {
        cmd_error(r, w, "ambiguous command '%s'", name);
        char all[256] = "";
        for (int i = 0; i < NCOMMANDS; i++)
            if (strncmp(commands[i].name, name, strlen(name)) == 0)
                snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s", *all ? ", " : "",
                         commands[i].name);
        diag_note(&r->p.diag, "it could be %s", all);
        return NULL;
    }
    const char *names[NCOMMANDS];
    for (int i = 0; i < NCOMMANDS; i++)
        names[i] = commands[i].name;
    const char *best = diag_suggest(name, names, NCOMMANDS);
    if (best)
        cmd_error(r, w, "unknown command '%s'; did you mean '%s'?", name, best);
    else
        cmd_error(r, w, "unknown command '%s'", name);
    diag_note(&r->p.diag, "':help' lists the commands");
    return NULL;
}

static int command(Repl *r)
{
    Word w[MAX_WORDS];
    int n = split_words(r->line_text, w, MAX_WORDS);
    const Command *c = find_command(r, &w[0]);
    if (!c)
        return EXIT_USAGE;
    int nargs = n - 1;
    if (nargs < c->min || (c->max >= 0 && nargs > c->max)) {
        Word at = nargs > c->max && c->max >= 0 ? w[c->max + 1] : w[0];
        return cmd_error(r, &at, "usage: %s%s%s", c->name, *c->usage ? " " : "", c->usage);
    }
    return c->fn(r, w + 1, nargs);
}

/* ---- line editing ---- */

static char *prompt(EditLine *el)
{
    Repl *r;
    el_get(el, EL_CLIENTDATA, &r);
    return (char *)(r->plen ? CONTINUE : PROMPT);
}

static bool ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_';
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Layer families of every run ("fc" for fc[1] … fc[8], and "out"), copied
 * into pool, for completion after a '.'. */
static int layer_families(const Repl *r, const char **out, int max, char *pool, size_t cap)
{
    int n = 0;
    size_t used = 0;
    for (int i = 0; i < r->runs.n; i++)
        for (int l = 0; l < r->runs.runs[i]->g.nlayers && n < max; l++) {
            const char *ln = r->runs.runs[i]->g.layers[l].name;
            size_t len = strcspn(ln, "[");
            if (used + len + 1 > cap)
                return n;
            memcpy(pool + used, ln, len);
            pool[used + len] = '\0';
            out[n++] = pool + used;
            used += len + 1;
        }
    return n;
}

/* The names that may stand where the cursor is: commands at the start of a
 * ':' line, runs and models after a command, members after a '.', else
 * keywords, built-ins and everything the session defined. */
static int candidates(Repl *r, const char *line, const char *word, const char **out,
                      char *pool, size_t cap)
{
    int n = 0;
    const char *s = line;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == ':') {
        if (word == s) {
            for (int i = 0; i < NCOMMANDS; i++)
                out[n++] = commands[i].name;
            return n;
        }
        bool models = strncmp(s, ":ir", 3) == 0;
        if (!models && strncmp(s, ":run", 4) != 0 && strncmp(s, ":report", 7) != 0)
            return 0;
        for (int i = 0; models && i < r->p.nsyms; i++)
            if (r->p.syms[i].kind == SYM_MODEL && n < MAX_NAMES)
                out[n++] = r->p.syms[i].name;
        return n + run_names(r, out + n, MAX_NAMES - n);
    }
    if (word > line && word[-1] == '.') {
        static const char *const members[] = {
            "initial", "final", "baseline", "diverged", "diverged_at", "loss", "accuracy",
            "test_accuracy", "step", "global_norm", "clipped", "verdict",
        };
        for (size_t i = 0; i < sizeof members / sizeof *members; i++)
            out[n++] = members[i];
        for (int i = 0; i < M_COUNT; i++)
            out[n++] = metric_names[i];
        return n + layer_families(r, out + n, MAX_NAMES - n, pool, cap);
    }
    for (int i = 0; i < lex_keyword_count; i++)
        out[n++] = lex_keywords[i];
    n += run_names(r, out + n, MAX_NAMES - n);
    return n + elab_global_names(&r->p, out + n, MAX_NAMES - n);
}

static void list_matches(Repl *r, const char **m, int n)
{
    int width = 0;
    for (int i = 0; i < n; i++)
        if ((int)strlen(m[i]) > width)
            width = (int)strlen(m[i]);
    int per_line = 78 / (width + 2);
    fputc('\n', r->out);
    for (int i = 0; i < n; i++)
        fprintf(r->out, "%-*s%s", width + 2, m[i],
                (i + 1) % (per_line ? per_line : 1) == 0 || i + 1 == n ? "\n" : "");
}

/* Tab: completes the word before the cursor as far as it is unambiguous,
 * or lists the choices when it cannot go further. */
static unsigned char complete(EditLine *el, int ch)
{
    (void)ch;
    Repl *r;
    el_get(el, EL_CLIENTDATA, &r);
    const LineInfo *li = el_line(el);
    char line[1024];
    size_t upto = (size_t)(li->cursor - li->buffer);
    if (upto >= sizeof line)
        return CC_ERROR;
    memcpy(line, li->buffer, upto);
    line[upto] = '\0';
    const char *word = line + upto;
    while (word > line && ident_char(word[-1]))
        word--;
    if (word > line && word[-1] == ':')
        word--;
    size_t len = strlen(word);
    const char *all[MAX_NAMES], *m[MAX_NAMES];
    char pool[4096];
    int n = candidates(r, line, word, all, pool, sizeof pool), nm = 0;
    qsort(all, (size_t)n, sizeof *all, compare_names);
    for (int i = 0; i < n; i++)
        if (strncmp(all[i], word, len) == 0 && (nm == 0 || strcmp(m[nm - 1], all[i]) != 0))
            m[nm++] = all[i];
    if (nm == 0)
        return CC_ERROR;
    size_t common = strlen(m[0]);
    for (int i = 1; i < nm; i++) {
        size_t k = 0;
        while (k < common && m[i][k] == m[0][k])
            k++;
        common = k;
    }
    if (common > len || nm == 1) {
        char ins[256];
        snprintf(ins, sizeof ins, "%.*s%s", (int)(common - len), m[0] + len,
                 nm == 1 && word[0] == ':' ? " " : "");
        el_insertstr(el, ins);
        return CC_REFRESH;
    }
    list_matches(r, m, nm);
    return CC_REDISPLAY;
}

static void start_editing(Repl *r)
{
    r->el = el_init("vg", r->in, r->out, r->err);
    r->hist = history_init();
    HistEvent ev;
    history(r->hist, &ev, H_SETSIZE, HISTORY_SIZE);
    history(r->hist, &ev, H_SETUNIQUE, 1);
    const char *home = getenv("HOME");
    if (home && *home) {
        size_t n = strlen(home) + sizeof "/.vg_history";
        r->hist_path = xmalloc(n);
        snprintf(r->hist_path, n, "%s/.vg_history", home);
        history(r->hist, &ev, H_LOAD, r->hist_path);
    }
    el_set(r->el, EL_CLIENTDATA, r);
    el_set(r->el, EL_EDITOR, "emacs");
    el_set(r->el, EL_SIGNAL, 1);
    el_set(r->el, EL_PROMPT, prompt);
    el_set(r->el, EL_HIST, history, r->hist);
    el_set(r->el, EL_ADDFN, "vg-complete", "complete a name or command", complete);
    el_set(r->el, EL_BIND, "^I", "vg-complete", NULL);
    el_source(r->el, NULL);   /* the user's ~/.editrc */
}

static void stop_editing(Repl *r)
{
    HistEvent ev;
    if (r->hist_path)
        history(r->hist, &ev, H_SAVE, r->hist_path);
    free(r->hist_path);
    history_end(r->hist);
    el_end(r->el);
}

static void remember(Repl *r, const char *line, size_t len)
{
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len == 0 || strspn(line, " \t") == len)
        return;
    char *copy = xmalloc(len + 1);
    memcpy(copy, line, len);
    copy[len] = '\0';
    HistEvent ev;
    history(r->hist, &ev, H_ENTER, copy);
    free(copy);
}

/* ---- the session ---- */

typedef enum { READ_LINE, READ_EOF, READ_INTERRUPTED } ReadStatus;

static ReadStatus read_line(Repl *r, char **buf, size_t *cap, size_t *len)
{
    if (!r->interactive) {
        errno = 0;
        ssize_t n = getline(buf, cap, r->in);
        if (n < 0)
            return errno == EINTR ? READ_INTERRUPTED : READ_EOF;
        *len = (size_t)n;
        return READ_LINE;
    }
    int n;
    const char *s = el_gets(r->el, &n);
    if (train_interrupted)
        return READ_INTERRUPTED;
    if (!s || n <= 0)
        return READ_EOF;
    if ((size_t)n + 1 > *cap) {
        *cap = (size_t)n + 1;
        *buf = xrealloc(*buf, *cap);
    }
    memcpy(*buf, s, (size_t)n);
    (*buf)[n] = '\0';
    *len = (size_t)n;
    return READ_LINE;
}

static void handle_line(Repl *r, const char *line, size_t len)
{
    if (r->echo) {   /* a blank line shows the prompt without its space */
        const char *pr = r->plen ? CONTINUE : PROMPT;
        bool empty = strspn(line, "\r\n") == len;
        fprintf(r->out, "%.*s", (int)strlen(pr) - empty, pr);
        fwrite(line, 1, len, r->out);
        if (len == 0 || line[len - 1] != '\n')
            fputc('\n', r->out);
    }
    if (r->interactive)
        remember(r, line, len);
    r->line_text = line;
    r->line_file = -1;
    size_t blank = strspn(line, " \t\r\n");
    if (line[blank] == ':') {
        if (r->plen)
            incomplete(r);
        settle(r, command(r));
        return;
    }
    if (r->plen == 0 && blank == len)
        return;
    if (r->plen == 0)
        r->pending_line = r->line;
    while (r->pcap < r->plen + len + 2) {
        r->pcap = r->pcap ? 2 * r->pcap : 256;
        r->pending = xrealloc(r->pending, r->pcap);
    }
    memcpy(r->pending + r->plen, line, len);
    r->plen += len;
    if (len == 0 || line[len - 1] != '\n')
        r->pending[r->plen++] = '\n';
    if (needs_more(r->pending, r->plen))
        return;
    settle(r, entry(r));
    r->plen = 0;
}

static void on_sigint(int sig)
{
    train_interrupted = sig;
}

static void loop(Repl *r)
{
    char *buf = NULL;
    size_t cap = 0, len = 0;
    while (!r->quit) {
        ReadStatus st = read_line(r, &buf, &cap, &len);
        if (st == READ_INTERRUPTED) {
            train_interrupted = 0;
            if (!r->interactive) {
                r->status = EXIT_SIGNAL + SIGINT;  /* as `vg run` */
                break;
            }
            r->plen = 0;   /* Ctrl-C drops the line and any open entry */
            fputc('\n', r->out);
            continue;
        }
        if (st == READ_EOF) {
            if (r->plen)
                incomplete(r);
            if (r->interactive)
                fputc('\n', r->out);
            break;
        }
        r->line++;
        handle_line(r, buf, len);
    }
    free(buf);
}

int repl_session(FILE *in, FILE *out, FILE *err, const ReplOptions *o)
{
    Repl r = {.in = in, .out = out, .err = err, .echo = o->echo, .line_file = -1};
    r.interactive = isatty(fileno(in)) && isatty(fileno(out));
    r.color_out = r.interactive && diag_color_for(out);
    r.color_err = r.color_out && diag_color_for(err);
    program_init(&r.p);
    r.p.allow_redefine = true;
    struct sigaction sa = {.sa_handler = on_sigint}, old;
    sigemptyset(&sa.sa_mask);   /* no SA_RESTART: a read returns at Ctrl-C */
    sigaction(SIGINT, &sa, &old);
    if (r.interactive) {
        start_editing(&r);
        fprintf(out, "vg %s: ':help' for help, ':quit' or Ctrl-D to leave\n", VG_VERSION);
    }
    if (o->file) {
        r.line_text = "";
        settle(&r, load_file(&r, o->file, SPAN_NONE));
    }
    loop(&r);
    if (r.interactive)
        stop_editing(&r);
    sigaction(SIGINT, &old, NULL);
    runset_free(&r.runs);
    program_free(&r.p);
    free(r.seen);
    free(r.pending);
    return r.interactive ? 0 : r.status;
}
