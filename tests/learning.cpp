// What a ReLU network can represent and learn, stated as tests.
#include <array>
#include <cmath>
#include <cstdint>
#include <memory>

#include <boost/test/unit_test.hpp>

#include <hinge/hinge.hpp>

namespace hn = hinge;

BOOST_AUTO_TEST_SUITE(learning)

// |x| = relu(x) + relu(-x): a two-neuron network with hand-set weights is |x| exactly, on the
// batch-1 path and on the batched path alike.
using absolute_value_net = hn::network<hn::input<1>, hn::dense<2>, hn::relu, hn::dense<1>>;

static hn::parameters<absolute_value_net> absolute_value_parameters() {
    hn::parameters<absolute_value_net> p{};
    p.layer<0>().weight(0, 0) = 1.f;
    p.layer<0>().weight(1, 0) = -1.f;
    p.layer<1>().weight(0, 0) = 1.f;
    p.layer<1>().weight(0, 1) = 1.f;
    return p;
}

BOOST_AUTO_TEST_CASE(two_relus_compute_absolute_value_exactly_on_a_grid) {
    const auto p = absolute_value_parameters();
    hn::inference<absolute_value_net> run;
    int checked = 0;
    for (int k = -200; k <= 200; ++k) {
        const std::array<float, 1> x{static_cast<float>(k) * 0.037f};
        const float y = run(p, x)[0];
        BOOST_TEST(y == std::fabs(x[0]));  // exact: one of the two terms is 0, the other |x|
        ++checked;
    }
    BOOST_TEST(checked == 401);

    constexpr std::size_t rows = 37;  // not a multiple of the kernel's row block
    auto ws = std::make_unique<hn::workspace<absolute_value_net, rows, float, false>>();
    std::array<float, rows> xs{};
    for (std::size_t r = 0; r < rows; ++r) xs[r] = (static_cast<float>(r) - 18.f) * 0.25f;
    hn::forward(p, *ws, xs.data());
    for (std::size_t r = 0; r < rows; ++r) BOOST_TEST(ws->output(r)[0] == std::fabs(xs[r]));
}

// XOR is not linearly separable: an MLP with ReLU learns it, the same layers without the
// activation (an affine function, however deep) cannot do better than the best affine fit,
// which predicts 0.5 everywhere (MSE 0.25).
constexpr std::array<float, 8> xor_inputs{0, 0, 0, 1, 1, 0, 1, 1};
constexpr std::array<float, 4> xor_targets{0, 1, 1, 0};

template <class Net>
float train_xor(hn::parameters<Net>& p, int steps, float learning_rate) {
    hn::trainer<Net, hn::loss::mean_squared_error, hn::optim::sgd, hn::batch<4>> train(p, {learning_rate});
    float loss = 0;
    for (int s = 0; s < steps; ++s) loss = train.step(xor_inputs, xor_targets);
    return loss;
}

template <class Net>
int xor_correct(const hn::parameters<Net>& p) {
    hn::inference<Net> run;
    int correct = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        const float y = run(p, std::span<const float, 2>(xor_inputs.data() + 2 * i, 2))[0];
        correct += (y > 0.5f) == (xor_targets[i] > 0.5f);
    }
    return correct;
}

BOOST_AUTO_TEST_CASE(relu_mlp_learns_xor_and_the_same_layers_without_activation_cannot) {
    using relu_net = hn::network<hn::input<2>, hn::dense<8>, hn::relu, hn::dense<8>, hn::relu, hn::dense<1>>;
    using linear_net = hn::network<hn::input<2>, hn::dense<8>, hn::dense<8>, hn::dense<1>>;

    // Several seeds, so the claim is about the architecture, not one lucky initialisation.
    for (std::uint64_t seed : {1u, 2u, 3u, 4u, 5u}) {
        hn::parameters<relu_net> relu_params;
        hn::init::he_normal(relu_params, seed);
        const float relu_loss = train_xor(relu_params, 3000, 0.05f);
        BOOST_TEST_CONTEXT("seed " << seed) {
            BOOST_TEST(xor_correct(relu_params) == 4);
            BOOST_TEST(relu_loss < 1e-3f);
        }

        hn::parameters<linear_net> linear_params;
        hn::init::he_normal(linear_params, seed);
        const float linear_loss = train_xor(linear_params, 3000, 0.05f);
        BOOST_TEST_CONTEXT("seed " << seed) {
            BOOST_TEST(xor_correct(linear_params) < 4);
            BOOST_TEST(linear_loss > 0.24f);  // the best affine fit has MSE exactly 0.25
        }
    }
}

BOOST_AUTO_TEST_CASE(training_steps_are_deterministic_for_a_seed) {
    using net = hn::network<hn::input<2>, hn::dense<8>, hn::relu, hn::dense<1>>;
    hn::parameters<net> a, b;
    hn::init::he_normal(a, 7);
    hn::init::he_normal(b, 7);
    train_xor(a, 100, 0.05f);
    train_xor(b, 100, 0.05f);
    BOOST_TEST((a == b));
}

BOOST_AUTO_TEST_SUITE_END()
