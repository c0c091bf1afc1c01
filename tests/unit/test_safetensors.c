/* test_safetensors.c — checkpoints: the layout byte by byte, a round trip
 * that reproduces a run's initial report, a reader that knows nothing of
 * vg (Python's json and struct), every rejection by its exact message, and
 * the command line's --save/--load with their exit codes. */
#include "testutil.h"

#include <math.h>
#include <stdint.h>

#include "fixture.h"
#include "vg/safetensors.h"

typedef struct Ctx {
    char vg[512];
} Ctx;

static const char SRC[] =
    "model net(w = 8) {\n"
    "    input x[3]\n"
    "    layer fc[1] { h = tanh(dense(x, w)) }\n"
    "    layer out { y = dense(h, 2, bias = %s) }\n"
    "    return y\n"
    "}\n"
    "train a = net(%s) {\n"
    "    data = blobs(points = 40, classes = 2, dims = 3)  loss = cross_entropy\n"
    "    optimizer = sgd(lr = 0.1)  batch = 8  steps = 0  seed = 11\n"
    "}\n";

static void make_run(Program *p, Run *r, const char *bias, const char *args)
{
    char src[1024];
    snprintf(src, sizeof src, SRC, bias, args);
    fixture_run(p, r, src, 0);
}

static char *temp_path(const char *suffix)
{
    char base[] = "/tmp/vg-st-XXXXXX";
    int fd = mkstemp(base);
    assert_true(fd >= 0);
    close(fd);
    remove(base);
    size_t n = strlen(base) + strlen(suffix) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%s%s", base, suffix);
    return out;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    unsigned char *b = malloc(*n + 1);
    assert_int_equal(fread(b, 1, *n, f), *n);
    fclose(f);
    b[*n] = 0;
    return b;
}

static void spit(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

static const char *const META[] = {"vg_version", "0.1.0", "model", "net", "run", "a", NULL};

/* The bytes: header length, the JSON text exactly, padding, then each
 * parameter's floats little-endian in declaration order. */
static void test_layout(void **state)
{
    (void)state;
    Program p;
    Run r;
    make_run(&p, &r, "true", "w = 2");
    char *path = temp_path(".safetensors");
    assert_true(safetensors_save(path, &r.g, &r.ps, META, &p.diag));
    size_t n;
    unsigned char *b = slurp(path, &n);
    uint64_t len = 0;
    for (int i = 7; i >= 0; i--)
        len = len << 8 | b[i];
    const char *json =
        "{\"__metadata__\":{\"vg_version\":\"0.1.0\",\"model\":\"net\",\"run\":\"a\"},"
        "\"fc[1].W\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,24]},"
        "\"fc[1].b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]},"
        "\"out.W\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[32,48]},"
        "\"out.b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[48,56]}}";
    assert_int_equal(len % 8, 0);
    assert_true(len >= strlen(json) && len < strlen(json) + 8);
    assert_memory_equal(b + 8, json, strlen(json));
    for (size_t i = strlen(json); i < len; i++)
        assert_int_equal(b[8 + i], ' ');
    assert_int_equal(n, 8 + len + 56);
    for (size_t i = 0; i < r.ps.n; i++) {
        const unsigned char *q = b + 8 + len + 4 * i;
        uint32_t u = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
                     (uint32_t)q[3] << 24;
        float f;
        memcpy(&f, &u, 4);
        assert_true(f == r.ps.value[i]);
    }
    free(b);
    remove(path);
    free(path);
    run_free(&r);
    program_free(&p);
}

static bool same_report(const Report *a, const Report *b, int nlayers)
{
    if (memcmp(&a->loss, &b->loss, sizeof a->loss) || memcmp(&a->accuracy, &b->accuracy,
                                                              sizeof a->accuracy))
        return false;
    for (int l = 0; l < nlayers; l++)
        for (int m = 0; m < 10; m++) {
            const double *x = &a->layers[l].grad_norm + m, *y = &b->layers[l].grad_norm + m;
            if (memcmp(x, y, sizeof *x) != 0)
                return false;
        }
    return true;
}

/* Save, scramble the parameters of a fresh run, load: the same parameters
 * bit for bit and the same initial report. */
static void test_round_trip(void **state)
{
    (void)state;
    Program p, q;
    Run r, s;
    make_run(&p, &r, "true", "");
    make_run(&q, &s, "true", "");
    char *path = temp_path(".safetensors");
    assert_true(safetensors_save(path, &r.g, &r.ps, META, &p.diag));
    for (size_t i = 0; i < s.ps.n; i++)
        s.ps.value[i] = 0.25f;
    assert_int_equal(safetensors_load(path, &s.g, &s.ps, &q.diag), ST_OK);
    assert_memory_equal(r.ps.value, s.ps.value, r.ps.n * sizeof *r.ps.value);
    TrainOptions o = {.seed = -1};
    assert_int_equal(run_train(&p, &r, 0, &o), 0);
    assert_int_equal(run_train(&q, &s, 0, &o), 0);
    assert_true(same_report(&r.reports[0], &s.reports[0], r.g.nlayers));
    remove(path);
    free(path);
    run_free(&r);
    run_free(&s);
    program_free(&p);
    program_free(&q);
}

/* Python reads the file with json and struct only: names, shapes, and the
 * sum of each tensor's floats (in file order, in double) match ours. */
static void test_python_reads_it(void **state)
{
    (void)state;
    if (system("python3 -c 'import json, struct' 2>/dev/null") != 0)
        skip();
    Program p;
    Run r;
    make_run(&p, &r, "true", "");
    char *path = temp_path(".safetensors");
    assert_true(safetensors_save(path, &r.g, &r.ps, META, &p.diag));
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json, struct, sys\n"
             "b = open(sys.argv[1], \"rb\").read()\n"
             "n = struct.unpack(\"<Q\", b[:8])[0]\n"
             "h = json.loads(b[8:8 + n])\n"
             "meta = h.pop(\"__metadata__\")\n"
             "print(meta[\"model\"], meta[\"run\"])\n"
             "for k, v in h.items():\n"
             "    s, e = v[\"data_offsets\"]\n"
             "    x = struct.unpack(\"<%%df\" %% ((e - s) // 4), b[8 + n + s:8 + n + e])\n"
             "    t = 0.0\n"
             "    for f in x: t += f\n"
             "    print(k, v[\"dtype\"], v[\"shape\"], repr(t))\n"
             "' %s",
             path);
    char *got;
    assert_int_equal(fixture_capture(cmd, &got), 0);
    char want[4096];
    size_t used = (size_t)snprintf(want, sizeof want, "net a\n");
    for (int i = 0; i < r.g.nparams; i++) {
        const IrParam *pp = &r.g.params[i];
        double t = 0;
        for (size_t k = 0; k < shape_size(pp->shape); k++)
            t += r.ps.value[pp->offset + k];
        char dims[64];
        if (pp->shape.rank == 2)
            snprintf(dims, sizeof dims, "[%ld, %ld]", pp->shape.dim[0], pp->shape.dim[1]);
        else
            snprintf(dims, sizeof dims, "[%ld]", pp->shape.dim[0]);
        /* repr(float) is the shortest text that reads back the same double */
        char num[64];
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(num, sizeof num, "%.*g", prec, t);
            if (strtod(num, NULL) == t)
                break;
        }
        if (!strpbrk(num, ".en"))
            strcat(num, ".0");
        used += (size_t)snprintf(want + used, sizeof want - used, "%s F32 %s %s\n", pp->name,
                                 dims, num);
    }
    assert_string_equal(got, want);
    free(got);
    remove(path);
    free(path);
    run_free(&r);
    program_free(&p);
}

