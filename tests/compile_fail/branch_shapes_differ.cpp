// An addition of two values of different shapes: the error names the stage, the merge and both shapes.
// expect-error: both values must have the same shape
// expect-error-line: stage_index<4>, hinge::add<.*current_shape<hinge::shape<16, 8> ?>, hinge::diagnostic::named_shape<hinge::shape<16, 4> ?>.*both values must have the same shape
#include <hinge/hinge.hpp>

namespace hn = hinge;

template <std::size_t Residual>
using model = hn::network<hn::input<16, 1>, hn::conv1d<4, 1>, hn::tap<"in">,
                          hn::conv1d<8, 3, 1, hn::padding::causal, 2>, hn::gated<hn::tanh, hn::sigmoid>,
                          hn::conv1d<Residual, 1>, hn::add<"in">, hn::conv1d<1, 1>>;

#ifdef HINGE_EXPECT_FAIL
static_assert(model<8>::output_size == 16);
#else
static_assert(model<4>::output_size == 16);
#endif

int main() {}
