/* test_report.c — the report writers on a real two-step run: numbers as
 * the table shows them, UTF-8 checking, the JSON's lines, nulls and
 * escapes, the CSV's rows and quoting, the page's charts and escapes,
 * files written all or nothing, and the progress line. (Whole files are
 * validated against the schema by tests/report/run.sh.) */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vg/program.h"
#include "vg/report.h"
#include "vg/sha256.h"

static const char program_text[] =
    "model m() {\n"
    "    input x[2]\n"
    "    layer hidden { h = tanh(dense(x, 3)) }\n"
    "    layer out { y = dense(h, 2) }\n"
    "    return y\n"
    "}\n"
    "train t = m() {\n"
    "    data = xor(points = 16)  loss = cross_entropy  optimizer = sgd(lr = 0.1)\n"
    "    batch = 4  steps = 2  seed = 5\n"
    "}\n"
    "expect t.final.loss < 100, \"say \\\"hi\\\" \\\\ \xff caf\xc3\xa9\"\n"
    "expect t.diverged\n";

typedef struct Fixture {
    Program prog;
    RunSet rs;
    ExpectResult res[2];
    ReportDoc doc;
    char dir[64];
} Fixture;

static Fixture fx;

static int setup(void **state)
{
    (void)state;
    strcpy(fx.dir, "/tmp/vg-test-report-XXXXXX");
    assert_non_null(mkdtemp(fx.dir));
    char path[96];
    snprintf(path, sizeof path, "%s/p.vg", fx.dir);
    FILE *f = fopen(path, "w");
    fputs(program_text, f);
    fclose(f);
    program_init(&fx.prog);
    assert_true(program_load(&fx.prog, path, SPAN_NONE));
    remove(path);
    runset_push(&fx.rs, calloc(1, sizeof(Run)));
    TrainOptions o = {.seed = -1};
    Member *ms;
    int nm;
    assert_true(elab_members(&fx.prog, fx.prog.trains[0], &ms, &nm));
    assert_true(run_prepare(&fx.prog, &ms[0], &o, fx.rs.runs[0]));
    assert_int_equal(run_train(&fx.prog, fx.rs.runs[0], -1, &o), 0);
    assert_int_equal(expect_check_all(&fx.prog, &fx.rs, fx.res), 1);
    fx.doc = (ReportDoc){.p = &fx.prog, .rs = &fx.rs, .file = "p.vg", .expects = fx.res,
                         .nexpects = 2};
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    runset_free(&fx.rs);
    program_free(&fx.prog);
    rmdir(fx.dir);
    return 0;
}

/* What a writer writes, as a string to free. */
static char *written(void (*w)(FILE *, const ReportDoc *), const ReportDoc *d)
{
    char *buf;
    size_t n;
    FILE *f = open_memstream(&buf, &n);
    w(f, d);
    fclose(f);
    return buf;
}

/* What a writer of ReportData writes for the document. */
static char *written_data(void (*w)(FILE *, const ReportData *), const ReportDoc *d)
{
    ReportData data;
    report_data_of(&data, d);
    char *buf;
    size_t n;
    FILE *f = open_memstream(&buf, &n);
    w(f, &data);
    fclose(f);
    report_data_free(&data);
    return buf;
}

static int count(const char *s, const char *what)
{
    int n = 0;
    size_t len = strlen(what);
    for (size_t i = 0; s[i]; i++)
        n += strncmp(s + i, what, len) == 0;
    return n;
}

static void test_numbers(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(report_num(NAN, b, sizeof b), "-");
    assert_string_equal(report_num(INFINITY, b, sizeof b), "inf");
    assert_string_equal(report_num(0, b, sizeof b), "0");
    assert_string_equal(report_num(0.5, b, sizeof b), "0.500");
    assert_string_equal(report_num(0.0123456, b, sizeof b), "0.0123");
    assert_string_equal(report_num(12.345, b, sizeof b), "12.3");
    assert_string_equal(report_num(9999.4, b, sizeof b), "9999");
    assert_string_equal(report_num(12345, b, sizeof b), "1.23e+04");
    assert_string_equal(report_num(-0.000123, b, sizeof b), "-1.23e-04");
}