/* A header of our own: JSON text after its length. */
static void write_header(const char *path, const char *json, size_t data_bytes)
{
    size_t n = strlen(json);
    unsigned char *b = calloc(1, 8 + n + data_bytes);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(b + 8, json, n);
    spit(path, b, 8 + n + data_bytes);
    free(b);
}

/* Loads path into the w = 2 model and checks the status and the message
 * (with the path replaced by F); the parameters must be untouched. */
static void rejects(const char *path, SafetensorsStatus want, const char *msg)
{
    Program p;
    Run r;
    make_run(&p, &r, "true", "w = 2");
    float *before = malloc(r.ps.n * sizeof *before);
    memcpy(before, r.ps.value, r.ps.n * sizeof *before);
    diag_clear(&p.diag);
    assert_int_equal(safetensors_load(path, &r.g, &r.ps, &p.diag), want);
    assert_memory_equal(before, r.ps.value, r.ps.n * sizeof *before);
    assert_int_equal(p.diag.n, 1);
    char full[1024];
    const char *f = strstr(msg, "F'");
    snprintf(full, sizeof full, "%.*s%s%s", (int)(f - msg), msg, path, f + 1);
    assert_string_equal(p.diag.items[0].msg, full);
    free(before);
    run_free(&r);
    program_free(&p);
}

#define W1 "\"fc[1].W\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,24]}"
#define B1 "\"fc[1].b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}"
#define WO "\"out.W\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[32,48]}"
#define BO "\"out.b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[48,56]}"

