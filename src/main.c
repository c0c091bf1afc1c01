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
#include <sys/stat.h>
#include <unistd.h>

#include "vg/ast.h"
#include "vg/blas.h"
#include "vg/check.h"
#include "vg/checkpoint.h"
#include "vg/elab.h"
#include "vg/exit.h"
#include "vg/expect.h"
#include "vg/family.h"
#include "vg/fmt.h"
#include "vg/gradcheck.h"
#include "vg/lsp.h"
#include "vg/ops.h"
#include "vg/outfile.h"
#include "vg/parse.h"
#include "vg/program.h"
#include "vg/repl.h"
#include "vg/report.h"
#include "vg/safetensors.h"
#include "vg/sweep.h"
#include "vg/train.h"

/* The commands, in the order `vg --help` lists them. A new command is an
 * entry here, a row of commands[], rows of options[] for its options and
 * its call in main(); vg(1) must name it and its options, as
 * tests/man/run.sh checks, and the shell completions learn them from
 * `vg complete`. */
typedef enum Cmd {
    CMD_RUN, CMD_PLAN, CMD_MERGE, CMD_CHECK, CMD_IR, CMD_GRADCHECK, CMD_FMT, CMD_REPORT,
    CMD_REPL, CMD_LSP, NCMDS
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
    [CMD_PLAN] = {"plan", {"plan FILE [--engine parallel|slurm] -o DIR [options]"},
                  "write one job per run (vg run --member NAME --part\n"
                  "DIR/...) into DIR/jobs, and DIR/parallel.sh for GNU\n"
                  "parallel or DIR/slurm.sh for Slurm's sbatch",
                  "Writes one job per selected run of FILE into DIR/jobs: a `vg run` of that\n"
                  "run alone, which keeps its results in a part file in DIR, with the options\n"
                  "that shape results. DIR/parallel.sh runs the jobs with GNU parallel (a\n"
                  "second run resumes); with --engine slurm, DIR/slurm.sh is an array job\n"
                  "for sbatch. `vg merge FILE DIR` then reports them.", NULL},
    [CMD_MERGE] = {"merge", {"merge FILE DIR [options]"},
                   "report the parts in DIR as vg run FILE would",
                   "Reads the parts in DIR (written by the jobs of `vg plan`, or by `vg run\n"
                   "--parts DIR`) and prints, writes and checks exactly what `vg run FILE`\n"
                   "with the same options would. A part made by another vg, from another\n"
                   "program text or with other settings is refused, by name.",
                   "0 ok, 1 an expect failed, 2 usage, syntax or semantic error, or a\n"
                   "part refused, 3 a run with no part, or I/O."},
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
/* the commands that make (or report) the runs `vg run` makes */
#define RUNS (RUN_OR_CHECK | ON(CMD_PLAN) | ON(CMD_MERGE))

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
    {RUNS, "--run", NULL, "NAME",
     "train only the run or run family NAME, or one\n"
     "member: --run 'grid[20, 0.5]'"},
    {ON(CMD_RUN), "--member", NULL, "NAME", "as --run, naming exactly one run"},
    {ON(CMD_RUN), "-j", "--jobs", "N",
     "train the runs in N worker processes; the output\n"
     "is the same bytes as without -j"},
    {ON(CMD_RUN), "--parts", NULL, "DIR",
     "keep each run's results as a part in DIR; runs\n"
     "whose part is there are not trained again (resume)"},
    {ON(CMD_RUN), "--part", NULL, "FILE",
     "keep the one selected run's results in FILE (or\n"
     "read them from it, when it holds them)"},
    {ON(CMD_PLAN), "--engine", NULL, "ENGINE",
     "parallel (GNU parallel, the default) or slurm"},
    {ON(CMD_PLAN), "-o", NULL, "DIR", "the folder of the jobs, their script and parts"},
    {RUNS, "--set", NULL, "KEY=VALUE",
     "override a training setting (VALUE is .vg syntax)"},
    {RUNS | ON(CMD_GRADCHECK), "--seed", NULL, "N",
     "override every run's seed (gradcheck: the seed\n"
     "of the initialisation)"},
    {RUNS, "--seed-offset", NULL, "N",
     "add N to every run's seed, family members included"},
    {RUNS | ON(CMD_IR) | ON(CMD_GRADCHECK), "--threads", NULL, "N",
     "BLAS threads (default: OPENBLAS_NUM_THREADS, else\n"
     "OMP_NUM_THREADS, else 2 on two or more cores when a\n"
     "GEMM of the model is large enough to gain, else 1)"},
    {RUNS, "--max-memory", NULL, "SIZE",
     "refuse a run whose parameters and buffers need more\n"
     "(default 4G; suffixes K, M, G, T; 0: no limit)"},
    {ON(CMD_RUN) | ON(CMD_PLAN), "--save", NULL, "FILE",
     "write each run's parameters after training as\n"
     "safetensors (several runs: FILE.RUN.ext each)"},
    {ON(CMD_RUN) | ON(CMD_PLAN) | ON(CMD_MERGE), "--load", NULL, "FILE",
     "start every run from FILE's parameters"},
    {ON(CMD_RUN) | ON(CMD_MERGE), "--json", NULL, "FILE", "also write the reports as JSON Lines"},
    {ON(CMD_RUN) | ON(CMD_MERGE), "--csv", NULL, "FILE",
     "also write them as CSV: run,step,layer,metric,value"},
    {ON(CMD_RUN) | ON(CMD_MERGE), "--html", NULL, "FILE",
     "also write them as one HTML page of charts"},
    {ON(CMD_RUN) | ON(CMD_MERGE), "--quiet", NULL, NULL,
     "print only the final table of each run and the expects"},
    {ON(CMD_RUN) | ON(CMD_MERGE), "--time", NULL, NULL,
     "print each run's training time per step on stderr"},
    {ON(CMD_RUN), "--checkpoint", NULL, "DIR",
     "write each run's whole training state into DIR\n"
     "every N steps, at its end and when interrupted"},
    {ON(CMD_RUN) | ON(CMD_PLAN), "--checkpoint-every", NULL, "N",
     "steps between checkpoints (default 1000)"},
    {ON(CMD_RUN), "--resume", NULL, NULL,
     "continue every run from its checkpoint in the\n"
     "--checkpoint DIR (a run without one starts anew):\n"
     "the same output as a run never interrupted"},
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
    const char *dir;           /* vg merge's folder of parts */
    const char *parts, *part;  /* --parts DIR, --part FILE */
    const char *engine, *out;  /* vg plan's --engine and -o */
    bool member;               /* --member: the name must select one run */
    int jobs;                  /* -j: worker processes; 0: none, train in vg itself */



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
    if (strcmp(opt, "--run") == 0 || strcmp(opt, "--member") == 0) {
        if (c->run_only)
            return usage_error("give one --run or --member%s", "");
        c->run_only = val;
        c->member = opt[2] == 'm';
    } else if (strcmp(opt, "--parts") == 0) {
        c->parts = val;
    } else if (strcmp(opt, "--part") == 0) {
        c->part = val;
    } else if (strcmp(opt, "--engine") == 0) {
        if (strcmp(val, "parallel") != 0 && strcmp(val, "slurm") != 0)
            return usage_error("--engine is parallel or slurm, got '%s'", val);
        c->engine = val;
    } else if (strcmp(opt, "-o") == 0) {
        c->out = val;
    } else if (strcmp(opt, "-j") == 0) {
        if (!parse_long(val, 1, 1024, &n))
            return usage_error("-j needs an integer from 1 to 1024, got '%s'", val);
        c->jobs = (int)n;
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

/* What the table of options cannot say. */
static int check_options(Cmd cmd, const Cli *c)
{
    if (cmd == CMD_MERGE && !c->dir)
        return usage_error("'vg merge' needs FILE and the folder of its parts%s", "");
    if (cmd == CMD_PLAN && !c->out)
        return usage_error("'vg plan' needs -o DIR, the folder of its jobs and parts%s", "");
    if (c->part && (c->jobs || c->parts))
        return usage_error("--part keeps one run's results: it takes no -j or --parts%s", "");
    return 0;
}

/* vg run, plan, merge, check, ir and gradcheck: options (those of cmd in
 * the table above) may come before or after the file. Returns 0 or an exit code. */
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
            if (c->file && (c->dir || cmd != CMD_MERGE))
                return usage_error("unexpected argument '%s'", a);
            *(c->file ? &c->dir : &c->file) = a;
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
            int rc = option_value(c, o->name, argv[++i]);
            if (rc)
                return rc;
        }
    }
    if (!c->file)
        return usage_error("'%s' needs a FILE", c->cmd);
    /* vg plan's jobs checkpoint into DIR/checkpoints */
    if (!c->checkpoint && (c->resume || (c->checkpoint_every && cmd != CMD_PLAN)))
        return usage_error("%s needs --checkpoint DIR", c->resume ? "--resume"
                                                                  : "--checkpoint-every");
    int rc = check_options(cmd, c);
    if (rc)
        return rc;
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
    report_print_pretrain(stdout, r);
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

