// The ideas that make ReLU networks train, each stated as a test that fails if the idea, or its
// implementation, is wrong. Fixed seeds; every tolerance is stated where it is used.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <vector>

#include <boost/test/unit_test.hpp>

#include <hinge/activations/gelu.hpp>
#include <hinge/activations/hard_swish.hpp>
#include <hinge/activations/leaky_relu.hpp>
#include <hinge/activations/sigmoid.hpp>
#include <hinge/activations/silu.hpp>
#include <hinge/hinge.hpp>
#include <hinge/init/mean_shift.hpp>

#include "support/gradient_check.hpp"

namespace hn = hinge;

namespace {

std::vector<double> normal_samples(std::size_t n, std::uint64_t seed) {
    hn::init::random_generator random(seed);
    std::vector<double> xs(n);
    for (double& x : xs) x = random.normal();
    return xs;
}

// Fills every weight with N(0, deviation^2) and every bias with 0.
template <class Net, class T>
void normal_weights(hn::parameters<Net, T>& p, double deviation, std::uint64_t seed) {
    hn::init::random_generator random(seed);
    p.fill_zero();
    hn::for_each_index<Net::stage_count>([&](auto index) {
        auto view = p.template layer<decltype(index)::value>();
        for (std::size_t o = 0; o < view.output_width; ++o)
            for (std::size_t i = 0; i < view.input_width; ++i) view.weight(o, i) = static_cast<T>(deviation * random.normal());
    });
}

// Mean over units of the second moment of stage I's output on a batch.
template <class Net, std::size_t Batch, class T, std::size_t I>
double output_second_moment(const hn::workspace<Net, Batch, T, false>& ws) {
    constexpr std::size_t width = hn::layout<Net, T>::stages[I].padded_output;
    double sum = 0;
    for (std::size_t r = 0; r < Batch; ++r)
        for (std::size_t j = 0; j < Net::template stage<I>::output_width; ++j) {
            const double y = ws.template activation<I>()[r * width + j];
            sum += y * y;
        }
    return sum / static_cast<double>(Batch * Net::template stage<I>::output_width);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(relu_family)

// ---- gradients of the new stage kinds --------------------------------------------------------

template <class Net, std::size_t Batch>
void expect_gradients_match_finite_differences(std::size_t rows, std::uint64_t seed) {
    auto p = std::make_unique<hn::parameters<Net, double>>();
    hinge_test::fill_random(*p, seed);
    const std::vector<double> x = normal_samples(Batch * Net::input_size, seed + 1);
    // Every parameter and input coordinate of the first `rows` samples, by the suite's checker
    // (support/gradient_check.hpp: its tolerance; at most 1 in 10 coordinates next to a kink).
    hinge_test::check_gradients<Net, Batch>(*p, x.data(), {.rows = rows, .input = true});
}

BOOST_AUTO_TEST_CASE(prelu_gradients_including_the_slope_match_finite_differences) {
    expect_gradients_match_finite_differences<hn::network<hn::input<5>, hn::dense<7>, hn::prelu, hn::dense<3>, hn::prelu>, 4>(3, 11);
}

BOOST_AUTO_TEST_CASE(noisy_relu_gradients_match_finite_differences_for_fixed_noise) {
    expect_gradients_match_finite_differences<hn::network<hn::input<5>, hn::dense<19>, hn::noisy_relu<0.5f>, hn::dense<3>>, 4>(4, 12);
}

BOOST_AUTO_TEST_CASE(batch_norm_gradients_in_training_mode_match_finite_differences) {
    expect_gradients_match_finite_differences<hn::network<hn::input<5>, hn::dense<7>, hn::batch_norm, hn::relu, hn::dense<3>>, 6>(6, 13);
    expect_gradients_match_finite_differences<
        hn::network<hn::input<4>, hn::dense<17>, hn::batch_norm, hn::prelu, hn::dense<9>, hn::batch_norm>, 8>(5, 14);
    expect_gradients_match_finite_differences<
        hn::network<hn::input<3>, hn::dense<6>, hn::relu, hn::dense<5>, hn::batch_norm, hn::leaky_relu<0.1f>, hn::dense<2>>, 4>(4, 15);
}

BOOST_AUTO_TEST_CASE(activations_whose_derivative_needs_z_keep_it_and_match_finite_differences) {
    expect_gradients_match_finite_differences<hn::network<hn::input<4>, hn::dense<9>, hn::gelu, hn::dense<3>, hn::silu>, 4>(4, 16);
    expect_gradients_match_finite_differences<
        hn::network<hn::input<4>, hn::dense<9>, hn::gelu_tanh, hn::dense<5>, hn::hard_swish, hn::dense<2>>, 4>(3, 17);
    expect_gradients_match_finite_differences<
        hn::network<hn::input<4>, hn::dense<9>, hn::batch_norm, hn::silu, hn::dense<2>>, 6>(6, 18);
}

// ---- linear collapse -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_stack_of_dense_layers_without_activations_is_one_dense_layer) {
    using stack = hn::network<hn::input<6>, hn::dense<9>, hn::dense<7>, hn::dense<4>>;
    using single = hn::network<hn::input<6>, hn::dense<4>>;
    auto p = std::make_unique<hn::parameters<stack, double>>();
    hinge_test::fill_random(*p, 21);
    // Fold by hand: W = W3 W2 W1, b = W3 (W2 b1 + b2) + b3.
    auto q = std::make_unique<hn::parameters<single, double>>();
    auto l1 = p->layer<0>();
    auto l2 = p->layer<1>();
    auto l3 = p->layer<2>();
    for (std::size_t o = 0; o < 4; ++o) {
        double b = l3.bias(o);
        for (std::size_t m = 0; m < 7; ++m) {
            double inner = l2.bias(m);
            for (std::size_t k = 0; k < 9; ++k) inner += l2.weight(m, k) * l1.bias(k);
            b += l3.weight(o, m) * inner;
        }
        q->layer<0>().bias(o) = b;
        for (std::size_t i = 0; i < 6; ++i) {
            double w = 0;
            for (std::size_t m = 0; m < 7; ++m)
                for (std::size_t k = 0; k < 9; ++k) w += l3.weight(o, m) * l2.weight(m, k) * l1.weight(k, i);
            q->layer<0>().weight(o, i) = w;
        }
    }
    hn::inference<stack, double> deep;
    hn::inference<single, double> shallow;
    double worst = 0;
    const std::vector<double> xs = normal_samples(6 * 200, 22);
    for (std::size_t s = 0; s < 200; ++s) {
        const std::span<const double, 6> x(xs.data() + 6 * s, 6);
        const auto a = deep(*p, x);
        const std::array<double, 4> expected{a[0], a[1], a[2], a[3]};
        const auto b = shallow(*q, x);
        for (std::size_t o = 0; o < 4; ++o) worst = std::max(worst, std::fabs(expected[o] - b[o]));
    }
    BOOST_TEST(worst < 1e-12);  // same function; only the order of rounding differs
}

// ---- vanishing gradients ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(sigmoid_derivative_never_exceeds_a_quarter) {
    double largest = 0;
    for (int k = -40000; k <= 40000; ++k) {
        const double z = k * 0.0005;
        largest = std::max(largest, hn::sigmoid::derivative(hn::sigmoid::forward(z)));
    }
    BOOST_TEST(largest <= 0.25);
    BOOST_TEST(largest == 0.25, boost::test_tools::tolerance(1e-12));  // reached at z = 0
}

