/* test_data.c — the data sets: shapes, classes and balance of each
 * generator, reproducibility by seed, CSV and IDX files (happy paths and
 * the exact text and position of each diagnostic), and Fashion-MNIST when
 * Debian's dataset-fashion-mnist package is installed. */
#include "testutil.h"
#include "spec_fixture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "vg/data.h"

#define FASHION_TEST_IMAGES "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

static const double TAU = 6.283185307179586;

/* The span a spec's call would have in a .vg file. */
static const Span CALL = {0, 4, 12, 4, 40};

/* A data spec (spec_fixture.h) located where its call would be. */
static const Spec *make_at_call(TSpec *t, const char *name, const char *args)
{
    make(t, name, args);
    t->s.span = CALL;
    return &t->s;
}

/* One load with its own diagnostics. */
typedef struct Load {
    SourceSet src;
    DiagSink d;
    Dataset ds;
    bool ok;
} Load;

static void load(Load *l, const char *name, const char *args, uint64_t seed, const char *base)
{
    TSpec t;
    memset(l, 0, sizeof *l);
    diag_init(&l->d, &l->src);
    l->ok = data_load(&l->ds, make_at_call(&t, name, args), seed, base, &l->d);
}

static void unload(Load *l)
{
    data_free(&l->ds);
    diag_free(&l->d);
    source_set_free(&l->src);
}

static void check_shapes(const Dataset *ds, int n, Shape x, Shape y, int classes)
{
    assert_int_equal(ds->n, n);
    assert_true(shape_eq(ds->x_shape, x));
    assert_true(shape_eq(ds->y_shape, y));
    assert_int_equal(ds->classes, classes);
    assert_non_null(ds->name);
}

/* Counts of each class among [1]-shaped targets; every target a valid class. */
static void count_classes(const Dataset *ds, int *count)
{
    memset(count, 0, (size_t)ds->classes * sizeof *count);
    for (int i = 0; i < ds->n; i++) {
        float y = ds->y[i];
        assert_true(y >= 0 && y < ds->classes && y == floorf(y));
        count[(int)y]++;
    }
}

static void test_spirals(void **state)
{
    (void)state;
    Load l;
    load(&l, "spirals", "points=300 classes=3 noise=0", 1, NULL);
    assert_true(l.ok);
    check_shapes(&l.ds, 300, shape1(2), shape1(1), 3);
    assert_string_equal(l.ds.name, "spirals(points = 300, classes = 3, noise = 0, turns = 1.5)");
    int count[3];
    count_classes(&l.ds, count);
    for (int k = 0; k < 3; k++)
        assert_int_equal(count[k], 100);
    /* without noise a point at radius t has angle 2π·1.5·t + 2πk/3 */
    for (int i = 0; i < 300; i++) {
        double x = l.ds.x[2 * i], y = l.ds.x[2 * i + 1], t = hypot(x, y);
        double a = TAU * 1.5 * t + TAU * l.ds.y[i] / 3;
        assert_true(t <= 1.0 + 1e-6);
        assert_true(fabs(x - t * cos(a)) < 1e-4 && fabs(y - t * sin(a)) < 1e-4);
    }
    unload(&l);
}

static void test_xor(void **state)
{
    (void)state;
    Load l;
    load(&l, "xor", "points=400", 1, NULL);
    assert_true(l.ok);
    check_shapes(&l.ds, 400, shape1(2), shape1(1), 2);
    int count[2];
    count_classes(&l.ds, count);
    assert_int_equal(count[0], 200);
    for (int i = 0; i < 400; i++) {
        float x1 = l.ds.x[2 * i], x2 = l.ds.x[2 * i + 1];
        assert_true(fabsf(fabsf(x1) - 1) < 0.6f && fabsf(fabsf(x2) - 1) < 0.6f);
        assert_true(l.ds.y[i] == (float)((x1 < 0) != (x2 < 0)));
    }
    unload(&l);
}

