// Feeding a sample of the wrong size to inference is rejected at compile time, with a hinge message
// naming both counts (a constrained catch-all overload), not an overload failure.
// expect-error: inference<Net>: the input must hold exactly as many values as the network input
// expect-error-line: given_size<5>, hinge::diagnostic::expected_size<4>.*inference<Net>
#include <array>
#include <span>

#include <hinge/hinge.hpp>

namespace hn = hinge;

using model = hn::network<hn::input<4>, hn::dense<3>>;

int main() {
    hn::parameters<model> p;
    hn::inference<model> run;
#ifdef HINGE_EXPECT_FAIL
    const std::array<float, 5> x{};
    const std::span<const float, 5> input(x);  // the case of issue 18: a span, not an overload failure
#else
    const std::array<float, 4> x{};
    const std::span<const float, 4> input(x);
#endif
    return static_cast<int>(run(p, input)[0]);
}
