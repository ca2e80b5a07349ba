// Built by quickstart.sh against an installed hinge (find_package(hinge CONFIG REQUIRED)):
// proves that the installed headers and the exported target are complete, by training a
// network and checking that it learned something.
#include <array>
#include <cstdio>

#include <hinge/hinge.hpp>

namespace hn = hinge;
using net = hn::network<hn::input<1>, hn::dense<8>, hn::relu, hn::dense<1>>;

int main() {
    hn::parameters<net> params;
    hn::init::he_normal(params, 1);
    hn::trainer<net, hn::loss::mean_squared_error, hn::optim::sgd, hn::batch<4>> train(params, {0.05f});
    const std::array<float, 4> x{-1.f, -0.5f, 0.5f, 1.f};
    const std::array<float, 4> t{1.f, 0.5f, 0.5f, 1.f};  // |x|
    const float first = train.step(x, t);
    float last = first;
    for (int i = 0; i < 500; ++i) last = train.step(x, t);
    std::printf("consumer: loss %.5f -> %.5f\n", static_cast<double>(first), static_cast<double>(last));
    return last < first * 0.01f ? 0 : 1;
}
