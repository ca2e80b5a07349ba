// A recurrent layer's output is its hidden state: no activation can be fused after it.
// expect-error: the output of this layer is its hidden state
// expect-error-line: stage_index<0>, hinge::gru<8, hinge::returns::all_steps>, hinge::diagnostic::activation<hinge::relu>.*put a layer between them
#include <hinge/hinge.hpp>

namespace hn = hinge;

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::input<16, 1>, hn::gru<8>, hn::relu, hn::dense<1>>;
#else
using model = hn::network<hn::input<16, 1>, hn::gru<8>, hn::dense<8>, hn::relu, hn::dense<1>>;
#endif

static_assert(model::output_channels == 1);

int main() {}
