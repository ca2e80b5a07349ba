// dense directly after a convolution: the image must be flattened (or pooled) first.
// expect-error: dense<Width>: the arriving value is an image
// expect-error-line: stage_index<1>, hinge::dense<10, 0>, hinge::diagnostic::arriving_shape<hinge::shape<8, 8, 4> ?>.*put flatten or global_avg_pool before dense
#include <hinge/hinge.hpp>

namespace hn = hinge;

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::input<8, 8, 3>, hn::conv2d<4, 3>, hn::relu, hn::dense<10>>;
#else
using model = hn::network<hn::input<8, 8, 3>, hn::conv2d<4, 3>, hn::relu, hn::flatten, hn::dense<10>>;
#endif

static_assert(model::output_size == 10);

int main() {}
