// The focus head (refocus/focus_head.h): margin, focus classes, decision and dL/dz for one
// logits vector. It runs once per sample on C values, so it is written for exactness, not speed:
// double precision throughout, and no buffer at all, so the softmax is kept as (max, sum) and each
// probability is recomputed where it is needed. The plain-Java oracle is
// dev.refocus.reference.ReferenceFocusHead; the tests check this file against it.
#include "refocus/focus_head.h"

#include <cmath>
#include <limits>

namespace {

// The candidate set K: either every class or an explicit index list.
struct ClassSet {
    const int32_t* indices;  // NULL means 0 .. size-1
    int32_t size;
    int32_t operator[](int32_t i) const { return indices ? indices[i] : i; }
};

bool contains(const int32_t* set, int32_t n, int32_t c) {
    for (int32_t i = 0; i < n; i++) {
        if (set[i] == c) return true;
    }
    return false;
}

// Larger logit first, then lower index: the one ranking used everywhere.
bool ranks_before(const float* z, int32_t a, int32_t b) {
    return z[a] > z[b] || (z[a] == z[b] && a < b);
}

// softmax over K kept as its normaliser, with the limits of infinite logits (see the header).
struct Softmax {
    enum Mode { FINITE, POSITIVE_INFINITY, ALL_NEGATIVE_INFINITY } mode;
    double max;    // largest logit of K
    double sum;    // FINITE: sum exp(z - max); otherwise the number of classes sharing the mass

    Softmax(const float* z, ClassSet k) {
        max = -std::numeric_limits<double>::infinity();
        for (int32_t i = 0; i < k.size; i++) max = std::fmax(max, (double)z[k[i]]);
        sum = 0.0;
        if (std::isinf(max) && max > 0) {
            mode = POSITIVE_INFINITY;
            for (int32_t i = 0; i < k.size; i++) sum += std::isinf(z[k[i]]) && z[k[i]] > 0 ? 1.0 : 0.0;
        } else if (std::isinf(max)) {
            mode = ALL_NEGATIVE_INFINITY;
            sum = k.size;
        } else {
            mode = FINITE;
            for (int32_t i = 0; i < k.size; i++) sum += std::exp((double)z[k[i]] - max);
        }
    }

    // outside FINITE mode: does class c share the probability mass equally?
    bool shares_mass(float zc) const { return mode == ALL_NEGATIVE_INFINITY || (double)zc == max; }
    double prob(float zc) const {
        if (mode != FINITE) return shares_mass(zc) ? 1.0 / sum : 0.0;
        return std::exp((double)zc - max) / sum;
    }
    // log p, or -inf where p is 0; log_sum = log(sum), computed once by the caller (only ENTROPY needs it)
    double log_prob(float zc, double log_sum) const {
        if (mode != FINITE) return shares_mass(zc) ? -log_sum : -std::numeric_limits<double>::infinity();
        return ((double)zc - max) - log_sum;
    }
};

bool valid_classes(const float* logits, int32_t n_classes, const int32_t* candidates, int32_t n_candidates) {
    if (logits == nullptr || n_classes < 1) return false;
    if (candidates == nullptr) return true;
    if (n_candidates < 1 || n_candidates > n_classes) return false;
    for (int32_t i = 0; i < n_candidates; i++) {
        if (candidates[i] < 0 || candidates[i] >= n_classes) return false;
    }
    return true;
}

bool has_nan(const float* z, ClassSet k) {
    for (int32_t i = 0; i < k.size; i++) {
        if (std::isnan(z[k[i]])) return true;
    }
    return false;
}

void write_grad(const float* z, ClassSet k, const Softmax& sm, const int32_t* focus, int32_t n_focus,
                int32_t method, int32_t n_classes, float* dz) {
    for (int32_t c = 0; c < n_classes; c++) dz[c] = 0.0f;
    switch (method) {
        case REFOCUS_IFO_WEIGHTED:
            for (int32_t i = 0; i < n_focus; i++) dz[focus[i]] = (float)-sm.prob(z[focus[i]]);
            break;
        case REFOCUS_IFO:
            for (int32_t i = 0; i < n_focus; i++) dz[focus[i]] = (float)(-1.0 / n_focus);
            break;
        case REFOCUS_DOFO:
            for (int32_t i = 0; i < k.size; i++) {
                if (!contains(focus, n_focus, k[i])) dz[k[i]] = (float)(1.0 / (k.size - n_focus));
            }
            break;
        case REFOCUS_CROSS_ENTROPY:
            for (int32_t i = 0; i < k.size; i++) {
                const int32_t c = k[i];
                dz[c] = (float)(sm.prob(z[c]) - (contains(focus, n_focus, c) ? 1.0 / n_focus : 0.0));
            }
            break;
        case REFOCUS_ENTROPY: {
            // H = -sum p log p; dH/dz_c = -p_c (log p_c + H); classes with p = 0 contribute 0.
            const double log_sum = std::log(sm.sum);
            double entropy = 0.0;
            for (int32_t i = 0; i < k.size; i++) {
                const double p = sm.prob(z[k[i]]);
                if (p > 0.0) entropy -= p * sm.log_prob(z[k[i]], log_sum);
            }
            for (int32_t i = 0; i < k.size; i++) {
                const double p = sm.prob(z[k[i]]);
                dz[k[i]] = p > 0.0 ? (float)(-p * (sm.log_prob(z[k[i]], log_sum) + entropy)) : 0.0f;
            }
            break;
        }
    }
}

bool valid_method(int32_t method) { return method >= 0 && method < REFOCUS_METHOD_COUNT; }

}  // namespace

