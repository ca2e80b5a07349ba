// Gradients equal finite differences: the defining law of the backward pass, checked in double
// precision on the library's own pieces (train_forward, Loss::evaluate into output_gradient,
// backward), chained as trainer::step chains them. Also: batch losses and gradients are means of
// per-sample ones, softmax cross-entropy stays finite for huge logits, and relu's definition.
//
// Method: the suite's checker (support/gradient_check.hpp) with the loss as its objective. Every
// logical weight, bias and input coordinate is moved by +-h, h = 1e-6, and
//     numeric = (L(theta + h) - L(theta - h)) / ((theta + h) - (theta - h))
// is compared with the analytic gradient: |analytic - numeric| <= 1e-6 max(|analytic|, |numeric|)
// + 1e-8 (the checker's formula, with an absolute term 10 times finer than its default: these
// networks are small). The absolute term covers rounding: L is O(1) and computed to ~1e-15, so
// the difference quotient carries ~1e-15 / 1e-6 = 1e-9 of noise. For a fixed ReLU pattern the
// network is multilinear in any single parameter, so the mean squared error is exactly quadratic
// and the central difference has no truncation error; softmax cross-entropy has ~h^2 = 1e-12.
// The checker also requires the padding of every gradient tensor to be exactly zero.
//
// Kinks. A ReLU is not differentiable at 0. Parameters and inputs are re-drawn (next seed) until
// every ReLU pre-activation is at least 1e-4 away from 0 (about 1e-5 is the most a step of h can
// move one), and a coordinate whose +-h evaluations still flip a ReLU unit is skipped and counted
// by the checker; at most 1% may be skipped.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/test/unit_test.hpp>

#include <hinge/activations/identity.hpp>
#include <hinge/activations/relu.hpp>
#include <hinge/activations/relu6.hpp>
#include <hinge/activations/tanh.hpp>
#include <hinge/core/network.hpp>
#include <hinge/core/storage.hpp>
#include <hinge/init/he.hpp>
#include <hinge/kernels/simd.hpp>
#include <hinge/layers/dense.hpp>
#include <hinge/loss/mean_squared_error.hpp>
#include <hinge/loss/softmax_cross_entropy.hpp>
#include <hinge/runtime/passes.hpp>

#include "support/gradient_check.hpp"

namespace {

namespace hn = hinge;

constexpr double step = 1e-6;
constexpr hinge_test::gradient_tolerance tolerance{.relative = 1e-6, .absolute = 1e-8};
constexpr double kink_margin = 1e-4;

using mse = hn::loss::mean_squared_error;
using cross_entropy = hn::loss::softmax_cross_entropy;

// ---- a scalar reference forward pass, to see the ReLU pre-activations ----------------------------

struct relu_units {
    double smallest_margin = std::numeric_limits<double>::infinity();  // min |z| over ReLU units
};

template <class Net>
relu_units inspect_relu_units(const hn::parameters<Net, double>& p, const double* x, std::size_t rows) {
    relu_units units;
    std::vector<double> in(x, x + rows * Net::input_size);
    hn::for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t I = decltype(index)::value;
        using S = typename Net::template stage<I>;
        const auto view = p.template layer<I>();
        std::vector<double> out(rows * S::output_width);
        for (std::size_t r = 0; r < rows; ++r) {
            for (std::size_t o = 0; o < S::output_width; ++o) {
                double z = view.bias(o);
                for (std::size_t i = 0; i < S::input_width; ++i) z += in[r * S::input_width + i] * view.weight(o, i);
                if constexpr (std::is_same_v<typename S::activation, hn::relu>)
                    units.smallest_margin = std::min(units.smallest_margin, std::fabs(z));
                out[r * S::output_width + o] = S::activation::forward(z);
            }
        }
        in = std::move(out);
    });
    return units;
}

// ---- one network and batch size; the loss is chosen at run time --------------------------------
// (A template parameter would instantiate the whole check, kernels inlined, once more per loss:
// ~0.8 s of compile time each.)

enum class loss_kind { mean_squared_error, softmax_cross_entropy };

template <class Net, std::size_t Batch>
class problem {
public:
    static constexpr std::size_t last = Net::stage_count - 1;

