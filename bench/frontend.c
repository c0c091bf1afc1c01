/* bench/frontend.c — the front end alone: load (read, parse, enter names)
 * and elaborate the model of a file's first run, REPS times, and print the
 * median of each phase. Planning and data loading are left out, so the
 * numbers are those of issue 8's front-end target ("10,000 layers parse
 * and elaborate in under 100 ms"):
 *
 *   sh bench/gen_deep.sh 10000 > /tmp/deep.vg
 *   build/bench/frontend /tmp/deep.vg [REPS]
 *
 * Each phase is timed twice: wall clock, and the CPU time of this thread
 * (user and system, so page faults count), which other work on a shared
 * machine disturbs less. The first repetition is the one `vg check` sees
 * (fresh memory); later ones reuse pages the allocator kept, so run with
 * REPS = 1 in fresh processes to measure start-up. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "vg/elab.h"
#include "vg/program.h"

enum { PARSE, ELAB, TOTAL, PHASES };

static double ms(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE.vg [REPS]\n", argv[0]);
        return 2;
    }
    int reps = argc > 2 ? atoi(argv[2]) : 7;
    if (reps < 1)
        reps = 1;
    double *wall[PHASES], *cpu[PHASES];
    for (int k = 0; k < PHASES; k++) {
        wall[k] = calloc((size_t)reps, sizeof *wall[k]);
        cpu[k] = calloc((size_t)reps, sizeof *cpu[k]);
    }
    int nodes = 0;
    size_t parse_bytes = 0, elab_bytes = 0;
    for (int r = 0; r < reps; r++) {
        Program p;
        program_init(&p);
        double w0 = ms(CLOCK_MONOTONIC), c0 = ms(CLOCK_THREAD_CPUTIME_ID);
        bool ok = program_load(&p, argv[1], SPAN_NONE);
        double w1 = ms(CLOCK_MONOTONIC), c1 = ms(CLOCK_THREAD_CPUTIME_ID);
        parse_bytes = p.arena.used;
        const AstNode *call = ok ? elab_model_call(&p, NULL) : NULL;
        IrGraph g;
        ir_init(&g, &p.arena, call ? call->a->str : "?");
        ok = ok && call && elab_model(&p, call, &g);
        double w2 = ms(CLOCK_MONOTONIC), c2 = ms(CLOCK_THREAD_CPUTIME_ID);
        if (!ok) {
            diag_render_all(stderr, &p.diag, false);
            return 1;
        }
        nodes = g.n;
        elab_bytes = p.arena.used - parse_bytes;
        ir_free(&g);
        program_free(&p);
        wall[PARSE][r] = w1 - w0, cpu[PARSE][r] = c1 - c0;
        wall[ELAB][r] = w2 - w1, cpu[ELAB][r] = c2 - c1;
        wall[TOTAL][r] = w2 - w0, cpu[TOTAL][r] = c2 - c0;
    }
    printf("%s: %d IR nodes, %d reps; arena %.1f MB parsing, %.1f MB elaborating\n",
           argv[1], nodes, reps, parse_bytes / 1e6, elab_bytes / 1e6);
    static const char *const names[PHASES] = {"parse", "elaborate", "total"};
    for (int k = 0; k < PHASES; k++) {
        printf("%-10s median wall %7.2f ms  cpu %7.2f ms\n", names[k],
               median(wall[k], reps), median(cpu[k], reps));
        free(wall[k]);
        free(cpu[k]);
    }
    return 0;
}
