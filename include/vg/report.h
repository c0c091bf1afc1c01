/* report.h — rendering reports: the terminal table, the progress line, the
 * `expect` results' files, and the files of `--json`, `--csv` and `--html`.
 *
 * Numbers show 3 significant digits, in scientific notation outside
 * [0.001, 10000); a metric that does not apply shows "-". Colour is used
 * only when the caller says so (diag_color_for: a terminal, NO_COLOR unset,
 * TERM not dumb). The file writers carry every metric; docs/report.md has
 * their formats, and the JSON Lines schema. */
#ifndef VG_REPORT_H
#define VG_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include "vg/expect.h"
#include "vg/metrics.h"
#include "vg/outfile.h"
#include "vg/train.h"

/* Formats x into buf (at least 16 bytes) and returns buf. */
char *report_num(double x, char *buf, size_t n);
/* "run NAME: model(args) with SETTINGS" and the settings on one line. */
void report_print_header(FILE *out, const Program *p, const Run *r);
/* The metrics of the table (terminal and HTML) of run r into cols, and
 * their number: bptt_ratio only for a run with a recurrent layer,
 * attention_entropy only for one with an attention layer. The JSON and
 * CSV files carry every metric. */
enum { REPORT_MAX_COLUMNS = 10 };
int report_columns(const Run *r, MetricId cols[REPORT_MAX_COLUMNS]);
/* The same for a run with (or without) a recurrent and an attention layer. */
int report_data_columns(bool recurrent, bool attention, MetricId cols[REPORT_MAX_COLUMNS]);
/* Whether a run has a layer with a recurrent op; with an attention op. */
bool report_recurrent(const Run *r);
bool report_attention(const Run *r);
/* One report step: the run-level line, then one row per layer. */
void report_print_table(FILE *out, const Run *r, const Report *rep, bool color);
/* "model(args)" of a run, as written in its train item. */
void report_print_call(FILE *out, const Run *r);
/* The expect results (expect.h): a verdict line per expect, both sides
 * of a comparison, and the lists its aggregates reduced. */
void report_print_expects(FILE *out, const Program *p, const ExpectResult *results, int n,
                          bool color);
/* One list's summary, as the expect lines show it under the verdict:
 * "sig[*].final.loss: n 10, min 0.01, median 0.1, max 0.9; 9 of 10 hold". */
void report_print_list(FILE *out, const ListSummary *s);
/* The same without the list's expression: ": n 10, min …". */
void report_print_list_values(FILE *out, const ListSummary *s);
/* A run's pre-training (pretrain.h): the per-layer reconstruction losses,
 * under the run's header; nothing when the run was not pre-trained. */
void report_print_pretrain(FILE *out, const Run *r);

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0 for a byte
 * that starts none: writers replace such bytes with U+FFFD, so a stray byte
 * in a message never makes a JSON or HTML file invalid. */
int report_utf8_len(const char *s);

/* What report_print_call writes, as a malloc'd string to free. */
char *report_call_text(const Run *r);

/* The progress line: "saturating  step 1200/5000  loss 0.693  2300
 * steps/s" (the loss of the last training batch), rewritten in place with
 * \r; for a terminal only. Pass report_progress as TrainOptions.progress
 * with a ReportProgress as its context: it draws only once a run has taken
 * half a second, and then at most 10 times a second. */
typedef struct ReportProgress {
    FILE *out;
    double start;         /* seconds, monotonic */
    double last;          /* when the line was last drawn; 0: never */
    long first_step;      /* the run's step when it (re)started */
    int width;            /* characters on the line now */
} ReportProgress;
void report_progress_start(ReportProgress *pg, FILE *out, const Run *r);
void report_progress(const Run *r, void *pg);
/* Blanks the line, if one was drawn. */
void report_progress_clear(ReportProgress *pg);

/* Everything a report file shows: the program, its runs (those not
 * prepared are left out), and the expect results when they were checked. */
typedef struct ReportDoc {
    const Program *p;
    const RunSet *rs;
    const char *file;             /* the program file as named on the command line */
    const ExpectResult *expects;  /* NULL: not checked (a run failed or was interrupted) */
    int nexpects;
} ReportDoc;

/* The version of the JSON Lines schema (docs/report.md); `vg report` also
 * reads the versions before it. */
enum { REPORT_SCHEMA_VERSION = 4 };

/* A run as the JSON header lists it: its name, call, axes, seed, every
 * setting and its layers, as one JSON object. */
void report_json_run(FILE *out, const Run *r);

/* The whole document as JSON Lines in one go (the REPL's `json`). */
void report_write_json(FILE *out, const ReportDoc *d);

/* JSON Lines written as the runs go, each line complete and flushed when
 * written: the header before training, each run's step scalars and report
 * as the report is made (report_json_report, as TrainOptions.on_report),
 * its end line when it ends, and at the finish the end lines of runs that
 * never trained and the expect results. A killed vg leaves every line
 * written so far. */
typedef struct ReportJson {
    FILE *f;
    const ReportDoc *d;
    long *logged;         /* per run of d->rs: step-log entries written */
    bool *ended;
    FILE *line;           /* the line being formatted, in memory */
    char *buf;
    size_t len;
} ReportJson;
void report_json_begin(ReportJson *j, FILE *f, const ReportDoc *d);
void report_json_report(ReportJson *j, const Run *r);
/* Every report r has so far, each after the step log before it: what the
 * stream would hold had this vg made them (a run resumed from a
 * checkpoint). */
