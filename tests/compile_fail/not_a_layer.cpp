// A type that is not a layer in the layer list.
// expect-error: every argument after input<...> must be a layer
// expect-error-line: not_a_layer<not_a_layer>.*must be a layer
#include <hinge/hinge.hpp>

namespace hn = hinge;

struct not_a_layer {};

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::input<4>, hn::dense<3>, not_a_layer>;
#else
using model = hn::network<hn::input<4>, hn::dense<3>, hn::relu>;
#endif

static_assert(model::output_size == 3);

int main() {}
