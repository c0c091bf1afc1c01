/* part.h — one run's results in a file of their own: a part.
 *
 * A sweep trains its members elsewhere — in the worker processes of
 * `vg run -j N`, or in the jobs `vg plan` writes for GNU parallel or
 * Slurm — and each writes what it measured to a part; the process that
 * prints reads the parts back into its prepared Runs and reports exactly
 * as if it had trained them itself (docs/report.md, "Sweeps").
 *
 * A part carries everything training changes that the reports, the
 * expects and the writers read: the reports (every run value and layer
 * metric, bit for bit), the step log, the steps done, divergence, the
 * pre-training results, the timing, the exit status of the training, and
 * the diagnostics it recorded. And it carries what made it: the vg build,
 * the program's text and the run's settings, so results of another
 * program or other settings are never merged unnoticed. A part is written
 * under a temporary name and renamed: it is complete or absent.
 *
 * Numbers are stored in the machine's own binary form: a part is read by
 * the build of vg that wrote it (which the identity checks), not archived;
 * `--json` is the archival format. */
#ifndef VG_PART_H
#define VG_PART_H

#include <stdbool.h>
#include "vg/train.h"

/* What every part of one program made by one vg has in common. */
typedef struct PartKey {
    char build[65];      /* SHA-256 of the vg executable */
    char program[65];    /* SHA-256 of the program's files */
    char extra[65];      /* SHA-256 of what else shapes every run's results:
                            the BLAS (library, core, threads) and the
                            parameters --load starts from */
} PartKey;

/* The key of program p, whose first nfiles sources are its files (those
 * program_load read; data files come later), started from the parameters
 * in load (NULL: none). false, with a diagnostic, when the executable or
 * load cannot be read. */
bool part_key_init(PartKey *k, const Program *p, int nfiles, const char *load,
                   DiagSink *diag);

/* The part of member m in folder dir: DIR/NAME.part for a plain run,
 * DIR/NAME.K.part for member K of family NAME (its position in the
 * family, row-major). Names stay shell-safe whatever the axis values. */
char *part_path(const char *dir, const Member *m);

/* Writes r's results, status (run_train's), and the diagnostics of diag
 * from index `from` on, to path, atomically: under a temporary name,
 * PATH.XXXXXX, locked (flock) while it is written, then renamed. durable:
 * synced to disk before the rename (false for a part that never outlives
 * the process reading it). false, with a diagnostic in diag, when it
 * cannot be written. */
bool part_write(const char *path, const PartKey *k, const Run *r, int status, DiagSink *diag,
                int from, bool durable);

/* Remove the temporary files that writers killed mid-write (SIGKILL, the
 * OOM killer, power loss) left: those of the part at path, or of every
 * part in folder dir. A file whose writer is alive is locked and stays. */
void part_clean(const char *path);
void part_clean_folder(const char *dir);

typedef enum PartStatus {
    PART_OK,        /* read into the run */
    PART_MISSING,   /* no such file */
    PART_REFUSED,   /* made by another build, program or settings (diagnostic) */
    PART_BAD,       /* unreadable or not a part (diagnostic) */
} PartStatus;

/* Whether the part at path is there and was made for r, reading only
 * its header: a sweep refuses a stale part before it trains anything. */
PartStatus part_check(const char *path, const PartKey *k, const Run *r, DiagSink *diag);

/* Reads the part at path into the prepared run r (replacing what a
 * checkpoint restored) after checking that k and r's settings made it; its status
 * goes to *status and its diagnostics into diag, after the others. */
PartStatus part_read(const char *path, const PartKey *k, Run *r, int *status, DiagSink *diag);

#endif
