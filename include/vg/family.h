/* family.h — the runs a program declares, member by member, and the names
 * of members on the command line.
 *
 * A `train` item declares one run, or with axes a run family: one member
 * per combination of the axes' values (elab.h, Member). Every command that
 * runs or plans runs starts from the list of all members in file order, and
 * selects among them with the names users type: `deep`, `grid` (a whole
 * family), `grid[20, 0.5]` (one member) or `grid[*, 0.5]` (a slice). */
#ifndef VG_FAMILY_H
#define VG_FAMILY_H

#include <stdbool.h>
#include "vg/elab.h"

typedef struct MemberList {
    const Member **m;   /* members live in the program arena */
    int n, cap;
} MemberList;

/* Every member of every train item of p, in file order; a family's members
 * in its order (elab_members). false: diagnostics in p->diag. */
bool family_members(Program *p, MemberList *out);
void member_list_free(MemberList *l);

/* Marks in selected[0..l->n) the members that text names: a run's or a
 * family's name, or NAME[v, ...] with one value or `*` per axis. Values
 * are .vg expressions, compared by their canonical spelling, so
 * `grid[20, .5]` names grid[20, 0.5]. option ("--run") names the source
 * of text in diagnostics. false, with a diagnostic, when text is not such
 * a name or names no member. */
bool family_select(Program *p, const MemberList *l, const char *option, const char *text,
                   bool *selected);

#endif
