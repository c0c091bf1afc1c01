/* sweep.h — training runs in worker processes: `vg run -j N`.
 *
 * The parent prepares every run, then forks N workers once, each holding
 * every prepared run. It hands the runs out in file order, one at a time
 * to whichever worker is idle, over a socket per worker: the worker
 * trains the run, writes its results as a part (part.h) into the sweep's
 * folder and says so; the parent reads the parts back in file order and
 * prints them as one process would, so every output is the same whatever
 * N is. A run leaves nothing behind in its worker that the next one reads
 * (one process trains every run in turn the same way). The folder is
 * --parts DIR, where parts outlive the sweep and a part already complete
 * is not trained again, or a private temporary one, whose parts are not
 * synced to disk (they never outlive the sweep).
 *
 * A worker that dies (a crash, the OOM killer, kill -9) loses the run it
 * was on only: the parent names that run, removes the temporary file of a
 * part it was writing, and starts another worker for the runs left.
 * Workers die with the parent (PR_SET_PDEATHSIG), so an interrupted sweep
 * leaves no process behind, and only complete parts. */
#ifndef VG_SWEEP_H
#define VG_SWEEP_H

#include <stdbool.h>
#include <sys/types.h>
#include "vg/part.h"

/* What a worker does with its run: train it (and save its parameters);
 * returns run_train's status. */
typedef int (*SweepTrain)(Program *p, Run *r, void *ctx);

typedef struct SweepWorker {
    pid_t pid;            /* 0: none */
    int sock;             /* the parent's end: run indices out, answers in */
    int run;              /* the run it trains; -1: idle */
} SweepWorker;

typedef struct Sweep {
    Program *p;
    RunSet *rs;
    const PartKey *key;
    SweepTrain train;
    void *ctx;
    int jobs;
    char *dir;            /* the parts' folder */
    bool temporary;       /* made by the sweep, removed at its end */
    char **paths;         /* per run of rs: its part; NULL for runs not prepared */
    bool *done;           /* per run: trained (or lost), its part final */
    SweepWorker *workers; /* jobs of them */
    int next;             /* the next run to hand out */
} Sweep;

typedef enum SweepOutcome {
    SWEEP_OK,             /* the run's results are in it */
    SWEEP_LOST,           /* its worker died or wrote no part (diagnostic) */
    SWEEP_INTERRUPTED,    /* SIGINT or SIGTERM: the sweep stops */
    SWEEP_BAD,            /* a part could not be read (diagnostic) */
} SweepOutcome;

/* Sets a sweep over the prepared runs of rs up. dir: --parts, created if
 * missing; NULL: a temporary folder. Every part already in dir must have
 * been made for its run (else a diagnostic naming it, and false). */
bool sweep_begin(Sweep *s, Program *p, RunSet *rs, const PartKey *k, int jobs, const char *dir,
                 SweepTrain train, void *ctx);
/* The results of run i, waiting for its worker (and starting the next
 * ones meanwhile); *status is the run's training status. Call in file
 * order. */
SweepOutcome sweep_result(Sweep *s, int i, int *status);
/* Starts no more workers; lets the running ones finish when their parts
 * stay (--parts, not interrupted), else stops them; waits for them all
 * and removes a temporary folder. */
void sweep_end(Sweep *s);

#endif
