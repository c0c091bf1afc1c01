/* net_fixture.h — a test network built op by op: its arena, graph,
 * diagnostics, parameters and plan, freed in one call (test_ops.c,
 * test_norm.c, test_recurrent.c). x and y are the caller's: by custom the
 * input and the node under test. Include after testutil.h. */
#ifndef VG_NET_FIXTURE_H
#define VG_NET_FIXTURE_H

#include <string.h>
#include "vg/exec.h"
#include "vg/ops.h"

typedef struct Net {
    Arena arena;
    IrGraph g;
    DiagSink d;
    ParamStore ps;
    Exec e;
    bool planned;
    int x, y;
} Net;

static inline void net_init(Net *n)
{
    memset(n, 0, sizeof *n);
    arena_init(&n->arena);
    ir_init(&n->g, &n->arena, "t");
    diag_init(&n->d, NULL);
}

/* Allocates the parameters (zeros until initialised) and plans batch rows. */
static inline void net_plan(Net *n, int batch)
{
    params_alloc(&n->ps, &n->g);
    assert_true(exec_plan(&n->e, &n->g, &n->ps, batch, 0, &n->d));
    n->planned = true;
}

static inline void net_free(Net *n)
{
    if (n->planned)
        exec_free(&n->e);
    params_free(&n->ps);
    ir_free(&n->g);
    diag_free(&n->d);
    arena_free(&n->arena);
}

static inline Value tensor(int node)
{
    return (Value){.kind = VAL_TENSOR, .node = node};
}

static inline Value num(double x)
{
    return (Value){.kind = VAL_NUM, .num = x};
}

/* Parameter k of node y, its values. */
static inline real *net_param(Net *n, int k)
{
    return n->ps.value + n->g.params[n->g.nodes[n->y].param[k]].offset;
}

#endif
