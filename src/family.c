/* family.c — the list of members of a program, and member names given on
 * the command line (`vg run --run 'grid[20, 0.5]'`).
 *
 * A name on the command line is parsed as a .vg expression, so it follows
 * the language's rules for numbers and strings; its index values are then
 * compared with the members' by their canonical spelling (elab_value_text),
 * the same text that names the members in reports. */
#include "vg/family.h"

#include <stdlib.h>
#include <string.h>

#include "vg/parse.h"

bool family_members(Program *p, MemberList *out)
{
    memset(out, 0, sizeof *out);
    bool ok = true;
    for (int i = 0; i < p->ntrains; i++) {
        Member *ms;
        int n;
        if (!elab_members(p, p->trains[i], &ms, &n)) {
            ok = false;
            continue;
        }
        for (int j = 0; j < n; j++) {
            const Member *m = &ms[j];
            VEC_PUSH(out->m, out->n, out->cap, m);
        }
    }
    return ok;
}

void member_list_free(MemberList *l)
{
    free(l->m);
    memset(l, 0, sizeof *l);
}

/* A note naming the program's runs (or its run families), if it has any. */
static void note_trains(Program *p, bool families)
{
    char list[512];
    size_t len = 0;
    int n = 0;
    for (int i = 0; i < p->ntrains && len < sizeof list; i++)
        if ((p->trains[i]->list2.n > 0) == families)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", n++ ? ", " : "",
                                    p->trains[i]->str);
    if (n > 0)
        diag_note(&p->diag, "%s: %s", families ? "run families" : "runs", list);
}

/* The train item named name, or NULL with a diagnostic. */
static const AstNode *find_train(Program *p, const char *name, Span at)
{
    const char **names = xmalloc(sizeof *names * (size_t)(p->ntrains ? p->ntrains : 1));
    const AstNode *found = NULL;
    for (int i = 0; i < p->ntrains; i++) {
        names[i] = p->trains[i]->str;
        if (strcmp(names[i], name) == 0)
            found = p->trains[i];
    }
    if (!found) {
        const char *best = diag_suggest(name, names, p->ntrains);
        if (best)
            diag_error(&p->diag, at, "no run or run family named '%s'; did you mean '%s'?",
                       name, best);
        else {
            diag_error(&p->diag, at, "no run or run family named '%s'", name);
            note_trains(p, false);
            note_trains(p, true);
        }
    }
    free(names);
    return found;
}

/* The value texts an index asks for, NULL for a `*`. */
static bool index_texts(Program *p, const AstNode *train, const AstNode *index,
                        const char **want)
{
    int naxes = train->list2.n;
    if (naxes == 0) {
        diag_error(&p->diag, index->span, "'%s' is a run, not a run family: it takes no "
                   "index", train->str);
        return false;
    }
    if (index->list.n != naxes) {
        diag_error(&p->diag, index->span, "run family '%s' has %d ax%s, got %d ind%s",
                   train->str, naxes, naxes == 1 ? "is" : "es", index->list.n,
                   index->list.n == 1 ? "ex" : "ices");
        return false;
    }
    int k = 0;
    for (const AstNode *x = index->list.head; x; x = x->next, k++) {
        want[k] = NULL;
        if (x->kind == AST_STAR)
            continue;
        Value v;
        if (!elab_eval(p, NULL, x, &v) || !elab_value_text(p, &v, x->span, &want[k]))
            return false;
    }
    return true;
}

bool family_select(Program *p, const MemberList *l, const char *option, const char *text,
                   bool *selected)
{
    int file = source_add(&p->sources, option, text, strlen(text));
    AstNode *entry = NULL;
    ParseStatus st = parse_entry(&p->arena, &p->diag, file, &entry);
    if (st == PARSE_ERROR)
        return false;
    const AstNode *x = entry && entry->kind == AST_EXPR_STMT ? entry->a : NULL;
    const AstNode *index = x && x->kind == AST_INDEX ? x : NULL;
    const AstNode *name = index ? index->a : x;
    if (st == PARSE_MORE || !name || name->kind != AST_NAME) {
        diag_error(&p->diag, entry && st == PARSE_OK ? entry->span : SPAN_NONE, "%s takes a run, a run family "
                   "or a member such as grid[20, 0.5], got '%s'", option, text);
        return false;
    }
    const AstNode *train = find_train(p, name->str, name->span);
    if (!train)
        return false;
    const char *want[ELAB_MAX_AXES];
    if (index && !index_texts(p, train, index, want))
        return false;
    int hits = 0;
    for (int i = 0; i < l->n; i++) {
        const Member *m = l->m[i];
        bool match = m->train == train;
        for (int k = 0; index && match && k < m->naxes; k++)
            match = !want[k] || strcmp(m->texts[k], want[k]) == 0;
        if (match) {
            selected[i] = true;
            hits++;
        }
    }
    if (hits == 0) {
        diag_error(&p->diag, x->span, "run family '%s' has no member %s", train->str, text);
        const AstNode *axis = train->list2.head;
        for (int k = 0; axis; axis = axis->next, k++) {
            if (!want[k])
                continue;
            bool found = false;
            for (int i = 0; i < l->n && !found; i++)
                found = l->m[i]->train == train && strcmp(l->m[i]->texts[k], want[k]) == 0;
            if (!found)
                diag_note(&p->diag, "its axis '%s' has no value %s", axis->str, want[k]);
        }
        return false;
    }
    return true;
}
