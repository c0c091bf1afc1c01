/* fixture.h — for tests that need a prepared run or the vg binary: a
 * program loaded from source text (written to a temporary file, which is
 * removed again), its first train prepared, and the path of the vg built
 * beside the test binaries. Include after testutil.h. */
#ifndef VG_FIXTURE_H
#define VG_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vg/program.h"
#include "vg/train.h"

/* Loads src as a program file; fails the test on any diagnostic. */
static inline void fixture_load(Program *p, const char *src)
{
    char path[] = "/tmp/vg-fixture-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(src, f);
    fclose(f);
    char vg[64];
    snprintf(vg, sizeof vg, "%s.vg", path);
    assert_int_equal(rename(path, vg), 0);
    program_init(p);
    bool ok = program_load(p, vg, SPAN_NONE);
    remove(vg);
    if (!ok)
        diag_render_all(stderr, &p->diag, false);
    assert_true(ok);
}

/* Loads src and prepares its train number `which`. */
static inline void fixture_run(Program *p, Run *r, const char *src, int which)
{
    fixture_load(p, src);
    TrainOptions o = {.seed = -1};
    Member *ms;
    int nm;
    bool ok = elab_members(p, p->trains[which], &ms, &nm) && run_prepare(p, &ms[0], &o, r);
    if (!ok)
        diag_render_all(stderr, &p->diag, false);
    assert_true(ok);
}

/* The vg binary of this build: BUILD/vg for a test at BUILD/tests/test_x. */
static inline void fixture_vg_path(const char *argv0, char *out, size_t n)
{
    const char *slash = strrchr(argv0, '/');
    int dir = slash ? (int)(slash - argv0) : 1;
    snprintf(out, n, "%.*s/../vg", dir, slash ? argv0 : ".");
}

/* Runs a shell command, capturing stdout into a malloc'd string; returns
 * the exit status (-1 if it could not run). */
static inline int fixture_capture(const char *cmd, char **out)
{
    *out = NULL;
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    size_t n = 0, cap = 4096;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    buf[n] = '\0';
    *out = buf;
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif
