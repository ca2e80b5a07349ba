// Each stage fuses exactly one activation.
// expect-error: only one element-wise activation may follow an affine layer
// expect-error-line: stage_index<0>, hinge::dense<3, 0>, hinge::diagnostic::activation<hinge::relu>, hinge::diagnostic::second_activation<hinge::relu>.*only one element-wise activation
#include <hinge/hinge.hpp>

namespace hn = hinge;

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::input<4>, hn::dense<3>, hn::relu, hn::relu>;
#else
using model = hn::network<hn::input<4>, hn::dense<3>, hn::relu>;
#endif

static_assert(model::output_size == 3);

int main() {}
