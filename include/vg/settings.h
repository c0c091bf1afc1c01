/* settings.h — the settings of a run: its train item's bundle (and the
 * bundles that bundle extends), the item's override block, then the
 * command line's --set, checked and resolved into one Settings record.
 * Values are evaluated by the evaluator (elab.h). */
#ifndef VG_SETTINGS_H
#define VG_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>
#include "vg/elab.h"

typedef struct Settings {
    const Spec *data;
    int loss;                  /* OpId of the loss */
    const Spec *optimizer;
    long batch, steps;
    uint64_t seed;
    long report;               /* 0: initial and final only */
    long probe;                /* rows of the probe batch; 0: all */
    const Spec *clip;          /* NULL: none */
    const Spec *pretrain;      /* NULL: none */
    const Spec *schedule;      /* of the learning rate (schedule.h); NULL: constant */
    double test;               /* held-out fraction */
    bool stop_on_nonfinite;    /* on_nonfinite = stop */
    double vanishing_below, exploding_above;
    Span span;                 /* the train item, for run-time errors */
    Span data_span;            /* where `data` was set */
} Settings;

/* A command-line override, `--set key=value` (value is .vg source). */
typedef struct SettingOverride {
    const char *key;
    const char *value;
} SettingOverride;

/* The settings of a member: its train item's bundle, then the item's
 * overrides (where the member's axis variables are visible), then the
 * command line's. seed_override < 0 means none. */
bool settings_of(Program *p, const Member *m, const SettingOverride *cli,
                 int ncli, long long seed_override, Settings *out);
/* The value a train item gives one setting (its override block, else its
 * bundle), without the command line; false, with no diagnostic, when
 * neither sets it. */
bool settings_value(Program *p, const AstNode *train, const char *key, Value *out);
/* The i-th key a settings bundle or a train's overrides may set ("data",
 * "optimizer", …), or NULL past the last (for completion). */
const char *settings_key(int i);
/* The loss (OpId) of the train item whose model call `call` is, or -1. */
int settings_call_loss(Program *p, const AstNode *call);

#endif
