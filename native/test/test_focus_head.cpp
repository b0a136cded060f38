// The C ABI of refocus/focus_head.h at its edges: every argument out of its range, NaN logits inside and outside
// the candidates, and the few results that need no oracle (the focus order, the margin, an untouched dlogits).
// The values of the gradients are checked against the Java reference by FocusHeadTest.
#include "check.h"
#include "refocus/focus_head.h"

#include <cmath>
#include <cstdint>

namespace {

// p = softmax(z): the two best classes are 1 and 3
const float LOGITS[5] = {0.1f, 2.0f, -1.0f, 1.5f, 0.3f};
const int32_t CANDIDATES[3] = {0, 3, 4};

double margin_of_logits() {
    double sum = 0.0;
    for (float z : LOGITS) sum += std::exp((double)z);
    return (std::exp(2.0) - std::exp(1.5)) / sum;
}

struct Call {  // the arguments of refocus_focus_head, valid until a test changes one
    const float* logits = LOGITS;
    int32_t n_classes = 5;
    const int32_t* candidates = nullptr;
    int32_t n_candidates = 0;
    int32_t n_focus = 2;
    float threshold = 1.0f;
    int32_t method = REFOCUS_CROSS_ENTROPY;
    int32_t focus[5] = {-1, -1, -1, -1, -1};
    float margin = -1.0f;
    float dlogits[5] = {9, 9, 9, 9, 9};
    bool no_focus = false, no_margin = false, no_dlogits = false;

