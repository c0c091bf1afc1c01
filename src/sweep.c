/* sweep.c — worker processes for `vg run -j N` (sweep.h). */
#define _GNU_SOURCE   /* prctl's PR_SET_PDEATHSIG */
#include "vg/sweep.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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
    s->done = xcalloc((size_t)rs->n + 1, sizeof *s->done);
    s->workers = xcalloc((size_t)jobs, sizeof *s->workers);
    for (int w = 0; w < jobs; w++)
        s->workers[w].run = -1;
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
    /* of workers and jobs killed while they wrote a part */
    if (!s->temporary)
        part_clean_folder(s->dir);
    catch_stops();
    return ok;
}

/* A worker: trains the runs the parent sends, one at a time, writing each
 * one's part and then answering with the run's index; ends when the
 * parent closes its socket, without running the parent's exit handlers or
 * flushing its stdio buffers. */
static void worker(Sweep *s, int sock, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(EXIT_SIGNAL + SIGTERM);
    /* the other workers' sockets: held here, they would not see the
     * parent close them */
    for (int w = 0; w < s->jobs; w++)
        if (s->workers[w].pid > 0)
            close(s->workers[w].sock);
    Program *p = s->p;
    for (;;) {
        int i;
        ssize_t got = recv(sock, &i, sizeof i, 0);
        if (train_interrupted)
            _exit(EXIT_SIGNAL + (int)train_interrupted);
        if (got < 0 && errno == EINTR)
            continue;
        if (got != sizeof i)
            _exit(0);   /* the parent closed its end: no more runs */
        Run *r = s->rs->runs[i];
        int from = p->diag.n;
        int status = s->train(p, r, s->ctx);
        if (train_interrupted)
            _exit(EXIT_SIGNAL + (int)train_interrupted);
        int before = p->diag.n;
        if (!part_write(s->paths[i], s->key, r, status, &p->diag, from, !s->temporary)) {
            for (int k = before; k < p->diag.n; k++)
                diag_render(stderr, &p->sources, &p->diag.items[k], false);
            _exit(3);
        }
        if (send(sock, &i, sizeof i, MSG_NOSIGNAL) != sizeof i)
            _exit(0);   /* the parent stopped waiting: the part is there */
    }
}

/* Forks worker w, with a socket of its own to the parent (SOCK_SEQPACKET:
 * each index arrives whole, and the end of the worker is the end of its
 * socket); false with errno set when it cannot. */
static bool start_worker(Sweep *s, SweepWorker *w)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return false;
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        worker(s, sv[1], parent);
    }
    int err = errno;
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        errno = err;
        return false;
    }
    *w = (SweepWorker){.pid = pid, .sock = sv[0], .run = -1};
    return true;
}

/* Waits for worker w, whose socket has ended, to end too; its exit status. */
static int bury(SweepWorker *w)
{
    int ws = 0;
    while (waitpid(w->pid, &ws, 0) < 0 && errno == EINTR)
        continue;
    close(w->sock);
    *w = (SweepWorker){.run = -1};
    return ws;
}

/* Worker w ended before answering: its run is lost, named with the
 * reason, and the temporary file of a part it was writing goes. */
static void lose(Sweep *s, SweepWorker *w)
{
    int i = w->run;
    int ws = bury(w);
    const Run *r = s->rs->runs[i];
    s->done[i] = true;
    part_clean(s->paths[i]);
    if (WIFSIGNALED(ws))
        diag_error(&s->p->diag, r->set.span, "run '%s': its worker process was killed by "
                   "signal %d (%s)", r->name, WTERMSIG(ws), strsignal(WTERMSIG(ws)));
    else
        diag_error(&s->p->diag, r->set.span, "run '%s': its worker process exited with "
                   "status %d and wrote no part", r->name, WEXITSTATUS(ws));
}

/* Sends run i to worker w, starting w if it is not running; a worker that
 * died idle lost nothing and is replaced, once. false with errno set when
 * no worker takes the run. */
static bool hand(Sweep *s, SweepWorker *w, int i)
{
    for (int tries = 0; tries < 2; tries++) {
        if (w->pid == 0 && !start_worker(s, w))
            return false;
        if (send(w->sock, &i, sizeof i, MSG_NOSIGNAL) == sizeof i) {
            w->run = i;
            return true;
        }
        int err = errno;
        bury(w);
        errno = err;
    }
    return false;
}

/* Gives every idle worker the next run in file order that needs training. */
static void hand_out(Sweep *s)
{
    for (int k = 0; k < s->jobs; k++) {
        if (s->workers[k].run >= 0)
            continue;
        while (s->next < s->rs->n && (!s->paths[s->next] || s->done[s->next]))
            s->next++;
        if (s->next == s->rs->n)
            return;
        int i = s->next++;
        if (!hand(s, &s->workers[k], i)) {
            /* no process to spare: the run is lost, with the reason */
            diag_error(&s->p->diag, s->rs->runs[i]->set.span,
                       "run '%s': cannot start a worker: %s", s->rs->runs[i]->name,
                       strerror(errno));
            s->done[i] = true;
        }
    }
}

/* Waits for a busy worker to answer or end; false when interrupted first. */
static bool wait_workers(Sweep *s)
{
    struct pollfd fds[s->jobs];
    int who[s->jobs], n = 0;
    for (int k = 0; k < s->jobs; k++)
        if (s->workers[k].run >= 0) {
            fds[n] = (struct pollfd){.fd = s->workers[k].sock, .events = POLLIN};
            who[n++] = k;
        }
    if (n == 0)
        return true;
    if (poll(fds, (nfds_t)n, -1) < 0)
        return errno == EINTR && !train_interrupted;
    for (int j = 0; j < n; j++) {
        if (!fds[j].revents)
            continue;
        SweepWorker *w = &s->workers[who[j]];
        int i;
        ssize_t got = recv(w->sock, &i, sizeof i, MSG_DONTWAIT);
        if (got == sizeof i && i == w->run) {
            s->done[i] = true;
            w->run = -1;
        } else if (!(got < 0 && (errno == EAGAIN || errno == EINTR))) {
            lose(s, w);
        }
    }
    return true;
}

SweepOutcome sweep_result(Sweep *s, int i, int *status)
{
    while (!s->done[i]) {
        if (train_interrupted)
            return SWEEP_INTERRUPTED;
        hand_out(s);
        if (s->done[i])
            break;
        if (!wait_workers(s))
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
    /* a temporary folder's parts are thrown away: no worker need finish;
     * an idle one ends when its socket does */
    bool stop = train_interrupted || s->temporary;
    for (int k = 0; k < s->jobs; k++) {
        SweepWorker *w = &s->workers[k];
        if (w->pid > 0 && w->run >= 0 && stop)
            kill(w->pid, SIGTERM);
        if (w->pid > 0)
            shutdown(w->sock, SHUT_WR);
    }
    for (int k = 0; k < s->jobs; k++) {
        SweepWorker *w = &s->workers[k];
        int run = w->run;
        if (w->pid > 0)
            bury(w);
        /* a worker stopped while it wrote its part */
        if (run >= 0)
            part_clean(s->paths[run]);
    }
    for (int i = 0; i < s->rs->n; i++) {
        if (s->temporary && s->paths[i])
            remove(s->paths[i]);
        free(s->paths[i]);
    }
    if (s->temporary)
        rmdir(s->dir);
    free(s->paths);
    free(s->done);
    free(s->workers);
    free(s->dir);
}