    loss_kind kind;
    std::unique_ptr<hn::parameters<Net, double>> params = std::make_unique<hn::parameters<Net, double>>();
    std::unique_ptr<hn::gradients<Net, double>> grads = std::make_unique<hn::gradients<Net, double>>();
    std::unique_ptr<hn::workspace<Net, Batch, double, true>> ws = std::make_unique<hn::workspace<Net, Batch, double, true>>();
    std::vector<double> x = std::vector<double>(Batch * Net::input_size);
    std::vector<double> targets = std::vector<double>(Batch * Net::output_size);  // mean squared error
    std::vector<std::uint32_t> labels = std::vector<std::uint32_t>(Batch);         // cross-entropy

    explicit problem(loss_kind k) : kind(k) {}

    // He-initialised weights, biases N(0, 0.5^2) (He leaves them at 0, which would hide the bias
    // gradient), inputs and targets N(0, 1), labels uniform.
    void draw(std::uint64_t seed) {
        hn::init::he_normal(*params, seed);
        std::mt19937_64 engine(seed);
        std::normal_distribution<double> normal(0.0, 1.0);
        hn::for_each_index<Net::stage_count>([&](auto index) {
            const auto view = params->template layer<decltype(index)::value>();
            for (std::size_t o = 0; o < view.output_width; ++o) view.bias(o) = 0.5 * normal(engine);
        });
        for (double& v : x) v = normal(engine);
        for (double& t : targets) t = normal(engine);
        std::uniform_int_distribution<std::uint32_t> label(0, Net::output_size - 1);
        for (std::uint32_t& l : labels) l = label(engine);
    }

    // Draws from `seed` on until every ReLU pre-activation of the first `rows` samples is at least
    // kink_margin from 0; returns the seed used.
    std::uint64_t draw_away_from_kinks(std::uint64_t seed, std::size_t rows) {
        for (std::uint64_t s = seed; s < seed + 100; ++s) {
            draw(s);
            if (inspect_relu_units(*params, x.data(), rows).smallest_margin > kink_margin) return s;
        }
        BOOST_FAIL("no seed in 100 keeps every ReLU pre-activation away from its kink");
        return 0;
    }

    // The mean loss of samples first .. first + rows - 1, passing dL/dy to `gradient`.
    template <class Gradient>
    double evaluate(std::size_t first, std::size_t rows, Gradient&& gradient) const {
        const double* y = ws->template activation<last>();
        constexpr std::size_t stride = hn::workspace<Net, Batch, double, true>::template activation_stride<last>;
        if (kind == loss_kind::mean_squared_error)
            return mse::evaluate(rows, Net::output_size, y, stride, targets.data() + first * Net::output_size, gradient);
        return cross_entropy::evaluate(rows, Net::output_size, y, stride, labels.data() + first, gradient);
    }

    // The loss of samples first .. first + rows - 1, with every parameter gradient in *grads and
    // the input gradient in the workspace: trainer::step's chain, without the update.
    double compute_gradients(std::size_t first, std::size_t rows) {
        const double* inputs = x.data() + first * Net::input_size;
        hn::train_forward(*params, *ws, inputs, rows);
        const hn::output_gradient<Net, Batch, double> sink(*params, *ws, *grads, rows);
        const double l = evaluate(first, rows, sink);
        hn::backward(*params, *ws, inputs, *grads, rows, hn::input_gradient::compute);
        return l;
    }
};

// Every weight, bias and input coordinate of the first `rows` samples against the loss of those
// samples (the checker also checks the zero padding of every gradient tensor).
template <class Net, std::size_t Batch>
void check_gradients(problem<Net, Batch>& pb, std::size_t rows, std::uint64_t seed, const char* name) {
    BOOST_TEST_CONTEXT(name << ", rows " << rows << " of a batch of " << Batch) {
        const std::uint64_t used_seed = pb.draw_away_from_kinks(seed, rows);
        BOOST_TEST_MESSAGE(name << ", rows " << rows << ": seed " << used_seed);
        // The loss, its dL/dy into the checker's sink (hinge::output_gradient): trainer::step's chain.
        const auto loss = [&pb](const double* y, std::size_t stride, std::size_t n, std::size_t width,
                                const hinge_test::output_gradient_sink& gradient) {
            if (pb.kind == loss_kind::mean_squared_error)
                return mse::evaluate(n, width, y, stride, pb.targets.data(), gradient);
            return cross_entropy::evaluate(n, width, y, stride, pb.labels.data(), gradient);
        };
        const hinge_test::gradient_check_result result = hinge_test::check_gradients<Net, Batch>(
            *pb.params, pb.x.data(),
            {.rows = rows, .input = true, .step = step, .tolerance = tolerance, .max_skipped = 0.01, .objective = loss});
        BOOST_TEST(result.checked + result.skipped == Net::parameter_count + rows * Net::input_size);
    }
}

