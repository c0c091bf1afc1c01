/* pretrain.h — greedy layer-wise pre-training of a run's declared layers.
 *
 * `pretrain = autoencoder(steps, lr)` trains each declared layer, bottom
 * up, as an autoencoder of its input, before the network is trained as a
 * whole (Bengio, Lamblin, Popovici & Larochelle 2007). Only layers that are
 * a chain of dense ops and activations are pre-trained; the others, and the
 * last declared layer (the output, trained with the network), are skipped
 * with the reason recorded in r->pretrain. The training rows, the batch
 * size and the run's seed (stream RNG_PRETRAIN) are the run's own. */
#ifndef VG_PRETRAIN_H
#define VG_PRETRAIN_H

#include <stddef.h>
#include "vg/train.h"

typedef enum PretrainStatus {
    PRETRAIN_OK,
    PRETRAIN_NONFINITE,  /* a reconstruction loss became NaN or infinite:
                            why says where; r->diverged is set (step 0) */
    PRETRAIN_FAILED,     /* a plan exceeded the memory limit: a diagnostic */
} PretrainStatus;

/* Pre-trains r's layers in place and fills r->pretrain (one entry per
 * declared layer). Needs r->set.pretrain. */
PretrainStatus pretrain_run(Program *p, Run *r, const TrainOptions *o, char *why, size_t n);

#endif
