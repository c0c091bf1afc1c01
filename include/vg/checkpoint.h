/* checkpoint.h — a run's whole training state on disk, so that a run
 * killed at any moment (SIGKILL, the OOM killer, a power cut, a Slurm
 * preemption) continues from its latest checkpoint and ends with the
 * reports and parameters an uninterrupted run has, byte for byte.
 *
 * `vg run --checkpoint DIR` writes one file per run into DIR every N steps
 * (--checkpoint-every), at the run's last step, and at the step where
 * SIGINT or SIGTERM stopped it; each write replaces the run's previous file
 * atomically (safetensors_write). `--resume` restores every run that has a
 * file and trains on from there; a run without one starts afresh.
 *
 * A checkpoint holds what a run's future depends on: the parameters
 * (running statistics included), the optimizer's moments and step count,
 * the batch order with its cursor and random stream, the dropout stream,
 * the step, the per-step log, the reports so far, the pre-training results,
 * and the last step's per-layer update sizes, loss and gradient norm. It is
 * refused — before any run trains — when it was made by another vg
 * version, from another program text, with other command-line settings or
 * BLAS threads, from other data or other initial parameters: resuming it
 * would not give the uninterrupted run's bytes. */
#ifndef VG_CHECKPOINT_H
#define VG_CHECKPOINT_H

#include <stdbool.h>
#include "vg/program.h"
#include "vg/train.h"

/* Steps between checkpoints when --checkpoint-every is not given. */
enum { CHECKPOINT_DEFAULT_EVERY = 1000 };

typedef struct CheckpointRunId {
    const Run *r;
    char data[65], init[65];  /* sha256 of the data set and of the initial parameters */
} CheckpointRunId;

typedef struct Checkpointer {
    const char *dir;
    long every;
    char *settings;       /* the command line's training options, as text */
    char program[65];     /* sha256 over the program's source files */
    char blas[128];       /* blas_describe: library, core type, threads */
    DiagSink *diag;
    CheckpointRunId *ids; /* one per run begun (checkpoint_begin) */
    int nids, capids;
} Checkpointer;

/* Makes dir if it does not exist and checks that it can be written.
 * The program's text is its first nfiles sources (the files program_load
 * read; the command line's --set and --run texts come after them).
 * settings describes the options that change what a run computes (the
 * caller's --seed, --set …). false: a diagnostic. */
bool checkpoint_open(Checkpointer *c, const Program *p, int nfiles, const char *dir,
                     long every, const char *settings, DiagSink *diag);
void checkpoint_close(Checkpointer *c);

typedef enum CheckpointStatus {
    CKPT_FRESH,      /* no checkpoint: the run starts from step 0 */
    CKPT_RESUMED,    /* r holds the checkpoint's state */
    CKPT_REFUSED,    /* made from another program, settings, version …: exit 2 */
    CKPT_BAD,        /* unreadable or damaged: exit 3 */
} CheckpointStatus;

/* Identifies prepared run r before it trains (its data and its initial
 * parameters, so call it after --load); with resume, restores r from its
 * checkpoint in the folder if there is one. Call after the BLAS threads
 * are set: they are part of a checkpoint's identity. */
CheckpointStatus checkpoint_begin(Checkpointer *c, Program *p, Run *r, bool resume);

/* TrainOptions.on_step: writes r's checkpoint when due (every `every`
 * steps, at the last step, or when training was interrupted). false: it
 * could not be written (a diagnostic). */
bool checkpoint_on_step(const Run *r, void *checkpointer);

/* The file of run `name` in dir: its name with what is not a letter, digit,
 * '-', '_' or '.' replaced by '_', then 8 hex digits of its sha256 (so two
 * names never share a file), then ".ckpt"; malloc'd. */
char *checkpoint_path(const char *dir, const char *name);

#endif
