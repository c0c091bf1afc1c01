/* main.c — the `vg` command line.
 *
 * The only place that decides to exit: library code returns statuses and
 * records diagnostics, and this file maps them to the exit codes of
 * LANGUAGE.md (0 ok, 1 an expect failed, 2 usage/syntax/semantic error,
 * 3 runtime failure; 130/143 interrupted by SIGINT/SIGTERM). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vg/ast.h"
#include "vg/blas.h"
#include "vg/check.h"
#include "vg/checkpoint.h"
#include "vg/elab.h"
#include "vg/expect.h"
#include "vg/family.h"
#include "vg/fmt.h"
#include "vg/gradcheck.h"
#include "vg/lsp.h"
#include "vg/ops.h"
#include "vg/parse.h"
#include "vg/pretrain.h"
#include "vg/program.h"
#include "vg/report.h"
#include "vg/repl.h"
#include "vg/safetensors.h"
#include "vg/train.h"

enum { EXIT_EXPECT = 1, EXIT_USAGE = 2, EXIT_RUNTIME = 3 };

/* The commands, in the order `vg --help` lists them. A new command is an
 * entry here, a row of commands[], rows of options[] for its options and
 * its call in main(); vg(1) must name it and its options, as
 * tests/man/run.sh checks, and the shell completions learn them from
 * `vg complete`. */
typedef enum Cmd {
    CMD_RUN, CMD_CHECK, CMD_IR, CMD_GRADCHECK, CMD_FMT, CMD_REPORT, CMD_REPL, CMD_LSP, NCMDS
} Cmd;

typedef struct Command {
    const char *name;
    const char *usage[2];  /* its forms, after "vg "; the second may be NULL */
    const char *summary;   /* `vg --help`'s line(s) */
    const char *about;     /* `vg NAME --help`'s paragraph */
    const char *exits;     /* its exit statuses, when not exit_text's */
} Command;

static const Command commands[NCMDS] = {
    [CMD_RUN] = {"run", {"run FILE [options]"},
                 "train every run in FILE, print its gradient-flow\n"
                 "reports, then check its expect lines",
                 "Prepares every run of FILE (reporting every error before training any),\n"
                 "trains them in order, prints each run's gradient-flow reports, then\n"
                 "checks the file's expect lines. The header names the BLAS library, its\n"
                 "kernel and the thread count.", NULL},
    [CMD_CHECK] = {"check", {"check FILE [options]"},
                   "parse, resolve and shape-check only",
                   "Parses, resolves and shape-checks every run of FILE, and every model no\n"
                   "run trains whose parameters all have defaults, without training.", NULL},
    [CMD_IR] = {"ir", {"ir FILE [--model NAME] [--dot]"},
                "print a model's IR graph as text or Graphviz DOT",
                "Prints the graph of operations of a model as text, or as Graphviz DOT.",
                NULL},
    [CMD_GRADCHECK] = {"gradcheck", {"gradcheck FILE [--model NAME] [--seed N]"},
                       "check every parameter's gradient against finite\n"
                       "differences; exit 1 above the tolerance",
                       "Compares every parameter's gradient with central finite differences\n"
                       "(in double precision) and prints the worst error per layer.",
                       "0 every gradient within the tolerance, 1 one above it,\n"
                       "2 usage, syntax or semantic error."},
    [CMD_FMT] = {"fmt", {"fmt [-w | --check] FILE..."},
                 "print FILE in canonical layout, comments kept;\n"
                 "-w rewrites the files in place, --check lists\n"
                 "those not formatted and exits 1",
                 "Prints each FILE in canonical layout, comments kept.",
                 "0 ok, 1 --check found a file not formatted, 2 usage or\n"
                 "syntax error, 3 a file that cannot be written."},
    [CMD_REPORT] = {"report", {"report FILE.jsonl [FILE.jsonl ...] [--html F] [--csv F] [--text]",
                               "report --diff A.jsonl B.jsonl [--factor X]"},
                    "render saved JSON Lines reports (several files:\n"
                    "overlaid) without re-running; with --diff, per run\n"
                    "and layer, what changed from A to B by more than a\n"
                    "factor X",
                    "Renders reports saved by `vg run --json` without re-running them: every\n"
                    "file's runs together, overlaid in every chart (a run name found in two\n"
                    "files becomes FILE:NAME). A file whose vg was killed is read up to its\n"
                    "last complete line.",
                    "0 ok, 2 usage or a file that is not a vg report, 3 a file\n"
                    "that cannot be written."},
    [CMD_REPL] = {"repl", {"repl [FILE] [--echo]"},
                  "an interactive session (FILE loaded first); also\n"
                  "'vg' alone on a terminal",
                  "An interactive session: items, bindings and expressions line by line,\n"
                  "and commands such as :run, :list and :ir (:help lists them). FILE is\n"
                  "loaded first. Input that is not a terminal runs as a script.", NULL},
    [CMD_LSP] = {"lsp", {"lsp"},
                 "a Language Server Protocol server on stdin and\n"
                 "stdout, for editors (docs/editors.md)",
                 "Serves the Language Server Protocol on stdin and stdout, for editors:\n"
                 "the diagnostics of `vg check` as you type, completion, hover, go to\n"
                 "definition, and formatting as `vg fmt` formats. Problems with the\n"
                 "input go to stderr. Set-up for Vim, Neovim, Emacs and VS Code:\n"
                 "docs/editors.md.",
                 "0 after the protocol's shutdown and exit, 1 when the input ends\n"
                 "or exit comes without shutdown, 2 usage."},
};

