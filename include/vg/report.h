/* report.h — rendering reports for people: the terminal table and the
 * `expect` results.
 *
 * Numbers show 3 significant digits, in scientific notation outside
 * [0.001, 10000); a metric that does not apply shows "-". Colour is used
 * only when the caller says so (a terminal, and NO_COLOR unset). */
#ifndef VG_REPORT_H
#define VG_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include "vg/train.h"

/* Formats x into buf (at least 16 bytes) and returns buf. */
char *report_num(double x, char *buf, size_t n);
/* "run NAME: model(args) with SETTINGS" and the settings on one line. */
void report_print_header(FILE *out, const Program *p, const Run *r);
/* One report step: the run-level line, then one row per layer. */
void report_print_table(FILE *out, const Run *r, const Report *rep, bool color);

#endif
