/* report_file.c — the report files, each written all or nothing
 * (outfile.h). The temporary files are created before training, so a path
 * that cannot be written fails in a second rather than after hours of
 * training. */
#include "vg/report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The CSV and HTML files are only checked before training (a temporary
 * file created and removed), and written at the end: a vg killed while it
 * trains leaves no temporary file behind. The JSON Lines file is opened at
 * its final path: it is written as the
 * runs go, so a killed vg leaves the lines it finished (and no temporary
 * file). */
static bool json_open(OutFile *rf, const char *path, DiagSink *diag)
{
    *rf = (OutFile){.path = path};
    if ((rf->f = fopen(path, "w"))) {
        /* unbuffered: each line, formatted whole in memory, reaches the
         * file in one write(2), not in buffer-sized pieces a kill could
         * split */
        setvbuf(rf->f, NULL, _IONBF, 0);
        return true;
    }
    diag_error(diag, SPAN_NONE, "cannot write '%s': %s", path, strerror(errno));
    return false;
}

static void (*const writers[REPORT_NFORMATS])(FILE *, const ReportData *) = {
    [REPORT_CSV] = report_write_csv, [REPORT_HTML] = report_write_html,
};

bool report_outputs_open(ReportOutputs *o, const char *const paths[REPORT_NFORMATS],
                         DiagSink *diag)
{
    memset(o, 0, sizeof *o);
    /* the JSON last: opening it truncates what was there */
    static const ReportFormat order[] = {REPORT_CSV, REPORT_HTML, REPORT_JSON};
    for (int i = 0; i < REPORT_NFORMATS; i++) {
        int k = order[i];
        if (!paths[k])
            continue;
        o->files[k].path = paths[k];
        if (k != REPORT_JSON ? !outfile_check(paths[k], diag)
                             : !json_open(&o->files[k], paths[k], diag))
            return false;  /* the JSON, opened last, is never left open */
    }
    return true;
}

void report_outputs_begin(ReportOutputs *o, const ReportDoc *d)
{
    if (!o->files[REPORT_JSON].f)
        return;
    report_json_begin(&o->json, o->files[REPORT_JSON].f, d);
    o->streaming = true;
}

void report_outputs_on_report(const Run *r, void *outputs)
{
    ReportOutputs *o = outputs;
    if (o->streaming)
        report_json_report(&o->json, r);
}

void report_outputs_replay(ReportOutputs *o, const Run *r)
{
    if (o->streaming)
        report_json_replay(&o->json, r);
}

void report_outputs_run_end(ReportOutputs *o, const Run *r)
{
    if (o->streaming)
        report_json_end(&o->json, r);
}

/* Closes the JSON Lines file; its lines are already flushed. */
static bool json_close(ReportOutputs *o, const ReportDoc *d, DiagSink *diag)
{
    OutFile *rf = &o->files[REPORT_JSON];
    if (!o->streaming)
        report_outputs_begin(o, d);
    o->json.d = d;  /* now with the expect results */
    report_json_finish(&o->json);
    o->streaming = false;
    bool bad = ferror(rf->f) != 0;
    int err = bad ? EIO : 0;
    if (fclose(rf->f) != 0 && !bad)
        bad = true, err = errno;
    rf->f = NULL;
    if (bad)
        diag_error(diag, SPAN_NONE, "cannot write '%s': %s", rf->path, strerror(err));
    return !bad;
}

bool report_outputs_write(ReportOutputs *o, const ReportDoc *d, DiagSink *diag)
{
    bool ok = true;
    ReportData data;
    report_data_of(&data, d);
    for (int k = 0; k < REPORT_NFORMATS; k++) {
        if (!o->files[k].path)
            continue;
        if (k == REPORT_JSON) {
            ok &= json_close(o, d, diag);
        } else if (outfile_open(&o->files[k], o->files[k].path, diag)) {
            writers[k](o->files[k].f, &data);
            ok &= outfile_commit(&o->files[k], diag);
        } else {
            ok = false;
        }
    }
    report_data_free(&data);
    return ok;
}
