// Feeding a sample of the wrong size to inference is rejected at compile time: the span's extent
// is part of the call's type.
// expect-error: (no matching|no match for call|could not convert|no viable)
#include <array>

#include <hinge/hinge.hpp>

namespace hn = hinge;

using model = hn::network<hn::input<4>, hn::dense<3>>;

int main() {
    hn::parameters<model> p;
    hn::inference<model> run;
#ifdef HINGE_EXPECT_FAIL
    const std::array<float, 5> x{};
#else
    const std::array<float, 4> x{};
#endif
    return static_cast<int>(run(p, x)[0]);
}
