/* sweep.c — worker processes for `vg run -j N` (sweep.h). */
#define _GNU_SOURCE   /* prctl's PR_SET_PDEATHSIG */
#include "vg/sweep.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vg/exit.h"

static void on_stop(int sig)
{
    train_interrupted = sig;
}

/* SIGINT and SIGTERM interrupt the parent's wait for a worker (no
 * SA_RESTART), so it stops the workers at once. */
static void catch_stops(void)
{
    struct sigaction sa = {.sa_handler = on_stop};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static bool make_dir(Sweep *s, const char *dir)
{
    if (!dir) {
        const char *tmp = getenv("TMPDIR");
        size_t n = strlen(tmp && *tmp ? tmp : "/tmp") + 20;
        s->dir = xmalloc(n);
        snprintf(s->dir, n, "%s/vg-sweep.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        s->temporary = mkdtemp(s->dir) != NULL;
        if (s->temporary)
            return true;
        return diag_error(&s->p->diag, SPAN_NONE, "cannot make a temporary folder in '%s': %s",
                          tmp && *tmp ? tmp : "/tmp", strerror(errno));
    }
    s->dir = xstrdup(dir);
    if (mkdir(dir, 0777) == 0 || errno == EEXIST)
        return true;
    return diag_error(&s->p->diag, SPAN_NONE, "cannot make the folder '%s': %s", dir,
                      strerror(errno));
}

bool sweep_begin(Sweep *s, Program *p, RunSet *rs, const PartKey *k, int jobs, const char *dir,
                 SweepTrain train, void *ctx)
{
    *s = (Sweep){.p = p, .rs = rs, .key = k, .train = train, .ctx = ctx, .jobs = jobs};
    s->paths = xcalloc((size_t)rs->n + 1, sizeof *s->paths);
    s->pid = xcalloc((size_t)rs->n + 1, sizeof *s->pid);
    s->done = xcalloc((size_t)rs->n + 1, sizeof *s->done);
    if (!make_dir(s, dir))
        return false;
    bool ok = true;
    for (int i = 0; i < rs->n && ok; i++) {
        if (!rs->runs[i]->ready)
            continue;
        s->paths[i] = part_path(s->dir, rs->runs[i]->member);
        PartStatus st = part_check(s->paths[i], k, rs->runs[i], &p->diag);
        s->done[i] = st == PART_OK;
        ok &= st == PART_OK || st == PART_MISSING;
    }
    catch_stops();
    return ok;
}

/* The worker of run i: trains it, writes its part, and ends without
 * running the parent's exit handlers or flushing its stdio buffers. */
static void worker(Sweep *s, int i, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(EXIT_SIGNAL + SIGTERM);
    Program *p = s->p;
    Run *r = s->rs->runs[i];
    int from = p->diag.n;
    int status = s->train(p, r, s->ctx);
    if (train_interrupted)
        _exit(EXIT_SIGNAL + (int)train_interrupted);
    int before = p->diag.n;
    if (!part_write(s->paths[i], s->key, r, status, &p->diag, from)) {
        for (int k = before; k < p->diag.n; k++)
            diag_render(stderr, &p->sources, &p->diag.items[k], false);
        _exit(3);
    }
    _exit(0);
}

static void start_next(Sweep *s)
{
    while (s->next < s->rs->n && (!s->paths[s->next] || s->done[s->next]))
        s->next++;
    if (s->next == s->rs->n)
        return;
    int i = s->next++;
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        worker(s, i, parent);
    if (pid < 0) {
        /* no process to spare: the run is lost, with the reason */
        diag_error(&s->p->diag, s->rs->runs[i]->set.span, "run '%s': cannot start a worker: %s",
                   s->rs->runs[i]->name, strerror(errno));
        s->done[i] = true;
        return;
    }
    s->pid[i] = pid;
    s->running++;
}

/* Waits for one worker to end; false when interrupted first. */
static bool reap(Sweep *s)
{
    int ws;
    pid_t pid = waitpid(-1, &ws, 0);
    if (pid < 0)
        return errno == EINTR && !train_interrupted ? true : false;
    for (int i = 0; i < s->rs->n; i++) {
        if (s->pid[i] != pid)
            continue;
        s->pid[i] = 0;
        s->done[i] = true;
        s->running--;
        const Run *r = s->rs->runs[i];
        if (WIFSIGNALED(ws))
            diag_error(&s->p->diag, r->set.span, "run '%s': its worker process was killed by "
                       "signal %d (%s)", r->name, WTERMSIG(ws), strsignal(WTERMSIG(ws)));
        else if (WEXITSTATUS(ws) != 0)
            diag_error(&s->p->diag, r->set.span, "run '%s': its worker process exited with "
                       "status %d and wrote no part", r->name, WEXITSTATUS(ws));
    }
    return true;
}

SweepOutcome sweep_result(Sweep *s, int i, int *status)
{
    while (!s->done[i]) {
        if (train_interrupted)
            return SWEEP_INTERRUPTED;
        while (s->running < s->jobs && s->next < s->rs->n)
            start_next(s);
        if (s->done[i])
            break;
        if (!reap(s))
            return SWEEP_INTERRUPTED;
    }
    switch (part_read(s->paths[i], s->key, s->rs->runs[i], status, &s->p->diag)) {
    case PART_OK:
        return SWEEP_OK;
    case PART_MISSING:
        return SWEEP_LOST;
    default:
        return SWEEP_BAD;
    }
}

void sweep_end(Sweep *s)
{
    /* a temporary folder's parts are thrown away: no worker need finish */
    for (int i = 0; (train_interrupted || s->temporary) && i < s->rs->n; i++)
        if (s->pid[i] > 0)
            kill(s->pid[i], SIGTERM);
    while (s->running > 0) {
        int ws;
        pid_t pid = waitpid(-1, &ws, 0);
        if (pid < 0 && errno != EINTR)
            break;
        for (int i = 0; pid > 0 && i < s->rs->n; i++)
            if (s->pid[i] == pid)
                s->pid[i] = 0, s->running--;
    }
    for (int i = 0; i < s->rs->n; i++) {
        if (s->temporary && s->paths[i])
            remove(s->paths[i]);
        free(s->paths[i]);
    }
    if (s->temporary)
        rmdir(s->dir);
    free(s->paths);
    free(s->pid);
    free(s->done);
    free(s->dir);
}
