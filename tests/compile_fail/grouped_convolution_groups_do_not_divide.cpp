// groups = G splits the input channels and the filters into G groups (PyTorch's groups): both must
// be multiples of G. Here 6 channels arrive at a convolution of 12 filters in 4 groups.
// expect-error: the arriving channels and Filters must both be multiples of Groups
// expect-error-line: stage_index<1>, hinge::conv2d<12, 3, 1, hinge::padding::same, 1, 4>, hinge::diagnostic::input_channels<6>, hinge::diagnostic::filters<12>, hinge::diagnostic::groups<4>.*multiples of Groups
#include <hinge/hinge.hpp>

namespace hn = hinge;

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::input<8, 8, 3>, hn::conv2d<6, 3>, hn::relu, hn::conv2d<12, 3, 1, hn::padding::same, 1, 4>,
                          hn::relu, hn::global_avg_pool, hn::dense<2>>;
#else
using model = hn::network<hn::input<8, 8, 3>, hn::conv2d<6, 3>, hn::relu, hn::conv2d<12, 3, 1, hn::padding::same, 1, 3>,
                          hn::relu, hn::global_avg_pool, hn::dense<2>>;
#endif

static_assert(model::output_channels == 2);

int main() {}
