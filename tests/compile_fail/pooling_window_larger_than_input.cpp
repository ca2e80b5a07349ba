// A pooling window larger than the arriving image: the error names the stage, the image and the
// window.
// expect-error: pooling: the window .pooling_window positions per side. is larger than the arriving value
// expect-error-line: stage_index<1>, hinge::detail::window_pool<hinge::pooling_kind::max, 3, 8>, hinge::diagnostic::arriving_shape<hinge::shape<4, 4, 2> ?>, hinge::diagnostic::pooling_window<8>.*is larger than the arriving value
#include <hinge/hinge.hpp>

namespace hn = hinge;

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::input<4, 4, 1>, hn::conv2d<2, 3>, hn::relu, hn::max_pool2d<8>, hn::flatten, hn::dense<2>>;
#else
using model = hn::network<hn::input<4, 4, 1>, hn::conv2d<2, 3>, hn::relu, hn::max_pool2d<2>, hn::flatten, hn::dense<2>>;
#endif

static_assert(model::output_size == 2);

int main() {}
