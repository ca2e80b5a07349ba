// A causal convolution has one output per input step: stride 1 only.
// expect-error: a causal convolution must have stride 1
// expect-error-line: stage_index<0>, hinge::conv1d<4, 3, 2, hinge::padding::causal, 1(, 1)?>, hinge::diagnostic::stride<2>.*padding::valid for a strided convolution
#include <hinge/hinge.hpp>

namespace hn = hinge;

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::input<32, 1>, hn::conv1d<4, 3, 2, hn::padding::causal>, hn::relu, hn::dense<1>>;
#else
using model = hn::network<hn::input<32, 1>, hn::conv1d<4, 3, 1, hn::padding::causal>, hn::relu, hn::dense<1>>;
#endif

static_assert(model::output_channels == 1);

int main() {}