static void test_utf8(void **state)
{
    (void)state;
    assert_int_equal(report_utf8_len("a"), 1);
    assert_int_equal(report_utf8_len("\xc3\xa9"), 2);           /* é */
    assert_int_equal(report_utf8_len("\xe2\x80\x96"), 3);       /* ‖ */
    assert_int_equal(report_utf8_len("\xf0\x9f\x98\x80"), 4);   /* 😀 */
    assert_int_equal(report_utf8_len("\xff"), 0);
    assert_int_equal(report_utf8_len("\xc0\xaf"), 0);           /* overlong '/' */
    assert_int_equal(report_utf8_len("\xed\xa0\x80"), 0);       /* a surrogate */
    assert_int_equal(report_utf8_len("\xf4\x90\x80\x80"), 0);   /* above U+10FFFF */
    assert_int_equal(report_utf8_len("\xc3"), 0);               /* cut short */
}

static void test_json(void **state)
{
    (void)state;
    const Run *r = fx.rs.runs[0];
    char *s = written(report_write_json, &fx.doc);
    /* header, one steps line before each report after the first (the
     * steps since the last), one line per report, one per expect, one end */
    assert_int_equal(count(s, "\n"), 1 + (r->nreports - 1) + r->nreports + 2 + 1);
    assert_int_equal(count(s, "{\"type\":\"report\""), r->nreports);
    assert_int_equal(r->log.n, 2);
    char steps[256];
    snprintf(steps, sizeof steps, "\n{\"type\":\"steps\",\"run\":\"t\",\"first\":1,\"loss\":[%.9g,%.9g],"
             "\"global_norm\":[%.9g,%.9g],\"clipped\":[0,0],\"lr\":[0.1,0.1]}\n"
             "{\"type\":\"report\",\"run\":\"t\",\"step\":2,", r->log.loss[0], r->log.loss[1],
             r->log.norm[0], r->log.norm[1]);
    assert_non_null(strstr(s, steps));
    const Source *src = &fx.prog.sources.files[fx.prog.root_file];
    char hex[65], want[80];
    snprintf(want, sizeof want, "\"sha256\":\"%s\"", sha256_hex(src->text, src->len, hex));
    assert_non_null(strstr(s, want));
    assert_non_null(strstr(s, "\"call\":\"m()\",\"with\":null,\"family\":null,\"axes\":null,"
                              "\"seed\":5"));
    /* absent: dead of a tanh layer, update_ratio at step 0 */
    assert_non_null(strstr(s, "\"dead\":null,\"update_ratio\":null"));
    assert_non_null(strstr(s, "\"bptt\":null,\"verdict\":"));
    /* escapes: quote, backslash, an invalid byte as U+FFFD, UTF-8 kept */
    assert_non_null(strstr(s, "\"message\":\"say \\\"hi\\\" \\\\ \\ufffd caf\xc3\xa9\""));
    assert_non_null(strstr(s, "\"expr\":\"t.diverged\",\"op\":null,\"lhs\":null,\"rhs\":null,"
                              "\"outcome\":\"FAIL\""));
    assert_non_null(strstr(s, "{\"type\":\"end\",\"run\":\"t\",\"steps\":2,\"reports\":2,"
                              "\"diverged\":false,\"diverged_at\":null}\n"));
    free(s);
}

static void test_json_without_expects(void **state)
{
    (void)state;
    ReportDoc d = fx.doc;
    d.expects = NULL;
    d.nexpects = 0;
    char *s = written(report_write_json, &d);
    assert_int_equal(count(s, "\"type\":\"expect\""), 0);
    assert_int_equal(count(s, "\"type\":\"end\""), 1);
    free(s);
}

