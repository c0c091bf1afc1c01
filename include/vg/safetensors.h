/* safetensors.h — checkpoints: a run's parameters as a safetensors file.
 *
 * The layout (https://github.com/huggingface/safetensors, "Format"): an
 * 8-byte little-endian header length N, N bytes of JSON, then the tensor
 * data. The JSON maps each tensor's name to {"dtype", "shape",
 * "data_offsets": [begin, end]} (offsets into the data, in bytes) and may
 * hold a "__metadata__" object of strings. vg writes every parameter of a
 * graph — trainable ones and running statistics — as little-endian F32
 * under its IR name ("fc[1].W", "fc[1].b"), in declaration order, so NumPy,
 * PyTorch or a dozen lines of Python with json and struct can read it.
 *
 * Saving writes a temporary file beside the target and renames it, so a
 * failure never leaves a half-written checkpoint. Loading validates the
 * whole file against the graph before it changes any parameter. */
#ifndef VG_SAFETENSORS_H
#define VG_SAFETENSORS_H

#include <stdbool.h>
#include "vg/diag.h"
#include "vg/exec.h"
#include "vg/ir.h"

typedef enum SafetensorsStatus {
    ST_OK,
    ST_MISMATCH,   /* the file is well-formed but does not fit the model:
                      a name missing or extra, a shape, a dtype */
    ST_BAD_FILE,   /* I/O: unreadable, truncated, a header that is not JSON
                      or not a safetensors header */
} SafetensorsStatus;

/* Writes g's parameters from ps to path. meta holds key, value pairs of
 * strings for "__metadata__", ended by a NULL key. false: a diagnostic
 * naming the file and the system's reason. */
bool safetensors_save(const char *path, const IrGraph *g, const ParamStore *ps,
                      const char *const *meta, DiagSink *d);
/* Reads path into ps; every parameter of g must be present with its shape
 * and dtype F32, and no other tensor may be. On failure ps is unchanged and
 * a diagnostic names the first problem. */
SafetensorsStatus safetensors_load(const char *path, const IrGraph *g, ParamStore *ps,
                                   DiagSink *d);
/* The file of one run among several: path with ".RUN" inserted before the
 * extension of its last component ("r.safetensors" -> "r.deep.safetensors";
 * "ckpt" -> "ckpt.deep"). Returns a malloc'd string. */
char *safetensors_run_path(const char *path, const char *run);

#endif