#define ON(cmd) (1u << (cmd))
#define RUN_OR_CHECK (ON(CMD_RUN) | ON(CMD_CHECK))

/* Every option of every command: the commands taking it, its name, another
 * spelling (or NULL), its value's name (NULL: a flag) and its help. The
 * parsing of run, check, ir and gradcheck, `vg COMMAND --help` and the
 * shell completion (`vg complete`) all read this table: a new option is a
 * row here. */
typedef struct Option {
    unsigned cmds;
    const char *name, *alias, *value, *help;
} Option;

static const Option options[] = {
    {RUN_OR_CHECK, "--run", NULL, "NAME",
     "train only the run or run family NAME, or one\n"
     "member: --run 'grid[20, 0.5]'"},
    {RUN_OR_CHECK, "--set", NULL, "KEY=VALUE",
     "override a training setting (VALUE is .vg syntax)"},
    {RUN_OR_CHECK | ON(CMD_GRADCHECK), "--seed", NULL, "N",
     "override every run's seed (gradcheck: the seed\n"
     "of the initialisation)"},
    {RUN_OR_CHECK, "--seed-offset", NULL, "N",
     "add N to every run's seed, family members included"},
    {RUN_OR_CHECK | ON(CMD_IR) | ON(CMD_GRADCHECK), "--threads", NULL, "N",
     "BLAS threads (default: OPENBLAS_NUM_THREADS, else\n"
     "OMP_NUM_THREADS, else 2 on two or more cores when a\n"
     "GEMM of the model is large enough to gain, else 1)"},
    {RUN_OR_CHECK, "--max-memory", NULL, "SIZE",
     "refuse a run whose parameters and buffers need more\n"
     "(default 4G; suffixes K, M, G, T; 0: no limit)"},
    {ON(CMD_RUN), "--save", NULL, "FILE",
     "write each run's parameters after training as\n"
     "safetensors (several runs: FILE.RUN.ext each)"},
    {ON(CMD_RUN), "--load", NULL, "FILE", "start every run from FILE's parameters"},
    {ON(CMD_RUN), "--json", NULL, "FILE", "also write the reports as JSON Lines"},
    {ON(CMD_RUN), "--csv", NULL, "FILE", "also write them as CSV: run,step,layer,metric,value"},
    {ON(CMD_RUN), "--html", NULL, "FILE", "also write them as one HTML page of charts"},
    {ON(CMD_RUN), "--checkpoint", NULL, "DIR",
     "write each run's whole training state into DIR\n"
     "every N steps, at its end and when interrupted"},
    {ON(CMD_RUN), "--checkpoint-every", NULL, "N", "steps between checkpoints (default 1000)"},
    {ON(CMD_RUN), "--resume", NULL, NULL,
     "continue every run from its checkpoint in the\n"
     "--checkpoint DIR (a run without one starts anew):\n"
     "the same output as a run never interrupted"},
    {ON(CMD_RUN), "--quiet", NULL, NULL,
     "print only the final table of each run and the expects"},
    {ON(CMD_RUN), "--time", NULL, NULL, "print each run's training time per step on stderr"},
    {ON(CMD_IR) | ON(CMD_GRADCHECK), "--model", NULL, "NAME",
     "the model (default: the first run's model, else\n"
     "the first model)"},
    {ON(CMD_IR), "--dot", NULL, NULL, "print the graph as Graphviz DOT"},
    {ON(CMD_FMT), "-w", "--write", NULL, "rewrite the files in place"},
    {ON(CMD_FMT), "--check", NULL, NULL, "list the files not formatted and exit 1"},
    {ON(CMD_REPORT), "--html", NULL, "F", "write the page of charts to F"},
    {ON(CMD_REPORT), "--csv", NULL, "F", "write the CSV (run,step,layer,metric,value) to F"},
    {ON(CMD_REPORT), "--text", NULL, NULL,
     "print the tables and expect results (the default\n"
     "when neither --html nor --csv is given)"},
    {ON(CMD_REPORT), "--diff", NULL, NULL,
     "per run and layer, the metrics of the initial and\n"
     "final reports that changed from A to B by more\n"
     "than a factor, and the verdicts that changed"},
    {ON(CMD_REPORT), "--factor", NULL, "X", "the factor of --diff (default 2; above 1)"},
    {ON(CMD_REPL), "--echo", NULL, NULL,
     "print the prompts and input lines too, as a transcript"},
};
enum { NOPTIONS = sizeof options / sizeof *options };

static const char environment_text[] =
    "environment:\n"
    "  VG_PATH                   colon-separated folders searched for imports after\n"
    "                            the importing file's folder\n"
    "  VG_STDLIB                 the stdlib folder (default: ../share/vg/stdlib beside\n"
    "                            the executable, or the source tree's stdlib/)\n"
    "  OPENBLAS_NUM_THREADS      BLAS threads when --threads is not given\n"
    "  OMP_NUM_THREADS           the same, when OPENBLAS_NUM_THREADS is not set\n"
    "  NO_COLOR                  set and not empty: no colour (nor with TERM=dumb,\n"
    "                            nor on what is not a terminal)\n";