/* The runs `vg run` (and plan, merge) makes: check_prepare_runs, and with
 * --member or --part, exactly one of them. */
static bool prepare_runs(Program *p, const Cli *c, const TrainOptions *o, RunSet *rs)
{
    if (!check_prepare_runs(p, o, c->member ? "--member" : "--run", c->run_only, rs))
        return false;
    if (!c->member && !c->part)
        return true;
    int n = 0, first = -1;
    for (int i = 0; i < rs->n; i++)
        if (rs->runs[i]->ready && n++ == 0)
            first = i;
    if (n == 1)
        return true;
    if (c->member)
        return diag_error(&p->diag, SPAN_NONE, "--member names one run, and '%s' names %d; "
                          "give each axis a value, as in %s", c->run_only, n,
                          rs->runs[first]->name);
    return diag_error(&p->diag, SPAN_NONE, "--part keeps the results of one run, and %d are "
                      "selected; name it with --member", n);
}

/* What trains a run, in vg itself or in a sweep's worker: run_train, then
 * --save. */
typedef struct Trainer {
    const Cli *c;
    const RunSet *rs;
    const TrainOptions *o;
    ReportProgress *progress;   /* NULL: no progress line */
} Trainer;

static int train_one(Program *p, Run *r, void *ctx)
{
    const Trainer *t = ctx;
    if (t->progress)
        report_progress_start(t->progress, stderr, r);
    int status = run_train(p, r, -1, t->o);
    if (t->progress)
        report_progress_clear(t->progress);
    if (status == 0 && t->c->save)
        status = save_checkpoint(p, t->c, t->rs, r);
    return status;
}

