/* fuzz_csv.c — libFuzzer harness for the CSV reader.
 *
 * The input is the content of a CSV file. It is written to a file of this
 * process's own (data_load reads files, and its errors quote lines from
 * them), loaded as `csv("FILE", target = "y")`, and every diagnostic is
 * rendered, as `vg run` would. A load that succeeds must give a data set
 * that keeps data.h's promises: at least one row, a target column apart
 * from the features, and class indices below the class count. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vg/data.h"
#include "vg/elab.h"
#include "vg/parse.h"
#include "vg/program.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static FILE *sink;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(path, sizeof path, "/tmp/vg-fuzz-csv-%ld.csv", (long)getpid());
    sink = fopen("/dev/null", "w");
    return sink ? 0 : 1;
}

/* The data spec, evaluated from source as a .vg file would give it. */
static const Spec *csv_spec(Program *p)
{
    char text[128];
    snprintf(text, sizeof text, "csv(\"%s\", target = \"y\")", path);
    int file = source_add(&p->sources, "spec", text, strlen(text));
    AstNode *entry;
    Value v;
    if (parse_entry(&p->arena, &p->diag, file, &entry) != PARSE_OK ||
        !elab_eval(p, NULL, entry->a, &v) || v.kind != VAL_SPEC)
        abort();
    return v.spec;
}

static void check_promises(const Dataset *ds)
{
    size_t xw = shape_size(ds->x_shape);
    if (ds->n < 1 || xw < 1 || shape_size(ds->y_shape) != 1 || ds->classes < 0)
        abort();
    for (int i = 0; i < ds->n && ds->classes > 0; i++)
        if (!(ds->y[i] >= 0 && ds->y[i] < (float)ds->classes))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    Program p;
    program_init(&p);
    Dataset ds;
    if (data_load(&ds, csv_spec(&p), 0, ".", &p.diag)) {
        check_promises(&ds);
        data_free(&ds);
    }
    diag_render_all(sink, &p.diag, false);
    program_free(&p);
    return 0;
}
