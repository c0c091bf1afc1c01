/* data.h — the data sets a run trains on.
 *
 * data_load turns a data spec (`spirals(points = 1024)`, `csv("f.csv")`, …)
 * into examples in memory: generated from the run's seed, or read from a
 * CSV or IDX file. Every example has the same input and target shape; the
 * shapes each data set yields are listed at the top of src/data.c. Nothing
 * here shuffles, batches or splits: that is the training loop's business. */
#ifndef VG_DATA_H
#define VG_DATA_H

#include <stdbool.h>
#include <stdint.h>
#include "vg/diag.h"
#include "vg/exec.h"
#include "vg/ir.h"
#include "vg/rng.h"
#include "vg/value.h"

typedef struct Dataset {
    int n;            /* examples */
    Shape x_shape;    /* per example: [features], [time, features] for sequences,
                         [channels, height, width] for images, or [time] token ids */
    Shape y_shape;    /* per example target: [1] holding a class index (as float) or a scalar target; [T] class per time step; [k] a vector target */
    int classes;      /* > 0: targets are class indices in [0, classes); 0: real-valued targets (mse) */
    float *x, *y;     /* [n, shape_size(x_shape)] and [n, shape_size(y_shape)], malloc'd */
    char *name;       /* "spirals(points = 1024, classes = 2)" style description for reports */
} Dataset;

/* Builds or loads the data set of a SPEC_DATA spec. Generators draw from
 * rng_derive(seed, RNG_DATA). Relative paths resolve against base_dir (the
 * .vg file's folder; NULL or "" for the current directory). Errors (missing
 * file, bad CSV, bad IDX, an argument out of range) are diagnostics in d —
 * at spec->span, or for CSV content errors at "file.csv:LINE:COL" (the file
 * is added to d's SourceSet so diag_render shows the offending line) — and
 * return false with ds zeroed. */
bool data_load(Dataset *ds, const Spec *spec, uint64_t seed, const char *base_dir, DiagSink *d);
/* Whether examples of shape `data` can feed an input of shape `input`: the
 * shapes are equal once leading dimensions of size 1 are dropped from both
 * ([28, 28] takes a [1, 28, 28] image as 28 rows of 28), or the input has
 * one dimension and as many values as the data, which it takes flattened
 * in row-major order ([784] takes the image's pixels row by row). The
 * bytes of an example are the same in every case. */
bool data_fits(Shape data, Shape input);
/* Frees what data_load allocated and zeroes ds; safe on a zeroed Dataset. */
void data_free(Dataset *ds);

/* For the passes that feed a plan (training, probe, test, pre-training):
 * copies ds's rows into e's input and target sources; and the next row of
 * a shuffled pass over order[0..n), reshuffled with rng when a pass ends
 * (epochs, each row once per pass). */
void data_fill(const Dataset *ds, Exec *e, const int *rows, int n);
int data_next_row(int *order, int n, int *cursor, Rng *rng);

#endif
