/* test_lsp.c — the language server's protocol: framing, errors for bad
 * input (an answer, never a crash or a hang), the lifecycle, and what each
 * request returns. A session is a string of framed messages fed to
 * lsp_serve; its output is split back into messages and read with json-c. */
#include "testutil.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vg/lsp.h"

#define URI "file:///nonexistent-dir/t.vg"

typedef struct Session {
    json_object *msgs[64];
    int n;
    int status;
} Session;

static char *frame(const char *body)
{
    char *out = malloc(strlen(body) + 64);
    sprintf(out, "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
    return out;
}

/* Runs the server over `input` (already framed) and parses every message
 * it wrote, checking each one's Content-Length against its body. */
static void run_raw(Session *s, const char *input)
{
    FILE *in = fmemopen((void *)input, strlen(input), "r");
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    FILE *log = fopen("/dev/null", "w");
    assert_non_null(in);
    s->status = lsp_serve(in, out, log);
    fclose(in);
    fclose(out);
    fclose(log);
    s->n = 0;
    const char *p = buf, *end = buf + len;
    while (p < end) {
        size_t n;
        assert_int_equal(sscanf(p, "Content-Length: %zu\r\n\r\n", &n), 1);
        const char *body = strstr(p, "\r\n\r\n");
        assert_non_null(body);
        body += 4;
        assert_true(body + n <= end);
        json_tokener *tok = json_tokener_new();
        json_object *o = json_tokener_parse_ex(tok, body, (int)n);
        assert_non_null(o);
        assert_int_equal(json_tokener_get_parse_end(tok), n);
        json_tokener_free(tok);
        assert_true(s->n < 64);
        if (getenv("LSP_DUMP"))
            fprintf(stderr, "%s\n", json_object_to_json_string(o));
        s->msgs[s->n++] = o;
        p = body + n;
    }
    free(buf);
}

/* Frames each body and runs them after an initialize request (id 0). */
static void run(Session *s, const char *const *bodies, int n)
{
    char *input = frame("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\","
                        "\"params\":{\"capabilities\":{}}}");
    for (int i = 0; i < n; i++) {
        char *f = frame(bodies[i]);
        input = realloc(input, strlen(input) + strlen(f) + 1);
        strcat(input, f);
        free(f);
    }
    run_raw(s, input);
    free(input);
}

static void done(Session *s)
{
    for (int i = 0; i < s->n; i++)
        json_object_put(s->msgs[i]);
}

static json_object *get(json_object *o, const char *path)
{
    char key[64];
    while (o && *path) {
        size_t k = strcspn(path, ".");
        snprintf(key, sizeof key, "%.*s", (int)k, path);
        if (json_object_is_type(o, json_type_array))
            o = json_object_array_get_idx(o, (size_t)atoi(key));
        else if (!json_object_object_get_ex(o, key, &o))
            return NULL;
        path += k + (path[k] == '.');
    }
    return o;
}

static const char *str(json_object *o, const char *path)
{
    json_object *v = get(o, path);
    return v ? json_object_get_string(v) : NULL;
}

static int num(json_object *o, const char *path)
{
    json_object *v = get(o, path);
    assert_non_null(v);
    return json_object_get_int(v);
}

/* The answer to request `id`. */
static json_object *answer(Session *s, int id)
{
    for (int i = 0; i < s->n; i++) {
        json_object *v = get(s->msgs[i], "id");
        if (v && json_object_is_type(v, json_type_int) && json_object_get_int(v) == id)
            return s->msgs[i];
    }
    fail_msg("no answer to request %d", id);
    return NULL;
}

/* The last diagnostics published for uri. */
static json_object *diagnostics(Session *s, const char *uri)
{
    json_object *last = NULL;
    for (int i = 0; i < s->n; i++)
        if (str(s->msgs[i], "method") && strcmp(str(s->msgs[i], "method"),
                                                "textDocument/publishDiagnostics") == 0 &&
            strcmp(str(s->msgs[i], "params.uri"), uri) == 0)
            last = get(s->msgs[i], "params.diagnostics");
    assert_non_null(last);
    return last;
}

/* didOpen of URI with text (JSON-escaped by json-c). */
static char *open_msg(const char *uri, const char *text)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(o, "method", json_object_new_string("textDocument/didOpen"));
    json_object *td = json_object_new_object();
    json_object_object_add(td, "uri", json_object_new_string(uri));
    json_object_object_add(td, "text", json_object_new_string(text));
    json_object *params = json_object_new_object();
    json_object_object_add(params, "textDocument", td);
    json_object_object_add(o, "params", params);
    char *out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return out;
}

