/* refocus/cuda.h from C, where no device may be: the header compiles as C, the library loads and answers without a
 * driver (REFOCUS_ERROR_CUDA or 0 devices, and a reason), and the calls that need no device check their arguments. */
#include "refocus/cuda.h"

#include <stdio.h>
#include <string.h>

static int failures = 0;

#define EXPECT(cond)                                                          \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: FAILED %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                       \
        }                                                                     \
    } while (0)

int main(void) {
    EXPECT(strcmp(refocus_cuda_last_error(), "no error") == 0);
    const int32_t devices = refocus_cuda_device_count();
    printf("refocus_cuda_device_count() = %d: %s\n", devices, refocus_cuda_last_error());
    EXPECT(devices >= 0 || devices == REFOCUS_ERROR_CUDA);
    if (devices <= 0) {  /* no device: the reason is recorded, and calls that need one fail cleanly */
        EXPECT(refocus_cuda_last_error() != NULL && strcmp(refocus_cuda_last_error(), "no error") != 0);
        const int32_t sizes[3] = {4, 5, 3};
        const int32_t activations[2] = {REFOCUS_ACT_RELU, REFOCUS_ACT_IDENTITY};
        float params[4 * 5 + 5 + 5 * 3 + 3] = {0};
        refocus_dense_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.n_layers = 2;
        cfg.sizes = sizes;
        cfg.activations = activations;
        cfg.params = params;
        cfg.n_focus = 2;
        cfg.steps = 1;
        cfg.max_batch = 1;
        refocus_cuda_weights* weights = NULL;
        EXPECT(refocus_cuda_weights_upload(0, &cfg, &weights) == (devices < 0 ? REFOCUS_ERROR_CUDA
                                                                               : REFOCUS_ERROR_ARGUMENT));
        EXPECT(weights == NULL);
    }
    EXPECT(refocus_cuda_weights_upload(0, NULL, NULL) == REFOCUS_ERROR_ARGUMENT);
    EXPECT(refocus_cuda_create(NULL, NULL, NULL) == REFOCUS_ERROR_ARGUMENT);
    EXPECT(refocus_cuda_predict(NULL, 1, 0.5f, 0.5f) == REFOCUS_ERROR_ARGUMENT);
    EXPECT(refocus_cuda_forward(NULL, 1) == REFOCUS_ERROR_ARGUMENT);
    EXPECT(refocus_cuda_predict_device(NULL, NULL, 1, NULL, 0.5f, 0.5f) == REFOCUS_ERROR_ARGUMENT);
    EXPECT(strcmp(refocus_cuda_last_error(), "the context is null") == 0);
    {
        void* buffer = (void*)1;
        const float value = 1.0f;
        EXPECT(refocus_cuda_buffer_alloc(0, 16, NULL) == REFOCUS_ERROR_ARGUMENT);
        EXPECT(refocus_cuda_buffer_alloc(0, 0, &buffer) == REFOCUS_ERROR_ARGUMENT && buffer == NULL);
        if (devices <= 0) {
            EXPECT(refocus_cuda_buffer_alloc(0, 16, &buffer) == (devices < 0 ? REFOCUS_ERROR_CUDA
                                                                              : REFOCUS_ERROR_ARGUMENT));
            EXPECT(buffer == NULL);
        }
        EXPECT(refocus_cuda_buffer_write(NULL, 0, &value, 1) == REFOCUS_ERROR_ARGUMENT);
        refocus_cuda_buffer_free(NULL);
    }
    EXPECT(refocus_is_error(REFOCUS_ERROR_CUDA));
    refocus_cuda_free(NULL);
    refocus_cuda_weights_free(NULL);
    printf("cuda_abi: %d failed\n", failures);
    return failures == 0 ? 0 : 1;
}