/* Where `vg run` and `vg merge` get each run's results from: training it
 * here (and with --part F, keeping them in F, or reading F when it is
 * already complete), the workers of a sweep (-j N, --parts DIR), or the
 * parts in a folder (vg merge). */
typedef struct Results {
    enum { FROM_HERE, FROM_SWEEP, FROM_FOLDER } from;
    Trainer t;
    ReportOutputs *outs;      /* streams the reports of runs read from parts */
    PartKey key;
    Sweep sweep;
    const char *folder;
    int lost;                 /* runs whose results are not there */
    FILE *missing;            /* vg merge: their names, comma-separated */
    char *missing_text;
    size_t missing_len;
} Results;

typedef enum Got { GOT_RUN, GOT_NONE, GOT_STOP } Got;

static void note_missing(Results *res, const Run *r)
{
    if (!res->missing && !(res->missing = open_memstream(&res->missing_text, &res->missing_len))) {
        perror("vg: internal error: open_memstream");
        abort();
    }
    fprintf(res->missing, "%s%s", res->lost ? ", " : "", r->name);
    res->lost++;
}

static Got obtain(Program *p, const Cli *c, Results *res, int i, Run *r, int *status)
{
    PartStatus ps;
    switch (res->from) {
    case FROM_SWEEP:
        switch (sweep_result(&res->sweep, i, status)) {
        case SWEEP_OK:
            report_outputs_replay(res->outs, r);
            return GOT_RUN;
        case SWEEP_INTERRUPTED:
            return GOT_STOP;
        case SWEEP_LOST:
            res->lost++;
            return GOT_NONE;
        default:
            *status = EXIT_RUNTIME;
            return GOT_STOP;
        }
    case FROM_FOLDER: {
        char *path = part_path(res->folder, r->member);
        ps = part_read(path, &res->key, r, status, &p->diag);
        free(path);
        break;
    }
    default:
        ps = c->part ? part_read(c->part, &res->key, r, status, &p->diag) : PART_MISSING;
        if (ps == PART_MISSING) {
            /* a run resumed from a checkpoint comes with its reports so far */
            report_outputs_replay(res->outs, r);
            int from = p->diag.n;
            *status = train_one(p, r, &res->t);
            if (c->part && !train_interrupted &&
                !part_write(c->part, &res->key, r, *status, &p->diag, from, true) &&
                !*status)
                *status = EXIT_RUNTIME;
            return GOT_RUN;
        }
    }
    if (ps == PART_OK) {
        report_outputs_replay(res->outs, r);
        return GOT_RUN;
    }
    if (ps == PART_MISSING) {
        note_missing(res, r);
        return GOT_NONE;
    }
    *status = ps == PART_REFUSED ? EXIT_USAGE : EXIT_RUNTIME;
    return GOT_STOP;
}

