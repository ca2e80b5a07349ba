// A residual block whose output shape differs from its input: the error shows both shapes.
// expect-error: the block must give back the shape it receives
// expect-error-line: stage_index<3>, hinge::diagnostic::block_input_shape<hinge::shape<8, 8, 16> ?>, hinge::diagnostic::block_output_shape<hinge::shape<8, 8, 32> ?>.*the block must give back
#include <hinge/hinge.hpp>

namespace hn = hinge;

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::input<8, 8, 16>, hn::conv2d<16, 3>, hn::relu,
                          hn::residual<hn::conv2d<32, 3>, hn::relu, hn::conv2d<32, 3>>, hn::relu,
                          hn::global_avg_pool, hn::dense<10>>;
#else
using model = hn::network<hn::input<8, 8, 16>, hn::conv2d<16, 3>, hn::relu,
                          hn::residual<hn::conv2d<16, 3>, hn::relu, hn::conv2d<16, 3>>, hn::relu,
                          hn::global_avg_pool, hn::dense<10>>;
#endif

static_assert(model::output_size == 10);

int main() {}
