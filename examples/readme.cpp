#include <array>
#include <cstdio>
#include <memory>

#include <hinge/hinge.hpp>

namespace hn = hinge;

// A model is a type: shapes are checked, buffers planned and kernels fused at compile time.
using mlp = hn::network<hn::input<4>,
                        hn::dense<16>, hn::relu,
                        hn::dense<16>, hn::relu,
                        hn::dense<3>>;
static_assert(mlp::parameter_count == 4 * 16 + 16 + 16 * 16 + 16 + 16 * 3 + 3);

int main() {
    auto params = std::make_unique<hn::parameters<mlp>>();  // the caller owns all storage
    hn::init::he_normal(*params, /*seed=*/42);

    hn::trainer<mlp, hn::loss::softmax_cross_entropy, hn::optim::sgd, hn::batch<2>> train{*params, {0.05f}};
    const std::array<float, 8> x{1, 0, 0, 0, /* second sample */ 0, 1, 0, 0};
    const std::array<std::uint32_t, 2> labels{0, 2};
    for (int step = 0; step < 100; ++step) train.step(x, labels);  // no allocation in here

    hn::inference<mlp> run;
    std::span<const float, 3> scores = run(*params, std::span<const float, 4>(x.data(), 4));
    std::printf("scores of sample 0: %.2f %.2f %.2f\n", scores[0], scores[1], scores[2]);
}
