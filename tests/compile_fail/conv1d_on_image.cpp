// conv1d on an image: the error names the stage, the layer and the arriving shape and rank.
// expect-error: is not a sequence <L, C>, because conv1d slides a 1-D window; use conv2d for an image
// expect-error-line: stage_index<0>, hinge::conv1d<4, 3, 1, hinge::padding::same, 1(, 1)?>, hinge::diagnostic::arriving_shape<hinge::shape<8, 8, 3> ?>, hinge::diagnostic::arriving_rank<3>.*is not a sequence
#include <hinge/hinge.hpp>

namespace hn = hinge;

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::input<8, 8, 3>, hn::conv1d<4, 3>, hn::relu, hn::flatten, hn::dense<2>>;
#else
using model = hn::network<hn::input<8, 3>, hn::conv1d<4, 3>, hn::relu, hn::flatten, hn::dense<2>>;
#endif

static_assert(model::output_size == 2);

int main() {}