static const char exit_text[] =
    "0 ok, 1 an expect failed, 2 usage, syntax or semantic error,\n"
    "3 runtime failure (non-finite values, I/O), 130/143 interrupted.";

/* "  LEFT" then text from column col (on the next line when LEFT reaches
 * it), each further line of text indented to col too. */
static void print_entry(FILE *f, const char *left, const char *text, int col)
{
    int n = fprintf(f, "  %s", left);
    if (n >= col - 1) {
        fputc('\n', f);
        n = 0;
    }
    fprintf(f, "%*s", col - n, "");
    for (const char *s = text; *s; s++) {
        fputc(*s, f);
        if (*s == '\n')
            fprintf(f, "%*s", col, "");
    }
    fputc('\n', f);
}

static void print_usage(FILE *f)
{
    fputs("usage: vg COMMAND [ARGS]\n\ncommands:\n", f);
    for (int i = 0; i < NCMDS; i++) {
        const Command *c = &commands[i];
        if (c->usage[1])
            fprintf(f, "  %s\n", c->usage[0]);
        print_entry(f, c->usage[1] ? c->usage[1] : c->usage[0], c->summary, 28);
    }
    fputs("  --help, --version\n"
          "\n"
          "Every command prints its options with --help, as in 'vg run --help'.\n\n", f);
    fputs(environment_text, f);
    fprintf(f, "\nexit status: %s\n", exit_text);
}

static void print_command_help(FILE *f, Cmd cmd)
{
    const Command *c = &commands[cmd];
    fprintf(f, "usage: vg %s\n", c->usage[0]);
    if (c->usage[1])
        fprintf(f, "       vg %s\n", c->usage[1]);
    fprintf(f, "\n%s\n\noptions:\n", c->about);
    for (int i = 0; i < NOPTIONS; i++) {
        const Option *o = &options[i];
        if (!(o->cmds & ON(cmd)))
            continue;
        char left[64];
        snprintf(left, sizeof left, "%s%s%s%s%s", o->name, o->alias ? ", " : "",
                 o->alias ? o->alias : "", o->value ? " " : "", o->value ? o->value : "");
        print_entry(f, left, o->help, 24);
    }
    print_entry(f, "--help, -h", "print this usage", 24);
    fprintf(f, "\nexit status: %s\n", c->exits ? c->exits : exit_text);
}

/* The option of cmd spelt a, or NULL. */
static const Option *find_option(Cmd cmd, const char *a)
{
    for (int i = 0; i < NOPTIONS; i++)
        if ((options[i].cmds & ON(cmd)) &&
            (strcmp(options[i].name, a) == 0 || (options[i].alias && strcmp(options[i].alias, a) == 0)))
            return &options[i];
    return NULL;
}

static int unknown_option(Cmd cmd, const char *a)
{
    const char *mine[NOPTIONS];
    int n = 0;
    for (int i = 0; i < NOPTIONS; i++)
        if (options[i].cmds & ON(cmd))
            mine[n++] = options[i].name;
    const char *best = diag_suggest(a, mine, n);
    fprintf(stderr, "vg: unknown option '%s' for 'vg %s'%s%s%s\nTry 'vg %s --help'.\n", a,
            commands[cmd].name, best ? "; did you mean '" : "", best ? best : "",
            best ? "'?" : "", commands[cmd].name);
    return EXIT_USAGE;
}

typedef struct Cli {
    const char *cmd, *file, *run_only, *model;
    const char *save, *load;   /* parameter files, or NULL */
    const char *checkpoint;    /* --checkpoint DIR, or NULL */
    long long checkpoint_every;
    const char *outputs[REPORT_NFORMATS];  /* --json, --csv, --html, or NULL */
    SettingOverride sets[64];
    int nsets;
    long long seed, seed_offset;
    int threads;
    size_t max_memory;         /* --max-memory, bytes; 0: no limit */
    bool quiet, dot, time, resume;
} Cli;

static int usage_error(const char *fmt, const char *arg)
{
    fputs("vg: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'vg --help'.\n", stderr);
    return EXIT_USAGE;
}

