// An activation with no affine layer before it has nothing to be fused into.
// expect-error: an element-wise activation must follow an affine layer
// expect-error-line: stage_index<0>, hinge::diagnostic::activation<hinge::relu>.*must follow an affine layer
#include <hinge/hinge.hpp>

namespace hn = hinge;

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::input<4>, hn::relu, hn::dense<3>>;
#else
using model = hn::network<hn::input<4>, hn::dense<3>, hn::relu>;
#endif

static_assert(model::output_size == 3);

int main() {}