template <class Act>
using deep_mlp = hn::network<hn::input<64>, hn::repeat<19, hn::sequential<hn::dense<64>, Act>>, hn::dense<1>>;

// Ratio of the gradient norm reaching the first layer's weights to the last layer's.
template <class Net>
double first_to_last_gradient_ratio(hn::parameters<Net, double>& p) {
    constexpr std::size_t batch = 32;
    auto ws = std::make_unique<hn::workspace<Net, batch, double>>();
    auto g = std::make_unique<hn::gradients<Net, double>>();
    const std::vector<double> x = normal_samples(batch * Net::input_size, 31);
    hn::train_forward(p, *ws, x.data());
    hn::seed_output_gradient(p, *ws, *g, batch, [](std::size_t, std::size_t) { return 1.0; });
    hn::backward(p, *ws, x.data(), *g);
    auto norm = [&](auto view) {
        double sum = 0;
        for (std::size_t o = 0; o < view.output_width; ++o)
            for (std::size_t i = 0; i < view.input_width; ++i) sum += view.weight(o, i) * view.weight(o, i);
        return std::sqrt(sum);
    };
    return norm(g->template layer<0>()) / norm(g->template layer<Net::stage_count - 1>());
}

BOOST_AUTO_TEST_CASE(sigmoid_gradients_vanish_over_20_layers_while_he_initialised_relu_keeps_them) {
    auto sigmoid_net = std::make_unique<hn::parameters<deep_mlp<hn::sigmoid>, double>>();
    auto relu_net = std::make_unique<hn::parameters<deep_mlp<hn::relu>, double>>();
    // Both with the same per-layer scale sqrt(2 / fan_in), the He scale: ReLU's choice.
    hn::init::he_normal(*sigmoid_net, 41);
    hn::init::he_normal(*relu_net, 41);
    const double sigmoid_ratio = first_to_last_gradient_ratio(*sigmoid_net);
    const double relu_ratio = first_to_last_gradient_ratio(*relu_net);
    BOOST_TEST_MESSAGE("first/last layer gradient norm: sigmoid " << sigmoid_ratio << ", relu " << relu_ratio);
    BOOST_TEST(sigmoid_ratio < 1e-4);  // orders of magnitude: sigmoid' <= 1/4 per layer
    BOOST_TEST(relu_ratio > 0.2);      // within a small factor
    BOOST_TEST(relu_ratio < 5.0);
}

// ---- sparsity --------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(about_half_of_relu_outputs_are_exactly_zero_for_symmetric_pre_activations) {
    using net = hn::network<hn::input<32>, hn::dense<128>, hn::relu>;
    constexpr std::size_t batch = 256;
    auto p = std::make_unique<hn::parameters<net>>();
    hn::init::he_normal(*p, 51);  // zero-mean weights, zero bias: symmetric pre-activations
    auto ws = std::make_unique<hn::workspace<net, batch, float, false>>();
    const std::vector<double> xd = normal_samples(batch * 32, 52);
    const std::vector<float> x(xd.begin(), xd.end());
    hn::forward(*p, *ws, x.data());
    std::size_t zeros = 0;
    for (std::size_t r = 0; r < batch; ++r)
        for (std::size_t j = 0; j < 128; ++j) zeros += ws->output(r)[j] == 0.f;
    const double sparsity = static_cast<double>(zeros) / (batch * 128);
    BOOST_TEST_MESSAGE("sparsity " << sparsity);
    BOOST_TEST(sparsity == 0.5, boost::test_tools::tolerance(0.04));  // 32768 outputs, 128 units
}

// ---- dying ReLU --------------------------------------------------------------------------------

// One hidden unit whose bias keeps its pre-activation negative for every sample: with relu it
// gets no gradient and never changes; with leaky_relu it gets one and comes back to life.
template <class Act>
struct dead_unit_experiment {
    using net = hn::network<hn::input<1>, hn::dense<1>, Act, hn::dense<1>>;
    hn::parameters<net> p{};
    float initial_weight = 0.5f, initial_bias = -2.f;

    dead_unit_experiment() {
        p.template layer<0>().weight(0, 0) = initial_weight;
        p.template layer<0>().bias(0) = initial_bias;  // w x + b <= -1.5 for x in [0, 1]
        p.template layer<1>().weight(0, 0) = 1.f;
    }

