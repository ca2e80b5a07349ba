// Losses: every loss's gradient against central finite differences of its value, in double,
// through the real trainer path (forward, loss, seed, backward, regularisation). Optimizers:
// updates against hand-computed values and, for Adam and AdamW, against the reference formulas
// over several steps. Schedules: their defining values.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include <hinge/hinge.hpp>

#include "../support/gradient_check.hpp"

namespace hn = hinge;
namespace tt = boost::test_tools;

namespace {

// An optimizer that leaves the parameters alone, so step() is "loss and gradient at p".
struct no_update {
    template <class Net, class T>
    void update(hn::parameters<Net, T>&, const hn::gradients<Net, T>&) noexcept {}
};

using small_net = hn::network<hn::input<3>, hn::dense<5>, hn::relu, hn::dense<4>>;
constexpr std::size_t rows = 6;

template <class Loss>
struct targets_for;

template <>
struct targets_for<hn::loss::softmax_cross_entropy> {
    static std::vector<std::uint32_t> make() { return {0, 3, 1, 2, 3, 0}; }
};
template <>
struct targets_for<hn::loss::mean_squared_error> {
    static std::vector<double> make() {
        std::vector<double> t(rows * 4);
        for (std::size_t i = 0; i < t.size(); ++i) t[i] = std::sin(0.7 * static_cast<double>(i));
        return t;
    }
};
template <>
struct targets_for<hn::loss::binary_cross_entropy_with_logits> {
    static std::vector<double> make() {
        std::vector<double> t(rows * 4);
        for (std::size_t i = 0; i < t.size(); ++i) t[i] = i % 3 == 0 ? 1.0 : (i % 3 == 1 ? 0.0 : 0.3);
        return t;
    }
};
template <class Base>
struct targets_for<hn::loss::with_l2<Base>> : targets_for<Base> {};
template <class Base>
struct targets_for<hn::loss::after_activation<Base>> : targets_for<Base> {};

// loss/logits.hpp: the losses that apply their own softmax or sigmoid say so, with_l2 passes it
// on, and after_activation<Loss> (the opt-in for an activation on the last stage) clears it.
static_assert(hn::loss::expects_logits<hn::loss::softmax_cross_entropy>);
static_assert(hn::loss::expects_logits<hn::loss::binary_cross_entropy_with_logits>);
static_assert(hn::loss::expects_logits<hn::loss::with_l2<hn::loss::softmax_cross_entropy>>);
static_assert(!hn::loss::expects_logits<hn::loss::mean_squared_error>);
static_assert(!hn::loss::expects_logits<hn::loss::after_activation<hn::loss::binary_cross_entropy_with_logits>>);

// Every logical parameter (weights and biases of each stage), by reference.
template <class Block, class F>
void for_each_parameter(Block& p, F&& f) {
    hn::for_each_index<Block::network_type::stage_count>([&](auto index) {
        auto view = p.template layer<decltype(index)::value>();
        for (std::size_t o = 0; o < view.output_width; ++o) {
            for (std::size_t i = 0; i < view.input_width; ++i) f(view.weight(o, i), index, o, i, false);
            f(view.bias(o), index, o, std::size_t{0}, true);
        }
    });
}

template <class Loss>
void check_gradient(Loss loss = {}) {
    using trainer_type = hn::trainer<small_net, Loss, no_update, hn::batch<8>, double>;
    auto params = std::make_unique<hn::parameters<small_net, double>>();
    hn::init::he_normal(*params, 11);
    // Non-zero biases, so that their gradients are exercised away from the initial zeros.
    hn::init::random_generator random(5);
    for_each_parameter(*params, [&](double& v, auto, std::size_t, std::size_t, bool bias) {
        if (bias) v = 0.2 * (random.uniform() - 0.5);
    });
    std::vector<double> x(rows * 3);
    for (double& v : x) v = 2 * random.uniform() - 1;
    const auto targets = targets_for<Loss>::make();

    auto train = std::make_unique<trainer_type>(*params, no_update{}, loss);
    train->step(x.data(), targets.data(), rows);
    const hn::gradients<small_net, double> analytic = train->last_gradients();

    // The tolerance formula of the network checker (support/gradient_check.hpp), tighter: this
    // network is small (its loss is computed to ~1e-16, so the quotient's rounding is ~1e-10) and
    // the relu pattern does not change within +-h here (no coordinate is skipped).
    constexpr hinge_test::gradient_tolerance tolerance{.relative = 1e-7, .absolute = 1e-7};
    const double h = 1e-6;
    std::size_t checked = 0;
    double worst = 0;
    for_each_parameter(*params, [&](double& v, auto index, std::size_t o, std::size_t i, bool bias) {
        const double saved = v;
        const double plus = saved + h, minus = saved - h;
        v = plus;
        const double up = train->step(x.data(), targets.data(), rows);
        v = minus;
        const double down = train->step(x.data(), targets.data(), rows);
        v = saved;
        const double numeric = (up - down) / (plus - minus);
        auto view = analytic.template layer<decltype(index)::value>();
        const double exact = bias ? view.bias(o) : view.weight(o, i);
        const double ratio = tolerance.ratio(exact, numeric);
        BOOST_TEST(ratio <= 1.0, "stage " << decltype(index)::value << (bias ? " bias(" : " weight(") << o
                                          << (bias ? "" : ", " + std::to_string(i)) << "): analytic " << exact
                                          << ", numeric " << numeric);
        worst = std::max(worst, ratio);
        ++checked;
    });
    BOOST_TEST(checked == small_net::parameter_count);
    BOOST_TEST_MESSAGE("worst gradient error " << worst << " of the tolerance");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(losses)

BOOST_AUTO_TEST_CASE(mean_squared_error_gradient_matches_central_differences) {
    check_gradient<hn::loss::mean_squared_error>();
}

BOOST_AUTO_TEST_CASE(softmax_cross_entropy_gradient_matches_central_differences) {
    check_gradient<hn::loss::softmax_cross_entropy>();
}

BOOST_AUTO_TEST_CASE(binary_cross_entropy_with_logits_gradient_matches_central_differences) {
    check_gradient<hn::loss::binary_cross_entropy_with_logits>();
    // The opt-in wrapper is the same loss.
    check_gradient<hn::loss::after_activation<hn::loss::binary_cross_entropy_with_logits>>();
}

BOOST_AUTO_TEST_CASE(l2_penalty_gradient_matches_central_differences) {
    // lambda large enough that the penalty's share of the gradient is not lost in the data term.
    check_gradient(hn::loss::with_l2<hn::loss::softmax_cross_entropy>{0.3f});
    check_gradient(hn::loss::with_l2<hn::loss::binary_cross_entropy_with_logits>{0.05f});
}

BOOST_AUTO_TEST_CASE(l2_penalty_adds_half_lambda_times_the_squared_weights_and_not_the_biases) {
    using net = hn::network<hn::input<2>, hn::dense<1>>;
    hn::parameters<net, double> p{};
    p.layer<0>().weight(0, 0) = 3;
    p.layer<0>().weight(0, 1) = -4;
    p.layer<0>().bias(0) = 100;  // not penalised
    hn::gradients<net, double> g{};
    const double penalty = hn::loss::with_l2<hn::loss::mean_squared_error>{0.5f}.regularize(p, g);
    BOOST_TEST(penalty == 0.5 * 0.5 * 25, tt::tolerance(1e-15));
    BOOST_TEST(g.layer<0>().weight(0, 0) == 1.5, tt::tolerance(1e-15));
    BOOST_TEST(g.layer<0>().weight(0, 1) == -2.0, tt::tolerance(1e-15));
    BOOST_TEST(g.layer<0>().bias(0) == 0.0);
}

BOOST_AUTO_TEST_CASE(binary_cross_entropy_with_logits_is_exact_and_finite_for_huge_logits) {
    // The naive -t log(s) - (1 - t) log(1 - s) gives inf or NaN here; the stable form gives the
    // exact limits: for x = +-1e4, L = |x| when the sign is wrong and ~0 when right.
    const std::array<double, 4> y{1e4, -1e4, 1e4, -1e4};
    const std::array<double, 4> t{0, 1, 1, 0};
    std::array<double, 4> g{};
    const double loss = hn::loss::binary_cross_entropy_with_logits::evaluate(
        1, 4, y.data(), 4, t.data(), [&](std::size_t, std::size_t j, double v) { g[j] = v; });
    BOOST_TEST(loss == (1e4 + 1e4) / 4, tt::tolerance(1e-12));
    BOOST_TEST(g[0] == 0.25, tt::tolerance(1e-12));   // (sigmoid(1e4) - 0) / 4
    BOOST_TEST(g[1] == -0.25, tt::tolerance(1e-12));  // (sigmoid(-1e4) - 1) / 4
    BOOST_TEST(std::fabs(g[2]) < 1e-300);
    BOOST_TEST(std::fabs(g[3]) < 1e-300);

    // And it agrees with the naive formula where that one is accurate.
    const std::array<float, 3> x{-2.5f, 0.f, 1.75f};
    const std::array<float, 3> target{0.2f, 1.f, 0.f};
    const float stable = hn::loss::binary_cross_entropy_with_logits::evaluate(1, 3, x.data(), 3, target.data(),
                                                                              [](std::size_t, std::size_t, float) {});
    double naive = 0;
    for (std::size_t j = 0; j < 3; ++j) {
        const double s = 1 / (1 + std::exp(-static_cast<double>(x[j])));
        naive += -target[j] * std::log(s) - (1 - target[j]) * std::log(1 - s);
    }
    BOOST_TEST(stable == static_cast<float>(naive / 3), tt::tolerance(1e-6f));
}

BOOST_AUTO_TEST_CASE(accuracy_counts_argmax_for_softmax_and_signs_for_binary_outputs) {
    const std::array<float, 6> logits{0.1f, 2.f, -1.f, /* row 1 */ 3.f, 0.f, 5.f};
    const std::array<std::uint32_t, 2> labels{1, 0};
    BOOST_TEST(hn::loss::softmax_cross_entropy::count_correct(2, 3, logits.data(), 3, labels.data()) == 1u);
    const std::array<float, 6> targets{1, 1, 0, 1, 0, 0};
    BOOST_TEST(hn::loss::binary_cross_entropy_with_logits::count_correct(2, 3, logits.data(), 3, targets.data()) == 5u);
}

// The loss of a large batch is summed in double: over 256 x 1024 float squares a float running
// sum was 6.7e-5 off the exact mean (bench/mlp_1024_...); summed in double it is within the
// rounding of the float result (2^-24 relative; 1e-6 stated). The same for the other two losses.
BOOST_AUTO_TEST_CASE(the_loss_of_a_large_batch_is_the_exact_mean_to_float_precision) {
    constexpr std::size_t rows = 256, outputs = 1024;
    std::mt19937 rng(17);
    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<float> y(rows * outputs), t(rows * outputs);
    std::vector<std::uint32_t> labels(rows);
    for (auto& v : y) v = normal(rng);
    for (auto& v : t) v = normal(rng);
    for (std::size_t r = 0; r < rows; ++r) labels[r] = static_cast<std::uint32_t>(r * 7 % outputs);
    const auto no_gradient = [](std::size_t, std::size_t, float) {};
    const auto relative = [](double value, double exact) { return std::abs(value - exact) / std::abs(exact); };

    double mse = 0, bce = 0, ce = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        double largest = y[r * outputs], sum = 0;
        for (std::size_t j = 0; j < outputs; ++j) largest = std::max(largest, double(y[r * outputs + j]));
        for (std::size_t j = 0; j < outputs; ++j) {
            const double x = y[r * outputs + j], target = t[r * outputs + j];
            mse += (x - target) * (x - target);
            bce += std::max(x, 0.0) - x * target + std::log1p(std::exp(-std::abs(x)));
            sum += std::exp(x - largest);
        }
        ce += std::log(sum) - (y[r * outputs + labels[r]] - largest);
    }
    mse /= double(rows * outputs);
    bce /= double(rows * outputs);
    ce /= double(rows);

    BOOST_TEST(relative(hn::loss::mean_squared_error::evaluate(rows, outputs, y.data(), outputs, t.data(), no_gradient),
                        mse) < 1e-6);
    BOOST_TEST(relative(hn::loss::binary_cross_entropy_with_logits::evaluate(rows, outputs, y.data(), outputs, t.data(),
                                                                              no_gradient),
                        bce) < 1e-6);
    BOOST_TEST(relative(hn::loss::softmax_cross_entropy::evaluate(rows, outputs, y.data(), outputs, labels.data(),
                                                                   no_gradient),
                        ce) < 1e-6);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------

namespace {

// Three stages, so the block spans several panels and every SIMD loop runs more than once.
using opt_net = hn::network<hn::input<3>, hn::dense<20>, hn::relu, hn::dense<9>>;

template <class T>
struct blocks {
    std::unique_ptr<hn::parameters<opt_net, T>> p = std::make_unique<hn::parameters<opt_net, T>>();
    std::unique_ptr<hn::gradients<opt_net, T>> g = std::make_unique<hn::gradients<opt_net, T>>();

    // Fills every logical parameter with a value depending on its index, and the gradient of
    // step t likewise; padding stays zero in both.
    void set_parameters() {
        std::size_t k = 0;
        for_each_parameter(*p, [&](T& v, auto, std::size_t, std::size_t, bool) { v = T(0.5) * std::cos(T(0.3) * T(k++)); });
    }
    void set_gradients(int t) {
        std::size_t k = 0;
        for_each_parameter(*g, [&](T& v, auto, std::size_t, std::size_t, bool) {
            v = T(0.2) * std::sin(T(0.7) * T(k) + T(t)) + (k % 5 == 0 ? T(0) : T(0.01) * T(t));
            ++k;
        });
    }
    // Logical positions only: position -> storage index.
    std::vector<std::size_t> logical_indices() {
        std::vector<std::size_t> at;
        for_each_parameter(*p, [&](T& v, auto, std::size_t, std::size_t, bool) {
            at.push_back(static_cast<std::size_t>(&v - p->data()));
        });
        return at;
    }
    bool padding_is_zero() const {
        std::vector<bool> logical(hn::parameters<opt_net, T>::storage_size, false);
        for (std::size_t i : const_cast<blocks*>(this)->logical_indices()) logical[i] = true;
        for (std::size_t i = 0; i < logical.size(); ++i)
            if (!logical[i] && p->data()[i] != T(0)) return false;
        return true;
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(optimizers)

BOOST_AUTO_TEST_CASE(sgd_momentum_and_nesterov_match_hand_computed_steps) {
    // One parameter p0 = 1 (a weight of a 1x1 layer), gradients 0.5 then -0.25, rate 0.1, mu 0.9.
    using net = hn::network<hn::input<1>, hn::dense<1>>;
    auto run = [](auto optimizer, double decay_check_start = 1.0) {
        hn::parameters<net, double> p{};
        hn::gradients<net, double> g{};
        typename decltype(optimizer)::template state<net, double> s{};
        p.layer<0>().weight(0, 0) = decay_check_start;
        std::array<double, 2> after{};
        const std::array<double, 2> grads{0.5, -0.25};
        for (std::size_t t = 0; t < 2; ++t) {
            g.layer<0>().weight(0, 0) = grads[t];
            optimizer.update(p, g, s);
            after[t] = p.layer<0>().weight(0, 0);
        }
        return after;
    };
    const auto plain = run(hn::optim::sgd{0.1f});
    BOOST_TEST(plain[0] == 1 - 0.1f * 0.5, tt::tolerance(1e-12));
    BOOST_TEST(plain[1] == 1 - 0.1f * 0.5 + 0.1f * 0.25, tt::tolerance(1e-12));

    // weight decay 0.01: p1 = 1 - 0.1 (0.5 + 0.01 * 1)
    const auto decayed = run(hn::optim::sgd{0.1f, 0.01f});
    BOOST_TEST(decayed[0] == 1 - double(0.1f) * (0.5 + double(0.01f)), tt::tolerance(1e-12));

    // v1 = 0.5, p1 = 0.95; v2 = 0.9 * 0.5 - 0.25 = 0.2, p2 = 0.93
    const auto heavy_ball = run(hn::optim::momentum{0.1f, 0.9f});
    BOOST_TEST(heavy_ball[0] == 0.95, tt::tolerance(1e-7));
    BOOST_TEST(heavy_ball[1] == 0.93, tt::tolerance(1e-7));

    // Nesterov: p1 = 1 - 0.1 (0.5 + 0.9 * 0.5) = 0.905; p2 = 0.905 - 0.1 (-0.25 + 0.9 * 0.2) = 0.912
    const auto nesterov = run(hn::optim::momentum{0.1f, 0.9f, true});
    BOOST_TEST(nesterov[0] == 0.905, tt::tolerance(1e-7));
    BOOST_TEST(nesterov[1] == 0.912, tt::tolerance(1e-7));
}

BOOST_AUTO_TEST_CASE(adamw_first_step_matches_hand_computation) {
    // p0 = 1, g = 0.5, rate 0.1, decay 0.01: p <- 0.999, m = 0.05, v = 0.00025; the corrected
    // moments are 0.5 and 0.25, so the step is 0.1 * 0.5 / (0.5 + 1e-8).
    using net = hn::network<hn::input<1>, hn::dense<1>>;
    hn::parameters<net, double> p{};
    hn::gradients<net, double> g{};
    hn::optim::adamw::state<net, double> s{};
    p.layer<0>().weight(0, 0) = 1;
    g.layer<0>().weight(0, 0) = 0.5;
    hn::optim::adamw{0.1f, 0.9f, 0.999f, 1e-8f, 0.01f}.update(p, g, s);
    const double rate = 0.1f, decay = 0.01f, eps = 1e-8f;
    BOOST_TEST(p.layer<0>().weight(0, 0) == (1 - rate * decay) - rate * 0.5 / (0.5 + eps), tt::tolerance(1e-12));
    BOOST_TEST(s.steps == 1u);
}

// The textbook Adam (Kingma and Ba, Algorithm 1), with optional coupled (Adam) or decoupled
// (AdamW) decay, element by element in double.
struct reference_adam {
    double rate, beta1, beta2, eps, coupled, decoupled;
    std::vector<double> m, v;
    int t = 0;
    void step(std::vector<double>& p, const std::vector<double>& g) {
        ++t;
        for (std::size_t i = 0; i < p.size(); ++i) {
            p[i] *= 1 - rate * decoupled;
            const double d = g[i] + coupled * p[i];
            m[i] = beta1 * m[i] + (1 - beta1) * d;
            v[i] = beta2 * v[i] + (1 - beta2) * d * d;
            const double m_hat = m[i] / (1 - std::pow(beta1, t));
            const double v_hat = v[i] / (1 - std::pow(beta2, t));
            p[i] -= rate * m_hat / (std::sqrt(v_hat) + eps);
        }
    }
};

template <class T, class Optimizer>
void check_adam_against_reference(Optimizer opt, double coupled, double decoupled, double tolerance) {
    blocks<T> b;
    b.set_parameters();
    const std::vector<std::size_t> at = b.logical_indices();
    std::vector<double> p(at.size()), g(at.size());
    for (std::size_t k = 0; k < at.size(); ++k) p[k] = static_cast<double>(b.p->data()[at[k]]);
    reference_adam ref{opt.learning_rate, opt.beta1, opt.beta2, opt.epsilon, coupled, decoupled,
                       std::vector<double>(at.size()), std::vector<double>(at.size())};
    auto state = std::make_unique<typename Optimizer::template state<opt_net, T>>();
    double worst = 0;
    for (int t = 1; t <= 7; ++t) {
        b.set_gradients(t);
        for (std::size_t k = 0; k < at.size(); ++k) g[k] = static_cast<double>(b.g->data()[at[k]]);
        opt.update(*b.p, *b.g, *state);
        ref.step(p, g);
        for (std::size_t k = 0; k < at.size(); ++k)
            worst = std::max(worst, std::fabs(static_cast<double>(b.p->data()[at[k]]) - p[k]) / std::max(1.0, std::fabs(p[k])));
    }
    BOOST_TEST(worst < tolerance, "worst relative difference " << worst);
    BOOST_TEST(state->steps == 7u);
    BOOST_TEST(b.padding_is_zero());
}

BOOST_AUTO_TEST_CASE(adam_matches_the_reference_formulas_with_bias_correction_over_seven_steps) {
    // The inputs are float (the optimizer's hyper-parameters are floats), so the reference
    // starts from the same rounded values; the arithmetic is then double on both sides.
    const hn::optim::adam adam{0.01f, 0.9f, 0.999f, 1e-8f, 0.f};
    check_adam_against_reference<double>(adam, 0.0, 0.0, 1e-13);
    const hn::optim::adam adam_l2{0.01f, 0.8f, 0.99f, 1e-6f, 0.1f};
    check_adam_against_reference<double>(adam_l2, double(0.1f), 0.0, 1e-13);
    // float storage: the vectorised float kernel against the same double reference.
    check_adam_against_reference<float>(adam, 0.0, 0.0, 2e-6);
}

BOOST_AUTO_TEST_CASE(adamw_matches_the_reference_formulas_over_seven_steps) {
    const hn::optim::adamw adamw{0.01f, 0.9f, 0.999f, 1e-8f, 0.05f};
    check_adam_against_reference<double>(adamw, 0.0, double(0.05f), 1e-13);
    check_adam_against_reference<float>(adamw, 0.0, double(0.05f), 2e-6);
}

BOOST_AUTO_TEST_CASE(momentum_matches_its_recurrence_on_a_whole_block_and_keeps_padding_zero) {
    for (bool nesterov : {false, true}) {
        blocks<float> b;
        b.set_parameters();
        const auto at = b.logical_indices();
        std::vector<double> p(at.size()), v(at.size(), 0.0);
        for (std::size_t k = 0; k < at.size(); ++k) p[k] = b.p->data()[at[k]];
        const hn::optim::momentum opt{0.05f, 0.9f, nesterov, 0.01f};
        auto state = std::make_unique<hn::optim::momentum::state<opt_net, float>>();
        double worst = 0;
        for (int t = 1; t <= 5; ++t) {
            b.set_gradients(t);
            hn::optim::momentum copy = opt;
            copy.update(*b.p, *b.g, *state);
            for (std::size_t k = 0; k < at.size(); ++k) {
                const double d = double(b.g->data()[at[k]]) + double(0.01f) * p[k];
                v[k] = double(0.9f) * v[k] + d;
                p[k] -= double(0.05f) * (nesterov ? d + double(0.9f) * v[k] : v[k]);
                worst = std::max(worst, std::fabs(double(b.p->data()[at[k]]) - p[k]));
            }
        }
        BOOST_TEST_CONTEXT("nesterov " << nesterov) {
            BOOST_TEST(worst < 1e-6);
            BOOST_TEST(b.padding_is_zero());
        }
    }
}

BOOST_AUTO_TEST_CASE(trainer_with_adam_learns_xor) {
    using net = hn::network<hn::input<2>, hn::dense<8>, hn::relu, hn::dense<1>>;
    const std::array<float, 8> x{0, 0, 0, 1, 1, 0, 1, 1};
    const std::array<float, 4> y{0, 1, 1, 0};
    hn::parameters<net> p;
    hn::init::he_normal(p, 3);
    auto train = std::make_unique<hn::trainer<net, hn::loss::mean_squared_error, hn::optim::adam, hn::batch<4>>>(
        p, hn::optim::adam{0.02f});
    float loss = 1;
    for (int s = 0; s < 1000; ++s) loss = train->step(x, y);
    BOOST_TEST(loss < 1e-3f);
    BOOST_TEST(train->optimizer_state().steps == 1000u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(schedules)

BOOST_AUTO_TEST_CASE(step_decay_divides_every_interval) {
    const hn::optim::step_decay s{1.f, 0.5f, 10};
    BOOST_TEST(s(0) == 1.f);
    BOOST_TEST(s(9) == 1.f);
    BOOST_TEST(s(10) == 0.5f);
    BOOST_TEST(s(25) == 0.25f);
}

BOOST_AUTO_TEST_CASE(cosine_decay_runs_from_initial_through_the_midpoint_to_minimum) {
    const hn::optim::cosine_decay s{1.f, 0.1f, 100};
    BOOST_TEST(s(0) == 1.f);
    BOOST_TEST(s(50) == 0.55f, tt::tolerance(1e-6f));
    BOOST_TEST(s(25) == 0.1f + 0.9f * 0.5f * (1.f + std::sqrt(0.5f)), tt::tolerance(1e-6f));
    BOOST_TEST(s(100) == 0.1f);
    BOOST_TEST(s(1000) == 0.1f);
}

BOOST_AUTO_TEST_CASE(warm_up_rises_linearly_then_hands_over) {
    const hn::optim::warm_up<hn::optim::cosine_decay> s{4, {2.f, 0.f, 10}};
    BOOST_TEST(s(0) == 0.5f);
    BOOST_TEST(s(1) == 1.f);
    BOOST_TEST(s(3) == 2.f);
    BOOST_TEST(s(4) == 2.f);  // the cosine's step 0
    BOOST_TEST(s(9) == 1.f, tt::tolerance(1e-6f));
    BOOST_TEST(s(14) == 0.f);
}

BOOST_AUTO_TEST_SUITE_END()
