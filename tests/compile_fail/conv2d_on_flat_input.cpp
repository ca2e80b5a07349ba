// conv2d placed after a layer whose output is flat: the error names conv2d and the shape.
// expect-error: is not an image <H, W, C>; use conv1d for a sequence
#include <hinge/hinge.hpp>

namespace hn = hinge;

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::input<784>, hn::dense<64>, hn::relu, hn::conv2d<8, 3>>;
#else
using model = hn::network<hn::input<28, 28, 1>, hn::conv2d<8, 3>, hn::relu, hn::flatten, hn::dense<10>>;
#endif

static_assert(model::output_size > 0);

int main() {}