template <class Net, std::size_t Batch>
void check_gradients(loss_kind kind, std::size_t rows, std::uint64_t seed, const char* name) {
    problem<Net, Batch> pb(kind);
    check_gradients(pb, rows, seed, name);
}

// ---- the networks --------------------------------------------------------------------------------

using hidden_relu = hn::network<hn::input<5>, hn::dense<7>, hn::relu, hn::dense<3>>;
// Two hidden ReLU stages, widths across the 8-double panel (17 -> 24, 16 exactly two panels).
using two_hidden_relus = hn::network<hn::input<3>, hn::dense<17>, hn::relu, hn::dense<16>, hn::relu, hn::dense<2>>;
using single_dense = hn::network<hn::input<4>, hn::dense<1>>;
using relu_output = hn::network<hn::input<6>, hn::dense<5>, hn::relu>;
// A hidden identity stage (dense followed by dense), then a ReLU stage; the input is wider than
// one panel (9 -> 16), so the input gradient spans two panels.
using hidden_identity = hn::network<hn::input<9>, hn::dense<6>, hn::dense<5>, hn::relu, hn::dense<2>>;

// ---- relu's definition on every path ---------------------------------------------------------------

template <class T>
bool same_bits(T a, T b) {
    return std::memcmp(&a, &b, sizeof(T)) == 0;
}

template <class T>
std::array<T, 12> special_values() {
    constexpr T inf = std::numeric_limits<T>::infinity();
    return {T(-2.5), T(-0.0), T(0.0), std::numeric_limits<T>::quiet_NaN(), T(3.25), std::numeric_limits<T>::denorm_min(),
            -std::numeric_limits<T>::denorm_min(), inf, -inf, std::numeric_limits<T>::min(), T(-1e-30), T(1e30)};
}

template <class T>
void check_relu_scalar_laws() {
    using R = hn::relu;
    // derivative(y): 1 for y > 0, 0 for y < 0, and 0 at the kink (the documented choice).
    for (T y : {T(1e-30), T(0.5), T(1), T(7e3), std::numeric_limits<T>::denorm_min(), std::numeric_limits<T>::infinity()})
        BOOST_TEST(R::derivative(y) == T(1), "relu'(" << y << ")");
    for (T y : {T(-1e-30), T(-0.5), T(-1), T(-7e3), -std::numeric_limits<T>::denorm_min()})
        BOOST_TEST(R::derivative(y) == T(0), "relu'(" << y << ")");
    BOOST_TEST(R::derivative(T(0)) == T(0));
    BOOST_TEST(R::derivative(T(-0.0)) == T(0));
    // forward(z) = max(0, z) away from NaN, and NaN stays NaN.
    for (T z : {T(-3), T(-1e-30), T(0), T(1e-30), T(2.5), std::numeric_limits<T>::infinity(),
                -std::numeric_limits<T>::infinity()})
        BOOST_TEST(R::forward(z) == (z > T(0) ? z : T(0)), "relu(" << z << ")");
    BOOST_TEST(std::isnan(R::forward(std::numeric_limits<T>::quiet_NaN())));
    BOOST_TEST(std::isnan(R::forward(-std::numeric_limits<T>::quiet_NaN())));
    BOOST_TEST(std::isnan(R::derivative(std::numeric_limits<T>::quiet_NaN())));  // documented: stays visible
    // forward is a projection: relu(relu(z)) = relu(z), and the derivative at relu(z) is the
    // derivative the backward pass uses for z.
    for (T z : {T(-2), T(0), T(3)}) {
        BOOST_TEST(R::forward(R::forward(z)) == R::forward(z));
        BOOST_TEST(R::derivative(R::forward(z)) == (z > T(0) ? T(1) : T(0)));
    }
}

