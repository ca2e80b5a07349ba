// leaky_relu<Slope> needs 0 <= Slope < 1: f(z) = max(Slope z, z) must keep the sign of z, or the
// derivative cannot be taken from the output.
// expect-error: leaky_relu<Slope>: Slope must satisfy 0 <= Slope < 1
// expect-error-line: slope<1.5.*Slope must satisfy 0 <= Slope < 1
#include <hinge/hinge.hpp>

namespace hn = hinge;

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::input<4>, hn::dense<3>, hn::leaky_relu<1.5f>>;
#else
using model = hn::network<hn::input<4>, hn::dense<3>, hn::leaky_relu<0.5f>>;
#endif

static_assert(model::output_size == 3);
static_assert(model::stage<0>::activation::forward(-2.0f) < 0.0f);

int main() {}