static void test_parity(void **state)
{
    (void)state;
    Load l;
    load(&l, "parity", "bits=5 points=101", 1, NULL);
    assert_true(l.ok);
    check_shapes(&l.ds, 101, shape1(5), shape1(1), 2);
    int count[2];
    count_classes(&l.ds, count);
    assert_int_equal(count[0], 51);
    assert_int_equal(count[1], 50);
    for (int i = 0; i < 101; i++) {
        int ones = 0;
        for (int b = 0; b < 5; b++) {
            float v = l.ds.x[i * 5 + b];
            assert_true(v == 0 || v == 1);
            ones += v == 1;
        }
        assert_true(l.ds.y[i] == (float)(ones % 2));
    }
    unload(&l);
}

static void test_blobs(void **state)
{
    (void)state;
    Load l;
    load(&l, "blobs", "points=3000 classes=3 dims=4 spread=0.5", 1, NULL);
    assert_true(l.ok);
    check_shapes(&l.ds, 3000, shape1(4), shape1(1), 3);
    int count[3];
    count_classes(&l.ds, count);
    for (int k = 0; k < 3; k++)
        assert_int_equal(count[k], 1000);
    /* class 0 spreads with standard deviation 0.5 about its centre */
    for (int j = 0; j < 4; j++) {
        double s = 0, sq = 0;
        for (int i = 0; i < 3000; i += 3) {
            s += l.ds.x[i * 4 + j];
            sq += (double)l.ds.x[i * 4 + j] * l.ds.x[i * 4 + j];
        }
        double mean = s / 1000, sd = sqrt(sq / 1000 - mean * mean);
        assert_true(fabs(mean) <= 10.1);
        assert_true(sd > 0.45 && sd < 0.55);
    }
    unload(&l);
}

static void test_circles(void **state)
{
    (void)state;
    Load l;
    load(&l, "circles", "points=200 noise=0", 1, NULL);
    assert_true(l.ok);
    check_shapes(&l.ds, 200, shape1(2), shape1(1), 2);
    int count[2];
    count_classes(&l.ds, count);
    assert_int_equal(count[0], 100);
    for (int i = 0; i < 200; i++) {
        double r = hypot(l.ds.x[2 * i], l.ds.x[2 * i + 1]);
        assert_true(fabs(r - (l.ds.y[i] == 0 ? 1.0 : 0.5)) < 1e-6);
    }
    unload(&l);
}

static void test_checkerboard(void **state)
{
    (void)state;
    Load l;
    load(&l, "checkerboard", "points=4000 cells=2", 1, NULL);
    assert_true(l.ok);
    check_shapes(&l.ds, 4000, shape1(2), shape1(1), 2);
    int count[2];
    count_classes(&l.ds, count);
    assert_true(count[0] > 1800 && count[0] < 2200);
    for (int i = 0; i < 4000; i++) {
        float x1 = l.ds.x[2 * i], x2 = l.ds.x[2 * i + 1];
        assert_true(x1 >= 0 && x1 < 1 && x2 >= 0 && x2 < 1);
        assert_true(l.ds.y[i] == (float)(((x1 >= 0.5f) + (x2 >= 0.5f)) % 2));
    }
    unload(&l);
}

static void test_adding(void **state)
{
    (void)state;
    Load l;
    load(&l, "adding", "length=11 points=50", 1, NULL);
    assert_true(l.ok);
    check_shapes(&l.ds, 50, shape2(11, 2), shape1(1), 0);
    for (int i = 0; i < 50; i++) {
        const float *x = l.ds.x + i * 22;
        int first = 0, second = 0;
        double sum = 0;
        for (int t = 0; t < 11; t++) {
            assert_true(x[2 * t] >= 0 && x[2 * t] < 1);
            assert_true(x[2 * t + 1] == 0 || x[2 * t + 1] == 1);
            if (x[2 * t + 1] == 1) {
                sum += x[2 * t];
                *(t < 5 ? &first : &second) += 1;
            }
        }
        assert_int_equal(first, 1);
        assert_int_equal(second, 1);
        assert_true(fabs(l.ds.y[i] - sum) < 1e-6);
    }
    unload(&l);
}