/* Sets up where results come from; 0 or an exit code (diagnostics in
 * p->diag). */
static int results_begin(Program *p, const Cli *c, int nfiles, RunSet *rs, Results *res)
{
    if (c->jobs || c->parts || c->part || c->dir) {
        if (!part_key_init(&res->key, p, nfiles, c->load, &p->diag))
            return EXIT_RUNTIME;
    }
    if (c->dir) {
        struct stat info;
        if (stat(c->dir, &info) != 0 || !S_ISDIR(info.st_mode)) {
            diag_error(&p->diag, SPAN_NONE, "cannot read the folder '%s': %s", c->dir,
                       strerror(stat(c->dir, &info) != 0 ? errno : ENOTDIR));
            return EXIT_USAGE;
        }
        res->from = FROM_FOLDER;
        res->folder = c->dir;
        for (int i = 0; i < rs->n; i++) {
            /* a stale part is refused before anything is printed */
            char *path = rs->runs[i]->ready ? part_path(c->dir, rs->runs[i]->member) : NULL;
            PartStatus st = path ? part_check(path, &res->key, rs->runs[i], &p->diag) : PART_OK;
            free(path);
            if (st == PART_REFUSED || st == PART_BAD)
                return EXIT_USAGE;
        }
        return 0;
    }
    for (int i = 0; c->part && i < rs->n; i++)
        if (rs->runs[i]->ready && part_check(c->part, &res->key, rs->runs[i], &p->diag) > PART_MISSING)
            return EXIT_USAGE;
    /* a job killed while it wrote its part, now run again */
    if (c->part)
        part_clean(c->part);
    if (c->jobs || c->parts) {
        res->from = FROM_SWEEP;
        if (!sweep_begin(&res->sweep, p, rs, &res->key, c->jobs ? c->jobs : 1, c->parts,
                         train_one, &res->t))
            return EXIT_USAGE;  /* the caller ends the sweep */
    }
    return 0;
}

/* vg run, and vg merge (c->dir set): every selected run's results, from
 * wherever they come, printed and written in file order, then the
 * expects. */
