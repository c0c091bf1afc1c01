/* lsp.c — `vg lsp`, the language server (include/vg/lsp.h).
 *
 * Each change of a document is analysed from scratch: a fresh Program
 * loads the buffer's text (its imports from disk) and runs `vg check`'s
 * checks, so the editor shows the command line's diagnostics, word for
 * word. The analysis of the latest text that parsed is kept for names
 * (completion, hover, definition): while the user types, the buffer often
 * does not parse, and the names of a moment ago are the useful ones. */
#include "vg/lsp.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vg/check.h"
#include "vg/elab.h"
#include "vg/fmt.h"
#include "vg/metrics.h"
#include "vg/ops.h"
#include "vg/parse.h"
#include "vg/program.h"
#include "vg/settings.h"

/* JSON-RPC and LSP error codes. */
enum {
    RPC_PARSE_ERROR = -32700,
    RPC_INVALID_REQUEST = -32600,
    RPC_METHOD_NOT_FOUND = -32601,
    RPC_INVALID_PARAMS = -32602,
    LSP_SERVER_NOT_INITIALIZED = -32002,
};

/* LSP's CompletionItemKind values used here. */
enum {
    CK_FUNCTION = 3, CK_FIELD = 5, CK_VARIABLE = 6, CK_CLASS = 7, CK_PROPERTY = 10,
    CK_VALUE = 12, CK_KEYWORD = 14, CK_CONSTANT = 21, CK_STRUCT = 22,
};

/* A bound on one message, far above any real .vg file, so a bad header
 * cannot make the server allocate without limit. */
enum { MAX_MESSAGE = 64 << 20 };

typedef struct Doc {
    char *uri, *path;
    char *text;
    size_t len;
    Program *prog;   /* the latest analysis whose text parsed, or NULL */
    char **others;   /* imported files' URIs last given diagnostics */
    int nothers;
} Doc;

typedef struct Server {
    FILE *in, *out, *log;
    Doc *docs;
    int ndocs, cap;
    bool initialized, shutdown;
    Program builtins;  /* an empty program: built-in names, import search */
} Server;

/* ---- JSON helpers ---- */