    // Fits y = 2 x on x in [0, 1], which needs the unit.
    float train(int steps) {
        std::array<float, 8> x{}, t{};
        for (std::size_t i = 0; i < 8; ++i) {
            x[i] = static_cast<float>(i) / 7.f;
            t[i] = 2.f * x[i];
        }
        hn::trainer<net, hn::loss::mean_squared_error, hn::optim::sgd, hn::batch<8>> train(p, {0.2f});
        float loss = 0;
        for (int s = 0; s < steps; ++s) loss = train.step(x, t);
        return loss;
    }
    float first_layer_gradient_after_one_step() {
        hn::trainer<net, hn::loss::mean_squared_error, hn::optim::sgd, hn::batch<8>> train(p, {0.f});
        std::array<float, 8> x{}, t{};
        for (std::size_t i = 0; i < 8; ++i) {
            x[i] = static_cast<float>(i) / 7.f;
            t[i] = 2.f * x[i];
        }
        train.step(x, t);
        return std::fabs(train.last_gradients().template layer<0>().weight(0, 0)) +
               std::fabs(train.last_gradients().template layer<0>().bias(0));
    }
    bool active_somewhere() const {
        return p.template layer<0>().weight(0, 0) * 1.f + p.template layer<0>().bias(0) > 0.f;
    }
};

BOOST_AUTO_TEST_CASE(a_dead_relu_unit_gets_no_gradient_and_never_changes) {
    dead_unit_experiment<hn::relu> e;
    BOOST_TEST(e.first_layer_gradient_after_one_step() == 0.f);
    e.train(3000);
    BOOST_TEST(e.p.layer<0>().weight(0, 0) == e.initial_weight);  // exactly: every update was 0
    BOOST_TEST(e.p.layer<0>().bias(0) == e.initial_bias);
    BOOST_TEST(!e.active_somewhere());
}

BOOST_AUTO_TEST_CASE(the_same_unit_with_leaky_relu_gets_a_gradient_and_recovers) {
    dead_unit_experiment<hn::leaky_relu<0.01f>> e;
    BOOST_TEST(e.first_layer_gradient_after_one_step() > 0.f);
    const float loss = e.train(3000);
    BOOST_TEST_MESSAGE("leaky unit after training: w " << e.p.layer<0>().weight(0, 0) << ", b "
                       << e.p.layer<0>().bias(0) << ", loss " << loss);
    BOOST_TEST(e.active_somewhere());
    dead_unit_experiment<hn::relu> dead;
    const float dead_loss = dead.train(3000);  // the best a constant can do: Var(2x) = 0.43
    BOOST_TEST(dead_loss > 0.4f);
    BOOST_TEST(loss < 1e-4f);  // it fits y = 2x exactly
}

// ---- PReLU and noisy ReLU ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(prelu_slope_moves_under_training) {
    using net = hn::network<hn::input<1>, hn::dense<4>, hn::prelu, hn::dense<1>>;
    auto p = std::make_unique<hn::parameters<net>>();
    hn::init::he_normal(*p, 61);
    for (std::size_t o = 0; o < 4; ++o) p->layer<0>().slope(o) = hn::prelu::initial_slope;
    // Target |x|: the slope has to go from 0.25 towards -1 on units that see negative inputs.
    std::array<float, 16> x{}, t{};
    for (std::size_t i = 0; i < 16; ++i) {
        x[i] = -1.f + 2.f * static_cast<float>(i) / 15.f;
        t[i] = std::fabs(x[i]);
    }
    hn::trainer<net, hn::loss::mean_squared_error, hn::optim::sgd, hn::batch<16>> train(*p, {0.05f});
    for (int s = 0; s < 500; ++s) train.step(x, t);
    double moved = 0;
    for (std::size_t o = 0; o < 4; ++o) moved = std::max(moved, std::fabs(p->layer<0>().slope(o) - 0.25));
    BOOST_TEST_MESSAGE("largest prelu slope change after 500 steps: " << moved);
    BOOST_TEST(moved > 0.1);
}