static int cmd_run(Program *p, const Cli *c, int nfiles)
{
    /* An empty file is a valid program with nothing to do (docs/reliability.md). */
    if (p->ntrains == 0 && p->nexpects == 0) {
        printf("%s: no `train` item: nothing to run\n", c->file);
        return 0;
    }
    TrainOptions o = {.sets = c->sets, .nsets = c->nsets, .seed = c->seed,
                      .seed_offset = c->seed_offset, .max_memory = c->max_memory};
    RunSet rs = {0};
    if (!prepare_runs(p, c, &o, &rs)) {
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
    int status = c->checkpoint ? begin_checkpoints(p, nfiles, c, &rs, &ck) : 0;
    if (c->checkpoint) {
        o.on_step = checkpoint_on_step;
        o.step_ctx = &ck;
    }
    /* a worker streams nothing: its parent does, from its part */
    TrainOptions wo = o;
    ReportProgress progress;
    ReportOutputs outs;
    Results res = {.t = {.c = c, .rs = &rs, .o = &wo}, .outs = &outs};
    if (!c->quiet && !c->jobs && !c->parts && isatty(fileno(stderr)))
        res.t.progress = &progress;
    if (status == 0)
        status = results_begin(p, c, nfiles, &rs, &res);
    if (status == 0 && !report_outputs_open(&outs, c->outputs, &p->diag))
        status = EXIT_RUNTIME;
    if (status) {
        if (res.from == FROM_SWEEP)
            sweep_end(&res.sweep);
        checkpoint_close(&ck);
        runset_free(&rs);
        return fail_with_diags(p, status);
    }
    /* the files hold the reports so far even after a failure (exit 3) */
    ReportDoc doc = {.p = p, .rs = &rs, .file = c->file};
    report_outputs_begin(&outs, &doc);
    o.on_report = report_outputs_on_report;
    o.report_ctx = &outs;
    if (res.from == FROM_HERE) {
        wo = o;
        wo.progress = res.t.progress ? report_progress : NULL;
        wo.progress_ctx = &progress;
    }
    if (res.from != FROM_SWEEP) {
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
    }
    char blas[128];
    printf("vg %s · %s · %s\n\n", VG_VERSION, c->file, blas_describe(blas, sizeof blas));
    bool color = diag_color_for(stdout);
    const Run *last = NULL;
    for (int i = 0; i < rs.n && status == 0 && !train_interrupted; i++) {
        Run *r = rs.runs[i];
        if (!r->ready)
            continue;
        last = r;
        Got got = obtain(p, c, &res, i, r, &status);
        if (got == GOT_STOP)
            break;
        if (got == GOT_NONE)
            continue;
        report_outputs_run_end(&outs, r);
        print_run(p, r, c->quiet, color);
        if (c->time)
            print_timing(r);
        fflush(stdout);
    }
    if (res.from == FROM_SWEEP)
        sweep_end(&res.sweep);
    diag_render_all(stderr, &p->diag, diag_color_for(stderr));
    if (train_interrupted) {
        if (res.from == FROM_SWEEP)
            fprintf(stderr, "vg: interrupted by %s: the workers were stopped; the reports of "
                    "the runs before the first unfinished one are above, and no expect was "
                    "checked\n", train_interrupted == SIGINT ? "SIGINT" : "SIGTERM");
        else
            fprintf(stderr, "vg: interrupted by %s: run '%s' stopped after step %ld of %ld; "
                    "the reports so far are above, and no expect was checked\n",
                    train_interrupted == SIGINT ? "SIGINT" : "SIGTERM", last ? last->name : "?",
                    last ? last->step : 0L, last ? last->set.steps : 0L);
        status = EXIT_SIGNAL + (int)train_interrupted;
    }
    if (res.missing) {
        fclose(res.missing);
        fprintf(stderr, "vg: %d run%s of '%s' ha%s no part in '%s': %s\n", res.lost,
                res.lost == 1 ? "" : "s", c->file, res.lost == 1 ? "s" : "ve", c->dir,
                res.missing_text);
        free(res.missing_text);
    }
    if (res.lost && status == 0) {
        fprintf(stderr, "vg: no expect was checked: %d run%s missing\n", res.lost,
                res.lost == 1 ? " is" : "s are");
        status = EXIT_RUNTIME;
    }
    ExpectResult *er = NULL;
    if (status == 0 && p->nexpects) {
        er = xcalloc((size_t)p->nexpects, sizeof *er);
        diag_clear(&p->diag);
        status = expect_check_all(p, &rs, er);
        report_print_expects(stdout, p, er, p->nexpects, color);
        diag_render_all(stderr, &p->diag, diag_color_for(stderr));
    }
    doc.expects = er;
    doc.nexpects = er ? p->nexpects : 0;
    diag_clear(&p->diag);
    if (!report_outputs_write(&outs, &doc, &p->diag)) {
        diag_render_all(stderr, &p->diag, diag_color_for(stderr));
        if (status < EXIT_RUNTIME)
            status = EXIT_RUNTIME;
    }
    free(er);
    checkpoint_close(&ck);
    runset_free(&rs);
    return status;
}

/* A word for sh: in single quotes, each ' as '\''. */
static void shell_word(FILE *f, const char *w)
{
    fputc('\'', f);
    for (; *w; w++)
        fputs(*w == '\'' ? "'\\''" : (char[2]){*w, 0}, f);
    fputc('\'', f);
}

/* The options a job (and vg merge) needs to make the same runs: those that
 * change results, as given. */
static void result_options(FILE *f, const Cli *c, const char *load)
{
    for (int i = 0; i < c->nsets; i++) {
        char *kv = xmalloc(strlen(c->sets[i].key) + strlen(c->sets[i].value) + 2);
        sprintf(kv, "%s=%s", c->sets[i].key, c->sets[i].value);
        fputs(" --set ", f);
        shell_word(f, kv);
        free(kv);
    }
    if (c->seed >= 0)
        fprintf(f, " --seed %lld", c->seed);
    if (c->seed_offset)
        fprintf(f, " --seed-offset %lld", c->seed_offset);
    if (c->threads)
        fprintf(f, " --threads %d", c->threads);
    if (load) {
        fputs(" --load ", f);
        shell_word(f, load);
    }
}

/* Writes text to DIR/name all or nothing, executable when exec. */
static bool write_plan_file(const char *dir, const char *name, const char *text, bool exec,
                            DiagSink *diag)
{
    char *path = xmalloc(strlen(dir) + strlen(name) + 2);
    sprintf(path, "%s/%s", dir, name);
    OutFile of;
    bool ok = outfile_open(&of, path, diag);
    if (ok) {
        fputs(text, of.f);
        if (exec)
            fchmod(fileno(of.f), 0755);
        ok = outfile_commit(&of, diag);
    }
    free(path);
    return ok;
}

static char *absolute(const char *path, DiagSink *diag)
{
    char *abs = realpath(path, NULL);
    if (!abs)
        diag_error(diag, SPAN_NONE, "cannot find '%s': %s", path, strerror(errno));
    return abs;
}

/* vg plan FILE [--engine parallel|slurm] -o DIR: one job per selected run,
 * each `vg run FILE --member NAME --part DIR/PART` with the options that
 * shape results, in DIR/jobs, and the script that runs them on the
 * engine. Paths are absolute, so the jobs run from anywhere that sees the
 * same files (a cluster's shared file system). */
static int cmd_plan(Program *p, const Cli *c)
{
    TrainOptions o = {.sets = c->sets, .nsets = c->nsets, .seed = c->seed,
                      .seed_offset = c->seed_offset, .max_memory = c->max_memory};
    RunSet rs = {0};
    bool ok = prepare_runs(p, c, &o, &rs);
    if (ok && mkdir(c->out, 0777) != 0 && errno != EEXIST)
        ok = diag_error(&p->diag, SPAN_NONE, "cannot make the folder '%s': %s", c->out,
                        strerror(errno));
    char *vg = ok ? absolute("/proc/self/exe", &p->diag) : NULL;
    char *file = vg ? absolute(c->file, &p->diag) : NULL;
    char *dir = file ? absolute(c->out, &p->diag) : NULL;
    char *load = dir && c->load ? absolute(c->load, &p->diag) : NULL;
    ok = dir && (load || !c->load);
    char *jobs = NULL, *script = NULL;
    size_t njobs_len = 0, nscript = 0;
    int njobs = 0;
    if (ok) {
        if (!c->threads)
            blas_set_threads(default_threads(&rs));
        BlasInfo b;
        blas_info(&b);
        char *checkpoints = xmalloc(strlen(dir) + 16);
        sprintf(checkpoints, "%s/checkpoints", dir);
        FILE *f = open_memstream(&jobs, &njobs_len);
        for (int i = 0; f && i < rs.n; i++) {
            const Run *r = rs.runs[i];
            if (!r->ready)
                continue;
            char *part = part_path(dir, r->member);
            shell_word(f, vg);
            fputs(" run ", f);
            shell_word(f, file);
            fputs(" --member ", f);
            shell_word(f, r->name);
            fputs(" --part ", f);
            shell_word(f, part);
            result_options(f, c, load);
            if (!c->threads)
                fprintf(f, " --threads %d", b.threads);
            if (c->max_memory != TRAIN_DEFAULT_MAX_MEMORY)
                fprintf(f, " --max-memory %zu", c->max_memory);
            /* a job killed or requeued goes on from its last checkpoint */
            fputs(" --checkpoint ", f);
            shell_word(f, checkpoints);
            fputs(" --resume", f);
            if (c->checkpoint_every)
                fprintf(f, " --checkpoint-every %lld", c->checkpoint_every);
            if (c->save) {
                char *save = safetensors_run_path(c->save, r->name);
                fputs(" --save ", f);
                shell_word(f, save);
                free(save);
            }
            fputs(" --quiet\n", f);
            free(part);
            njobs++;
        }
        fclose(f);
        free(checkpoints);
        f = open_memstream(&script, &nscript);
        bool slurm = c->engine && strcmp(c->engine, "slurm") == 0;
        char *task = NULL;
        size_t ntask = 0;
        if (slurm) {
            /* a job array has at most MaxArraySize tasks (indices 0 to
             * MaxArraySize - 1): the submitting script reads the limit of
             * the cluster it submits to and sends as many arrays as the
             * jobs need, each task given its array's first line */
            const char *base = strrchr(file, '/') + 1;
            FILE *t = open_memstream(&task, &ntask);
            fprintf(t, "#!/bin/sh\n#SBATCH --job-name=vg-%.*s\n"
                    "#SBATCH --cpus-per-task=%d\n#SBATCH --output=%s/slurm-%%A_%%a.out\n"
                    "#SBATCH --requeue\n"
                    "# vg plan: a task of an array %s/slurm.sh submits. Task K of\n"
                    "# the array whose first job is line FIRST ($1) runs line FIRST + K\n"
                    "# of jobs, one run each.\n"
                    "exec sh -c \"$(sed -n \"$(($1 + ${SLURM_ARRAY_TASK_ID:-0}))p\" '%s/jobs')\"\n",
                    (int)strcspn(base, "."), base, b.threads, dir, dir, dir);
            fclose(t);
            fprintf(f, "#!/bin/sh\n"
                    "# vg plan: submits the %d jobs of %s/jobs to Slurm, as job arrays\n"
                    "# of at most the cluster's MaxArraySize tasks (scontrol show config;\n"
                    "# Slurm's default, 1001, when it cannot be read; 0, no arrays: a job\n"
                    "# each). Options given here go to every sbatch (--partition=P,\n"
                    "# --parsable). A job whose part is complete reads it and ends, so\n"
                    "# submitting again runs only what is missing.\n"
                    "set -e\n"
                    "n=%d\n"
                    "size=$(scontrol show config 2>/dev/null | sed -n 's/^MaxArraySize *= *\\([0-9]*\\).*/\\1/p')\n"
                    "size=${size:-1001}\n"
                    "first=1\n"
                    "while [ \"$first\" -le \"$n\" ]; do\n"
                    "    if [ \"$size\" -eq 0 ]; then\n"
                    "        sbatch \"$@\" '%s/slurm-task.sh' \"$first\"\n"
                    "        first=$((first + 1))\n"
                    "    else\n"
                    "        last=$((first + size - 1))\n"
                    "        [ \"$last\" -le \"$n\" ] || last=$n\n"
                    "        sbatch --array=0-$((last - first)) \"$@\" '%s/slurm-task.sh' \"$first\"\n"
                    "        first=$((last + 1))\n"
                    "    fi\n"
                    "done\n",
                    njobs, dir, njobs, dir, dir);
        } else {
            fprintf(f, "#!/bin/sh\n"
                    "# vg plan: runs the jobs with GNU parallel, one job per core unless\n"
                    "# -j N is given here. The job log makes a second run resume: jobs\n"
                    "# that finished are skipped, failed ones run again.\n"
                    "exec parallel --joblog '%s/parallel.log' --resume-failed \"$@\" < '%s/jobs'\n",
                    dir, dir);
        }
        fclose(f);
        ok = write_plan_file(dir, "jobs", jobs, false, &p->diag) &&
             (!task || write_plan_file(dir, "slurm-task.sh", task, true, &p->diag)) &&
             write_plan_file(dir, slurm ? "slurm.sh" : "parallel.sh", script, true, &p->diag);
        free(task);
        if (ok) {
            printf("%d job%s in %s/jobs\nrun them: sh %s/%s\nthen: vg merge ", njobs,
                   njobs == 1 ? "" : "s", c->out, c->out, slurm ? "slurm.sh" : "parallel.sh");
            shell_word(stdout, c->file);
            putchar(' ');
            shell_word(stdout, c->out);
            if (c->run_only) {
                fputs(" --run ", stdout);
                shell_word(stdout, c->run_only);
            }
            result_options(stdout, c, c->load);
            putchar('\n');
        }
    }
    free(jobs);
    free(script);
    free(vg);
    free(file);
    free(dir);
    free(load);
    runset_free(&rs);
    return ok ? 0 : fail_with_diags(p, dir ? EXIT_RUNTIME : EXIT_USAGE);
}

static int cmd_check(Program *p, const Cli *c)
{
    TrainOptions o = {.sets = c->sets, .nsets = c->nsets, .seed = c->seed,
                      .seed_offset = c->seed_offset, .max_memory = c->max_memory};
    RunSet rs = {0};
    bool ok = check_prepare_runs(p, &o, "--run", c->run_only, &rs);
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
    if (elab_model(p, call, &g) && gradcheck_attach_loss(&g, settings_call_loss(p, call), &p->diag) &&
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
    OutFile of;
    if (!outfile_open(&of, path, diag))
        return false;
    w(of.f, d);
    return outfile_commit(&of, diag);
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

static bool is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* What the hidden `vg complete` takes (its --help, which tests/man/run.sh
 * holds vg(1) to). */
static const char complete_usage[] =
    "usage: vg complete WHAT\n"
    "\n"
    "The names the shell completions offer, one a line (a hidden command):\n"
    "  commands          the commands\n"
    "  options COMMAND   COMMAND's options: NAME<TAB>VALUE (VALUE empty for a flag)\n"
    "  runs FILE         the run and run family names of FILE\n"
    "  models FILE       the model names of FILE (and its imports)\n"
    "  ops               the op table's ops a program calls, as written in .vg\n";

/* The hidden helper of the shell completions (editors/bash-completion/vg,
 * editors/zsh/_vg), one name a line, so that they list what this vg takes
 * (complete_usage). `ops` leaves out the sources (input, …) and spells the
 * operators as .vg does: "dense", "+" (tests/ops/check.sh). A FILE that
 * does not load lists what was read before the error; nothing is printed
 * on stderr, as a completion must not disturb the line. */
static int cmd_complete(int argc, char **argv)
{
    const char *what = argc > 2 ? argv[2] : "";
    if (is_help(what) && argc == 3) {
        fputs(complete_usage, stdout);
        return 0;
    }
    if (strcmp(what, "commands") == 0 && argc == 3) {
        for (int i = 0; i < NCMDS; i++)
            puts(commands[i].name);
        return 0;
    }
    if (strcmp(what, "ops") == 0 && argc == 3) {
        for (int i = 0; i < OP_COUNT; i++)
            if (op_def(i)->kind != OPK_SOURCE)
                puts(op_def(i)->name);
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
        /* the program's own files: data files are read later */
        int nfiles = p.sources.n;
        rc = cmd == CMD_RUN || cmd == CMD_MERGE ? cmd_run(&p, &c, nfiles)
           : cmd == CMD_PLAN ? cmd_plan(&p, &c) : cmd == CMD_CHECK ? cmd_check(&p, &c)
           : cmd == CMD_GRADCHECK ? cmd_gradcheck(&p, &c) : cmd_ir(&p, &c);
    }
    program_free(&p);
    return rc;
}
