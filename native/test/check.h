// The C tests' whole framework, llm.c style: CHECK macros that report file and line and keep going, so one
// run lists every failure, and a main() that ends with `return check_summary("name");`.
#ifndef REFOCUS_TEST_CHECK_H
#define REFOCUS_TEST_CHECK_H

#include <cmath>
#include <cstdio>

namespace check {

inline long checks = 0, failures = 0;

// Reports a failed check; past the first 30, only counts them.
inline bool report(bool ok, const char* file, int line, const char* what) {
    checks++;
    if (!ok && ++failures <= 30) std::fprintf(stderr, "%s:%d: FAILED %s\n", file, line, what);
    return ok;
}

}  // namespace check

// CHECK(cond) and CHECK_EQ(a, b) evaluate to whether they passed, for a test that cannot go on without.
#define CHECK(cond) check::report((cond), __FILE__, __LINE__, #cond)

#define CHECK_EQ(a, b)                                                                                  \
    [&](long long a_, long long b_) {                                                                   \
        char what_[256];                                                                                \
        std::snprintf(what_, sizeof what_, "%s == %s (%lld vs %lld)", #a, #b, a_, b_);                  \
        return check::report(a_ == b_, __FILE__, __LINE__, what_);                                      \
    }((long long)(a), (long long)(b))

// |got - ref| <= tol + |ref| * eps, llm.c's validate_result; NaN never passes
#define CHECK_NEAR(got, ref, tol, eps)                                                                  \
    [&](double got_, double ref_, double tol_) {                                                        \
        char what_[256];                                                                                \
        std::snprintf(what_, sizeof what_, "%s near %s (%.9g vs %.9g, tolerance %.3g)", #got, #ref, got_, \
                      ref_, tol_);                                                                      \
        return check::report(std::fabs(got_ - ref_) <= tol_, __FILE__, __LINE__, what_);                \
    }((got), (ref), (tol) + std::fabs((double)(ref)) * (eps))

// The exit status of a test program: 0 when every check passed.
inline int check_summary(const char* name) {
    std::printf("%s: %ld checks, %ld failed\n", name, check::checks, check::failures);
    return check::failures == 0 ? 0 : 1;
}

#endif  // REFOCUS_TEST_CHECK_H