// On xsimd batches, lane by lane the same bits as the scalar path, for values that include
// +-0, NaN, infinities and denormals.
template <class T>
void check_relu_simd_equals_scalar() {
    using B = xsimd::batch<T>;
    const auto values = special_values<T>();
    std::size_t differences = 0, nan_lanes = 0;
    for (std::size_t start = 0; start < values.size(); ++start) {
        alignas(64) T lanes[B::size];
        for (std::size_t l = 0; l < B::size; ++l) lanes[l] = values[(start + l) % values.size()];
        alignas(64) T forward[B::size], derivative[B::size];
        hn::relu::forward(B::load_aligned(lanes)).store_aligned(forward);
        hn::relu::derivative(B::load_aligned(lanes)).store_aligned(derivative);
        for (std::size_t l = 0; l < B::size; ++l) {
            differences += !same_bits(forward[l], hn::relu::forward(lanes[l]));
            differences += !same_bits(derivative[l], hn::relu::derivative(lanes[l]));
            if (std::isnan(lanes[l])) nan_lanes += std::isnan(forward[l]) && std::isnan(derivative[l]);
        }
    }
    BOOST_TEST(differences == 0u);
    BOOST_TEST(nan_lanes == B::size);  // NaN visits every lane once, and stays NaN in each, both ways
    BOOST_TEST(hn::relu::derivative(B(T(0))).get(0) == T(0));
    BOOST_TEST(hn::relu::derivative(B(T(2))).get(B::size - 1) == T(1));
}

// softmax cross-entropy on logits set through the biases (weights 0, so every row has the
// logits b): loss and gradients finite, and equal to their values computed in long double.
template <class T>
void check_cross_entropy_with_logits(std::array<T, 3> logits) {
    using net = hn::network<hn::input<2>, hn::dense<3>>;
    constexpr std::size_t batch = 3;
    auto params = std::make_unique<hn::parameters<net, T>>();
    auto grads = std::make_unique<hn::gradients<net, T>>();
    auto ws = std::make_unique<hn::workspace<net, batch, T, true>>();
    for (std::size_t j = 0; j < 3; ++j) params->template layer<0>().bias(j) = logits[j];
    const std::array<T, batch * 2> x{T(1), T(-2), T(0.5), T(3), T(-1), T(0)};
    const std::array<std::uint32_t, batch> labels{0, 1, 2};

    hn::train_forward(*params, *ws, x.data());
    const hn::output_gradient<net, batch, T> sink(*params, *ws, *grads, batch);
    const T loss = cross_entropy::evaluate(batch, 3, ws->template activation<0>(), ws->template activation_stride<0>,
                                           labels.data(), sink);
    hn::backward(*params, *ws, x.data(), *grads, batch, hn::input_gradient::compute);

    // Reference: mean over the labels of logsumexp(b) - b[label]; d/db = softmax(b) - mean onehot.
    long double largest = std::max({logits[0], logits[1], logits[2]});
    long double sum = 0;
    for (T b : logits) sum += std::exp(static_cast<long double>(b) - largest);
    const long double log_sum_exp = largest + std::log(sum);
    long double expected_loss = 0;
    for (T b : logits) expected_loss += (log_sum_exp - b) / 3;

    BOOST_TEST_CONTEXT("logits " << logits[0] << ", " << logits[1] << ", " << logits[2]) {
        BOOST_TEST(std::isfinite(loss));
        BOOST_TEST(std::fabs(loss - static_cast<T>(expected_loss)) <=
                   T(4) * std::numeric_limits<T>::epsilon() * std::max(T(1), std::fabs(loss)));
        BOOST_TEST(std::all_of(grads->storage().begin(), grads->storage().end(), [](T g) { return std::isfinite(g); }));
        const auto view = std::as_const(*grads).template layer<0>();
        for (std::size_t j = 0; j < 3; ++j) {
            const long double expected = std::exp(static_cast<long double>(logits[j]) - log_sum_exp) - 1.0L / 3;
            BOOST_TEST(std::fabs(view.bias(j) - static_cast<T>(expected)) <= T(4) * std::numeric_limits<T>::epsilon(),
                       "bias gradient " << j << ": " << view.bias(j) << ", expected " << static_cast<double>(expected));
        }
        for (std::size_t r = 0; r < batch; ++r)
            for (T g : ws->input_gradient(r)) BOOST_TEST(g == T(0));  // the weights are 0
    }
}