BOOST_AUTO_TEST_CASE(expected_gradient_of_noisy_relu_is_the_normal_cdf) {
    constexpr float sigma = 0.5f;
    using net = hn::network<hn::input<1>, hn::dense<1>, hn::noisy_relu<sigma>>;
    constexpr std::size_t batch = 256;
    hn::parameters<net, double> p{};
    p.layer<0>().weight(0, 0) = 1.0;  // z = x
    auto ws = std::make_unique<hn::workspace<net, batch, double>>();
    hn::gradients<net, double> g{};
    for (double z0 : {-0.6, -0.2, 0.0, 0.3}) {
        std::array<double, batch> x{};
        x.fill(z0);
        double sum = 0;
        constexpr int draws = 80;  // 80 x 256 = 20480 independent noise samples
        for (int d = 0; d < draws; ++d) {
            hn::train_forward(p, *ws, x.data(), batch, 1000 + d);
            hn::seed_output_gradient(p, *ws, g, batch, [](std::size_t, std::size_t) { return 1.0; });
            hn::backward(p, *ws, x.data(), g, batch, hn::input_gradient::compute);
            for (std::size_t r = 0; r < batch; ++r) sum += ws->input_gradient(r)[0];
        }
        const double monte_carlo = sum / (draws * batch);
        const double closed_form = hn::noisy_relu<sigma>::expected_derivative(z0);
        // Standard error <= 0.5 / sqrt(20480) = 0.0035; allow 4.5 of them, absolute.
        BOOST_TEST_MESSAGE("noisy_relu, z0 = " << z0 << ": Monte Carlo " << monte_carlo << ", Phi(z0 / sigma) " << closed_form);
        BOOST_TEST_CONTEXT("z0 = " << z0 << ": Monte Carlo " << monte_carlo << ", Phi(z0 / sigma) " << closed_form) {
            BOOST_TEST(std::fabs(monte_carlo - closed_form) < 0.016);
        }
        if (z0 < 0) {
            // A PReLU with the matching slope has that derivative below the kink.
            const double slope = hn::noisy_relu<sigma>::matching_prelu_slope(z0);
            BOOST_TEST(hn::prelu::derivative(z0, slope) == closed_form);
        }
    }
}

// ---- He initialisation ---------------------------------------------------------------------------

template <class Act>
using fifty_layers = hn::network<hn::input<128>, hn::repeat<50, hn::sequential<hn::dense<128>, Act>>>;

template <class Net, std::size_t Batch>
std::vector<double> second_moments_by_depth(const hn::parameters<Net, double>& p) {
    auto ws = std::make_unique<hn::workspace<Net, Batch, double, false>>();
    const std::vector<double> x = normal_samples(Batch * Net::input_size, 71);
    hn::forward(p, *ws, x.data());
    std::vector<double> moments;
    hn::for_each_index<Net::stage_count>([&](auto index) {
        moments.push_back(output_second_moment<Net, Batch, double, decltype(index)::value>(*ws));
    });
    return moments;
}

// The mean over layers of E[y_l^2] / E[y_{l-1}^2]: the per-layer gain that He et al. derive to be
// 1 for ReLU with variance 2 / fan_in (and fan_in / 2 * variance in general).
double mean_layer_gain(const std::vector<double>& moments) {
    double sum = 0;
    for (std::size_t l = 1; l < moments.size(); ++l) sum += moments[l] / moments[l - 1];
    return sum / static_cast<double>(moments.size() - 1);
}