static bool parse_long(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* "4G", "512M", "1.5G", "65536": bytes, with the binary suffixes K, M, G
 * and T (1024-based; "GiB" and "GB" are read as "G"). */
static bool parse_size(const char *s, size_t *out)
{
    if (!(*s >= '0' && *s <= '9'))
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    static const char units[] = "KMGT";
    const char *u = *end ? strchr(units, toupper((unsigned char)*end)) : NULL;
    if (u) {
        v = ldexp(v, 10 * (int)(u - units + 1));
        end++;
        if (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0)
            end += strlen(end);
    }
    if (errno || *end || !(v < 0x1p63))
        return false;
    *out = (size_t)v;
    return true;
}

static int option_value(Cli *c, const char *opt, char *val)
{
    long long n;
    if (strcmp(opt, "--run") == 0) {
        c->run_only = val;
    } else if (strcmp(opt, "--model") == 0) {
        c->model = val;
    } else if (strcmp(opt, "--save") == 0) {
        c->save = val;
    } else if (strcmp(opt, "--load") == 0) {
        c->load = val;
    } else if (strcmp(opt, "--checkpoint") == 0) {
        c->checkpoint = val;
    } else if (strcmp(opt, "--checkpoint-every") == 0) {
        if (!parse_long(val, 1, LONG_MAX, &n))
            return usage_error("--checkpoint-every needs a positive integer, got '%s'", val);
        c->checkpoint_every = n;
    } else if (strcmp(opt, "--json") == 0) {
        c->outputs[REPORT_JSON] = val;
    } else if (strcmp(opt, "--csv") == 0) {
        c->outputs[REPORT_CSV] = val;
    } else if (strcmp(opt, "--html") == 0) {
        c->outputs[REPORT_HTML] = val;
    } else if (strcmp(opt, "--seed") == 0) {
        if (!parse_long(val, 0, LLONG_MAX, &n))
            return usage_error("--seed needs a non-negative integer, got '%s'", val);
        c->seed = n;
    } else if (strcmp(opt, "--seed-offset") == 0) {
        if (!parse_long(val, 0, LLONG_MAX, &n))
            return usage_error("--seed-offset needs a non-negative integer, got '%s'", val);
        c->seed_offset = n;
    } else if (strcmp(opt, "--max-memory") == 0) {
        if (!parse_size(val, &c->max_memory))
            return usage_error("--max-memory needs a size such as 512M or 4G, got '%s'", val);
    } else if (strcmp(opt, "--threads") == 0) {
        if (!parse_long(val, 1, 256, &n))
            return usage_error("--threads needs an integer from 1 to 256, got '%s'", val);
        c->threads = (int)n;
    } else {
        char *eq = strchr(val, '=');
        if (!eq || eq == val)
            return usage_error("--set needs KEY=VALUE, got '%s'", val);
        if (c->nsets == 64)
            return usage_error("too many --set options (at most 64)%s", "");
        *eq = '\0';
        c->sets[c->nsets++] = (SettingOverride){val, eq + 1};
    }
    return 0;
}

/* Without --threads, the thread count every OpenBLAS (and OpenMP) user
 * sets: OPENBLAS_NUM_THREADS, else OMP_NUM_THREADS (its first number, as
 * it may list one per nesting level); *out stays 0 when neither is set.
 * Returns 0 or an exit code. */
static int env_threads(int *out)
{
    static const char *const vars[] = {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"};
    for (int i = 0; i < 2; i++) {
        const char *v = getenv(vars[i]);
        if (!v || !*v)
            continue;
        char first[32];
        snprintf(first, sizeof first, "%.*s", (int)strcspn(v, ","), v);
        long long n;
        if (!parse_long(first, 1, 256, &n)) {
            fprintf(stderr, "vg: %s needs an integer from 1 to 256, got '%s'\n", vars[i], v);
            return EXIT_USAGE;
        }
        *out = (int)n;
        return 0;
    }
    return 0;
}

/* vg run, check, ir and gradcheck: options (those of cmd in the table
 * above) may come before or after the file. Returns 0 or an exit code. */
static int parse_cli(int argc, char **argv, Cmd cmd, Cli *c)
{
    memset(c, 0, sizeof *c);
    c->seed = -1;
    c->threads = 0;  /* vg run: default_threads; the other commands: 1 */
    c->max_memory = TRAIN_DEFAULT_MAX_MEMORY;
    c->cmd = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const Option *o = a[0] == '-' && a[1] ? find_option(cmd, a) : NULL;
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (c->file)
                return usage_error("unexpected argument '%s'", a);
            c->file = a;
        } else if (!o) {
            return unknown_option(cmd, a);
        } else if (strcmp(a, "--quiet") == 0) {
            c->quiet = true;
        } else if (strcmp(a, "--time") == 0) {
            c->time = true;
        } else if (strcmp(a, "--dot") == 0) {
            c->dot = true;
        } else if (strcmp(a, "--resume") == 0) {
            c->resume = true;
        } else {
            if (i + 1 == argc)
                return usage_error("option '%s' needs a value", a);
            int rc = option_value(c, a, argv[++i]);
            if (rc)
                return rc;
        }
    }
    if (!c->file)
        return usage_error("'%s' needs a FILE", c->cmd);
    if (!c->checkpoint && (c->resume || c->checkpoint_every))
        return usage_error("%s needs --checkpoint DIR", c->resume ? "--resume"
                                                                  : "--checkpoint-every");
    return c->threads ? 0 : env_threads(&c->threads);
}

static int fail_with_diags(Program *p, int code)
{
    diag_render_all(stderr, &p->diag, diag_color_for(stderr));
    return code;
}

static void on_signal(int sig)
{
    train_interrupted = sig;
}

/* --time: one line per run on stderr, for bench/run.sh to read. */
static void print_timing(const Run *r)
{
    const RunTiming *t = &r->timing;
    double n = t->steps ? (double)t->steps : 1;
    fprintf(stderr, "time: run '%s': %ld steps, %.4f ms/step wall, %.4f ms/step cpu\n",
            r->name, t->steps, 1e3 * t->wall / n, 1e3 * t->cpu / n);
}

