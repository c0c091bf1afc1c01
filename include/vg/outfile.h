/* outfile.h — a file written all or nothing.
 *
 * outfile_open creates a temporary file beside path (so an unwritable
 * folder is reported before any work is done), outfile_commit flushes it
 * to disk and renames it over path, and outfile_discard removes it. A
 * failed or interrupted vg never leaves a truncated file at path. Errors
 * are diagnostics ("cannot write 'F': ..."). The report files, `vg fmt -w`,
 * `vg plan`'s job files and a sweep's parts are written so. */
#ifndef VG_OUTFILE_H
#define VG_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>
#include "vg/diag.h"

typedef struct OutFile {
    const char *path;
    char *tmp;
    FILE *f;
    bool transient;   /* set after opening: the file never outlives the
                         process that reads it, so commit does not sync it
                         to disk (still renamed: complete or absent) */
} OutFile;

bool outfile_open(OutFile *of, const char *path, DiagSink *diag);
bool outfile_commit(OutFile *of, DiagSink *diag);
/* Whether path can be written: a temporary file created and removed. */
bool outfile_check(const char *path, DiagSink *diag);
void outfile_discard(OutFile *of);

#endif