static char *pos_msg(int id, const char *method, int line, int ch)
{
    char *out = malloc(512);
    snprintf(out, 512, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"textDocument/%s\","
             "\"params\":{\"textDocument\":{\"uri\":\"" URI "\"},"
             "\"position\":{\"line\":%d,\"character\":%d}}}", id, method, line, ch);
    return out;
}

static const char *const shutdown_exit[] = {
    "{\"jsonrpc\":\"2.0\",\"id\":900,\"method\":\"shutdown\"}",
    "{\"jsonrpc\":\"2.0\",\"method\":\"exit\"}",
};

/* ---- framing and lifecycle ---- */

static void test_initialize_and_exit(void **state)
{
    (void)state;
    Session s;
    run(&s, shutdown_exit, 2);
    assert_int_equal(s.status, 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(num(answer(&s, 0), "result.capabilities.textDocumentSync"), 1);
    assert_true(json_object_get_boolean(get(answer(&s, 0),
                                            "result.capabilities.hoverProvider")));
    assert_string_equal(str(answer(&s, 900), "jsonrpc"), "2.0");
    assert_true(json_object_is_type(get(answer(&s, 900), "result"), json_type_null));
    done(&s);
}

static void test_exit_without_shutdown_is_status_1(void **state)
{
    (void)state;
    Session s;
    run(&s, shutdown_exit + 1, 1);
    assert_int_equal(s.status, 1);
    done(&s);
    run_raw(&s, "");  /* the end of input before any message */
    assert_int_equal(s.status, 1);
    assert_int_equal(s.n, 0);
    done(&s);
}

static void test_headers_and_blank_lines(void **state)
{
    (void)state;
    const char *body = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"initialize\",\"params\":{}}";
    char input[512];
    snprintf(input, sizeof input,
             "\r\ncontent-length: %zu\r\nContent-Type: application/vscode-jsonrpc; "
             "charset=utf-8\r\n\r\n%s", strlen(body), body);
    Session s;
    run_raw(&s, input);
    assert_int_equal(s.n, 1);
    assert_non_null(get(answer(&s, 7), "result.capabilities"));
    done(&s);
}

static void test_bad_json_is_an_error_response(void **state)
{
    (void)state;
    const char *const bodies[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":",    /* cut short */
        "{\"id\":2} trailing",                          /* text after the value */
        "[1, 2]",                                       /* not a request */
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"shutdown\"}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"exit\"}",
    };
    Session s;
    run(&s, bodies, 5);
    assert_int_equal(s.n, 5);  /* initialize, three errors, shutdown */
    for (int i = 1; i <= 2; i++) {
        assert_int_equal(num(s.msgs[i], "error.code"), -32700);
        assert_true(json_object_is_type(get(s.msgs[i], "id"), json_type_null));
    }
    assert_int_equal(num(s.msgs[3], "error.code"), -32600);
    assert_true(json_object_object_get_ex(answer(&s, 3), "result", NULL));
    assert_int_equal(s.status, 0);  /* the server went on to the end */
    done(&s);
}

static void test_bad_header_is_an_error_response(void **state)
{
    (void)state;
    char *good = frame("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"initialize\"}");
    char input[512];
    snprintf(input, sizeof input, "Content-Length: lots\r\n\r\n"
             "Content-Length: 999999999999\r\n\r\n%s", good);
    free(good);
    Session s;
    run_raw(&s, input);
    assert_int_equal(s.n, 3);
    assert_int_equal(num(s.msgs[0], "error.code"), -32700);
    assert_int_equal(num(s.msgs[1], "error.code"), -32700);
    assert_non_null(get(answer(&s, 5), "result"));
    done(&s);
    /* a body shorter than its Content-Length: the end of input */
    run_raw(&s, "Content-Length: 100\r\n\r\n{\"id\":1}");
    assert_int_equal(s.n, 0);
    assert_int_equal(s.status, 1);
    done(&s);
}

static void test_lifecycle_errors(void **state)
{
    (void)state;
    Session s;
    char *early = frame(shutdown_exit[0]);
    run_raw(&s, early);
    free(early);
    assert_int_equal(num(answer(&s, 900), "error.code"), -32002);
    done(&s);
    const char *const bodies[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"workspace/symbol\",\"params\":{}}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"$/cancelRequest\",\"params\":{\"id\":1}}",
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"textDocument/hover\",\"params\":"
        "{\"textDocument\":{\"uri\":\"file:///not/open.vg\"},"
        "\"position\":{\"line\":0,\"character\":0}}}",
        shutdown_exit[0],
        "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"shutdown\"}",
        shutdown_exit[1],
    };
    run(&s, bodies, 6);
    assert_int_equal(s.n, 5);  /* the notification is not answered */
    assert_int_equal(num(answer(&s, 2), "error.code"), -32601);
    assert_int_equal(num(answer(&s, 3), "error.code"), -32602);
    assert_int_equal(num(answer(&s, 4), "error.code"), -32600);
    done(&s);
}

/* ---- requests ---- */

/* A program with its settings block's third line given: the test of
 * completion opens it complete, then changes it as the user types. */
#define PROGRAM(line12) \
    "model mlp(depth = 2, width = 8) {\n" \
    "    input x[2]\n" \
    "    h = x\n" \
    "    for i in 1..depth {\n" \
    "        layer fc[i] { h = tanh(dense(h, width)) }\n" \
    "    }\n" \
    "    layer out { y = dense(h, 2) }\n" \
    "    return y\n" \
    "}\n" \
    "settings base {\n" \
    "    data = xor(points = 64)\n" \
    "    loss = cross_entropy\n" \
    line12 "\n" \
    "}\n" \
    "train small = mlp(depth = 2) with base\n" \
    "expect small.initial.fc[1].ratio < 1\n"
static const char *const program = PROGRAM("    opt");

static void test_diagnostics_are_vg_checks(void **state)
{
    (void)state;
    /* the string holds an é (2 bytes, 1 UTF-16 unit) and a 😀 (4 bytes,
     * 2 units): the range ends 5 units after its start, not 8 */
    char *open = open_msg(URI, "model m() {\n    input x[2]\n"
                               "    layer out { y = dense(x, units = \"é😀\") }\n"
                               "    return y\n}\n");
    const char *const bodies[] = {open};
    Session s;
    run(&s, bodies, 1);
    json_object *d = diagnostics(&s, URI);
    assert_int_equal(json_object_array_length(d), 1);
    assert_string_equal(str(d, "0.message"),
                        "dense: argument 'units' must be an integer, got a string");
    assert_int_equal(num(d, "0.severity"), 1);
    assert_int_equal(num(d, "0.range.start.line"), 2);
    assert_int_equal(num(d, "0.range.start.character"), 37);
    assert_int_equal(num(d, "0.range.end.line"), 2);
    assert_int_equal(num(d, "0.range.end.character"), 42);
    done(&s);
    free(open);
}

static void test_diagnostics_of_syntax_and_notes(void **state)
{
    (void)state;
    /* `opt` alone is a syntax error; the unknown import carries a note */
    char *open = open_msg(URI, "import \"nosuch\"\n");
    char *open2 = open_msg("file:///nonexistent-dir/u.vg", program);
    const char *const bodies[] = {open, open2};
    Session s;
    run(&s, bodies, 2);
    json_object *d = diagnostics(&s, URI);
    assert_int_equal(json_object_array_length(d), 1);
    assert_non_null(strstr(str(d, "0.message"), "cannot find import \"nosuch\"\nnote: "));
    assert_int_equal(num(d, "0.range.start.line"), 0);
    assert_int_equal(num(d, "0.range.start.character"), 0);
    d = diagnostics(&s, "file:///nonexistent-dir/u.vg");
    assert_true(json_object_array_length(d) >= 1);
    assert_int_equal(num(d, "0.range.start.line"), 13);
    done(&s);
    free(open);
    free(open2);
}

static void test_diagnostics_in_imports(void **state)
{
    (void)state;
    char dir[] = "/tmp/vg-lsp-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char lib[64], uri[80], liburi[80];
    snprintf(lib, sizeof lib, "%s/lib.vg", dir);
    FILE *f = fopen(lib, "w");
    fputs("let a = 1\nlet a = 2\n", f);
    fclose(f);
    snprintf(uri, sizeof uri, "file://%s/main.vg", dir);
    snprintf(liburi, sizeof liburi, "file://%s", lib);
    char *open = open_msg(uri, "import \"lib\"\n");
    char *fixed = open_msg(uri, "let b = 1\n");
    const char *const bodies[] = {open, fixed};
    Session s;
    run(&s, bodies, 1);
    json_object *d = diagnostics(&s, liburi);
    assert_int_equal(json_object_array_length(d), 1);
    assert_int_equal(num(d, "0.range.start.line"), 1);
    assert_non_null(strstr(str(d, "0.message"), "'a' is already defined\nnote: the constant 'a'"));
    /* and at the import that brings it in, saying where */
    d = diagnostics(&s, uri);
    assert_int_equal(json_object_array_length(d), 1);
    assert_int_equal(num(d, "0.range.start.line"), 0);
    assert_int_equal(num(d, "0.range.end.character"), 12);
    char want[128];
    snprintf(want, sizeof want, "in %s:2:1: 'a' is already defined\nnote: ", lib);
    assert_memory_equal(str(d, "0.message"), want, strlen(want));
    done(&s);
    /* the import gone, its file's diagnostics are cleared */
    run(&s, bodies, 2);
    assert_int_equal(json_object_array_length(diagnostics(&s, liburi)), 0);
    done(&s);
    free(open);
    free(fixed);
    unlink(lib);
    rmdir(dir);
}

static json_object *labels_of(json_object *result)
{
    json_object *labels = json_object_new_object();
    json_object *items = get(result, "items");
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
        json_object *it = json_object_array_get_idx(items, i);
        json_object_object_add(labels, str(it, "label"), json_object_get(it));
    }
    return labels;
}