    int32_t run() {
        return refocus_focus_head(logits, n_classes, candidates, n_candidates, n_focus, threshold, method,
                                  no_focus ? nullptr : focus, no_margin ? nullptr : &margin,
                                  no_dlogits ? nullptr : dlogits);
    }
};

void test_focus_head() {
    Call valid;
    CHECK_EQ(valid.run(), 1);
    CHECK(valid.focus[0] == 1 && valid.focus[1] == 3);
    CHECK_NEAR(valid.margin, margin_of_logits(), 1e-7, 0.0);
    CHECK(valid.dlogits[0] != 9.0f);  // written: the sample is uncertain
    Call certain;
    certain.threshold = 0.0f;
    CHECK_EQ(certain.run(), 0);
    CHECK(certain.focus[0] == 1 && certain.dlogits[0] == 9.0f);  // the answer, and no gradient
    Call decision_only;
    decision_only.no_dlogits = true;
    CHECK_EQ(decision_only.run(), 1);
    Call among_candidates;
    among_candidates.candidates = CANDIDATES;
    among_candidates.n_candidates = 3;
    CHECK_EQ(among_candidates.run(), 1);
    CHECK(among_candidates.focus[0] == 3 && among_candidates.focus[1] == 4);
    CHECK(among_candidates.dlogits[1] == 0.0f && among_candidates.dlogits[2] == 0.0f);  // outside K

    // each case changes one argument of the valid call
#define ARGUMENT_ERROR(change)                                                        \
    do {                                                                              \
        Call call;                                                                    \
        change;                                                                       \
        CHECK(call.run() == REFOCUS_ERROR_ARGUMENT && #change);                       \
    } while (0)
    const int32_t negative[3] = {0, -1, 4}, too_big[3] = {0, 5, 4}, six[6] = {0, 1, 2, 3, 4, 1};
    ARGUMENT_ERROR(call.logits = nullptr);
    ARGUMENT_ERROR(call.n_classes = 0);
    ARGUMENT_ERROR(call.n_classes = -1);
    ARGUMENT_ERROR(call.candidates = CANDIDATES; call.n_candidates = 0);
    ARGUMENT_ERROR(call.candidates = six; call.n_candidates = 6);  // more than the 5 classes
    ARGUMENT_ERROR(call.candidates = negative; call.n_candidates = 3);
    ARGUMENT_ERROR(call.candidates = too_big; call.n_candidates = 3);
    ARGUMENT_ERROR(call.n_focus = 1);
    ARGUMENT_ERROR(call.n_focus = 5);  // = |K|
    ARGUMENT_ERROR(call.candidates = CANDIDATES; call.n_candidates = 3; call.n_focus = 3);
    ARGUMENT_ERROR(call.threshold = -0.01f);
    ARGUMENT_ERROR(call.threshold = 1.01f);
    ARGUMENT_ERROR(call.threshold = NAN);
    ARGUMENT_ERROR(call.method = REFOCUS_IFO_WEIGHTED - 1);
    ARGUMENT_ERROR(call.method = REFOCUS_ENTROPY + 1);
    ARGUMENT_ERROR(call.no_focus = true);
    ARGUMENT_ERROR(call.no_margin = true);
#undef ARGUMENT_ERROR

    // NaN: an error inside K, ignored outside it
    const float with_nan[5] = {0.1f, 2.0f, NAN, 1.5f, 0.3f};
    Call nan_inside;
    nan_inside.logits = with_nan;
    CHECK_EQ(nan_inside.run(), REFOCUS_ERROR_NAN);
    Call nan_outside = nan_inside;
    nan_outside.candidates = CANDIDATES;
    nan_outside.n_candidates = 3;
    CHECK_EQ(nan_outside.run(), 1);
}

void test_logit_grad() {
    const int32_t focus[2] = {1, 3};
    float dz[5];
    CHECK_EQ(refocus_logit_grad(LOGITS, 5, nullptr, 0, focus, 2, REFOCUS_IFO, dz), 0);
    CHECK(dz[1] == -0.5f && dz[3] == -0.5f && dz[0] == 0.0f);

    const int32_t focus_negative[2] = {1, -1}, focus_too_big[2] = {1, 5}, negative[3] = {0, -1, 4};
    const int32_t e = REFOCUS_ERROR_ARGUMENT;
    CHECK_EQ(refocus_logit_grad(nullptr, 5, nullptr, 0, focus, 2, REFOCUS_IFO, dz), e);
    CHECK_EQ(refocus_logit_grad(LOGITS, 0, nullptr, 0, focus, 2, REFOCUS_IFO, dz), e);
    CHECK_EQ(refocus_logit_grad(LOGITS, 5, CANDIDATES, 0, focus, 2, REFOCUS_IFO, dz), e);
    CHECK_EQ(refocus_logit_grad(LOGITS, 5, negative, 3, focus, 2, REFOCUS_IFO, dz), e);
    CHECK_EQ(refocus_logit_grad(LOGITS, 5, nullptr, 0, nullptr, 2, REFOCUS_IFO, dz), e);
    CHECK_EQ(refocus_logit_grad(LOGITS, 5, nullptr, 0, focus, 2, REFOCUS_IFO, nullptr), e);
    CHECK_EQ(refocus_logit_grad(LOGITS, 5, nullptr, 0, focus, 0, REFOCUS_IFO, dz), e);
    CHECK_EQ(refocus_logit_grad(LOGITS, 5, nullptr, 0, focus, 5, REFOCUS_IFO, dz), e);  // = |K|
    CHECK_EQ(refocus_logit_grad(LOGITS, 5, CANDIDATES, 2, focus, 2, REFOCUS_IFO, dz), e);  // = |K|
    CHECK_EQ(refocus_logit_grad(LOGITS, 5, nullptr, 0, focus_negative, 2, REFOCUS_IFO, dz), e);
    CHECK_EQ(refocus_logit_grad(LOGITS, 5, nullptr, 0, focus_too_big, 2, REFOCUS_IFO, dz), e);
    CHECK_EQ(refocus_logit_grad(LOGITS, 5, nullptr, 0, focus, 2, REFOCUS_IFO_WEIGHTED - 1, dz), e);
    CHECK_EQ(refocus_logit_grad(LOGITS, 5, nullptr, 0, focus, 2, REFOCUS_ENTROPY + 1, dz), e);

    const float with_nan[5] = {0.1f, 2.0f, NAN, 1.5f, 0.3f};
    const int32_t k_focus[2] = {3, 4};
    CHECK_EQ(refocus_logit_grad(with_nan, 5, nullptr, 0, focus, 2, REFOCUS_IFO, dz), REFOCUS_ERROR_NAN);
    CHECK_EQ(refocus_logit_grad(with_nan, 5, CANDIDATES, 3, k_focus, 2, REFOCUS_IFO, dz), 0);
}

}  // namespace

int main() {
    test_focus_head();
    test_logit_grad();
    return check_summary("focus head");
}