static void print_run(const Program *p, const Run *r, bool quiet, bool color)
{
    report_print_header(stdout, p, r);
    pretrain_print(stdout, r);
    for (int i = quiet ? r->nreports - 1 : 0; i < r->nreports; i++)
        if (i >= 0)
            report_print_table(stdout, r, &r->reports[i], color);
    if (r->diverged)
        printf("diverged at step %ld\n", r->diverged_at);
    putchar('\n');
}

/* --load F: every selected run starts from F's parameters instead of its
 * initialisation. Returns 0, or 2 (the file does not fit a model) or 3
 * (it cannot be read, or is not a safetensors file). */
static int load_checkpoints(Program *p, const Cli *c, RunSet *rs)
{
    for (int i = 0; i < rs->n; i++) {
        Run *r = rs->runs[i];
        if (!r->ready)
            continue;
        SafetensorsStatus st = safetensors_load(c->load, &r->g, &r->ps, &p->diag);
        if (st != ST_OK)
            return st == ST_MISMATCH ? EXIT_USAGE : EXIT_RUNTIME;
    }
    return 0;
}

/* --save F after a run trained: F itself when one run is selected, else
 * one file per run with the run's name before F's extension. */
static int save_checkpoint(Program *p, const Cli *c, const RunSet *rs, const Run *r)
{
    int selected = 0;
    for (int i = 0; i < rs->n; i++)
        selected += rs->runs[i]->ready;
    char *path = selected > 1 ? safetensors_run_path(c->save, r->name) : xstrdup(c->save);
    char step[32];
    snprintf(step, sizeof step, "%ld", r->step);
    const char *meta[] = {"vg_version", VG_VERSION, "model", r->model, "run", r->name,
                          "step", step, NULL};
    bool ok = safetensors_save(path, &r->g, &r->ps, meta, &p->diag);
    free(path);
    return ok ? 0 : EXIT_RUNTIME;
}

/* Two BLAS threads gain only on large GEMMs: on this project's 2-core
 * machine (docs/performance.md) M1 and M2, whose largest GEMM has m·n·k =
 * 8.4·10⁶, step 8–16% faster on two threads and M4 (2.7·10⁸) 1.5× faster,
 * while M3 (3.3·10⁶, and 200 small recurrent GEMMs a step) is 2% slower
 * and M5 is the same. So two threads from 2²² = 4.2·10⁶ on, when two cores
 * are online. Results are reproducible for a given thread count, and the
 * report header prints it. */
enum { TWO_THREADS_FROM = 1 << 22 };

static int default_threads(const RunSet *rs)
{
    double most = 0;
    for (int i = 0; i < rs->n; i++)
        if (rs->runs[i]->ready && exec_largest_gemm(&rs->runs[i]->train) > most)
            most = exec_largest_gemm(&rs->runs[i]->train);
    return most >= TWO_THREADS_FROM && sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 2 : 1;
}

/* The options that change what a run computes, as the command line
 * spells them, for a checkpoint's identity ("none" without any); --load
 * shows in the initial parameters, which a checkpoint hashes. */
static char *training_options(const Cli *c)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) {
        perror("vg: internal error: open_memstream");
        abort();
    }
    if (c->seed >= 0)
        fprintf(f, " --seed %lld", c->seed);
    if (c->seed_offset)
        fprintf(f, " --seed-offset %lld", c->seed_offset);
    for (int i = 0; i < c->nsets; i++)
        fprintf(f, " --set %s=%s", c->sets[i].key, c->sets[i].value);
    fclose(f);
    char *out = xstrdup(n ? buf + 1 : "none");
    free(buf);
    return out;
}

/* --checkpoint DIR: identifies every selected run and, with --resume,
 * restores those that have a checkpoint — all before any trains, so a
 * refused checkpoint costs no time. Returns 0 or an exit code. */
static int begin_checkpoints(Program *p, int nfiles, const Cli *c, RunSet *rs,
                             Checkpointer *ck)
{
    char *settings = training_options(c);
    bool ok = checkpoint_open(ck, p, nfiles, c->checkpoint,
                              c->checkpoint_every ? (long)c->checkpoint_every
                                                  : CHECKPOINT_DEFAULT_EVERY,
                              settings, &p->diag);
    free(settings);
    if (!ok)
        return EXIT_RUNTIME;
    for (int i = 0; i < rs->n; i++) {
        if (!rs->runs[i]->ready)
            continue;
        CheckpointStatus st = checkpoint_begin(ck, p, rs->runs[i], c->resume);
        if (st == CKPT_REFUSED || st == CKPT_BAD)
            return st == CKPT_REFUSED ? EXIT_USAGE : EXIT_RUNTIME;
    }
    return 0;
}