static void test_csv(void **state)
{
    (void)state;
    Run *r = fx.rs.runs[0];
    char *s = written_data(report_write_csv, &fx.doc);
    assert_true(strncmp(s, "run,step,layer,metric,value\r\n", 29) == 0);
    assert_non_null(strstr(s, "\r\nt,0,-,loss,"));
    assert_non_null(strstr(s, "\r\nt,2,hidden,update_ratio,"));
    assert_null(strstr(s, "t,0,hidden,update_ratio"));   /* absent: no row */
    assert_null(strstr(s, "hidden,dead"));
    assert_null(strstr(s, "verdict"));
    assert_non_null(strstr(s, "\r\nt,2,-,diverged,0\r\n"));
    /* 5 run-level rows (test_accuracy and global_norm absent at step 0:
     * 3 then 4) and the layers' numbers, counted from the reports */
    int rows = 0;
    for (int k = 0; k < r->nreports; k++) {
        for (int v = 0; v < RV_COUNT; v++)
            rows += !isnan(report_value(&r->reports[k], (RunValueId)v));
        for (int l = 0; l < r->g.nlayers; l++)
            for (int m = 0; m < M_COUNT; m++)
                rows += !isnan(metric_get(&r->reports[k].layers[l], (MetricId)m));
    }
    /* four rows per training step, and the run's baseline first */
    assert_non_null(strstr(s, "\r\nt,1,-,step_loss,"));
    assert_non_null(strstr(s, "\r\nt,2,-,step_clipped,0\r\nt,2,-,step_lr,0.1\r\n"));
    char baseline[64];
    snprintf(baseline, sizeof baseline, "value\r\nt,0,-,baseline,%.9g\r\nt,0,-,loss,",
             r->baseline);
    assert_non_null(strstr(s, baseline));
    assert_int_equal(count(s, "\r\n"), 1 + 1 + rows + 4 * r->log.n + 1);
    free(s);
    /* RFC 4180 quoting, for a name that needs it */
    const char *name = r->name;
    r->name = "a,\"b\"";
    s = written_data(report_write_csv, &fx.doc);
    assert_non_null(strstr(s, "\r\n\"a,\"\"b\"\"\",0,-,loss,"));
    free(s);
    r->name = name;
}

static void test_html(void **state)
{
    (void)state;
    char *s = written_data(report_write_html, &fx.doc);
    assert_true(strncmp(s, "<!DOCTYPE html>\n", 16) == 0);
    /* heatmap, ratio, loss and gradient norm for the one run; two layers
     * make no overview */
    assert_int_equal(count(s, "<svg xmlns=\"http://www.w3.org/2000/svg\""), 4);
    assert_int_equal(count(s, "</svg>"), 4);
    assert_int_equal(count(s, "id=\"overview\""), 0);
    /* the thresholds on the ratio chart */
    assert_non_null(strstr(s, ">vanishing below 0.00100</text>"));
    assert_non_null(strstr(s, ">exploding above 1000</text>"));
    assert_null(strstr(s, "<script"));
    assert_non_null(strstr(s, "<code>t.final.loss &lt; 100</code>"));
    assert_non_null(strstr(s, "say &quot;hi&quot; \\ \xef\xbf\xbd caf\xc3\xa9"));
    assert_non_null(strstr(s, "<span class=\"badge FAIL\">FAIL</span>"));
    /* no recurrent layer: no BPTT row */
    assert_null(strstr(s, "BPTT"));
    free(s);
}

/* A page's size does not grow with the steps: a million steps draw as
 * each pixel column's minimum and maximum, and a spike among them shows. */