// The mean-over-batch law: the loss of a batch is the mean of the per-sample losses, and so is
// each gradient entry (relative 1e-12 of the largest entry: only the summation order differs).
void check_batch_is_mean_of_samples(loss_kind kind, std::uint64_t seed) {
    constexpr std::size_t batch = 4;
    problem<hidden_relu, batch> pb(kind);
    pb.draw(seed);
    const double batch_loss = pb.compute_gradients(0, batch);
    const auto batch_gradients = std::make_unique<hn::gradients<hidden_relu, double>>(*pb.grads);
    std::vector<double> mean_gradients(hn::gradients<hidden_relu, double>::storage_size, 0.0);
    double mean_loss = 0;
    for (std::size_t r = 0; r < batch; ++r) {
        mean_loss += pb.compute_gradients(r, 1) / batch;
        for (std::size_t k = 0; k < mean_gradients.size(); ++k) mean_gradients[k] += pb.grads->data()[k] / batch;
    }
    double largest = 0, worst = 0;
    for (std::size_t k = 0; k < mean_gradients.size(); ++k) {
        largest = std::max(largest, std::fabs(mean_gradients[k]));
        worst = std::max(worst, std::fabs(mean_gradients[k] - batch_gradients->data()[k]));
    }
    BOOST_TEST(std::fabs(batch_loss - mean_loss) <= 1e-12 * std::fabs(mean_loss));
    BOOST_TEST(largest > 0.0);
    BOOST_TEST(worst <= 1e-12 * largest);
}

// ---- the checker itself -----------------------------------------------------------------------

// The checker's measurement on a network whose only hidden unit sits exactly on a kink: weight 1,
// bias `z`, input 0, so its pre-activation is z.
template <class Act>
hinge_test::gradient_check_result measure_at(double z) {
    using net = hn::network<hn::input<1>, hn::dense<1>, Act, hn::dense<1>>;
    auto p = std::make_unique<hn::parameters<net, double>>();
    p->template layer<0>().weight(0, 0) = 1;
    p->template layer<0>().bias(0) = z;
    p->template layer<1>().weight(0, 0) = 0.7;
    p->template layer<1>().bias(0) = 0.1;
    const std::array<double, 1> x{0.0};
    return hinge_test::measure_gradients<net, 1>(*p, x.data(), {.input = true});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gradient_check)

BOOST_AUTO_TEST_CASE(mean_squared_error_gradients_equal_central_differences) {
    check_gradients<hidden_relu, 4>(loss_kind::mean_squared_error, 4, 11, "input 5, dense 7, relu, dense 3");
    check_gradients<hidden_relu, 4>(loss_kind::mean_squared_error, 1, 12, "input 5, dense 7, relu, dense 3");
    check_gradients<two_hidden_relus, 5>(loss_kind::mean_squared_error, 5, 13, "input 3, dense 17, relu, dense 16, relu, dense 2");
    check_gradients<two_hidden_relus, 5>(loss_kind::mean_squared_error, 3, 14, "input 3, dense 17, relu, dense 16, relu, dense 2");
    check_gradients<single_dense, 3>(loss_kind::mean_squared_error, 3, 15, "input 4, dense 1");
    check_gradients<single_dense, 3>(loss_kind::mean_squared_error, 2, 16, "input 4, dense 1");
    check_gradients<single_dense, 3>(loss_kind::mean_squared_error, 1, 17, "input 4, dense 1");
    check_gradients<single_dense, 1>(loss_kind::mean_squared_error, 1, 18, "input 4, dense 1");
    check_gradients<relu_output, 3>(loss_kind::mean_squared_error, 3, 18, "input 6, dense 5, relu (output)");
    check_gradients<relu_output, 3>(loss_kind::mean_squared_error, 1, 19, "input 6, dense 5, relu (output)");
    check_gradients<hidden_identity, 3>(loss_kind::mean_squared_error, 3, 20, "input 9, dense 6, dense 5, relu, dense 2");
}

BOOST_AUTO_TEST_CASE(softmax_cross_entropy_gradients_equal_central_differences) {
    check_gradients<hidden_relu, 4>(loss_kind::softmax_cross_entropy, 4, 31, "input 5, dense 7, relu, dense 3");
    check_gradients<hidden_relu, 4>(loss_kind::softmax_cross_entropy, 1, 32, "input 5, dense 7, relu, dense 3");
    check_gradients<two_hidden_relus, 5>(loss_kind::softmax_cross_entropy, 5, 33, "input 3, dense 17, relu, dense 16, relu, dense 2");
    check_gradients<two_hidden_relus, 5>(loss_kind::softmax_cross_entropy, 2, 34, "input 3, dense 17, relu, dense 16, relu, dense 2");
    check_gradients<hidden_identity, 3>(loss_kind::softmax_cross_entropy, 3, 35, "input 9, dense 6, dense 5, relu, dense 2");
    check_gradients<hidden_identity, 3>(loss_kind::softmax_cross_entropy, 2, 36, "input 9, dense 6, dense 5, relu, dense 2");
}

