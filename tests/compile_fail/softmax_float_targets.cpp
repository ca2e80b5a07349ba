// One-hot float targets into softmax_cross_entropy, which takes class labels.
// expect-error: softmax_cross_entropy takes std::uint32_t class labels, one per sample, not one-hot floats
// expect-error-line: given_type<float>.*softmax_cross_entropy takes std::uint32_t class labels
// expect-error-line: rejected<hinge::diagnostic::given_type<float>, hinge::diagnostic::given_size<6>
#include <array>
#include <cstdint>

#include <hinge/hinge.hpp>

namespace hn = hinge;

using model = hn::network<hn::input<4>, hn::dense<3>>;

int main() {
    auto p = std::make_unique<hn::parameters<model>>();
    hn::trainer<model, hn::loss::softmax_cross_entropy, hn::optim::sgd, hn::batch<2>> train{*p, {0.05f}};
    const std::array<float, 8> x{};
#ifdef HINGE_EXPECT_FAIL
    const std::array<float, 6> targets{1, 0, 0, 0, 0, 1};  // one-hot
#else
    const std::array<std::uint32_t, 2> targets{0, 2};
#endif
    return static_cast<int>(train.step(x, targets));
}
