// The first layer reads the raw input, so it must be dense, a convolution or a recurrent layer: a
// flatten there is one error naming it, also where the network is trained (the passes skip it).
// expect-error: the first layer, and any layer that reads the network input, must be dense, a convolution or a recurrent layer
// expect-error-line: stage_index<0>, hinge::flatten, hinge::diagnostic::arriving_shape<hinge::shape<4, 4, 2> ?>.*a flat input<N> instead of flatten
#include <hinge/hinge.hpp>

namespace hn = hinge;

#ifdef HINGE_EXPECT_FAIL
using model = hn::network<hn::input<4, 4, 2>, hn::flatten, hn::dense<3>>;
#else
using model = hn::network<hn::input<32>, hn::dense<3>>;
#endif

int main() {
    auto params = std::make_unique<hn::parameters<model>>();
    hn::trainer<model, hn::loss::mean_squared_error, hn::optim::sgd, hn::batch<4>> train{*params};
    float x[4 * 32] = {}, t[4 * 3] = {};
    hn::inference<model> run;
    return int(train.step(x, t) + run(*params, std::span<const float, 32>(x, 32))[0]);
}