static int cmd_run(Program *p, const Cli *c)
{
    /* An empty file is a valid program with nothing to do (docs/reliability.md). */
    if (p->ntrains == 0 && p->nexpects == 0) {
        printf("%s: no `train` item: nothing to run\n", c->file);
        return 0;
    }
    TrainOptions o = {.sets = c->sets, .nsets = c->nsets, .seed = c->seed,
                      .seed_offset = c->seed_offset, .max_memory = c->max_memory};
    int nfiles = p->sources.n;  /* the program's files, before --set and --run add theirs */
    RunSet rs = {0};
    if (!check_prepare_runs(p, &o, c->run_only, &rs)) {
        runset_free(&rs);
        return fail_with_diags(p, EXIT_USAGE);
    }
    int loaded = c->load ? load_checkpoints(p, c, &rs) : 0;
    if (loaded) {
        runset_free(&rs);
        return fail_with_diags(p, loaded);
    }
    if (!c->threads)
        blas_set_threads(default_threads(&rs));
    Checkpointer ck = {0};
    int begun = c->checkpoint ? begin_checkpoints(p, nfiles, c, &rs, &ck) : 0;
    if (begun) {
        checkpoint_close(&ck);
        runset_free(&rs);
        return fail_with_diags(p, begun);
    }
    if (c->checkpoint) {
        o.on_step = checkpoint_on_step;
        o.step_ctx = &ck;
    }
    ReportOutputs outs;
    if (!report_outputs_open(&outs, c->outputs, &p->diag)) {
        checkpoint_close(&ck);
        runset_free(&rs);
        return fail_with_diags(p, EXIT_RUNTIME);
    }
    /* the files hold the reports so far even after a failure (exit 3) */
    ReportDoc doc = {.p = p, .rs = &rs, .file = c->file};
    report_outputs_begin(&outs, &doc);
    o.on_report = report_outputs_on_report;
    o.report_ctx = &outs;
    ReportProgress progress;
    if (!c->quiet && isatty(fileno(stderr))) {
        o.progress = report_progress;
        o.progress_ctx = &progress;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    char blas[128];
    printf("vg %s · %s · %s\n\n", VG_VERSION, c->file, blas_describe(blas, sizeof blas));
    bool color = diag_color_for(stdout);
    int status = 0;
    const Run *last = NULL;
    for (int i = 0; i < rs.n && status == 0 && !train_interrupted; i++) {
        Run *r = rs.runs[i];
        if (!r->ready)
            continue;
        last = r;
        report_progress_start(&progress, stderr, r);
        /* a run resumed from a checkpoint comes with its reports so far */
        if (r->nreports)
            report_outputs_replay(&outs, r);
        status = run_train(p, r, -1, &o);
        report_progress_clear(&progress);
        report_outputs_run_end(&outs, r);
        print_run(p, r, c->quiet, color);
        if (c->time)
            print_timing(r);
        fflush(stdout);
        if (status == 0 && c->save)
            status = save_checkpoint(p, c, &rs, r);
    }
    diag_render_all(stderr, &p->diag, diag_color_for(stderr));
    if (train_interrupted) {
        fprintf(stderr, "vg: interrupted by %s: run '%s' stopped after step %ld of %ld; "
                "the reports so far are above, and no expect was checked\n",
                train_interrupted == SIGINT ? "SIGINT" : "SIGTERM", last ? last->name : "?",
                last ? last->step : 0L, last ? last->set.steps : 0L);
        status = 128 + (int)train_interrupted;
    }
    ExpectResult *res = NULL;
    if (status == 0 && p->nexpects) {
        res = xcalloc((size_t)p->nexpects, sizeof *res);
        diag_clear(&p->diag);
        status = expect_check_all(p, &rs, res);
        expect_print(stdout, p, res, p->nexpects, color);
        diag_render_all(stderr, &p->diag, diag_color_for(stderr));
    }
    doc.expects = res;
    doc.nexpects = res ? p->nexpects : 0;
    diag_clear(&p->diag);
    if (!report_outputs_write(&outs, &doc, &p->diag)) {
        diag_render_all(stderr, &p->diag, diag_color_for(stderr));
        if (status < EXIT_RUNTIME)
            status = EXIT_RUNTIME;
    }
    free(res);
    checkpoint_close(&ck);
    runset_free(&rs);
    return status;
}

static int cmd_check(Program *p, const Cli *c)
{
    TrainOptions o = {.sets = c->sets, .nsets = c->nsets, .seed = c->seed,
                      .seed_offset = c->seed_offset, .max_memory = c->max_memory};
    RunSet rs = {0};
    bool ok = check_prepare_runs(p, &o, c->run_only, &rs);
    int rs_n = rs.n;
    runset_free(&rs);
    ok &= check_untrained_models(p);
    if (!ok)
        return fail_with_diags(p, EXIT_USAGE);
    printf("%s: ok (%d run%s, %d expect%s)\n", c->file, rs_n, rs_n == 1 ? "" : "s",
           p->nexpects, p->nexpects == 1 ? "" : "s");
    return 0;
}

static int cmd_ir(Program *p, const Cli *c)
{
    const AstNode *call = elab_model_call(p, c->model);
    if (!call)
        return usage_error("'%s' defines no model", c->file);
    IrGraph g;
    ir_init(&g, &p->arena, call->a->str);
    bool ok = elab_model(p, call, &g);
    if (ok) {
        if (c->dot)
            ir_print_dot(stdout, &g);
        else
            ir_print(stdout, &g);
    }
    ir_free(&g);
    return ok ? 0 : fail_with_diags(p, EXIT_USAGE);
}

/* The model `vg ir` shows, with the loss its run trains with (or one that
 * fits its output), against finite differences (src/gradcheck.c); exit 1
 * above the tolerance. */
static int cmd_gradcheck(Program *p, const Cli *c)
{
    const AstNode *call = elab_model_call(p, c->model);
    if (!call)
        return usage_error("'%s' defines no model", c->file);
    IrGraph g;
    ir_init(&g, &p->arena, call->a->str);
    GradcheckOptions o = {.seed = c->seed >= 0 ? (uint64_t)c->seed : 0};
    GradcheckResult res;
    int rc = EXIT_USAGE;
    if (elab_model(p, call, &g) && gradcheck_attach_loss(&g, elab_call_loss(p, call), &p->diag) &&
        gradcheck_run(&g, &o, &res, &p->diag)) {
        gradcheck_print(stdout, &res);
        rc = res.passed ? 0 : EXIT_EXPECT;
        gradcheck_free(&res);
    }
    ir_free(&g);
    return rc == EXIT_USAGE ? fail_with_diags(p, rc) : rc;
}

/* vg fmt [-w | --check] FILE... */
static int cmd_fmt(int argc, char **argv)
{
    FmtMode mode = FMT_PRINT;
    char **files = xcalloc((size_t)argc, sizeof *files);
    int n = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        FmtMode m = strcmp(a, "-w") == 0 || strcmp(a, "--write") == 0 ? FMT_WRITE
                  : strcmp(a, "--check") == 0 ? FMT_CHECK : FMT_PRINT;
        if (m != FMT_PRINT && mode != FMT_PRINT && m != mode) {
            free(files);
            return usage_error("'vg fmt' takes -w or --check, not both%s", "");
        }
        if (m != FMT_PRINT)
            mode = m;
        else if (a[0] == '-' && a[1]) {
            free(files);
            return unknown_option(CMD_FMT, a);
        } else
            files[n++] = argv[i];
    }
    int rc = n == 0 ? usage_error("'%s' needs a FILE", "fmt")
                    : fmt_files(files, n, mode, stdout, stderr, diag_color_for(stderr));
    free(files);
    return rc;
}

