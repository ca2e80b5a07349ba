// A branch whose output nobody reads: the error names the stage.
// expect-error: the output of this stage is never read
// expect-error-line: stage_index<1>, hinge::dense<3.*never read
#include <hinge/hinge.hpp>

namespace hn = hinge;

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::input<4>, hn::dense<8>, hn::relu, hn::tap<"h">, hn::dense<3>, hn::from<"h">, hn::dense<2>>;
#else
using model = hn::network<hn::input<4>, hn::dense<8>, hn::relu, hn::tap<"h">, hn::dense<8>, hn::add<"h">, hn::dense<2>>;
#endif

static_assert(model::output_size == 2);

int main() {}