// What He initialisation guarantees is the expectation: each layer multiplies E[y^2] by a
// random factor of mean 1. A single network of finite width n also does a random walk in
// log E[y^2] (per-layer spread about sqrt(5 / n), 0.2 at n = 128, once the samples of a batch
// become correlated with depth), so over 50 layers one network typically ends a factor 3 to 30
// away from where it started; the claim "within a factor of 2" holds for the per-layer gain,
// and for the mean over layers, which is what this test checks. The naive initialisations are
// off by the factor fan_in / 2 * variance in every layer and explode or vanish.
BOOST_AUTO_TEST_CASE(he_initialisation_keeps_the_per_layer_activation_gain_at_one_over_50_relu_layers) {
    using net = fifty_layers<hn::relu>;
    auto p = std::make_unique<hn::parameters<net, double>>();
    for (std::uint64_t seed : {81u, 82u, 83u}) {
        hn::init::he_normal(*p, seed);
        const auto he = second_moments_by_depth<net, 64>(*p);
        const auto [low, high] = std::minmax_element(he.begin(), he.end());
        const double gain = mean_layer_gain(he);
        BOOST_TEST_MESSAGE("He, seed " << seed << ": E[y^2] over 50 layers from " << *low << " to " << *high
                                       << ", mean per-layer gain " << gain);
        // 49 gains of spread ~0.2 each: standard error 0.03; the tolerance is 3 of them.
        BOOST_TEST(gain == 1.0, boost::test_tools::tolerance(0.1));
        for (std::size_t l = 1; l < he.size(); ++l) {
            BOOST_TEST_CONTEXT("layer " << l) {
                BOOST_TEST(he[l] / he[l - 1] < 2.0);  // no layer doubles it ...
                BOOST_TEST(he[l] / he[l - 1] > 0.5);  // ... or halves it
            }
        }
    }
    normal_weights(*p, 1.0, 84);  // unit variance: each layer multiplies E[y^2] by fan_in / 2 = 64
    const auto unit = second_moments_by_depth<net, 64>(*p);
    BOOST_TEST(mean_layer_gain(std::vector<double>(unit.begin(), unit.begin() + 10)) > 30.0);
    BOOST_TEST((unit[49] > 1e60 || !std::isfinite(unit[49])));
    normal_weights(*p, 0.01, 85);  // small: each layer multiplies it by 128 / 2 * 1e-4 = 0.0064
    const auto small = second_moments_by_depth<net, 64>(*p);
    BOOST_TEST(mean_layer_gain(small) < 0.01);
    BOOST_TEST(small[49] < 1e-100);
}

// ---- mean shift ----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(relu_output_mean_is_sigma_over_sqrt_two_pi_and_the_correction_recentres_it) {
    using net = hn::network<hn::input<64>, hn::dense<256>, hn::relu, hn::dense<256>, hn::relu, hn::dense<8>>;
    constexpr std::size_t batch = 512;
    auto p = std::make_unique<hn::parameters<net, double>>();
    hn::init::he_normal(*p, 91);
    auto ws = std::make_unique<hn::workspace<net, batch, double, false>>();
    const std::vector<double> x = normal_samples(batch * 64, 92);  // second moment 1

    // Per-unit mean of the second stage's pre-activation, |.| averaged over units, and the mean
    // and spread of the first ReLU's output.
    auto measure = [&](double& relu_mean, double& pre_std, double& next_mean_abs) {
        hn::forward(*p, *ws, x.data());
        constexpr std::size_t w0 = hn::layout<net, double>::stages[0].padded_output;
        constexpr std::size_t w1 = hn::layout<net, double>::stages[1].padded_output;
        double sum = 0, squares = 0;
        for (std::size_t r = 0; r < batch; ++r)
            for (std::size_t j = 0; j < 256; ++j) {
                const double y = ws->activation<0>()[r * w0 + j];
                sum += y;
                squares += y * y;
            }
        relu_mean = sum / (batch * 256);
        pre_std = std::sqrt(2 * squares / (batch * 256));  // E[relu(z)^2] = s^2 / 2
        // Stage 1's pre-activation z1 = W y + b; its relu output mean follows, so look at
        // z1 through y1 = relu(z1) minus its linear part: compute z1 directly instead.
        double abs_sum = 0;
        auto l1 = p->layer<1>();
        for (std::size_t j = 0; j < 256; ++j) {
            double unit_sum = 0;
            for (std::size_t r = 0; r < batch; ++r) {
                double z = l1.bias(j);
                for (std::size_t k = 0; k < 256; ++k) z += l1.weight(j, k) * ws->activation<0>()[r * w0 + k];
                unit_sum += z;
            }
            abs_sum += std::fabs(unit_sum / batch);
        }
        next_mean_abs = abs_sum / 256;
        (void)w1;
    };
    double relu_mean = 0, pre_std = 0, before = 0;
    measure(relu_mean, pre_std, before);
    const double theory = pre_std / std::sqrt(2 * 3.141592653589793);
    BOOST_TEST_MESSAGE("ReLU output mean " << relu_mean << ", sigma/sqrt(2 pi) " << theory);
    BOOST_TEST(relu_mean == theory, boost::test_tools::tolerance(0.03));  // 3 % relative

    BOOST_TEST(hn::init::correct_mean_shift(*p) == 2u);
    double after = 0, unused1 = 0, unused2 = 0;
    measure(unused1, unused2, after);
    BOOST_TEST_MESSAGE("mean |E[z]| of the next layer's units: " << before << " before, " << after << " after");
    BOOST_TEST(after < 0.1 * before);  // the shift W m was the bulk of each unit's mean
}