void report_json_replay(ReportJson *j, const Run *r);
void report_json_end(ReportJson *j, const Run *r);
void report_json_finish(ReportJson *j);
/* ---- reports as data: what the CSV, the HTML and `vg report` show ---- */

/* A run as the report files show it: measured by `vg run` (its reports and
 * step log borrowed from the Run) or read back from JSON Lines. */
typedef struct ReportRun {
    char *name, *call, *with;     /* with: NULL without a settings bundle */
    char *data, *loss, *optimizer, *clip;  /* the settings as text; clip NULL: none */
    char *schedule;       /* the lr schedule as text; NULL: constant */
    unsigned long long seed;
    long planned, batch;          /* the settings' steps and batch */
    int probe_rows;
    double baseline;              /* metrics_baseline; NaN in files before schema 3 */
    double vanishing_below, exploding_above;
    int nlayers;
    char **layers;
    Report *reports;
    int nreports;
    StepLog log;
    long steps;                   /* steps done */
    bool recurrent;               /* a layer has a recurrent op */
    bool attention;               /* a layer has an attention op */
    char *family;                 /* a family member's family; NULL for a plain run */
    int naxes;
    char **axis_vars, **axis_texts;  /* the family's axes and this member's values */
    bool *seed_axes;              /* the axis sets the seed: its members are replicates */
    bool diverged, ended;         /* ended false: vg stopped before the run's end line */
    long diverged_at;
} ReportRun;

/* One side of an expect's comparison: a number, or the value as text. */
typedef struct ReportSide {
    bool is_num;
    double num;
    char *text;
} ReportSide;

/* A list an aggregate of the expect reduced (its expression as text). */
typedef struct ReportList {
    char *expr;
    ListSummary s;                /* s.expr unused */
} ReportList;

typedef struct ReportExpect {
    char *file, *expr, *op, *outcome, *message;  /* op NULL: not a comparison */
    int line;
    ReportSide lhs, rhs;          /* when op is set */
    ReportList *lists;
    int nlists;
} ReportExpect;

typedef struct ReportData {
    char *file, *sha256, *vg, *blas;  /* blas: "OpenBLAS 0.3.21, core Haswell, 1 thread" */
    ReportRun *runs;
    int nruns;
    ReportExpect *expects;
    int nexpects;
    bool has_expects;             /* the program has expect lines */
    bool expects_checked;         /* false: they were not (a run failed) */
    bool owned;                   /* the reports and step logs are the data's own */
} ReportData;

/* The data of a document's prepared runs (borrowing their reports). */
void report_data_of(ReportData *out, const ReportDoc *d);
void report_data_free(ReportData *d);

/* Reads JSON Lines report files (schema versions 1 to REPORT_SCHEMA_VERSION)
 * into one ReportData, the runs of every file in order; run names that
 * clash across files become "FILE:NAME" (FILE without .jsonl). A cut last
 * line (vg killed while writing it) is a warning and skipped. false, with
 * an error naming the file and line, for anything else vg does not write. */
bool report_read(ReportData *d, const char *const *paths, int npaths, DiagSink *diag);

void report_write_csv(FILE *out, const ReportData *d);
void report_write_text(FILE *out, const ReportData *d, bool color);
/* `vg report --diff`: per run and layer, what changed from a to b by more
 * than factor in the initial and final reports (docs/report.md). */
void report_write_diff(FILE *out, const ReportData *a, const ReportData *b, const char *name_a,
                       const char *name_b, double factor);
void report_write_html(FILE *out, const ReportData *d);


/* The files of `vg run --json F --csv F --html F`; a NULL path is a format
 * not asked for. report_outputs_open checks them all before training
 * (false, with none left open, if one fails) and opens the JSON Lines file
 * at its final path; the CSV and HTML are written all or nothing at the end. report_outputs_begin writes
 * the JSON header once the runs are prepared; report_outputs_on_report and
 * report_outputs_run_end stream each run's lines (pass the ReportOutputs
 * as their context). report_outputs_write finishes the JSON, writes and
 * commits the others after the runs, and is false if any failed. */
typedef enum ReportFormat { REPORT_JSON, REPORT_CSV, REPORT_HTML, REPORT_NFORMATS } ReportFormat;
typedef struct ReportOutputs {
    OutFile files[REPORT_NFORMATS];   /* the JSON's: path and stream only */
    ReportJson json;
    bool streaming;
} ReportOutputs;
bool report_outputs_open(ReportOutputs *o, const char *const paths[REPORT_NFORMATS],
                         DiagSink *diag);
void report_outputs_begin(ReportOutputs *o, const ReportDoc *d);
void report_outputs_on_report(const Run *r, void *outputs);
void report_outputs_run_end(ReportOutputs *o, const Run *r);
/* The reports a run resumed from a checkpoint already has, streamed
 * before it trains on (report_json_replay). */
void report_outputs_replay(ReportOutputs *o, const Run *r);
bool report_outputs_write(ReportOutputs *o, const ReportDoc *d, DiagSink *diag);

#endif
