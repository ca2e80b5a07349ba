// batch_norm_with<Momentum> needs 0 < Momentum <= 1: the error line names the value.
// expect-error: batch_norm_with<Momentum, Epsilon>: Momentum must be in .0, 1.
// expect-error-line: momentum<1.5.*Momentum must be in
#include <hinge/hinge.hpp>

namespace hn = hinge;

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::input<4>, hn::dense<3>, hn::batch_norm_with<1.5f>, hn::relu, hn::dense<2>>;
#else
using model = hn::network<hn::input<4>, hn::dense<3>, hn::batch_norm_with<0.5f>, hn::relu, hn::dense<2>>;
#endif

static_assert(model::output_size == 2);

int main() {}