extern "C" {

int32_t refocus_focus_head(const float* logits, int32_t n_classes, const int32_t* candidates,
                           int32_t n_candidates, int32_t n_focus, float threshold, int32_t method,
                           int32_t* focus, float* margin, float* dlogits) {
    if (!valid_classes(logits, n_classes, candidates, n_candidates)) return REFOCUS_ERROR_ARGUMENT;
    const ClassSet k{candidates, candidates ? n_candidates : n_classes};
    if (n_focus < 2 || n_focus >= k.size || focus == nullptr || margin == nullptr || !valid_method(method)
        || !(threshold >= 0.0f && threshold <= 1.0f)) {
        return REFOCUS_ERROR_ARGUMENT;
    }
    if (has_nan(logits, k)) return REFOCUS_ERROR_NAN;

    // top n_focus of K by insertion: n_focus is small, K may be large.
    int32_t found = 0;
    for (int32_t i = 0; i < k.size; i++) {
        const int32_t c = k[i];
        if (found == n_focus && !ranks_before(logits, c, focus[n_focus - 1])) continue;
        int32_t j = found < n_focus ? found++ : n_focus - 1;
        for (; j > 0 && ranks_before(logits, c, focus[j - 1]); j--) focus[j] = focus[j - 1];
        focus[j] = c;
    }

    const Softmax sm(logits, k);
    const double gap = sm.prob(logits[focus[0]]) - sm.prob(logits[focus[1]]);
    *margin = (float)gap;
    if (!(gap < (double)threshold)) return 0;
    if (dlogits != nullptr) write_grad(logits, k, sm, focus, n_focus, method, n_classes, dlogits);
    return 1;
}

int32_t refocus_logit_grad(const float* logits, int32_t n_classes, const int32_t* candidates,
                           int32_t n_candidates, const int32_t* focus, int32_t n_focus, int32_t method,
                           float* dlogits) {
    if (!valid_classes(logits, n_classes, candidates, n_candidates)) return REFOCUS_ERROR_ARGUMENT;
    const ClassSet k{candidates, candidates ? n_candidates : n_classes};
    if (focus == nullptr || dlogits == nullptr || n_focus < 1 || n_focus >= k.size || !valid_method(method)) {
        return REFOCUS_ERROR_ARGUMENT;
    }
    for (int32_t i = 0; i < n_focus; i++) {
        if (focus[i] < 0 || focus[i] >= n_classes) return REFOCUS_ERROR_ARGUMENT;
    }
    if (has_nan(logits, k)) return REFOCUS_ERROR_NAN;
    write_grad(logits, k, Softmax(logits, k), focus, n_focus, method, n_classes, dlogits);
    return 0;
}

}  // extern "C"
