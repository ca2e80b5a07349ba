// A padding::valid kernel larger than the arriving image: the error names the stage, the layer,
// the image and the kernel's span.
// expect-error: the kernel .kernel_span positions, with the dilation. is larger than the arriving image
// expect-error-line: stage_index<1>, hinge::conv2d<8, 5, 1, hinge::padding::valid, 1(, 1)?>, hinge::diagnostic::arriving_shape<hinge::shape<4, 4, 4> ?>, hinge::diagnostic::kernel_span<5>.*is larger than the arriving image
#include <hinge/hinge.hpp>

namespace hn = hinge;

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::input<8, 8, 1>, hn::conv2d<4, 5, 1, hn::padding::valid>, hn::relu,
                          hn::conv2d<8, 5, 1, hn::padding::valid>, hn::flatten, hn::dense<2>>;
#else
using model = hn::network<hn::input<8, 8, 1>, hn::conv2d<4, 5, 1, hn::padding::valid>, hn::relu,
                          hn::conv2d<8, 3, 1, hn::padding::valid>, hn::flatten, hn::dense<2>>;
#endif

static_assert(model::output_size == 2);

int main() {}