static void test_copy_memory(void **state)
{
    (void)state;
    Load l;
    load(&l, "copy_memory", "length=3 delay=4 points=20", 1, NULL);
    assert_true(l.ok);
    enum { T = 2 * 3 + 4 + 1, C = 10 };
    check_shapes(&l.ds, 20, shape2(T, C), shape1(T), C);
    for (int i = 0; i < 20; i++) {
        const float *x = l.ds.x + i * T * C, *y = l.ds.y + i * T;
        int sym[T];
        for (int t = 0; t < T; t++) {
            int ones = 0;
            for (int c = 0; c < C; c++)
                if (x[t * C + c] == 1) {
                    sym[t] = c;
                    ones++;
                }
            assert_int_equal(ones, 1);
        }
        for (int t = 0; t < 3; t++)
            assert_true(sym[t] < 8);
        for (int t = 3; t < T; t++)
            assert_int_equal(sym[t], t == 7 ? 9 : 8);
        for (int t = 0; t < 8; t++)
            assert_true(y[t] == 8);
        for (int t = 0; t < 3; t++)
            assert_true(y[8 + t] == (float)sym[t]);
    }
    unload(&l);
}

/* The token tasks: ids in range, each target the task's function of its
 * own example's tokens, and every id drawn somewhere. */
static void test_token_tasks(void **state)
{
    (void)state;
    enum { L = 7, V = 5, N = 40 };
    const char *tasks[] = {"copy_tokens", "reverse_tokens", "sort_tokens"};
    for (int k = 0; k < 3; k++) {
        Load l;
        load(&l, tasks[k], "length=7 vocab=5 points=40", 3, NULL);
        assert_true(l.ok);
        check_shapes(&l.ds, N, shape1(L), shape1(L), V);
        int seen[V] = {0};
        for (int i = 0; i < N; i++) {
            const float *x = l.ds.x + i * L, *y = l.ds.y + i * L;
            int count_x[V] = {0}, count_y[V] = {0};
            for (int t = 0; t < L; t++) {
                assert_true(x[t] >= 0 && x[t] < V && x[t] == floorf(x[t]));
                count_x[(int)x[t]]++;
                count_y[(int)y[t]]++;
                seen[(int)x[t]] = 1;
                if (k == 0)
                    assert_true(y[t] == x[t]);
                else if (k == 1)
                    assert_true(y[t] == x[L - 1 - t]);
                else if (t > 0)
                    assert_true(y[t - 1] <= y[t]);
            }
            assert_memory_equal(count_x, count_y, sizeof count_x);  /* a permutation */
        }
        for (int v = 0; v < V; v++)
            assert_int_equal(seen[v], 1);
        unload(&l);
    }
}

static void test_reproducible(void **state)
{
    (void)state;
    const char *sets[][2] = {{"spirals", "points=64"}, {"xor", "points=64"}, {"parity", "bits=8 points=64"},
                             {"blobs", "points=64 classes=4"}, {"circles", "points=64"},
                             {"checkerboard", "points=64"}, {"adding", "length=6 points=64"},
                             {"copy_memory", "length=4 delay=3 points=64"},
                             {"copy_tokens", "length=5 vocab=7 points=64"},
                             {"reverse_tokens", "length=5 vocab=7 points=64"},
                             {"sort_tokens", "length=5 vocab=7 points=64"}};
    for (size_t k = 0; k < sizeof sets / sizeof *sets; k++) {
        Load a, b, c;
        load(&a, sets[k][0], sets[k][1], 9, NULL);
        load(&b, sets[k][0], sets[k][1], 9, NULL);
        load(&c, sets[k][0], sets[k][1], 10, NULL);
        assert_true(a.ok && b.ok && c.ok);
        size_t xb = (size_t)a.ds.n * shape_size(a.ds.x_shape) * sizeof(float);
        size_t yb = (size_t)a.ds.n * shape_size(a.ds.y_shape) * sizeof(float);
        assert_memory_equal(a.ds.x, b.ds.x, xb);
        assert_memory_equal(a.ds.y, b.ds.y, yb);
        assert_memory_not_equal(a.ds.x, c.ds.x, xb);
        unload(&a);
        unload(&b);
        unload(&c);
    }
}

