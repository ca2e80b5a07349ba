// Every shape is inferred from input<N>, so a network must start with it.
// expect-error: the first argument must be input<N>
#include <hinge/hinge.hpp>

namespace hn = hinge;

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::relu, hn::dense<3>>;
#else
using model = hn::network<hn::input<4>, hn::dense<3>>;
#endif

static_assert(model::output_size == 3);

int main() {}