static void test_rejections(void **state)
{
    (void)state;
    char *path = temp_path(".safetensors");
    write_header(path, "{" W1 "," B1 "," WO "}", 48);
    rejects(path, ST_MISMATCH, "checkpoint 'F' does not fit model 'net': it has no tensor "
                               "'out.b'");
    write_header(path, "{" W1 "," B1 "," WO "," BO ",\"extra\":{\"dtype\":\"F32\","
                       "\"shape\":[1],\"data_offsets\":[56,60]}}", 60);
    rejects(path, ST_MISMATCH, "checkpoint 'F' does not fit model 'net': it has a tensor "
                               "'extra' that the model does not have");
    write_header(path, "{\"fc[1].W\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":"
                       "[0,24]}," B1 "," WO "," BO "}", 56);
    rejects(path, ST_MISMATCH, "checkpoint 'F' does not fit model 'net': tensor 'fc[1].W' "
                               "has shape [2, 3], but the model's is [3, 2]");
    write_header(path, "{" W1 "," B1 ",\"out.W\":{\"dtype\":\"F64\",\"shape\":[2,2],"
                       "\"data_offsets\":[32,64]}," BO "}", 64);
    rejects(path, ST_MISMATCH, "checkpoint 'F' does not fit model 'net': tensor 'out.W' has "
                               "dtype F64, but vg reads F32 only");
    write_header(path, "{" W1 "," B1 "," WO "," BO "}", 50);
    rejects(path, ST_BAD_FILE, "checkpoint 'F': the file is truncated: tensor 'out.b' ends "
                               "at byte 56 of the data, but the data has 50 bytes");
    write_header(path, "{" W1 "," B1 "," WO "," BO, 56);
    rejects(path, ST_BAD_FILE, "checkpoint 'F': the header is not valid safetensors JSON: "
                               "expected ',' or '}' at the end of the header (243 bytes)");
    write_header(path, "{\"fc[1].W\":{\"dtype\":\"F32\",\"shape\":[3,2]}}", 0);
    rejects(path, ST_BAD_FILE, "checkpoint 'F': tensor 'fc[1].W' has no \"data_offsets\"");
    write_header(path, "{\"a\":{\"shape\":[1]}}", 0);
    rejects(path, ST_BAD_FILE, "checkpoint 'F': tensor 'a' has no \"dtype\"");
    write_header(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    rejects(path, ST_BAD_FILE, "checkpoint 'F': the header names tensor 'a' twice");
    write_header(path, "{\"a\":{\"shape\":[1.5]}}", 0);
    rejects(path, ST_BAD_FILE, "checkpoint 'F': the header is not valid safetensors JSON: "
                               "expected a shape: at most 8 non-negative integers at byte 15 "
                               "of the header");
    write_header(path, "{} x", 0);
    rejects(path, ST_BAD_FILE, "checkpoint 'F': the header is not valid safetensors JSON: "
                               "expected nothing after the header object at byte 3 of the "
                               "header");
    write_header(path, "{\"a\\q\":1}", 0);
    rejects(path, ST_BAD_FILE, "checkpoint 'F': the header is not valid safetensors JSON: "
                               "expected a valid escape at byte 3 of the header");
    spit(path, "\x40\0\0\0\0\0\0\0{}", 10);
    rejects(path, ST_BAD_FILE, "checkpoint 'F': the file is truncated: the header length is "
                               "64 bytes, but only 2 follow");
    spit(path, "\x02\0\0", 3);
    rejects(path, ST_BAD_FILE, "checkpoint 'F': the file is truncated: 3 bytes, less than the "
                               "8-byte header length");
    remove(path);
    rejects(path, ST_BAD_FILE, "checkpoint 'F': cannot open it: No such file or directory");
    free(path);
}

/* Metadata is skipped whatever it holds; escapes in names decode. */
static void test_header_json(void **state)
{
    (void)state;
    Program p;
    Run r;
    make_run(&p, &r, "true", "w = 2");
    char *path = temp_path(".safetensors");
    write_header(path, " { \"__metadata__\" : {\"k\": [1, -2.5e3, true, null, {\"x\": \"\\u00e9\"}]},"
                       "\"fc[1]\\u002eW\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":"
                       "[0,24],\"extra\":{}}," B1 "," WO "," BO "}\n  ", 56);
    assert_int_equal(safetensors_load(path, &r.g, &r.ps, &p.diag), ST_OK);
    for (size_t i = 0; i < r.ps.n; i++)
        assert_true(r.ps.value[i] == 0.0f);
    remove(path);
    free(path);
    run_free(&r);
    program_free(&p);
}

static void test_run_path(void **state)
{
    (void)state;
    static const char *const cases[][3] = {
        {"r.safetensors", "deep", "r.deep.safetensors"},
        {"out/ckpt", "a", "out/ckpt.a"},
        {"a.b/ckpt", "x", "a.b/ckpt.x"},
        {"dir/.hidden", "x", "dir/.hidden.x"},
        {"m.v1.safetensors", "run", "m.v1.run.safetensors"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *got = safetensors_run_path(cases[i][0], cases[i][1]);
        assert_string_equal(got, cases[i][2]);
        free(got);
    }
}

/* A folder that does not exist: a message, and no file or temporary left. */
static void test_save_fails_cleanly(void **state)
{
    (void)state;
    Program p;
    Run r;
    make_run(&p, &r, "true", "w = 2");
    diag_clear(&p.diag);
    assert_false(safetensors_save("/nonexistent-vg-dir/c.safetensors", &r.g, &r.ps, META,
                                  &p.diag));
    assert_int_equal(p.diag.n, 1);
    assert_string_equal(p.diag.items[0].msg, "cannot write checkpoint "
                        "'/nonexistent-vg-dir/c.safetensors': No such file or directory");
    run_free(&r);
    program_free(&p);
}

/* The command line: --save then --load reproduces the run's first report
 * (with --seed changing the initialisation it would otherwise differ); a
 * checkpoint of another model exits 2, a bad file 3; several runs save one
 * file each. */
static void test_cli(void **state)
{
    const Ctx *c = *state;
    char *vgfile = temp_path(".vg"), *ck = temp_path(".safetensors");
    char src[2048];
    snprintf(src, sizeof src,
             "model net(w = 8) {\n"
             "    input x[2]\n"
             "    layer fc { h = tanh(dense(x, w)) }\n"
             "    layer out { y = dense(h, 2) }\n"
             "    return y\n"
             "}\n"
             "settings s { data = csv(\"%s.csv\")  loss = cross_entropy\n"
             "             optimizer = sgd(lr = 0.1)  batch = 4  steps = 0  probe = all }\n"
             "train a = net() with s\n"
             "train b = net(w = 4) with s\n",
             vgfile);
    spit(vgfile, src, strlen(src));
    char csv[64 + 512];
    snprintf(csv, sizeof csv, "%s.csv", vgfile);
    const char *rows = "x1,x2,label\n0,1,0\n1,0,1\n1,1,0\n0,0,1\n0.5,0.5,1\n";
    spit(csv, rows, strlen(rows));
    char cmd[4096];
    char *out1, *out2, *out3, *err;
    snprintf(cmd, sizeof cmd, "NO_COLOR=1 %s run %s --run a --save %s", c->vg, vgfile, ck);
    assert_int_equal(fixture_capture(cmd, &out1), 0);
    snprintf(cmd, sizeof cmd, "NO_COLOR=1 %s run %s --run a --seed 9 --load %s", c->vg,
             vgfile, ck);
    assert_int_equal(fixture_capture(cmd, &out2), 0);
    snprintf(cmd, sizeof cmd, "NO_COLOR=1 %s run %s --run a --seed 9", c->vg, vgfile);
    assert_int_equal(fixture_capture(cmd, &out3), 0);
    /* the same tables; only the header's seed differs */
    assert_non_null(strstr(out1, "\nstep 0:"));
    assert_string_equal(strstr(out1, "\nstep 0:"), strstr(out2, "\nstep 0:"));
    assert_string_not_equal(strstr(out1, "\nstep 0:"), strstr(out3, "\nstep 0:"));
    snprintf(cmd, sizeof cmd, "%s run %s --run b --load %s 2>&1", c->vg, vgfile, ck);
    assert_int_equal(fixture_capture(cmd, &err), 2);
    char want[1024];
    snprintf(want, sizeof want, "vg: error: checkpoint '%s' does not fit model 'net': tensor "
             "'fc.W' has shape [2, 8], but the model's is [2, 4]\n", ck);
    assert_string_equal(err, want);
    free(err);
    spit(ck, "\x10\0\0\0\0\0\0\0{}", 10);
    snprintf(cmd, sizeof cmd, "%s run %s --run a --load %s 2>/dev/null", c->vg, vgfile, ck);
    assert_int_equal(fixture_capture(cmd, &err), 3);
    free(err);
    remove(ck);
    snprintf(cmd, sizeof cmd, "%s run %s --save %s >/dev/null", c->vg, vgfile, ck);
    assert_int_equal(fixture_capture(cmd, &err), 0);
    free(err);
    char *ka = safetensors_run_path(ck, "a"), *kb = safetensors_run_path(ck, "b");
    assert_int_equal(access(ka, R_OK), 0);
    assert_int_equal(access(kb, R_OK), 0);
    assert_int_not_equal(access(ck, F_OK), 0);
    remove(ka);
    remove(kb);
    free(ka);
    free(kb);
    free(out1);
    free(out2);
    free(out3);
    remove(csv);
    remove(vgfile);
    free(vgfile);
    free(ck);
}

int main(int argc, char **argv)
{
    (void)argc;
    Ctx ctx;
    fixture_vg_path(argv[0], ctx.vg, sizeof ctx.vg);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_python_reads_it),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_header_json),
        cmocka_unit_test(test_run_path),
        cmocka_unit_test(test_save_fails_cleanly),
        cmocka_unit_test_prestate(test_cli, &ctx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