static json_object *jget(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v = jget(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static void jset(json_object *o, const char *key, json_object *v)
{
    json_object_object_add(o, key, v);
}

static void send(Server *s, json_object *msg)
{
    jset(msg, "jsonrpc", json_object_new_string("2.0"));
    size_t len;
    const char *body = json_object_to_json_string_length(
        msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    fprintf(s->out, "Content-Length: %zu\r\n\r\n", len);
    fwrite(body, 1, len, s->out);
    fflush(s->out);
    json_object_put(msg);
}

static void reply(Server *s, json_object *id, json_object *result)
{
    json_object *msg = json_object_new_object();
    jset(msg, "id", json_object_get(id));
    jset(msg, "result", result);
    send(s, msg);
}

static void reply_error(Server *s, json_object *id, int code, const char *text)
{
    json_object *err = json_object_new_object();
    jset(err, "code", json_object_new_int(code));
    jset(err, "message", json_object_new_string(text));
    json_object *msg = json_object_new_object();
    jset(msg, "id", json_object_get(id));  /* NULL becomes JSON null */
    jset(msg, "error", err);
    send(s, msg);
}

static void notify(Server *s, const char *method, json_object *params)
{
    json_object *msg = json_object_new_object();
    jset(msg, "method", json_object_new_string(method));
    jset(msg, "params", params);
    send(s, msg);
}

static void log_problem(Server *s, const char *what)
{
    if (s->log)
        fprintf(s->log, "vg lsp: %s\n", what);
}

/* ---- framing ---- */

/* Reads one message's body. Returns 1 with a malloc'd NUL-terminated body,
 * 0 at the end of input, or -1 for a header without a usable
 * Content-Length (its body, if any, cannot be found, so it is lost). */
static int read_message(Server *s, char **body, size_t *len)
{
    char line[1024];
    long n = -1;
    bool header = false;
    for (;;) {
        if (!fgets(line, sizeof line, s->in))
            return 0;
        if (strcmp(line, "\r\n") == 0 || strcmp(line, "\n") == 0) {
            if (header)
                break;
            continue;  /* blank lines between messages */
        }
        header = true;
        if (strncasecmp(line, "Content-Length:", 15) == 0) {
            char *end;
            n = strtol(line + 15, &end, 10);
            while (*end == ' ' || *end == '\r' || *end == '\n')
                end++;
            if (*end || end == line + 15)
                n = -1;
        }
    }
    if (n < 0 || n > MAX_MESSAGE)
        return -1;
    *body = xmalloc((size_t)n + 1);
    if (fread(*body, 1, (size_t)n, s->in) != (size_t)n) {
        free(*body);
        return 0;
    }
    (*body)[n] = '\0';
    *len = (size_t)n;
    return 1;
}

/* ---- URIs and positions ---- */

static int hex(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The file path of a file:// URI, percent-decoded; a URI of another
 * scheme is kept as it is (its imports then resolve from "."). */
static char *uri_path(const char *uri)
{
    if (strncmp(uri, "file://", 7) != 0)
        return xstrdup(uri);
    const char *u = uri + 7;
    char *path = xmalloc(strlen(u) + 1), *o = path;
    for (; *u; u++) {
        if (*u == '%' && hex(u[1]) >= 0 && hex(u[2]) >= 0) {
            *o++ = (char)(hex(u[1]) * 16 + hex(u[2]));
            u += 2;
        } else {
            *o++ = *u;
        }
    }
    *o = '\0';
    return path;
}

static char *path_uri(const char *path)
{
    char canon[PATH_MAX];
    if (realpath(path, canon))
        path = canon;
    char *uri = xmalloc(strlen(path) * 3 + 8), *o = uri;
    o += sprintf(o, "file://");
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr("/-._~", *c))
            *o++ = (char)*c;
        else
            o += sprintf(o, "%%%02X", *c);
    }
    *o = '\0';
    return uri;
}

/* UTF-16 code units of the UTF-8 sequence that starts with byte c: two for
 * a character outside the BMP, none for a continuation byte. */
static int utf16_units(unsigned char c)
{
    return (c & 0xC0) == 0x80 ? 0 : c >= 0xF0 ? 2 : 1;
}

/* Byte offset of the start of 0-based line `line` (len past the end). */
static size_t line_offset(const char *t, size_t len, long line)
{
    size_t off = 0;
    for (; line > 0 && off < len; off++)
        if (t[off] == '\n')
            line--;
    return line > 0 ? len : off;
}

/* Byte offset of an LSP position; a character past the line's end is the
 * end of the line. */
static size_t position_offset(const char *t, size_t len, long line, long ch)
{
    size_t off = line_offset(t, len, line);
    for (long units = 0; off < len && t[off] != '\n';) {
        units += utf16_units((unsigned char)t[off]);
        if (units > ch)
            break;
        off++;
    }
    return off;
}

static json_object *position_json(const char *t, size_t len, size_t off)
{
    long line = 0, ch = 0;
    for (size_t i = 0; i < off && i < len; i++) {
        if (t[i] == '\n')
            line++, ch = 0;
        else
            ch += utf16_units((unsigned char)t[i]);
    }
    json_object *pos = json_object_new_object();
    jset(pos, "line", json_object_new_int64(line));
    jset(pos, "character", json_object_new_int64(ch));
    return pos;
}

static json_object *range_json(const char *t, size_t len, size_t a, size_t b)
{
    json_object *r = json_object_new_object();
    jset(r, "start", position_json(t, len, a));
    jset(r, "end", position_json(t, len, b));
    return r;
}

/* A Span (1-based lines, 1-based byte columns, inclusive end) as an LSP
 * range (exclusive end, after the whole last character). */
static json_object *span_range(const char *t, size_t len, Span sp)
{
    if (sp.first_line <= 0)
        return range_json(t, len, 0, 0);
    size_t a = line_offset(t, len, sp.first_line - 1) + (size_t)(sp.first_column - 1);
    size_t b = sp.last_line > 0
        ? line_offset(t, len, sp.last_line - 1) + (size_t)sp.last_column : a;
    if (a > len)
        a = len;
    while (b < len && (t[b] & 0xC0) == 0x80)
        b++;
    if (b > len)
        b = len;
    return range_json(t, len, a, b < a ? a : b);
}

static bool ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_';
}

/* ---- documents ---- */

static Doc *find_doc(Server *s, const char *uri)
{
    for (int i = 0; uri && i < s->ndocs; i++)
        if (strcmp(s->docs[i].uri, uri) == 0)
            return &s->docs[i];
    return NULL;
}

static void drop_prog(Doc *d)
{
    if (d->prog) {
        program_free(d->prog);
        free(d->prog);
        d->prog = NULL;
    }
}

static void free_doc(Doc *d)
{
    drop_prog(d);
    for (int i = 0; i < d->nothers; i++)
        free(d->others[i]);
    free(d->others);
    free(d->uri);
    free(d->path);
    free(d->text);
}

/* The program a document's names come from: its latest analysis that
 * parsed, else the built-ins alone. */
static Program *names_of(Server *s, Doc *d)
{
    return d->prog ? d->prog : &s->builtins;
}

/* ---- diagnostics ---- */

static json_object *diagnostic_json(Arena *a, const Source *src, const Diag *dg)
{
    json_object *o = json_object_new_object();
    jset(o, "range", span_range(src->text, src->len, dg->span));
    jset(o, "severity", json_object_new_int(dg->severity == DIAG_ERROR ? 1
                                            : dg->severity == DIAG_WARNING ? 2 : 3));
    jset(o, "source", json_object_new_string("vg"));
    jset(o, "message", json_object_new_string(
        dg->note ? arena_concat(a, dg->msg, "\nnote: ", dg->note, (char *)NULL) : dg->msg));
    return o;
}

static void publish(Server *s, const char *uri, json_object *diagnostics)
{
    json_object *params = json_object_new_object();
    jset(params, "uri", json_object_new_string(uri));
    jset(params, "diagnostics", diagnostics);
    notify(s, "textDocument/publishDiagnostics", params);
}

/* Publishes p's diagnostics: the document's own (also those without a
 * place, such as an unreadable import's folder), and each imported file's
 * under its URI and again, with its place in the message, at the
 * document's import that brought it in; an imported file that had
 * diagnostics last time and has none now is cleared. */
static void publish_all(Server *s, Doc *d, Program *p)
{
    int nf = p->sources.n;
    json_object **per = xcalloc((size_t)nf + 1, sizeof *per);
    int root = p->root_file;
    for (int i = 0; i < p->diag.n; i++) {
        const Diag *dg = &p->diag.items[i];
        int f = dg->span.file >= 0 && dg->span.file < nf ? dg->span.file : root;
        Source doc_src = {.text = d->text, .len = d->len};
        const Source *src = f >= 0 ? &p->sources.files[f] : &doc_src;
        Diag placed = *dg;
        if (f < 0 || dg->span.file != f)
            placed.span = SPAN_NONE;
        int slot = f < 0 || f == root ? nf : f;
        if (!per[slot])
            per[slot] = json_object_new_array();
        json_object_array_add(per[slot], diagnostic_json(&p->arena, src, &placed));
        Span via = slot == nf ? SPAN_NONE : program_import_of(p, f, root);
        if (via.file == root) {
            /* the document's own import that brought the error in */
            Diag shown = *dg;
            shown.span = via;
            shown.msg = arena_printf(&p->arena, "in %s:%d:%d: %s", p->sources.files[f].path,
                                     dg->span.first_line, dg->span.first_column, dg->msg);
            if (!per[nf])
                per[nf] = json_object_new_array();
            json_object_array_add(per[nf], diagnostic_json(&p->arena, &doc_src, &shown));
        }
    }
    publish(s, d->uri, per[nf] ? per[nf] : json_object_new_array());
    char **now = NULL;
    int nnow = 0, nowcap = 0;
    for (int f = 0; f < nf; f++) {
        if (!per[f])
            continue;
        char *uri = path_uri(p->sources.files[f].path);
        publish(s, uri, per[f]);
        VEC_PUSH(now, nnow, nowcap, uri);
    }
    for (int i = 0; i < d->nothers; i++) {
        bool still = false;
        for (int k = 0; k < nnow; k++)
            still |= strcmp(now[k], d->others[i]) == 0;
        if (!still)
            publish(s, d->others[i], json_object_new_array());
        free(d->others[i]);
    }
    free(d->others);
    d->others = now;
    d->nothers = nnow;
    free(per);
}

/* `vg check` on the document's text. */
static void analyse(Server *s, Doc *d)
{
    Program *p = xmalloc(sizeof *p);
    program_init(p);
    if (program_load_text(p, d->path, d->text, d->len)) {
        TrainOptions o = {.seed = -1, .max_memory = TRAIN_DEFAULT_MAX_MEMORY};
        RunSet rs = {0};
        check_prepare_runs(p, &o, NULL, NULL, &rs);
        runset_free(&rs);
        check_untrained_models(p);
    }
    publish_all(s, d, p);
    /* the document's own file is the last to finish loading, so it is in
     * the loaded list exactly when it parsed */
    if (p->nloaded > 0) {
        drop_prog(d);
        d->prog = p;
    } else {
        program_free(p);
        free(p);
    }
}

/* ---- names ---- */

/* A growing list of completion items, each label once. */
typedef struct Items {
    json_object *arr;
    const char *prefix;
    const char **labels;
    int n, cap;
} Items;

static void add_item(Items *it, const char *label, int kind, const char *detail,
                     const char *insert)
{
    if (strncmp(label, it->prefix, strlen(it->prefix)) != 0)
        return;
    for (int i = 0; i < it->n; i++)
        if (strcmp(it->labels[i], label) == 0)
            return;
    VEC_PUSH(it->labels, it->n, it->cap, label);
    json_object *o = json_object_new_object();
    jset(o, "label", json_object_new_string(label));
    jset(o, "kind", json_object_new_int(kind));
    if (detail)
        jset(o, "detail", json_object_new_string(detail));
    if (insert)
        jset(o, "insertText", json_object_new_string(insert));
    json_object_array_add(it->arr, o);
}

/* A signature as .vg calls it: "dense(x, units, init = xavier_uniform,
 * bias = true)", in the arena. */
static const char *signature(Arena *a, const char *name, const Sig *sig)
{
    char *out = arena_concat(a, name, "(", (char *)NULL);
    for (int i = 0; i < sig->n; i++)
        out = arena_concat(a, out, i ? ", " : "", sig->p[i].name,
                           sig->p[i].dflt ? " = " : "", sig->p[i].dflt ? sig->p[i].dflt : "",
                           (char *)NULL);
    return arena_concat(a, out, ")", (char *)NULL);
}

/* A model's or def's parameter list as written: "mlp(depth, width = 16)". */
static const char *item_signature(Arena *a, const AstNode *item)
{
    char *out = arena_concat(a, item->kind == AST_MODEL ? "model " : "def ", item->str, "(",
                             (char *)NULL);
    for (const AstNode *q = item->list.head; q; q = q->next) {
        char *dflt = NULL;
        size_t n = 0;
        if (q->a) {
            FILE *f = open_memstream(&dflt, &n);
            ast_print(f, q->a, 0);
            fclose(f);
        }
        out = arena_concat(a, out, q == item->list.head ? "" : ", ", q->str,
                           dflt ? " = " : "", dflt ? dflt : "", (char *)NULL);
        free(dflt);
    }
    return arena_concat(a, out, ")", (char *)NULL);
}

/* Whether op is one a program calls by name (not input, target or +). */
static bool is_op_name(int op)
{
    return op >= 0 && op_def(op)->kind != OPK_SOURCE && op_def(op)->name[0] >= 'a' &&
           op_def(op)->name[0] <= 'z';
}

/* The kind and detail of a top-level or built-in name. */
static int name_kind(Program *p, const char *name, const char **detail)
{
    *detail = NULL;
    const Symbol *sym = program_lookup(p, name);
    if (sym) {
        switch (sym->kind) {
        case SYM_MODEL: *detail = item_signature(&p->arena, sym->ast); return CK_CLASS;
        case SYM_DEF: *detail = item_signature(&p->arena, sym->ast); return CK_FUNCTION;
        case SYM_SETTINGS: *detail = "settings"; return CK_STRUCT;
        case SYM_LET: *detail = "let"; return CK_CONSTANT;
        }
    }
    int op = op_lookup(name);
    if (is_op_name(op)) {
        *detail = signature(&p->arena, name, op_sig(op));
        return CK_FUNCTION;
    }
    int spec = spec_lookup(name);
    if (spec >= 0) {
        *detail = arena_concat(&p->arena, spec_kind_name(spec_table[spec].kind), ": ",
                               signature(&p->arena, name, spec_sig(spec)), (char *)NULL);
        return CK_VALUE;
    }
    return CK_CONSTANT;
}

static const AstNode *find_train(Program *p, const char *name)
{
    for (int i = 0; i < p->ntrains; i++)
        if (strcmp(p->trains[i]->str, name) == 0)
            return p->trains[i];
    return NULL;
}

/* The layer names a node declares, and those of the defs it calls, into
 * it (depth bounds a def that calls itself). */
static void collect_layers(Program *p, const AstNode *n, Items *it, int depth)
{
    for (; n && depth < 16; n = n->next) {
        if (n->kind == AST_LAYER)
            add_item(it, n->str, CK_FIELD, "layer", NULL);
        if (n->kind == AST_CALL && n->a && n->a->kind == AST_NAME) {
            const Symbol *sym = program_lookup(p, n->a->str);
            if (sym && sym->kind == SYM_DEF)
                collect_layers(p, sym->ast->list2.head, it, depth + 1);
        }
        if (n->a)
            collect_layers(p, n->a, it, depth);
        if (n->b)
            collect_layers(p, n->b, it, depth);
        collect_layers(p, n->list.head, it, depth);
        collect_layers(p, n->list2.head, it, depth);
        if (n->kind == AST_MODEL || n->kind == AST_DEF)
            return;  /* a parameter's default is not followed by the next item */
    }
}

static void run_layers(Program *p, const AstNode *train, Items *it)
{
    const Symbol *model = program_lookup(p, train->a->a->str);
    if (model && model->kind == SYM_MODEL)
        collect_layers(p, model->ast->list2.head, it, 0);
}

static const char *const run_values[] = {
    "loss", "accuracy", "test_accuracy", "step", "global_norm", "clipped",
};

/* Completion after "RUN." and its longer paths. */
static void complete_member(Program *p, const char *t, size_t dot, Items *it)
{
    enum { MAXSEG = 8 };
    const char *seg[MAXSEG];
    int nseg = 0;
    size_t q = dot;  /* at a '.' */
    while (nseg < MAXSEG && t[q] == '.') {
        size_t e = q;
        if (e > 0 && t[e - 1] == ']') {  /* an index: fc[1], grid[20, 0.5] */
            int depth = 0;
            while (e > 0) {
                e--;
                depth += t[e] == ']' ? 1 : t[e] == '[' ? -1 : 0;
                if (depth == 0)
                    break;
            }
        }
        size_t b = e;
        while (b > 0 && ident_char(t[b - 1]))
            b--;
        if (b == e)
            break;
        seg[nseg++] = arena_strndup(&p->arena, t + b, e - b);
        if (b == 0)
            break;
        q = b - 1;
    }
    if (nseg == 0)
        return;
    const AstNode *train = find_train(p, seg[nseg - 1]);  /* seg is last-first */
    if (!train)
        return;
    bool report = nseg >= 2 && (strcmp(seg[nseg - 2], "initial") == 0 ||
                                strcmp(seg[nseg - 2], "final") == 0);
    if (nseg == 1 || (nseg == 2 && report)) {
        if (nseg == 1) {
            add_item(it, "initial", CK_PROPERTY, "the first report", NULL);
            add_item(it, "final", CK_PROPERTY, "the last report", NULL);
            add_item(it, "diverged", CK_PROPERTY, "whether the run hit a non-finite value", NULL);
            add_item(it, "diverged_at", CK_PROPERTY, "the step it did", NULL);
        }
        for (size_t i = 0; i < sizeof run_values / sizeof *run_values; i++)
            add_item(it, run_values[i], CK_PROPERTY, "run-level value", NULL);
        run_layers(p, train, it);
        return;
    }
    if (nseg == 2 || (nseg == 3 && report)) {
        for (int i = 0; i < M_COUNT; i++)
            add_item(it, metric_names[i], CK_PROPERTY, "layer metric", NULL);
        add_item(it, "verdict", CK_PROPERTY, "layer verdict", NULL);
        add_item(it, "bptt", CK_PROPERTY, "gradient norm through time, bptt[t]", NULL);
    }
}

/* The name of the call whose argument list holds off, when off starts an
 * argument (after '(' or ','), else NULL. */
static const char *open_call(Arena *a, const char *t, size_t off)
{
    size_t q = off;
    while (q > 0 && (t[q - 1] == ' ' || t[q - 1] == '\t' || t[q - 1] == '\n'))
        q--;
    if (q == 0 || (t[q - 1] != '(' && t[q - 1] != ','))
        return NULL;
    int depth = 0;
    while (q > 0) {
        char c = t[--q];
        if (c == ')' || c == ']')
            depth++;
        else if (c == '[' && depth > 0)
            depth--;
        else if (c == '(' && depth > 0)
            depth--;
        else if (c == '(')
            break;
        else if (c == '{' || c == '}' || c == '[')
            return NULL;
    }
    if (t[q] != '(')
        return NULL;
    size_t e = q;
    while (e > 0 && t[e - 1] == ' ')
        e--;
    size_t b = e;
    while (b > 0 && ident_char(t[b - 1]))
        b--;
    return b < e ? arena_strndup(a, t + b, e - b) : NULL;
}

static void add_params(Items *it, Arena *a, const Sig *sig, const char *of)
{
    for (int i = 0; i < sig->n; i++)
        add_item(it, sig->p[i].name, CK_PROPERTY, arena_concat(a, "parameter of ", of,
                 (char *)NULL), arena_concat(a, sig->p[i].name, " = ", (char *)NULL));
}

static void complete_kwargs(Program *p, const char *callee, Items *it)
{
    const Symbol *sym = program_lookup(p, callee);
    if (sym && (sym->kind == SYM_MODEL || sym->kind == SYM_DEF)) {
        for (const AstNode *q = sym->ast->list.head; q; q = q->next)
            add_item(it, q->str, CK_PROPERTY, arena_concat(&p->arena, "parameter of ", callee,
                     (char *)NULL), arena_concat(&p->arena, q->str, " = ", (char *)NULL));
        return;
    }
    int op = op_lookup(callee);
    if (is_op_name(op))
        add_params(it, &p->arena, op_sig(op), callee);
    int spec = spec_lookup(callee);
    if (spec >= 0)
        add_params(it, &p->arena, spec_sig(spec), callee);
}

/* Whether off starts a line of a settings or train block: where a key
 * goes. */
static bool at_setting_key(const char *t, size_t off)
{
    size_t q = off;
    while (q > 0 && (t[q - 1] == ' ' || t[q - 1] == '\t'))
        q--;
    if (q > 0 && t[q - 1] != '\n' && t[q - 1] != '{')
        return false;
    int depth = 0;
    while (q > 0) {
        char c = t[--q];
        if (c == '}')
            depth++;
        else if (c == '{' && depth-- == 0)
            break;
    }
    if (t[q] != '{')
        return false;
    while (q > 0 && t[q - 1] != '\n')
        q--;
    while (t[q] == ' ' || t[q] == '\t')
        q++;
    return strncmp(t + q, "settings", 8) == 0 || strncmp(t + q, "train", 5) == 0;
}

/* The key of "KEY = |" when off is where its value goes, else NULL. */
static const char *value_key(Arena *a, const char *t, size_t off)
{
    size_t q = off;
    while (q > 0 && (t[q - 1] == ' ' || t[q - 1] == '\t'))
        q--;
    if (q == 0 || t[q - 1] != '=' || (q >= 2 && strchr("=<>!", t[q - 2])))
        return NULL;
    q--;
    while (q > 0 && (t[q - 1] == ' ' || t[q - 1] == '\t'))
        q--;
    size_t e = q;
    while (q > 0 && ident_char(t[q - 1]))
        q--;
    return q < e ? arena_strndup(a, t + q, e - q) : NULL;
}

/* The values that fit a settings key or a keyword argument whose values
 * are of one kind (data = a data set, act = an activation, …), and the
 * program's constants, which may hold one; false for any other key. */
static bool complete_value(Program *p, const char *key, Items *it)
{
    static const struct { const char *key; int spec; int op; } kinds[] = {
        {"data", SPEC_DATA, -1}, {"optimizer", SPEC_OPTIM, -1}, {"clip", SPEC_CLIP, -1},
        {"pretrain", SPEC_PRETRAIN, -1}, {"init", SPEC_INIT, -1}, {"schedule", SPEC_SCHED, -1},
        {"recurrent_init", SPEC_INIT, -1}, {"loss", -1, OPK_LOSS},
        {"act", -1, OPK_ACTIVATION},
    };
    int k = -1;
    for (int i = 0; i < (int)(sizeof kinds / sizeof *kinds); i++)
        if (strcmp(kinds[i].key, key) == 0)
            k = i;
    if (k < 0)
        return false;
    for (int i = 0; i < SPEC_COUNT + OP_COUNT; i++) {
        bool fits = i < SPEC_COUNT ? (int)spec_table[i].kind == kinds[k].spec
                                   : (int)op_def(i - SPEC_COUNT)->kind == kinds[k].op;
        if (!fits || i == SPEC_THEN)  /* `then` is a keyword, offered as one */
            continue;
        const char *name = i < SPEC_COUNT ? spec_table[i].name : op_def(i - SPEC_COUNT)->name;
        const char *detail;
        int kind = name_kind(p, name, &detail);
        add_item(it, name, kind, detail, NULL);
    }
    if (kinds[k].spec == SPEC_CLIP || kinds[k].spec == SPEC_PRETRAIN)
        add_item(it, "none", CK_CONSTANT, "no clipping or pre-training", NULL);
    if (kinds[k].spec == SPEC_SCHED)
        add_item(it, "constant", CK_CONSTANT, "the optimizer's lr at every step", NULL);
    for (int i = 0; i < p->nsyms; i++)
        if (p->syms[i].kind == SYM_LET)
            add_item(it, p->syms[i].name, CK_CONSTANT, "let", NULL);
    return true;
}

static void complete_names(Program *p, Items *it)
{
    for (int i = 0; i < lex_keyword_count; i++)
        add_item(it, lex_keywords[i], CK_KEYWORD, NULL, NULL);
    const char *names[1024];
    int n = elab_global_names(p, names, 1024);
    for (int i = 0; i < n; i++) {
        const char *detail;
        int kind = name_kind(p, names[i], &detail);
        add_item(it, names[i], kind, detail, NULL);
    }
    for (int i = 0; i < p->ntrains; i++)
        add_item(it, p->trains[i]->str, CK_VARIABLE, "run", NULL);
}

static json_object *completion(Server *s, Doc *d, size_t off)
{
    Program *p = names_of(s, d);
    const char *t = d->text;
    size_t w = off;
    while (w > 0 && ident_char(t[w - 1]))
        w--;
    Items it = {.arr = json_object_new_array(),
                .prefix = arena_strndup(&p->arena, t + w, off - w)};
    if (w > 0 && t[w - 1] == '.') {
        complete_member(p, t, w - 1, &it);
    } else {
        if (at_setting_key(t, w))
            for (int i = 0; settings_key(i); i++)
                add_item(&it, settings_key(i), CK_PROPERTY, "setting",
                         arena_concat(&p->arena, settings_key(i), " = ", (char *)NULL));
        const char *callee = open_call(&p->arena, t, w);
        const char *key = value_key(&p->arena, t, w);
        if (callee)
            complete_kwargs(p, callee, &it);
        if (!key || !complete_value(p, key, &it))
            complete_names(p, &it);
    }
    free(it.labels);
    json_object *list = json_object_new_object();
    jset(list, "isIncomplete", json_object_new_boolean(false));
    jset(list, "items", it.arr);
    return list;
}

/* The identifier around off, as [*a, *b); false when there is none. */
static bool word_at(const char *t, size_t len, size_t off, size_t *a, size_t *b)
{
    *a = *b = off;
    while (*a > 0 && ident_char(t[*a - 1]))
        (*a)--;
    while (*b < len && ident_char(t[*b]))
        (*b)++;
    return *b > *a;
}

static json_object *hover(Server *s, Doc *d, size_t off)
{
    size_t a, b;
    if (!word_at(d->text, d->len, off, &a, &b))
        return NULL;
    Program *p = names_of(s, d);
    const char *name = arena_strndup(&p->arena, d->text + a, b - a);
    const char *code = NULL, *doc = NULL;
    const Symbol *sym = program_lookup(p, name);
    int op = op_lookup(name), spec = spec_lookup(name);
    const AstNode *train = find_train(p, name);
    if (sym && (sym->kind == SYM_MODEL || sym->kind == SYM_DEF)) {
        code = item_signature(&p->arena, sym->ast);
    } else if (sym) {
        code = arena_concat(&p->arena, sym->kind == SYM_LET ? "let " : "settings ", name,
                            (char *)NULL);
    } else if (train) {
        code = arena_concat(&p->arena, "train ", name, " = ", train->a->a->str, "(…)",
                            (char *)NULL);
    } else if (is_op_name(op)) {
        code = signature(&p->arena, name, op_sig(op));
        doc = op_def(op)->doc;
    } else if (spec >= 0) {
        code = signature(&p->arena, name, spec_sig(spec));
        doc = arena_concat(&p->arena, "a built-in ", spec_kind_name(spec_table[spec].kind),
                           (char *)NULL);
    } else {
        return NULL;
    }
    json_object *contents = json_object_new_object();
    jset(contents, "kind", json_object_new_string("markdown"));
    jset(contents, "value", json_object_new_string(arena_concat(
        &p->arena, "```vg\n", code, "\n```", doc ? "\n" : "", doc ? doc : "", (char *)NULL)));
    json_object *h = json_object_new_object();
    jset(h, "contents", contents);
    jset(h, "range", range_json(d->text, d->len, a, b));
    return h;
}

static json_object *location(const char *uri, json_object *range)
{
    json_object *loc = json_object_new_object();
    jset(loc, "uri", json_object_new_string(uri));
    jset(loc, "range", range);
    return loc;
}

/* The import path on the line around off, if the line is an import. */
static const char *import_at(Arena *a, const char *t, size_t len, size_t off)
{
    size_t q = off;
    while (q > 0 && t[q - 1] != '\n')
        q--;
    while (q < len && (t[q] == ' ' || t[q] == '\t'))
        q++;
    if (strncmp(t + q, "import", 6) != 0)
        return NULL;
    const char *open = memchr(t + q, '"', len - q);
    const char *eol = memchr(t + q, '\n', len - q);
    if (!open || (eol && open > eol))
        return NULL;
    const char *close = memchr(open + 1, '"', (size_t)(t + len - open - 1));
    if (!close || (eol && close > eol))
        return NULL;
    return arena_strndup(a, open + 1, (size_t)(close - open - 1));
}

static json_object *definition(Server *s, Doc *d, size_t off)
{
    Program *p = names_of(s, d);
    const char *imp = import_at(&p->arena, d->text, d->len, off);
    if (imp) {
        const char *dir = strrchr(d->path, '/')
            ? arena_strndup(&p->arena, d->path, (size_t)(strrchr(d->path, '/') - d->path))
            : ".";
        const char *file = program_resolve_import(p, imp, *dir ? dir : "/");
        if (!file)
            return NULL;
        char *uri = path_uri(file);
        json_object *loc = location(uri, range_json("", 0, 0, 0));
        free(uri);
        return loc;
    }
    size_t a, b;
    if (!word_at(d->text, d->len, off, &a, &b))
        return NULL;
    const char *name = arena_strndup(&p->arena, d->text + a, b - a);
    const Symbol *sym = program_lookup(p, name);
    const AstNode *item = sym ? sym->ast : find_train(p, name);
    if (!item || item->span.file < 0)
        return NULL;
    const Source *src = &p->sources.files[item->span.file];
    json_object *range = span_range(src->text, src->len, item->span);
    if (item->span.file == p->root_file)
        return location(d->uri, range);
    char *uri = path_uri(src->path);
    json_object *loc = location(uri, range);
    free(uri);
    return loc;
}

/* The whole document in `vg fmt`'s layout as one edit; none when it is
 * formatted already; NULL (no answer) when it does not parse. */
static json_object *formatting(Doc *d)
{
    SourceSet ss = {0};
    DiagSink dg;
    diag_init(&dg, &ss);
    Arena a;
    arena_init(&a);
    int file = source_add(&ss, d->path, d->text, d->len);
    size_t len;
    char *text = fmt_source(&a, &dg, file, &len);
    json_object *edits = NULL;
    if (text) {
        edits = json_object_new_array();
        if (len != d->len || memcmp(text, d->text, len) != 0) {
            json_object *e = json_object_new_object();
            jset(e, "range", range_json(d->text, d->len, 0, d->len));
            jset(e, "newText", json_object_new_string_len(text, (int)len));
            json_object_array_add(edits, e);
        }
    }
    free(text);
    arena_free(&a);
    diag_free(&dg);
    source_set_free(&ss);
    return edits;
}

/* ---- dispatch ---- */

static json_object *capabilities(void)
{
    json_object *caps = json_object_new_object();
    jset(caps, "textDocumentSync", json_object_new_int(1));  /* full text on change */
    json_object *comp = json_object_new_object();
    json_object *triggers = json_object_new_array();
    json_object_array_add(triggers, json_object_new_string("."));
    jset(comp, "triggerCharacters", triggers);
    jset(caps, "completionProvider", comp);
    jset(caps, "hoverProvider", json_object_new_boolean(true));
    jset(caps, "definitionProvider", json_object_new_boolean(true));
    jset(caps, "documentFormattingProvider", json_object_new_boolean(true));
    json_object *info = json_object_new_object();
    jset(info, "name", json_object_new_string("vg"));
    jset(info, "version", json_object_new_string(VG_VERSION));
    json_object *result = json_object_new_object();
    jset(result, "capabilities", caps);
    jset(result, "serverInfo", info);
    return result;
}

/* A document's new text, analysed at once: diagnostics follow every edit. */
static void update_doc(Server *s, Doc *d, const char *text)
{
    free(d->text);
    d->len = strlen(text);
    d->text = xstrdup(text);
    analyse(s, d);
}

static void open_doc(Server *s, json_object *td)
{
    const char *uri = jstr(td, "uri"), *text = jstr(td, "text");
    if (!uri || !text)
        return;
    Doc *d = find_doc(s, uri);
    if (!d) {
        VEC_PUSH(s->docs, s->ndocs, s->cap, ((Doc){.uri = xstrdup(uri), .path = uri_path(uri)}));
        d = &s->docs[s->ndocs - 1];
    }
    update_doc(s, d, text);
}

static void change_doc(Server *s, json_object *params)
{
    Doc *d = find_doc(s, jstr(jget(params, "textDocument"), "uri"));
    json_object *changes = jget(params, "contentChanges");
    if (!d || !changes || !json_object_is_type(changes, json_type_array))
        return;
    size_t n = json_object_array_length(changes);
    /* full synchronisation: the last change holds the whole text */
    const char *text = n ? jstr(json_object_array_get_idx(changes, n - 1), "text") : NULL;
    if (!text)
        return;
    update_doc(s, d, text);
}

static void close_doc(Server *s, json_object *params)
{
    Doc *d = find_doc(s, jstr(jget(params, "textDocument"), "uri"));
    if (!d)
        return;
    publish(s, d->uri, json_object_new_array());
    free_doc(d);
    *d = s->docs[--s->ndocs];
}

/* The document and byte offset a positional request is about. */
static Doc *doc_position(Server *s, json_object *params, size_t *off)
{
    Doc *d = find_doc(s, jstr(jget(params, "textDocument"), "uri"));
    json_object *pos = jget(params, "position");
    json_object *line = jget(pos, "line"), *ch = jget(pos, "character");
    if (!d || !line || !ch)
        return d;
    *off = position_offset(d->text, d->len, json_object_get_int64(line),
                           json_object_get_int64(ch));
    return d;
}

static void request(Server *s, const char *method, json_object *id, json_object *params)
{
    if (strcmp(method, "initialize") == 0) {
        s->initialized = true;
        reply(s, id, capabilities());
        return;
    }
    if (!s->initialized) {
        reply_error(s, id, LSP_SERVER_NOT_INITIALIZED, "the server is not initialized");
        return;
    }
    if (s->shutdown) {
        reply_error(s, id, RPC_INVALID_REQUEST, "the server is shutting down");
        return;
    }
    if (strcmp(method, "shutdown") == 0) {
        s->shutdown = true;
        reply(s, id, NULL);
        return;
    }
    static const char *const about_doc[] = {
        "textDocument/completion", "textDocument/hover", "textDocument/definition",
        "textDocument/formatting",
    };
    int which = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(method, about_doc[i]) == 0)
            which = i;
    if (which < 0) {
        reply_error(s, id, RPC_METHOD_NOT_FOUND, "unknown method");
        return;
    }
    size_t off = 0;
    Doc *d = doc_position(s, params, &off);
    if (!d) {
        reply_error(s, id, RPC_INVALID_PARAMS, "the document is not open");
        return;
    }
    reply(s, id, which == 0 ? completion(s, d, off) : which == 1 ? hover(s, d, off)
               : which == 2 ? definition(s, d, off) : formatting(d));
}