/* Writes one report format to path, all or nothing. */
static bool write_report_file(const char *path, void (*w)(FILE *, const ReportData *),
                              const ReportData *d, DiagSink *diag)
{
    ReportFile rf;
    if (!report_file_open(&rf, path, diag))
        return false;
    w(rf.f, d);
    return report_file_commit(&rf, diag);
}

/* vg report FILE... [--html F] [--csv F] [--text] | --diff A B [--factor X] */
static int cmd_report(int argc, char **argv)
{
    const char *html = NULL, *csv = NULL, *files[256];
    int nfiles = 0;
    bool text = false, diff = false;
    double factor = 2;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        bool valued = strcmp(a, "--html") == 0 || strcmp(a, "--csv") == 0 ||
                      strcmp(a, "--factor") == 0;
        if (valued && i + 1 >= argc)
            return usage_error("%s needs a value", a);
        if (strcmp(a, "--html") == 0) {
            html = argv[++i];
        } else if (strcmp(a, "--csv") == 0) {
            csv = argv[++i];
        } else if (strcmp(a, "--factor") == 0) {
            char *end;
            factor = strtod(argv[++i], &end);
            if (*end || !(factor > 1) || !isfinite(factor))
                return usage_error("--factor needs a number above 1, got '%s'", argv[i]);
        } else if (strcmp(a, "--text") == 0) {
            text = true;
        } else if (strcmp(a, "--diff") == 0) {
            diff = true;
        } else if (a[0] == '-' && a[1]) {
            return unknown_option(CMD_REPORT, a);
        } else if (nfiles == (int)(sizeof files / sizeof *files)) {
            return usage_error("more than 256 files%s", "");
        } else {
            files[nfiles++] = a;
        }
    }
    if (nfiles == 0)
        return usage_error("vg report needs a JSON Lines file (see 'vg report --help')%s", "");
    if (diff && (nfiles != 2 || html || csv || text))
        return usage_error("vg report --diff takes two files and no other output%s", "");
    SourceSet sources = {0};
    DiagSink diag;
    diag_init(&diag, &sources);
    ReportData d[2] = {{0}};
    int status = 0;
    if (diff) {
        if (report_read(&d[0], files, 1, &diag) && report_read(&d[1], files + 1, 1, &diag))
            report_write_diff(stdout, &d[0], &d[1], files[0], files[1], factor);
        else
            status = EXIT_USAGE;
    } else if (!report_read(&d[0], files, nfiles, &diag)) {
        status = EXIT_USAGE;
    } else {
        if (text || (!html && !csv))
            report_write_text(stdout, &d[0], diag_color_for(stdout));
        if ((html && !write_report_file(html, report_write_html, &d[0], &diag)) ||
            (csv && !write_report_file(csv, report_write_csv, &d[0], &diag)))
            status = EXIT_RUNTIME;
    }
    diag_render_all(stderr, &diag, diag_color_for(stderr));
    report_data_free(&d[0]);
    report_data_free(&d[1]);
    diag_free(&diag);
    return status;
}

