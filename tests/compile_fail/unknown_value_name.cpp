// A name that no tap gave: the error names it.
// expect-error: no value has this name here
// expect-error-line: value_named<hinge::value_name<4>.*skp.*no value has this name
#include <hinge/hinge.hpp>

namespace hn = hinge;

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::input<16, 1>, hn::conv1d<4, 3, 1, hn::padding::causal>, hn::tanh, hn::accumulate<"skip">,
                          hn::conv1d<4, 3, 1, hn::padding::causal>, hn::tanh, hn::accumulate<"skip">, hn::from<"skp">,
                          hn::conv1d<1, 1>>;
#else
using model = hn::network<hn::input<16, 1>, hn::conv1d<4, 3, 1, hn::padding::causal>, hn::tanh, hn::accumulate<"skip">,
                          hn::conv1d<4, 3, 1, hn::padding::causal>, hn::tanh, hn::accumulate<"skip">, hn::from<"skip">,
                          hn::conv1d<1, 1>>;
#endif

static_assert(model::output_size == 16);

int main() {}