static void notification(Server *s, const char *method, json_object *params)
{
    if (!s->initialized || s->shutdown)
        return;
    if (strcmp(method, "textDocument/didOpen") == 0)
        open_doc(s, jget(params, "textDocument"));
    else if (strcmp(method, "textDocument/didChange") == 0)
        change_doc(s, params);
    else if (strcmp(method, "textDocument/didClose") == 0)
        close_doc(s, params);
}

/* Handles one message; returns false after "exit". */
static bool handle(Server *s, const char *body, size_t len)
{
    json_tokener *tok = json_tokener_new();
    json_object *msg = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error err = json_tokener_get_error(tok);
    bool complete = msg && err == json_tokener_success &&
                    json_tokener_get_parse_end(tok) == len;
    json_tokener_free(tok);
    if (!complete) {
        char why[160];
        snprintf(why, sizeof why, "the message is not JSON: %s",
                 err == json_tokener_success ? "text after the value"
                 : err == json_tokener_continue ? "it ends inside a value"
                                                : json_tokener_error_desc(err));
        log_problem(s, why);
        reply_error(s, NULL, RPC_PARSE_ERROR, why);
        json_object_put(msg);
        return true;
    }
    json_object *id = jget(msg, "id");
    const char *method = jstr(msg, "method");
    bool go_on = true;
    if (!json_object_is_type(msg, json_type_object) || (!method && !jget(msg, "result") &&
                                                        !jget(msg, "error"))) {
        log_problem(s, "a message that is neither a request nor a notification");
        reply_error(s, id, RPC_INVALID_REQUEST, "not a JSON-RPC request");
    } else if (!method) {
        /* a response: the server sends no requests, so there is none to await */
    } else if (strcmp(method, "exit") == 0) {
        go_on = false;
    } else if (id) {
        request(s, method, id, jget(msg, "params"));
    } else {
        notification(s, method, jget(msg, "params"));
    }
    json_object_put(msg);
    return go_on;
}

int lsp_serve(FILE *in, FILE *out, FILE *log)
{
    Server s = {.in = in, .out = out, .log = log};
    program_init(&s.builtins);
    for (;;) {
        char *body;
        size_t len;
        int got = read_message(&s, &body, &len);
        if (got == 0)
            break;
        if (got < 0) {
            log_problem(&s, "a message header without a valid Content-Length");
            reply_error(&s, NULL, RPC_PARSE_ERROR, "a header without a valid Content-Length");
            continue;
        }
        bool go_on = handle(&s, body, len);
        free(body);
        if (!go_on)
            break;
    }
    for (int i = 0; i < s.ndocs; i++)
        free_doc(&s.docs[i]);
    free(s.docs);
    program_free(&s.builtins);
    return s.shutdown ? 0 : 1;
}