static void test_completion(void **state)
{
    (void)state;
    char *open = open_msg(URI, PROGRAM("    optimizer = sgd(lr = 0.1)"));
    /* didChange to the text being typed, which does not parse: the names
     * come from the version before */
    char *change = malloc(4096);
    json_object *text = json_object_new_string(program);
    snprintf(change, 4096, "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didChange\","
             "\"params\":{\"textDocument\":{\"uri\":\"" URI "\",\"version\":2},"
             "\"contentChanges\":[{\"text\":%s}]}}", json_object_to_json_string(text));
    json_object_put(text);
    char *at_key = pos_msg(1, "completion", 12, 7);       /* "    opt|" */
    char *after_run = pos_msg(2, "completion", 15, 13);   /* "expect small.|" */
    char *after_layer = pos_msg(3, "completion", 15, 27); /* "small.initial.fc[1].|" */
    char *in_call = pos_msg(4, "completion", 14, 18);     /* "mlp(|depth" */
    char *word = pos_msg(5, "completion", 4, 32);         /* "tanh(d|ense" */
    char *data = pos_msg(6, "completion", 10, 11);        /* "data = |xor" */
    char *loss = pos_msg(7, "completion", 11, 11);        /* "loss = |cross_entropy" */
    const char *const bodies[] = {open, change, at_key, after_run, after_layer, in_call, word,
                                  data, loss};
    Session s;
    run(&s, bodies, 9);
    assert_int_equal(json_object_array_length(diagnostics(&s, URI)), 1);
    json_object *l = labels_of(get(answer(&s, 1), "result"));
    assert_string_equal(str(l, "optimizer.insertText"), "optimizer = ");
    assert_null(get(l, "data"));  /* filtered by the prefix "opt" */
    json_object_put(l);
    l = labels_of(get(answer(&s, 2), "result"));
    assert_non_null(get(l, "initial"));
    assert_non_null(get(l, "fc"));
    assert_non_null(get(l, "out"));
    assert_non_null(get(l, "loss"));
    assert_null(get(l, "tanh"));
    json_object_put(l);
    l = labels_of(get(answer(&s, 3), "result"));
    assert_non_null(get(l, "ratio"));
    assert_non_null(get(l, "grad_norm"));
    assert_null(get(l, "fc"));
    json_object_put(l);
    l = labels_of(get(answer(&s, 4), "result"));
    assert_string_equal(str(l, "depth.insertText"), "depth = ");
    assert_non_null(get(l, "width"));
    assert_non_null(get(l, "mlp"));  /* an argument may be any name */
    json_object_put(l);
    l = labels_of(get(answer(&s, 5), "result"));
    assert_non_null(get(l, "dense"));
    assert_non_null(get(l, "depth") ? NULL : l);  /* "d": not a parameter here */
    assert_int_equal(num(l, "dense.kind"), 3);
    assert_string_equal(str(l, "dense.detail"),
                        "dense(x, units, init = xavier_uniform, bias = true)");
    json_object_put(l);
    l = labels_of(get(answer(&s, 6), "result"));  /* the data sets, no other name */
    assert_non_null(get(l, "spirals"));
    assert_non_null(get(l, "fashion_mnist"));
    assert_string_equal(str(l, "xor.detail"), "data set: xor(points, noise = 0.1)");
    assert_null(get(l, "dense"));
    assert_null(get(l, "sgd"));
    assert_null(get(l, "model"));
    json_object_put(l);
    l = labels_of(get(answer(&s, 7), "result"));  /* the losses */
    assert_non_null(get(l, "cross_entropy"));
    assert_non_null(get(l, "mse"));
    assert_null(get(l, "relu"));
    json_object_put(l);
    done(&s);
    free(open);
    free(change);
    free(data);
    free(loss);
    free(at_key);
    free(after_run);
    free(after_layer);
    free(in_call);
    free(word);
}

