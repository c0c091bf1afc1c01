/* fuzz_safetensors.c — libFuzzer harness for the checkpoint loader.
 *
 * The input is the content of a .safetensors file, written to a file of
 * this process's own and loaded (`vg run --load`) into the parameters of a
 * small fixed model: two dense layers, four tensors. The loader promises
 * to leave the parameters unchanged unless it succeeds, so a failed load
 * must leave them equal to a copy taken before. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vg/elab.h"
#include "vg/exec.h"
#include "vg/parse.h"
#include "vg/program.h"
#include "vg/safetensors.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char model_text[] =
    "model m() {\n"
    "    input x[2]\n"
    "    layer a { h = dense(x, 4) }\n"
    "    layer b { y = dense(h, 2) }\n"
    "    return y\n"
    "}\n";

static char path[64];
static FILE *sink;
static Program prog;
static IrGraph graph;
static ParamStore params;
static float *before;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(path, sizeof path, "/tmp/vg-fuzz-st-%ld.safetensors", (long)getpid());
    sink = fopen("/dev/null", "w");
    program_init(&prog);
    int file = source_add(&prog.sources, "model.vg", model_text, sizeof model_text - 1);
    AstNode *ast = parse_file(&prog.arena, &prog.diag, file);
    if (!sink || !ast || !program_add_item(&prog, ast->list.head, "."))
        abort();
    AstNode *call = ast_new(&prog.arena, AST_CALL, SPAN_NONE);
    call->a = ast_new(&prog.arena, AST_NAME, SPAN_NONE);
    call->a->str = "m";
    ir_init(&graph, &prog.arena, "m");
    if (!elab_model(&prog, call, &graph))
        abort();
    params_alloc(&params, &graph);
    for (size_t i = 0; i < params.n; i++)
        params.value[i] = (float)i;
    before = malloc(params.n * sizeof *before);
    memcpy(before, params.value, params.n * sizeof *before);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    diag_clear(&prog.diag);
    if (safetensors_load(path, &graph, &params, &prog.diag) == ST_OK) {
        memcpy(params.value, before, params.n * sizeof *before);
    } else if (memcmp(params.value, before, params.n * sizeof *before) != 0) {
        fprintf(stderr, "a failed load changed the parameters\n");
        abort();
    }
    diag_render_all(sink, &prog.diag, false);
    return 0;
}