static void test_html_million_steps(void **state)
{
    (void)state;
    ReportData d;
    report_data_of(&d, &fx.doc);
    StepLog *lg = &d.runs[0].log;
    long n[2] = {1000, 1000000};
    size_t len[2];
    for (int k = 0; k < 2; k++) {
        StepLog big = {.first = 0, .n = n[k], .cap = n[k]};
        big.loss = malloc(sizeof *big.loss * (size_t)n[k]);
        big.norm = malloc(sizeof *big.norm * (size_t)n[k]);
        big.lr = malloc(sizeof *big.lr * (size_t)n[k]);
        big.clipped = calloc((size_t)n[k], 1);
        for (long i = 0; i < n[k]; i++) {
            big.loss[i] = 0.5f + 0.1f * (float)sin((double)i);
            big.norm[i] = 1;
            big.lr[i] = 0.1;
        }
        big.norm[n[k] / 2] = 1e6f;  /* one spike */
        StepLog kept = *lg;
        *lg = big;
        d.runs[0].steps = n[k];
        char *buf;
        FILE *f = open_memstream(&buf, &len[k]);
        report_write_html(f, &d);
        fclose(f);
        /* the spike's decade is on the norm axis, and drawn */
        assert_non_null(strstr(buf, "10⁶"));
        free(buf);
        *lg = kept;
        step_log_free(&big);
    }
    assert_true(len[1] < len[0] + 40000);
    assert_true(len[1] < 200000);
    report_data_free(&d);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 256);
    size_t n = fread(buf, 1, 255, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int files_in(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "ls -A %s | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

static void test_file_all_or_nothing(void **state)
{
    (void)state;
    char path[96];
    snprintf(path, sizeof path, "%s/out.csv", fx.dir);
    FILE *old = fopen(path, "w");
    fputs("old\n", old);
    fclose(old);
    OutFile of;
    /* discarded: the old file stays, no temporary file is left */
    assert_true(outfile_open(&of, path, &fx.prog.diag));
    fputs("half a fi", of.f);
    outfile_discard(&of);
    char *got = slurp(path);
    assert_string_equal(got, "old\n");
    free(got);
    assert_int_equal(files_in(fx.dir), 1);
    /* committed: replaced whole, with the usual permissions */
    assert_true(outfile_open(&of, path, &fx.prog.diag));
    fputs("new\n", of.f);
    got = slurp(path);
    assert_string_equal(got, "old\n");   /* not until the commit */
    free(got);
    assert_true(outfile_commit(&of, &fx.prog.diag));
    got = slurp(path);
    assert_string_equal(got, "new\n");
    free(got);
    assert_int_equal(files_in(fx.dir), 1);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    mode_t mask = umask(0);
    umask(mask);
    assert_int_equal(st.st_mode & 0777, 0666 & ~mask);
    remove(path);
}

static void test_file_cannot_write(void **state)
{
    (void)state;
    diag_clear(&fx.prog.diag);
    OutFile of;
    assert_false(outfile_open(&of, "/nonexistent-vg-dir/r.json", &fx.prog.diag));
    assert_int_equal(fx.prog.diag.n, 1);
    assert_string_equal(fx.prog.diag.items[0].msg,
                        "cannot write '/nonexistent-vg-dir/r.json': No such file or directory");
    assert_null(of.f);
    assert_null(of.tmp);
    diag_clear(&fx.prog.diag);
}

static void test_outputs(void **state)
{
    (void)state;
    char json[96], html[96];
    snprintf(json, sizeof json, "%s/r.jsonl", fx.dir);
    snprintf(html, sizeof html, "%s/r.html", fx.dir);
    const char *paths[REPORT_NFORMATS] = {[REPORT_JSON] = json, [REPORT_HTML] = html};
    ReportOutputs o;
    assert_true(report_outputs_open(&o, paths, &fx.prog.diag));
    /* the JSON Lines file, to be written as the runs go; no temporary file */
    assert_int_equal(files_in(fx.dir), 1);
    assert_true(report_outputs_write(&o, &fx.doc, &fx.prog.diag));
    char *got = slurp(json);
    assert_true(strncmp(got, "{\"type\":\"header\"", 16) == 0);
    free(got);
    got = slurp(html);
    assert_true(strncmp(got, "<!DOCTYPE html>", 15) == 0);
    free(got);
    assert_int_equal(files_in(fx.dir), 2);
    remove(json);
    remove(html);
    /* one path that fails: none is left open */
    paths[REPORT_CSV] = "/nonexistent-vg-dir/r.csv";
    assert_false(report_outputs_open(&o, paths, &fx.prog.diag));
    assert_int_equal(files_in(fx.dir), 0);
    diag_clear(&fx.prog.diag);
}

static void test_progress(void **state)
{
    (void)state;
    char *buf;
    size_t n;
    FILE *f = open_memstream(&buf, &n);
    Run *r = fx.rs.runs[0];
    ReportProgress pg;
    report_progress_start(&pg, f, r);
    report_progress(r, &pg);   /* too early: nothing */
    fflush(f);
    assert_int_equal(n, 0);
    pg.start -= 2;             /* as if the run had begun 2 s ago */
    report_progress(r, &pg);
    report_progress(r, &pg);   /* too soon after the last: nothing */
    report_progress_clear(&pg);
    fclose(f);
    char want[128];
    char loss[32];
    int w = snprintf(want, sizeof want, "\rt  step 2/2  loss %s  ",
                     report_num(r->last_loss, loss, sizeof loss));
    assert_true(strncmp(buf, want, (size_t)w) == 0);
    assert_non_null(strstr(buf, " steps/s\r"));
    /* cleared: \r, as many spaces as the line had, \r */
    const char *clear = strrchr(buf, '\r');
    assert_true(clear > buf && clear[1] == '\0');
    const char *cr = clear - 1;
    while (cr > buf && *cr == ' ')
        cr--;
    assert_int_equal(*cr, '\r');
    assert_int_equal(clear - cr - 1, (long)(strchr(buf + 1, '\r') - buf - 1));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_json_without_expects),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_html),
        cmocka_unit_test(test_html_million_steps),
        cmocka_unit_test(test_file_all_or_nothing),
        cmocka_unit_test(test_file_cannot_write),
        cmocka_unit_test(test_outputs),
        cmocka_unit_test(test_progress),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