/* After `schedule =` the schedules and constant; after `then` (a keyword,
 * offered among the names) the same schedules. */
static void test_completion_of_schedules(void **state)
{
    (void)state;
    char *open = open_msg(URI, "settings s {\n    schedule = warmup(5) then cosine(10)\n}\n");
    char *value = pos_msg(1, "completion", 1, 15);   /* "schedule = |warmup" */
    char *word = pos_msg(2, "completion", 1, 27);    /* "warmup(5) th|en" */
    const char *const bodies[] = {open, value, word};
    Session s;
    run(&s, bodies, 3);
    json_object *l = labels_of(get(answer(&s, 1), "result"));
    assert_non_null(get(l, "warmup"));
    assert_non_null(get(l, "cosine"));
    assert_non_null(get(l, "step"));
    assert_string_equal(str(l, "cosine.detail"), "schedule: cosine(steps, min = 0)");
    assert_non_null(get(l, "constant"));
    assert_null(get(l, "then"));  /* a keyword, not a schedule of its own */
    assert_null(get(l, "sgd"));
    assert_null(get(l, "xavier_uniform"));
    json_object_put(l);
    l = labels_of(get(answer(&s, 2), "result"));
    assert_non_null(get(l, "then"));
    json_object_put(l);
    done(&s);
    free(open);
    free(value);
    free(word);
}

