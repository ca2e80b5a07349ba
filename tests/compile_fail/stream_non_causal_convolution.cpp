// stream<Net> runs one step per call: a convolution that looks ahead (padding::same) cannot.
// expect-error: stream<Net>: this stage cannot run one step at a time
// expect-error-line: stage_index<0>, hinge::conv1d<8, 3, 1, hinge::padding::same, 2(, 1)?>, hinge::diagnostic::arriving_shape<hinge::shape<64, 1> ?>.*padding::causal
#include <hinge/hinge.hpp>

namespace hn = hinge;

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::input<64, 1>, hn::conv1d<8, 3, 1, hn::padding::same, 2>, hn::tanh, hn::dense<1>>;
#else
using model = hn::network<hn::input<64, 1>, hn::conv1d<8, 3, 1, hn::padding::causal, 2>, hn::tanh, hn::dense<1>>;
#endif

int main() {
    hn::parameters<model> params;
    hn::stream<model> effect;
    const float x = 0.5f;
    return effect(params, std::span<const float, 1>(&x, 1))[0] > 1e9f;
}
