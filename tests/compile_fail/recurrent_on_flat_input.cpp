// A recurrent layer reads a sequence <L, C>, one step at a time.
// expect-error: is not a sequence <L, C>, because a recurrent layer reads one step at a time
// expect-error-line: stage_index<1>, hinge::lstm<4, hinge::returns::all_steps>, hinge::diagnostic::arriving_shape<hinge::shape<4> ?>, hinge::diagnostic::arriving_rank<1>.*is not a sequence
#include <hinge/hinge.hpp>

namespace hn = hinge;

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::input<16, 2>, hn::gru<4, hn::returns::last_step>, hn::lstm<4>, hn::dense<1>>;
#else
using model = hn::network<hn::input<16, 2>, hn::gru<4>, hn::lstm<4, hn::returns::last_step>, hn::dense<1>>;
#endif

static_assert(model::output_size == 1);

int main() {}