BOOST_AUTO_TEST_CASE(batch_loss_and_gradients_are_means_of_per_sample_ones) {
    check_batch_is_mean_of_samples(loss_kind::mean_squared_error, 41);
    check_batch_is_mean_of_samples(loss_kind::softmax_cross_entropy, 42);
}

BOOST_AUTO_TEST_CASE(softmax_cross_entropy_is_finite_and_exact_for_logits_of_ten_thousand) {
    check_cross_entropy_with_logits<double>({1e4, -1e4, 0});
    check_cross_entropy_with_logits<double>({-1e4, -1e4 + 1, -1e4 + 2});  // exp(-1e4) alone underflows
    check_cross_entropy_with_logits<double>({1e4, 1e4, 1e4 - 3});
    check_cross_entropy_with_logits<float>({1e4f, -1e4f, 0});
    check_cross_entropy_with_logits<float>({-1e4f, -1e4f + 1, -1e4f + 2});
    check_cross_entropy_with_logits<float>({1e4f, 1e4f, 1e4f - 3});
}

BOOST_AUTO_TEST_CASE(relu_derivative_is_one_above_the_kink_and_zero_below_and_at_it) {
    check_relu_scalar_laws<float>();
    check_relu_scalar_laws<double>();
}

BOOST_AUTO_TEST_CASE(relu_on_simd_batches_equals_relu_on_scalars_and_keeps_nan) {
    check_relu_simd_equals_scalar<float>();
    check_relu_simd_equals_scalar<double>();
}

// The bias and the input move the unit's pre-activation across its kink (the weight multiplies
// an input of 0 and does not): those two coordinates are skipped, the other three checked; at
// relu6's upper kink too; away from the kink nothing is skipped.
BOOST_AUTO_TEST_CASE(the_checker_skips_exactly_the_coordinates_whose_step_crosses_a_kink) {
    const hinge_test::gradient_check_result at_zero = measure_at<hn::relu>(0.0);
    BOOST_TEST(at_zero.skipped == 2u);
    BOOST_TEST(at_zero.checked == 3u);
    BOOST_TEST(at_zero.worst_ratio <= 1.0, at_zero.worst);
    const hinge_test::gradient_check_result at_six = measure_at<hn::relu6>(6.0);
    BOOST_TEST(at_six.skipped == 2u);
    BOOST_TEST(at_six.checked == 3u);
    const hinge_test::gradient_check_result away = measure_at<hn::relu>(0.5);
    BOOST_TEST(away.skipped == 0u);
    BOOST_TEST(away.checked == 5u);
    BOOST_TEST(away.worst_ratio <= 1.0, away.worst);
}

// An objective whose dL/dy is 1.001 times the derivative of its value: backward is then 1.001
// times the true gradient, and the checker must see it and name where.
BOOST_AUTO_TEST_CASE(the_checker_catches_a_gradient_off_by_a_factor_of_1_001) {
    using net = hn::network<hn::input<3>, hn::dense<4>, hn::tanh, hn::dense<2>>;
    auto p = std::make_unique<hn::parameters<net, double>>();
    hinge_test::fill_random(*p, 5);
    const std::vector<double> x = hinge_test::random_values<double>(2 * net::input_size, 6);
    const auto off = [](const double* y, std::size_t stride, std::size_t rows, std::size_t width,
                        const hinge_test::output_gradient_sink& gradient) {
        return hinge_test::probe_objective(y, stride, rows, width,
                                           [&](std::size_t r, std::size_t j, double g) { gradient(r, j, 1.001 * g); });
    };
    const hinge_test::gradient_check_result wrong = hinge_test::measure_gradients<net, 2>(*p, x.data(), {.objective = off});
    BOOST_TEST(wrong.worst_ratio > 1.0);
    BOOST_TEST(wrong.worst.find("stage") == 0u, wrong.worst);
    const hinge_test::gradient_check_result right = hinge_test::measure_gradients<net, 2>(*p, x.data());
    BOOST_TEST(right.worst_ratio <= 1.0, right.worst);
    BOOST_TEST(right.checked == wrong.checked);
}

BOOST_AUTO_TEST_SUITE_END()