static void expect_error(Load *l, const char *msg)
{
    assert_false(l->ok);
    assert_int_equal(l->d.errors, 1);
    assert_string_equal(l->d.items[0].msg, msg);
    assert_null(l->ds.x);
    assert_null(l->ds.name);
}

static void expect_at_call(Load *l, const char *msg)
{
    expect_error(l, msg);
    const Span *at = &l->d.items[0].span;
    assert_memory_equal(at, &CALL, sizeof CALL);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    Load l;
    load(&l, "spirals", "points=0", 1, NULL);
    expect_at_call(&l, "spirals: points must be in 1..10000000, got 0");
    unload(&l);
    load(&l, "circles", "points=10 noise=-1", 1, NULL);
    expect_at_call(&l, "circles: noise must be a finite number at least 0, got -1");
    unload(&l);
    load(&l, "adding", "length=1 points=10", 1, NULL);
    expect_at_call(&l, "adding: length must be in 2..100000, got 1");
    unload(&l);
    load(&l, "sort_tokens", "length=8 vocab=1 points=10", 1, NULL);
    expect_at_call(&l, "sort_tokens: vocab must be in 2..1000000, got 1");
    unload(&l);
    load(&l, "parity", "bits=4000 points=1000000", 1, NULL);
    expect_at_call(&l, "parity: too large: 4001000000 values, the limit is 268435456");
    unload(&l);
}

/* ---- files ---- */

typedef struct Tmp {
    char dir[64];
    char path[16][128];
    int n;
} Tmp;

