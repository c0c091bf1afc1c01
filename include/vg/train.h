/* train.h — runs: training a model with its settings and keeping its
 * reports.
 *
 * A run elaborates its model, plans buffers for the training batch and for
 * the probe batch (the fixed batch every report is measured on), and trains
 * for `steps` steps; at step 0, every `report` steps and at the end it
 * measures a Report (metrics.h). Reports stay in memory for `expect`, the
 * REPL and the writers. */
#ifndef VG_TRAIN_H
#define VG_TRAIN_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include "vg/data.h"
#include "vg/elab.h"
#include "vg/exec.h"
#include "vg/ir.h"
#include "vg/metrics.h"
#include "vg/optim.h"
#include "vg/program.h"
#include "vg/schedule.h"
#include "vg/settings.h"

/* The time of the steps of the last run_train call, for `vg run --time`:
 * each step and the reports scheduled by `report`, but not the reports every
 * run makes at its first step and at its end. */
typedef struct RunTiming {
    double wall, cpu;     /* seconds: monotonic clock, process CPU time */
    long steps;
} RunTiming;

/* Every training step's scalars, recorded by the step itself: entry i is
 * step first + i + 1. A step whose loss or gradient was not finite is the
 * last entry (the run diverged there); it is not counted in Run.step. Room
 * is made before a step runs (run_train grows it geometrically, between
 * steps), so the step only stores four numbers. */
typedef struct StepLog {
    float *loss;          /* the training batch's loss */
    float *norm;          /* the global gradient norm, before clipping */
    double *lr;           /* the optimizer's learning rate */
    unsigned char *clipped;  /* 1: the gradient was clipped */
    long first, n, cap;
} StepLog;
void step_log_free(StepLog *lg);

/* Pre-training of one declared layer (pretrain = autoencoder(steps, lr)). */
typedef struct PretrainLayer {
    double first, last;   /* reconstruction mse of the first and the last
                             pre-training minibatch; NaN when skipped */
    const char *skipped;  /* why the layer was not pre-trained, or NULL */
} PretrainLayer;

typedef struct Run {
    const AstNode *ast;   /* the AST_TRAIN item */
    const Member *member; /* which of its runs this is (program arena) */
    const char *name;     /* the member's name: "deep", "grid[20, 0.5]" */
    const char *model;    /* the model's name */
    Settings set;
    IrGraph g;
    ParamStore ps;
    Exec train, probe;    /* one block: the larger plan owns it, the other (and
                             test) are views (exec_plan_view) */
    Exec test;            /* the held-out rows, in chunks; unplanned (batch 0)
                             without a test split or without class labels */
    int *probe_rows;      /* the probe's rows, probe.batch of them, copied into
                             its sources before each probe */
    Optim opt;
    Schedule schedule;    /* the lr of each step, read from the settings once */
    Dataset data;
    int *order;           /* shuffled training rows */
    int norder, cursor;
    int ntrain;           /* rows used for training; the rest is the test split */
    double *update_sq;    /* per layer: Σ(Δw)² of the last step */
    bool *grad_bad;       /* per layer: a parameter gradient of the last step
                             was not finite */
    long clipped_steps;
    double last_global_norm;
    double last_loss;     /* the training batch's loss at the last step */
    double baseline;      /* the best constant prediction's loss on the probe
                             batch (metrics_baseline) */
    /* What a step that turns non-finite undoes, so that a diverged run's
     * final report is measured on the parameters before it: in a run
     * without clip (which updates each node's parameters inside the
     * backward pass) each parameter's values just before its update, in
     * `trained` at its offset (the gradient block such a run lacks takes
     * the same room); the non-trainable ones (batchnorm's running
     * statistics, which a training forward moves), packed in `stats`; and
     * the last completed step's update_sq, global norm and loss. */
    struct {
        float *trained, *stats;
        int *updated, nupdated;   /* parameters copied into trained this step */
        double *update_sq, global_norm, loss;
    } undo;
    Report *reports;
    int nreports, repcap;
    StepLog log;
    long step;            /* steps done */
    bool ready;           /* elaborated and planned */
    bool diverged;
    long diverged_at;
    Rng batch_rng;
    PretrainLayer *pretrain;  /* per layer once pre-training ran, else NULL */
    RunTiming timing;
} Run;

/* Runs by pointer: a Run's plans point into the Run itself, so each is
 * allocated alone and never moves while the set grows. */
typedef struct RunSet {
    Run **runs;
    int n, cap;
} RunSet;

/* The bound on one run's parameters and buffers that `vg run` applies
 * unless --max-memory sets another (docs/reliability.md). */
#define TRAIN_DEFAULT_MAX_MEMORY ((size_t)4 << 30)

typedef struct TrainOptions {
    const SettingOverride *sets;
    int nsets;
    long long seed;       /* < 0: from the settings */
    long long seed_offset;/* added to every run's seed (--seed-offset) */
    size_t max_memory;    /* bytes; 0: no limit */
    /* Called after every training step (report_progress draws the
     * progress line); NULL: none. */
    void (*progress)(const struct Run *r, void *ctx);
    void *progress_ctx;
    /* Called after each report is added (the JSON Lines stream); NULL: none. */
    void (*on_report)(const struct Run *r, void *ctx);
    void *report_ctx;
    /* Called after every training step and its report, if one was due
     * (checkpoint_on_step); false stops training with status 3, a
     * diagnostic saying why. NULL: none. */
    bool (*on_step)(const struct Run *r, void *ctx);
    void *step_ctx;
} TrainOptions;

/* Elaborates, loads data and plans the run of member m (which must live
 * as long as r). false: diagnostics in p->diag. */
bool run_prepare(Program *p, const Member *m, const TrainOptions *o, Run *r);
/* Trains up to `steps` more steps (the settings' remaining steps when < 0),
 * recording reports. Returns 0, or 3 on a non-finite value with
 * on_nonfinite = fail (r->diverged is set either way, and a diagnostic
 * explains where). */
int run_train(Program *p, Run *r, long steps, const TrainOptions *o);
void run_free(Run *r);
/* The initial or the final report of r; NULL before the first. */
const Report *run_report(const Run *r, ReportAt which);

/* Set by a SIGINT/SIGTERM handler: training stops after the current step. */
extern volatile sig_atomic_t train_interrupted;

int runset_find(const struct RunSet *rs, const char *name);
/* The train item of the run family named name, or NULL. */
const AstNode *runset_find_family(const struct RunSet *rs, const char *name);
/* Appends run, a zeroed or prepared Run from the heap; the set owns it. */
void runset_push(RunSet *rs, Run *run);
void runset_free(RunSet *rs);

#endif