// ---- batch normalisation -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(batch_norm_output_has_zero_mean_and_unit_variance_per_unit_in_training_mode) {
    using net = hn::network<hn::input<10>, hn::dense<24>, hn::batch_norm>;
    constexpr std::size_t batch = 64;
    auto p = std::make_unique<hn::parameters<net, double>>();
    hn::init::he_normal(*p, 101);
    for (std::size_t o = 0; o < 24; ++o) {
        p->layer<0>().bias(o) = 3.0 + static_cast<double>(o);  // far from zero mean
        p->layer<1>().scale(o) = 1.0;
        p->layer<1>().running_variance(o) = 1.0;
    }
    auto ws = std::make_unique<hn::workspace<net, batch, double>>();
    const std::vector<double> x = normal_samples(batch * 10, 102);
    hn::train_forward(*p, *ws, x.data());
    for (std::size_t j = 0; j < 24; ++j) {
        double sum = 0, squares = 0;
        for (std::size_t r = 0; r < batch; ++r) sum += ws->output(r)[j];
        const double mean = sum / batch;
        for (std::size_t r = 0; r < batch; ++r) squares += (ws->output(r)[j] - mean) * (ws->output(r)[j] - mean);
        BOOST_TEST(mean == 0.0, boost::test_tools::tolerance(1e-12));
        BOOST_TEST(squares / batch == 1.0, boost::test_tools::tolerance(1e-3));  // var / (var + 1e-5)
    }
}

BOOST_AUTO_TEST_CASE(folded_batch_norm_computes_the_unfolded_inference_function) {
    using net = hn::network<hn::input<5>, hn::dense<17>, hn::batch_norm, hn::relu, hn::dense<9>, hn::relu,
                            hn::dense<3>, hn::batch_norm>;
    using folded = hn::fold_batch_norm_t<net>;
    static_assert(std::is_same_v<folded, hn::network<hn::input<5>, hn::dense<17>, hn::relu, hn::dense<9>, hn::relu,
                                                     hn::dense<3>, hn::identity>>);
    static_assert(folded::stage_count == net::stage_count - 2);
    constexpr std::size_t batch = 16;
    auto p = std::make_unique<hn::parameters<net>>();
    hn::init::he_normal(*p, 111);
    auto ws = std::make_unique<hn::workspace<net, batch>>();
    const std::vector<double> xd = normal_samples(batch * 5, 112);
    const std::vector<float> x(xd.begin(), xd.end());
    for (std::size_t o = 0; o < 17; ++o) p->layer<1>().scale(o) = 1.f;
    for (std::size_t o = 0; o < 3; ++o) p->layer<4>().scale(o) = 1.f;
    for (std::uint64_t step = 0; step < 40; ++step) hn::train_forward(*p, *ws, x.data(), batch, step);  // running stats

    auto q = std::make_unique<hn::parameters<folded>>();
    hn::fold_batch_norm(*p, *q);
    auto wq = std::make_unique<hn::workspace<folded, batch, float, false>>();
    hn::forward(*p, *ws, x.data());
    hn::forward(*q, *wq, x.data());
    for (std::size_t r = 0; r < batch; ++r)
        for (std::size_t j = 0; j < 3; ++j)
            BOOST_TEST(ws->output(r)[j] == wq->output(r)[j], boost::test_tools::tolerance(1e-5f));
}

BOOST_AUTO_TEST_SUITE_END()
