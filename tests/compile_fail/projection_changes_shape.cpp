// residual_with<Projection, Block...> whose projection does not produce the block's output shape:
// the error names the stage, the projection and both shapes.
// expect-error: the projection must produce the output shape of the block
// expect-error-line: stage_index<3>, hinge::dense<5, 0>, hinge::diagnostic::projected_shape<hinge::shape<5> ?>, hinge::diagnostic::block_output_shape<hinge::shape<4> ?>.*the projection must produce
#include <hinge/hinge.hpp>

namespace hn = hinge;

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::input<3>, hn::dense<6>, hn::relu,
                          hn::residual_with<hn::dense<5>, hn::dense<6>, hn::tanh, hn::dense<4>>, hn::dense<2>>;
#else
using model = hn::network<hn::input<3>, hn::dense<6>, hn::relu,
                          hn::residual_with<hn::dense<4>, hn::dense<6>, hn::tanh, hn::dense<4>>, hn::dense<2>>;
#endif

static_assert(model::output_size == 2);

int main() {}
