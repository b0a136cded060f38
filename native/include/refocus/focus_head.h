/*
 * The focus head: everything refocus does with a logits vector, whatever model produced it.
 *
 * Given logits z over classes C and, optionally, a candidate set K (the multiple-choice setting;
 * K = C when absent), with p = softmax over K (logits outside K are treated as -infinity):
 *   - margin   = p_(1) - p_(2), the top-1 minus the top-2 probability within K;
 *   - focus    F = the n_focus most likely classes of K, most likely first;
 *   - decision : adapt (the sample is uncertain) when margin < threshold, strictly;
 *   - dlogits  = dL/dz for the chosen loss method (common.h), zero outside K.
 *
 * Order and ties: classes are ranked by logit, larger first, and equal logits by lower index
 * first. Infinite logits are limits: when the largest logit of K is +inf, the classes at +inf
 * share all probability equally; when every logit of K is -inf, p is uniform over K. A NaN logit
 * in K is an error (REFOCUS_ERROR_NAN). All arithmetic is done in double precision.
 *
 * Thread-safety: every function is pure, reentrant and thread-safe; it touches only its arguments.
 */
#ifndef REFOCUS_FOCUS_HEAD_H
#define REFOCUS_FOCUS_HEAD_H

#include "refocus/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*! refocus_focus_head() :
 *  Decides whether a sample is uncertain and, if it is, computes the loss gradient on its logits.
 *  logits       : n_classes values.
 *  candidates   : NULL for all classes, or n_candidates distinct indices in [0, n_classes).
 *  n_focus      : number of focus classes, 2 <= n_focus < |K|.
 *  threshold    : margin threshold d in [0, 1].
 *  method       : one of the REFOCUS_* loss methods.
 *  focus        : out, n_focus class indices, most likely first; always written on success.
 *  margin       : out, p_(1) - p_(2); always written on success.
 *  dlogits      : out, n_classes values of dL/dz, written only when the sample is uncertain;
 *                 may be NULL when only the decision is wanted.
 *  @return : 1 if the sample is uncertain (adapt), 0 if it is certain (focus[0] is the answer),
 *            or an error code (refocus_is_error()). */
REFOCUS_API int32_t refocus_focus_head(const float* logits, int32_t n_classes,
                                       const int32_t* candidates, int32_t n_candidates,
                                       int32_t n_focus, float threshold, int32_t method,
                                       int32_t* focus, float* margin, float* dlogits);

/*! refocus_logit_grad() :
 *  dL/dz for a fixed focus set: the gradient of every step after the first (F stays fixed across
 *  the T steps, while z and p~ are those of the current parameters).
 *  focus        : n_focus distinct class indices inside K (as refocus_focus_head() wrote them).
 *  Other arguments as refocus_focus_head().
 *  @return : 0, or an error code (refocus_is_error()). */
REFOCUS_API int32_t refocus_logit_grad(const float* logits, int32_t n_classes,
                                       const int32_t* candidates, int32_t n_candidates,
                                       const int32_t* focus, int32_t n_focus, int32_t method,
                                       float* dlogits);

#ifdef __cplusplus
}
#endif

#endif /* REFOCUS_FOCUS_HEAD_H */
