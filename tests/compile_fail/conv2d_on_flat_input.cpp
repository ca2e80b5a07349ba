// conv2d placed after a layer whose output is flat: the error names conv2d and the shape.
// expect-error: is not an image <H, W, C>, because conv2d slides a 2-D window; use conv1d for a sequence
// expect-error-line: stage_index<1>, hinge::conv2d<8, 3, 1, hinge::padding::same, 1(, 1)?>, hinge::diagnostic::arriving_shape<hinge::shape<64> ?>, hinge::diagnostic::arriving_rank<1>.*is not an image
#include <hinge/hinge.hpp>

namespace hn = hinge;

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::input<784>, hn::dense<64>, hn::relu, hn::conv2d<8, 3>>;
#else
using model = hn::network<hn::input<28, 28, 1>, hn::conv2d<8, 3>, hn::relu, hn::flatten, hn::dense<10>>;
#endif

static_assert(model::output_size > 0);

int main() {}
