// A built-in type in the layer list: one hinge error, no cascade from the planner's machinery.
// expect-error: every argument after input<...> must be a layer
// expect-error-line: not_a_layer<int>.*must be a layer
#include <hinge/hinge.hpp>

namespace hn = hinge;

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::input<4>, hn::dense<3>, int>;
#else
using model = hn::network<hn::input<4>, hn::dense<3>, hn::relu>;
#endif

static_assert(model::output_size == 3);

int main() {}