static void test_hover_definition_formatting(void **state)
{
    (void)state;
    char *open = open_msg(URI, "model m(w = 4) {\n  input x[2]\n"
                               "  layer out {y=dense(x,w)}\n  return y\n}\n"
                               "let k = m\n");
    char *hover = pos_msg(1, "hover", 2, 16);
    char *def = pos_msg(2, "definition", 5, 8);
    char *none = pos_msg(3, "hover", 1, 0);
    char *fmt = malloc(256);
    snprintf(fmt, 256, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"textDocument/formatting\","
             "\"params\":{\"textDocument\":{\"uri\":\"" URI "\"},\"options\":{}}}");
    const char *const bodies[] = {open, hover, def, none, fmt};
    Session s;
    run(&s, bodies, 5);
    const char *h = str(answer(&s, 1), "result.contents.value");
    assert_non_null(h);
    assert_non_null(strstr(h, "```vg\ndense(x, units, init = xavier_uniform, bias = true)\n```\n"
                              "fully connected layer"));
    assert_int_equal(num(answer(&s, 1), "result.range.start.character"), 15);
    assert_int_equal(num(answer(&s, 1), "result.range.end.character"), 20);
    assert_string_equal(str(answer(&s, 2), "result.uri"), URI);
    assert_int_equal(num(answer(&s, 2), "result.range.start.line"), 0);
    assert_int_equal(num(answer(&s, 2), "result.range.end.line"), 4);
    assert_true(json_object_is_type(get(answer(&s, 3), "result"), json_type_null));
    json_object *edit = get(answer(&s, 4), "result.0");
    assert_non_null(edit);
    assert_int_equal(num(edit, "range.end.line"), 6);
    assert_string_equal(str(edit, "newText"),
                        "model m(w = 4) {\n    input x[2]\n    layer out {\n"
                        "        y = dense(x, w)\n    }\n    return y\n}\n\nlet k = m\n");
    done(&s);
    free(open);
    free(hover);
    free(def);
    free(none);
    free(fmt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initialize_and_exit),
        cmocka_unit_test(test_exit_without_shutdown_is_status_1),
        cmocka_unit_test(test_headers_and_blank_lines),
        cmocka_unit_test(test_bad_json_is_an_error_response),
        cmocka_unit_test(test_bad_header_is_an_error_response),
        cmocka_unit_test(test_lifecycle_errors),
        cmocka_unit_test(test_diagnostics_are_vg_checks),
        cmocka_unit_test(test_diagnostics_of_syntax_and_notes),
        cmocka_unit_test(test_diagnostics_in_imports),
        cmocka_unit_test(test_completion),
        cmocka_unit_test(test_completion_of_schedules),
        cmocka_unit_test(test_hover_definition_formatting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
