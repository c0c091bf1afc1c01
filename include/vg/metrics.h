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

#include "vg/data.h"
#include "vg/exec.h"
#include "vg/ir.h"
#include "vg/settings.h"

typedef enum Verdict {
    VERDICT_HEALTHY, VERDICT_VANISHING, VERDICT_EXPLODING,
    VERDICT_SATURATED, VERDICT_DEAD,
} Verdict;
const char *verdict_name(Verdict v);

/* One layer at one report step. A metric that does not apply is NaN
 * (printed "-", JSON null). */
typedef struct LayerMetrics {
    double grad_norm, weight_norm, act_grad_norm, act_mean, act_std;
    double saturation, dead, update_ratio, ratio, bptt_ratio, predicted;
    /* lstm: the gates' means and saturations and the cell tanh's
     * saturation; gru: its update and reset gates */
    double input_gate, forget_gate, output_gate, update_gate, reset_gate;
    double input_gate_saturation, forget_gate_saturation, output_gate_saturation;
    double cell_saturation, update_gate_saturation, reset_gate_saturation;
    /* attention: the mean entropy of its weights, in nats */
    double attention_entropy;
    Verdict verdict;
    int verdict_by;       /* the MetricId whose threshold decided the verdict;
                             -1 for healthy */
    float *bptt;          /* recurrent layers: ‖dLoss/dh_t‖, t = 1..T; else NULL */
    int bptt_len;
} LayerMetrics;

typedef struct Report {
    long step;
    double loss, accuracy, test_accuracy;   /* test_accuracy NaN without test */
    double global_norm;   /* pre-clip global gradient norm of the last step */
    double clipped;       /* fraction of steps so far that were clipped */
    LayerMetrics *layers; /* one per declared layer, in declaration order */
} Report;

/* The run-level values of a report, in the order every format shows them
 * (`step` is each format's own column or key, and a member of its own
 * in expressions). */
typedef enum RunValueId {
    RV_LOSS, RV_ACCURACY, RV_TEST_ACCURACY, RV_GLOBAL_NORM, RV_CLIPPED, RV_COUNT
} RunValueId;
extern const char *const report_value_names[RV_COUNT];
double report_value(const Report *rep, RunValueId id);
void report_value_set(Report *rep, RunValueId id, double v);

/* The layer metrics by name, in the order reports show them: one list,
 * X(ID, field of LayerMetrics), for the ids, the names and the fields. */
#define METRIC_LIST(X)                                                              \
    X(GRAD_NORM, grad_norm) X(WEIGHT_NORM, weight_norm) X(ACT_GRAD_NORM, act_grad_norm) \
    X(ACT_MEAN, act_mean) X(ACT_STD, act_std) X(SATURATION, saturation) X(DEAD, dead)  \
    X(UPDATE_RATIO, update_ratio) X(RATIO, ratio) X(BPTT_RATIO, bptt_ratio)            \
    X(PREDICTED, predicted) X(INPUT_GATE, input_gate) X(FORGET_GATE, forget_gate)      \
    X(OUTPUT_GATE, output_gate) X(UPDATE_GATE, update_gate) X(RESET_GATE, reset_gate)  \
    X(INPUT_GATE_SATURATION, input_gate_saturation)                                    \
    X(FORGET_GATE_SATURATION, forget_gate_saturation)                                  \
    X(OUTPUT_GATE_SATURATION, output_gate_saturation)                                  \
    X(CELL_SATURATION, cell_saturation) X(UPDATE_GATE_SATURATION, update_gate_saturation) \
    X(RESET_GATE_SATURATION, reset_gate_saturation)                                    \
    X(ATTENTION_ENTROPY, attention_entropy)

#define METRIC_ID(id, field) M_##id,
typedef enum MetricId { METRIC_LIST(METRIC_ID) M_COUNT } MetricId;
#undef METRIC_ID
extern const char *const metric_names[M_COUNT];
double metric_get(const LayerMetrics *m, MetricId id);
void metric_set(LayerMetrics *m, MetricId id, double v);
int metric_lookup(const char *name);   /* MetricId or -1 */
/* Measured only on layers with a recurrent op: bptt_ratio and the gates. */
bool metric_recurrent(MetricId id);
/* Measured only on layers with an attention op: attention_entropy. */
bool metric_attention(MetricId id);

/* What a report is measured on: a run's probe plan, its rows already
 * filled (data_fill), and the state its training has reached. */
typedef struct MeasureInput {
    const IrGraph *g;
    const float *params;      /* the parameters' values (ParamStore) */
    Exec *probe;
    const Settings *set;      /* the loss and the verdicts' thresholds */
    const Dataset *data;      /* classes and target shape, for accuracy */
    long step;                /* steps done */
    const double *update_sq;  /* per layer: Σ(Δw)² of the last step */
    double last_global_norm;
    long clipped_steps;
} MeasureInput;

void metrics_measure(const MeasureInput *in, Report *out);
/* A report with nothing measured, for a run of graph g: every value NaN,
 * a recurrent layer's bptt curve of its T steps too. What expects are
 * checked against before training, so that a name that does not resolve
 * (a layer, a metric, bptt of a layer without a recurrent op,
 * attention_entropy of one without an attention op, a time step past T)
 * is an error before any step runs. Free with report_free. */
void metrics_placeholder(const IrGraph *g, Report *out);
/* The node whose state a layer's bptt curve follows (its last recurrent
 * op), or -1 for a layer without one. */
int metrics_bptt_node(const IrGraph *g, int layer);
/* Whether layer has the op metric id is measured on (an attention op for
 * attention_entropy, a recurrent op for bptt_ratio, an lstm or a gru for
 * their gates; any layer for the others). An expect that names the metric
 * on another layer is an error, as bptt is on a layer without a recurrent
 * op; *needs then names what is missing ("attention op", "lstm"). */
bool metrics_layer_has(const IrGraph *g, int layer, MetricId id, const char **needs);
/* Σx² in double (the training step's gradient norm uses it too). */
double metrics_sum_sq(const float *x, size_t n);
/* Accuracy of logits against targets over rows (NaN for real targets). */
double metrics_accuracy(const MeasureInput *in, const float *logits, const float *targets,
                        int rows);
/* The loss of the best constant prediction on rows[0..n) of d, the bar a
 * model must clear to have learned anything from its inputs: for mse the
 * targets' variance per output, for cross_entropy the entropy of the label
 * frequencies (per time step for sequence labels), for bce the binary
 * entropy of the mean target per output, each averaged over the outputs
 * (natural log, as the losses). loss is the OpId; NaN for no rows. */
double metrics_baseline(const Dataset *d, int loss, const int *rows, int n);
void report_free(Report *rep, int nlayers);

#endif
