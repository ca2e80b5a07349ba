// A block that declares its input width (dense<Width, In>) placed after a layer of another width.
// expect-error: dense<Width, In>: the declared input width In must equal the width arriving
// expect-error-line: stage_index<1>, hinge::dense<32, 64>, hinge::diagnostic::declared_input_width<64>, hinge::diagnostic::arriving_width<48>.*the declared input width In must equal
#include <hinge/hinge.hpp>

namespace hn = hinge;

using encoder = hn::sequential<hn::dense<32, 64>, hn::relu>;  // written for 64 inputs

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::input<784>, hn::dense<48>, hn::relu, encoder>;  // 48 arrive
#else
using model = hn::network<hn::input<784>, hn::dense<64>, hn::relu, encoder>;
#endif

static_assert(model::output_size == 32);

int main() {}
