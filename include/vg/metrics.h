/* metrics.h — the gradient-flow measurements of one report.
 *
 * metrics_measure runs the probe batch forward (evaluation mode) and
 * backward with the run's current parameters and fills a Report: the loss
 * and accuracy on the probe, and for every declared layer the metrics that
 * LANGUAGE.md defines (docs/report.md has the formulas). It overwrites the
 * parameter gradients, so callers measure before a training step computes
 * its own. */
#ifndef VG_METRICS_H
#define VG_METRICS_H

#include "vg/train.h"

/* The layer metrics by name, in the order reports show them. */
typedef enum MetricId {
    M_GRAD_NORM, M_WEIGHT_NORM, M_ACT_GRAD_NORM, M_ACT_MEAN, M_ACT_STD,
    M_SATURATION, M_DEAD, M_UPDATE_RATIO, M_RATIO, M_PREDICTED, M_COUNT
} MetricId;
extern const char *const metric_names[M_COUNT];
double metric_get(const LayerMetrics *m, MetricId id);
void metric_set(LayerMetrics *m, MetricId id, double v);
int metric_lookup(const char *name);   /* MetricId or -1 */

void metrics_measure(Run *r, Report *out);
/* Σx² in double (the training step's gradient norm uses it too). */
double metrics_sum_sq(const float *x, size_t n);
/* Accuracy of logits against targets over rows (NaN for real targets). */
double metrics_accuracy(const Run *r, const float *logits, const float *targets, int rows);
void report_free(Report *rep, int nlayers);

#endif