/* vg lsp: the protocol on stdin and stdout, problems with the input on
 * stderr (editors show it in their LSP log). */
static int cmd_lsp(int argc, char **argv)
{
    if (argc > 2 && argv[2][0] == '-')
        return unknown_option(CMD_LSP, argv[2]);
    if (argc > 2)
        return usage_error("unexpected argument '%s'", argv[2]);
    return lsp_serve(stdin, stdout, stderr);
}

/* vg repl [FILE] [--echo] */
static int cmd_repl(int argc, char **argv)
{
    ReplOptions o = {0};
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--echo") == 0)
            o.echo = true;
        else if (argv[i][0] == '-' && argv[i][1])
            return unknown_option(CMD_REPL, argv[i]);
        else if (o.file)
            return usage_error("unexpected argument '%s'", argv[i]);
        else
            o.file = argv[i];
    }
    return repl_session(stdin, stdout, stderr, &o);
}

/* The hidden helper of the shell completions (editors/bash-completion/vg,
 * editors/zsh/_vg), one name a line, so that they list what this vg takes:
 *   vg complete commands         the commands
 *   vg complete options CMD      CMD's options: NAME<TAB>VALUE (VALUE empty
 *                                for a flag)
 *   vg complete runs FILE        the run and run family names of FILE
 *   vg complete models FILE      the model names of FILE (and its imports)
 * A FILE that does not load lists what was read before the error; nothing
 * is printed on stderr, as a completion must not disturb the line. */
static int cmd_complete(int argc, char **argv)
{
    const char *what = argc > 2 ? argv[2] : "";
    if (strcmp(what, "commands") == 0 && argc == 3) {
        for (int i = 0; i < NCMDS; i++)
            puts(commands[i].name);
        return 0;
    }
    if (argc != 4)
        return EXIT_USAGE;
    if (strcmp(what, "options") == 0) {
        int cmd = 0;
        while (cmd < NCMDS && strcmp(commands[cmd].name, argv[3]) != 0)
            cmd++;
        if (cmd == NCMDS)
            return EXIT_USAGE;
        for (int i = 0; i < NOPTIONS; i++) {
            const Option *o = &options[i];
            if (!(o->cmds & ON(cmd)))
                continue;
            printf("%s\t%s\n", o->name, o->value ? o->value : "");
            if (o->alias)
                printf("%s\t%s\n", o->alias, o->value ? o->value : "");
        }
        return 0;
    }
    bool runs = strcmp(what, "runs") == 0;
    if (!runs && strcmp(what, "models") != 0)
        return EXIT_USAGE;
    Program p;
    program_init(&p);
    program_load(&p, argv[3], SPAN_NONE);
    if (runs)
        for (int i = 0; i < p.ntrains; i++)
            puts(p.trains[i]->str);
    else
        for (int i = 0; i < p.nsyms; i++)
            if (p.syms[i].kind == SYM_MODEL)
                puts(p.syms[i].name);
    program_free(&p);
    return 0;
}

static bool is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
        return cmd_repl(argc, argv);
    if (argc < 2) {
        print_usage(stderr);
        return EXIT_USAGE;
    }
    if (is_help(argv[1])) {
        print_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("vg %s\n", VG_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "complete") == 0)
        return cmd_complete(argc, argv);
    const char *names[NCMDS];
    int which = -1;
    for (int i = 0; i < NCMDS; i++) {
        names[i] = commands[i].name;
        if (strcmp(argv[1], names[i]) == 0)
            which = i;
    }
    if (which < 0) {
        const char *best = diag_suggest(argv[1], names, NCMDS);
        fprintf(stderr, "vg: unknown command '%s'%s%s%s\nTry 'vg --help'.\n", argv[1],
                best ? "; did you mean '" : "", best ? best : "", best ? "'?" : "");
        return EXIT_USAGE;
    }
    Cmd cmd = (Cmd)which;
    for (int i = 2; i < argc; i++)
        if (is_help(argv[i])) {
            print_command_help(stdout, cmd);
            return 0;
        }
    if (cmd == CMD_REPL)
        return cmd_repl(argc, argv);
    if (cmd == CMD_FMT)
        return cmd_fmt(argc, argv);
    if (cmd == CMD_REPORT)
        return cmd_report(argc, argv);
    if (cmd == CMD_LSP)
        return cmd_lsp(argc, argv);
    Cli c;
    int rc = parse_cli(argc, argv, cmd, &c);
    if (rc)
        return rc;
    blas_set_threads(c.threads ? c.threads : 1);
    Program p;
    program_init(&p);
    if (!program_load(&p, c.file, SPAN_NONE)) {
        rc = fail_with_diags(&p, EXIT_USAGE);
    } else {
        rc = cmd == CMD_RUN ? cmd_run(&p, &c) : cmd == CMD_CHECK ? cmd_check(&p, &c)
           : cmd == CMD_GRADCHECK ? cmd_gradcheck(&p, &c) : cmd_ir(&p, &c);
    }
    program_free(&p);
    return rc;
}
