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
 * Saving writes a temporary file beside the target, flushes it to disk
 * (fsync) and renames it, so neither a failure nor a power cut leaves a
 * half-written file. Loading validates the whole file against the graph
 * before it changes any parameter.
 *
 * Below the parameter files, a general layer writes and reads any named
 * tensors of the dtypes vg keeps (the training state of `vg run
 * --checkpoint`, src/checkpoint.c) and the string metadata. */
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

/* ---- any tensors ---- */

typedef enum StDtype { ST_F32, ST_F64, ST_I32, ST_I64, ST_U64, ST_U8, ST_NDTYPES } StDtype;
enum { ST_MAX_RANK = 4 };

/* A tensor to write: its elements in host byte order (written
 * little-endian), rank dims (rank 0: one element). */
typedef struct StTensor {
    const char *name;
    StDtype dtype;
    int rank;
    long dim[ST_MAX_RANK];
    const void *data;
} StTensor;

/* Writes n tensors in order, with meta as in safetensors_save, atomically
 * and durably: temporary file, fsync, rename, fsync of the folder. false:
 * a diagnostic "cannot write checkpoint 'path': reason". */
bool safetensors_write(const char *path, const StTensor *t, int n, const char *const *meta,
                       DiagSink *d);

/* A file read and checked (header, offsets inside the data), for taking
 * tensors out by name. */
typedef struct StFile {
    const char *path;
    DiagSink *d;
    unsigned char *bytes;
    size_t size, data_at;
    struct StEntry *entries;
    int nentries;
    char **meta;          /* key, value, key, value …: the string metadata */
    int nmeta;
    struct Arena *arena;
} StFile;

/* ST_BAD_FILE with a diagnostic when path is not a readable safetensors
 * file; ST_OK, and f to be closed, otherwise. */
SafetensorsStatus safetensors_open(StFile *f, const char *path, DiagSink *d);
/* The metadata value of key, or NULL. */
const char *safetensors_meta(const StFile *f, const char *key);
/* Whether the file has a tensor name. */
bool safetensors_has(const StFile *f, const char *name);
/* Copies tensor name, which must have dtype dt and the given dims, into out
 * (host byte order). false: a diagnostic "checkpoint 'path' is damaged: …". */
bool safetensors_read(StFile *f, const char *name, StDtype dt, int rank, const long *dim,
                      void *out);
void safetensors_close(StFile *f);

#endif