static void tmp_open(Tmp *t)
{
    memset(t, 0, sizeof *t);
    snprintf(t->dir, sizeof t->dir, "/tmp/vg-test-data-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
}

static const char *tmp_path(Tmp *t, const char *name)
{
    assert_true(t->n < 16);
    char dir[sizeof t->dir];
    memcpy(dir, t->dir, sizeof dir);
    char *out = t->path[t->n++];
    snprintf(out, sizeof t->path[0], "%s/%s", dir, name);
    return out;
}

static void tmp_write(Tmp *t, const char *name, const void *data, size_t len)
{
    FILE *f = fopen(tmp_path(t, name), "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void tmp_write_gz(Tmp *t, const char *name, const void *data, size_t len)
{
    gzFile f = gzopen(tmp_path(t, name), "wb");
    assert_non_null(f);
    assert_int_equal(gzwrite(f, data, (unsigned)len), (int)len);
    gzclose(f);
}

static void tmp_close(Tmp *t)
{
    for (int i = 0; i < t->n; i++)
        unlink(t->path[i]);
    rmdir(t->dir);
}

static void csv_load(Load *l, Tmp *t, const char *name, const char *text, const char *args)
{
    tmp_write(t, name, text, strlen(text));
    load(l, "csv", args, 1, t->dir);
}

static void test_csv(void **state)
{
    (void)state;
    Tmp t;
    tmp_open(&t);
    Load l;
    csv_load(&l, &t, "x.csv", "\xEF\xBB\xBF" "a,b, \"label\"\n1,2,0\n 3.5 ,-4,2\r\n\n5,6e-1,1\n",
             "path=\"x.csv\"");
    assert_true(l.ok);
    check_shapes(&l.ds, 3, shape1(2), shape1(1), 3);
    const float x[] = {1, 2, 3.5f, -4, 5, 0.6f}, y[] = {0, 2, 1};
    assert_memory_equal(l.ds.x, x, sizeof x);
    assert_memory_equal(l.ds.y, y, sizeof y);
    assert_string_equal(l.ds.name, "csv(path = \"x.csv\", target = \"label\")");
    assert_int_equal(l.src.n, 0);
    unload(&l);

    /* a target in the middle with a fractional value is a real target */
    csv_load(&l, &t, "r.csv", "u,price,v\n1,2.5,3\n4,5,6\n", "path=\"r.csv\" target=\"price\"");
    assert_true(l.ok);
    check_shapes(&l.ds, 2, shape1(2), shape1(1), 0);
    const float rx[] = {1, 3, 4, 6}, ry[] = {2.5f, 5};
    assert_memory_equal(l.ds.x, rx, sizeof rx);
    assert_memory_equal(l.ds.y, ry, sizeof ry);
    unload(&l);
    tmp_close(&t);
}

/* `shape` gives the feature columns, in order, a shape of the same size. */
static void test_csv_shape(void **state)
{
    (void)state;
    Tmp t;
    tmp_open(&t);
    Load l;
    static const char pixels[] = "p1,p2,p3,p4,label\n0,1,2,3,1\n4,5,6,7,0\n";
    csv_load(&l, &t, "p.csv", pixels, "path=\"p.csv\" shape=[1,2,2]");
    assert_true(l.ok);
    check_shapes(&l.ds, 2, (Shape){3, {1, 2, 2}}, shape1(1), 2);
    for (int i = 0; i < 8; i++)
        assert_float_equal(l.ds.x[i], i, 0);
    assert_string_equal(l.ds.name, "csv(path = \"p.csv\", target = \"label\", shape = [1, 2, 2])");
    unload(&l);

    static const struct {
        const char *args, *msg;
    } bad[] = {
        {"path=\"p.csv\" shape=[1,3,3]",
         "csv: shape [1, 3, 3] holds 9 values, but 'p.csv' has 4 feature columns"},
        {"path=\"p.csv\" shape=4", "csv: shape must be a list of dimensions such as [1, 8, 8], got a number"},
        {"path=\"p.csv\" shape=[1,1,2,2]", "csv: shape must have 1 to 3 dimensions, got 4"},
        {"path=\"p.csv\" shape=[]", "csv: shape must have 1 to 3 dimensions, got 0"},
        {"path=\"p.csv\" shape=[2,0.5,4]",
         "csv: shape's dimensions must be whole numbers of at least 1, got 0.5"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        load(&l, "csv", bad[i].args, 1, t.dir);
        expect_at_call(&l, bad[i].msg);
        unload(&l);
    }
    tmp_close(&t);
}

/* Which input shapes a data set's examples may feed (data_fits). */
static void test_data_fits(void **state)
{
    (void)state;
    static const struct {
        Shape data, input;
        bool fits;
    } cases[] = {
        {{3, {1, 28, 28}}, {3, {1, 28, 28}}, true},
        {{3, {1, 28, 28}}, {1, {784}}, true},      /* flattened */
        {{3, {1, 28, 28}}, {2, {28, 28}}, true},   /* rows */
        {{2, {28, 28}}, {3, {1, 28, 28}}, true},
        {{2, {10, 2}}, {1, {20}}, true},
        {{3, {1, 28, 28}}, {2, {784, 1}}, false},
        {{3, {1, 28, 28}}, {3, {28, 28, 1}}, false},
        {{3, {1, 28, 28}}, {2, {14, 56}}, false},
        {{3, {3, 8, 8}}, {2, {8, 8}}, false},
        {{1, {2}}, {1, {3}}, false},
        {{1, {1}}, {1, {1}}, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (data_fits(cases[i].data, cases[i].input) != cases[i].fits)
            fail_msg("case %zu: expected %s", i, cases[i].fits ? "a fit" : "no fit");
}

/* A CSV error points into the CSV file, which joins the SourceSet. */
static void expect_in_file(Load *l, const char *msg, const char *file, int line, int col, int last)
{
    expect_error(l, msg);
    const Span *at = &l->d.items[0].span;
    assert_true(at->file >= 0 && at->file < l->src.n);
    const char *path = l->src.files[at->file].path;
    size_t n = strlen(path), k = strlen(file);
    assert_true(n >= k && strcmp(path + n - k, file) == 0);
    assert_int_equal(at->first_line, line);
    assert_int_equal(at->last_line, line);
    assert_int_equal(at->first_column, col);
    assert_int_equal(at->last_column, last);
}

static void test_csv_errors(void **state)
{
    (void)state;
    Tmp t;
    tmp_open(&t);
    Load l;

    load(&l, "csv", "path=\"nope.csv\"", 1, t.dir);
    expect_at_call(&l, "cannot open 'nope.csv': No such file or directory");
    unload(&l);

    csv_load(&l, &t, "ragged.csv", "a,b,label\n1,2,3\n4,5\n", "path=\"ragged.csv\"");
    expect_in_file(&l, "row has 2 fields, header has 3", "/ragged.csv", 3, 1, 3);
    unload(&l);

    csv_load(&l, &t, "nan.csv", "a,b,label\n1,2,3\n4, abc,5\n", "path=\"nan.csv\"");
    expect_in_file(&l, "'abc' is not a number", "/nan.csv", 3, 4, 6);
    unload(&l);

    csv_load(&l, &t, "hole.csv", "a,b,label\n1,,3\n", "path=\"hole.csv\"");
    expect_in_file(&l, "empty field, expected a number", "/hole.csv", 2, 3, 3);
    unload(&l);

    csv_load(&l, &t, "cols.csv", "a,b,lable\n1,2,3\n", "path=\"cols.csv\"");
    expect_in_file(&l, "no column named 'label' in cols.csv; columns are: a, b, lable", "/cols.csv",
                   1, 1, 9);
    assert_non_null(l.d.items[0].note);
    assert_string_equal(l.d.items[0].note, "did you mean 'lable'?");
    unload(&l);

    load(&l, "csv", "path=\"cols.csv\" target=\"zzzzzz\"", 1, t.dir);
    expect_in_file(&l, "no column named 'zzzzzz' in cols.csv; columns are: a, b, lable", "/cols.csv",
                   1, 1, 9);
    assert_null(l.d.items[0].note);
    unload(&l);

    csv_load(&l, &t, "empty.csv", "", "path=\"empty.csv\"");
    expect_at_call(&l, "'empty.csv' is empty: expected a header row of column names");
    unload(&l);

    csv_load(&l, &t, "head.csv", "a,label\n\n", "path=\"head.csv\"");
    expect_at_call(&l, "'head.csv' has a header but no rows");
    unload(&l);

    csv_load(&l, &t, "one.csv", "label\n1\n", "path=\"one.csv\"");
    expect_in_file(&l, "no feature columns: 'label' is the only column", "/one.csv", 1, 1, 5);
    unload(&l);
    tmp_close(&t);
}

/* ---- IDX ---- */

static size_t idx_header(unsigned char *out, uint32_t magic, const uint32_t *dims, int rank)
{
    size_t k = 0;
    for (int i = -1; i < rank; i++) {
        uint32_t v = i < 0 ? magic : dims[i];
        out[k++] = (unsigned char)(v >> 24);
        out[k++] = (unsigned char)(v >> 16);
        out[k++] = (unsigned char)(v >> 8);
        out[k++] = (unsigned char)v;
    }
    return k;
}

/* 3 images of 2×3 pixels, labels 1 0 4; only the first `items` images'
 * pixels are written when truncating. */
static void write_idx(Tmp *t, const char *images, const char *labels, bool gz, int items,
                      int nlabels)
{
    unsigned char buf[64];
    const uint32_t idims[] = {3, 2, 3}, ldims[] = {(uint32_t)nlabels};
    size_t k = idx_header(buf, 0x00000803, idims, 3);
    for (int i = 0; i < items * 6; i++)
        buf[k++] = (unsigned char)(i * 15);
    (gz ? tmp_write_gz : tmp_write)(t, images, buf, k);
    k = idx_header(buf, 0x00000801, ldims, 1);
    const unsigned char lab[] = {1, 0, 4};
    memcpy(buf + k, lab, (size_t)nlabels);
    (gz ? tmp_write_gz : tmp_write)(t, labels, buf, k + (size_t)nlabels);
}

static void check_idx_roundtrip(bool gz)
{
    Tmp t;
    tmp_open(&t);
    write_idx(&t, "i.idx", "l.idx", gz, 3, 3);
    Load l;
    load(&l, "idx", "images=\"i.idx\" labels=\"l.idx\"", 1, t.dir);
    assert_true(l.ok);
    check_shapes(&l.ds, 3, (Shape){3, {1, 2, 3}}, shape1(1), 5);
    for (int i = 0; i < 18; i++)
        assert_true(fabsf(l.ds.x[i] - (float)(i * 15) / 255.0f) < 1e-7f);
    const float y[] = {1, 0, 4};
    assert_memory_equal(l.ds.y, y, sizeof y);
    unload(&l);
    tmp_close(&t);
}

static void test_idx_raw(void **state)
{
    (void)state;
    check_idx_roundtrip(false);
}

static void test_idx_gzip(void **state)
{
    (void)state;
    check_idx_roundtrip(true);
}

static void test_idx_errors(void **state)
{
    (void)state;
    Tmp t;
    tmp_open(&t);
    Load l;
    write_idx(&t, "i.idx.gz", "l.idx.gz", true, 3, 3);
    load(&l, "idx", "images=\"l.idx.gz\" labels=\"i.idx.gz\"", 1, t.dir);
    expect_at_call(&l, "'l.idx.gz' is not an IDX image file: magic number 0x00000801, expected 0x00000803");
    unload(&l);

    write_idx(&t, "short.idx", "l3.idx", false, 2, 3);
    load(&l, "idx", "images=\"short.idx\" labels=\"l3.idx\"", 1, t.dir);
    expect_at_call(&l, "'short.idx' is truncated: the header declares 3 images, the data ends after 2");
    unload(&l);

    write_idx(&t, "full.idx", "l2.idx", false, 3, 2);
    load(&l, "idx", "images=\"full.idx\" labels=\"l2.idx\"", 1, t.dir);
    expect_at_call(&l, "'full.idx' holds 3 images but 'l2.idx' holds 2 labels");
    unload(&l);

    tmp_write(&t, "tiny.idx", "\0\0", 2);
    load(&l, "idx", "images=\"tiny.idx\" labels=\"l2.idx\"", 1, t.dir);
    expect_at_call(&l, "'tiny.idx' is not an IDX file: it is too short for a header");
    unload(&l);

    load(&l, "idx", "images=\"missing.idx\" labels=\"l2.idx\"", 1, t.dir);
    expect_at_call(&l, "cannot open 'missing.idx': No such file or directory");
    unload(&l);
    tmp_close(&t);
}

static void test_fashion_mnist(void **state)
{
    (void)state;
    if (access(FASHION_TEST_IMAGES, R_OK) != 0)
        skip();
    Load l;
    load(&l, "fashion_mnist", "split=\"test\" limit=500", 1, NULL);
    assert_true(l.ok);
    check_shapes(&l.ds, 500, (Shape){3, {1, 28, 28}}, shape1(1), 10);
    assert_string_equal(l.ds.name, "fashion_mnist(split = \"test\", limit = 500)");
    float lo = 1, hi = 0;
    for (int i = 0; i < 500 * 784; i++) {
        lo = l.ds.x[i] < lo ? l.ds.x[i] : lo;
        hi = l.ds.x[i] > hi ? l.ds.x[i] : hi;
    }
    assert_true(lo == 0 && hi == 1);
    int count[10];
    count_classes(&l.ds, count);
    for (int k = 0; k < 10; k++)
        assert_true(count[k] > 20);
    unload(&l);

    load(&l, "fashion_mnist", "split=\"val\"", 1, NULL);
    expect_at_call(&l, "fashion_mnist: split must be \"train\" or \"test\", got \"val\"");
    unload(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spirals),
        cmocka_unit_test(test_xor),
        cmocka_unit_test(test_parity),
        cmocka_unit_test(test_blobs),
        cmocka_unit_test(test_circles),
        cmocka_unit_test(test_checkerboard),
        cmocka_unit_test(test_adding),
        cmocka_unit_test(test_copy_memory),
        cmocka_unit_test(test_token_tasks),
        cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_csv_shape),
        cmocka_unit_test(test_data_fits),
        cmocka_unit_test(test_idx_raw),
        cmocka_unit_test(test_idx_gzip),
        cmocka_unit_test(test_idx_errors),
        cmocka_unit_test(test_fashion_mnist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
