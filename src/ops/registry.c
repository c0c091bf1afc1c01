/* registry.c — lookups in the op table (table.c), and the helpers ops
 * share when they declare parameters.
 *
 * op_sig parses an op's signature string on first use. */
#include "vg/ops.h"

#include <stdio.h>
#include <string.h>
#include "vg/arena.h"

int op_lookup(const char *name)
{
    for (int i = 0; i < OP_COUNT; i++)
        if (strcmp(op_table[i]->name, name) == 0)
            return i;
    return -1;
}

const Sig *op_sig(int op)
{
    static Sig sigs[OP_COUNT];
    static bool parsed[OP_COUNT];
    return sig_cached(sigs, parsed, op, op_table[op]->sig);
}

const Spec *op_constant_init(IrGraph *g, double c)
{
    const Spec *dflt = ir_default_spec(g, SPEC_CONSTANT);
    Spec *s = arena_alloc(g->arena, sizeof *s);
    *s = *dflt;
    Value *args = arena_alloc(g->arena, (size_t)s->nargs * sizeof *args);
    memcpy(args, dflt->args, (size_t)s->nargs * sizeof *args);
    args[0] = (Value){.kind = VAL_NUM, .num = c};  /* "c:N gain:N=1" */
    s->args = args;
    return s;
}

unsigned op_ranks(int op)
{
    unsigned r = op_table[op]->ranks;
    return r ? r : OP_RANK(1) | OP_RANK(2);
}

char *op_ranks_str(unsigned ranks, char *buf, size_t n)
{
    static const char *const layout[IR_MAX_RANK + 1] = {
        "[]", "[features]", "[time, features]", "[channels, height, width]"};
    int total = 0, count = 0;
    for (int r = 0; r <= IR_MAX_RANK; r++)
        total += (ranks & OP_RANK(r)) != 0;
    size_t used = 0;
    buf[0] = '\0';
    for (int r = 0; r <= IR_MAX_RANK && used < n; r++) {
        if (!(ranks & OP_RANK(r)))
            continue;
        const char *sep = count == 0 ? "" : count == total - 1 ? " or " : ", ";
        used += (size_t)snprintf(buf + used, n - used, "%s%s", sep, layout[r]);
        count++;
    }
    return buf;
}

char *op_input_str(int op, char *buf, size_t n)
{
    if (op_table[op]->tokens && op_ranks(op) == OP_RANK(1)) {
        snprintf(buf, n, "token ids [time]");
        return buf;
    }
    char ranks[128];
    snprintf(buf, n, "a %s input", op_ranks_str(op_ranks(op), ranks, sizeof ranks));
    return buf;
}

long op_token_limit(const IrGraph *g, int source, int *node)
{
    long limit = 0;
    for (int i = 0; i < g->n; i++) {
        const IrNode *n = &g->nodes[i];
        if (n->op != OP_EMBEDDING || n->in[0] != source)
            continue;
        long vocab = (long)ir_arg_num(n, 1);  /* "tokens:T vocab:I …" */
        if (limit == 0 || vocab < limit) {
            limit = vocab;
            if (node)
                *node = i;
        }
    }
    return limit;
}
