// Tests of activations/: every activation beyond relu and identity, on the laws that define it.
//  - SIMD = scalar: forward and derivative on xsimd batches equal the scalar versions lane by
//    lane, on random inputs and on the hard cases (kinks, +-0, +-inf, NaN, subnormals, tails).
//  - NaN in gives NaN out, on both paths and in both functions.
//  - derivative == central difference of forward, in double, away from the kinks.
//  - the documented value at each kink.
//  - for the activations whose derivative is taken from the output: the gradient of whole
//    networks, with the activation fused into the dense kernels, against finite differences.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include <boost/core/demangle.hpp>
#include <boost/test/unit_test.hpp>

#include <hinge/hinge.hpp>
#include <hinge/kernels/simd.hpp>

#include "../support/gradient_check.hpp"

namespace {

namespace hn = hinge;

using all_activations =
    std::tuple<hn::leaky_relu<>, hn::leaky_relu<0.2f>, hn::leaky_relu<0.0f>, hn::sigmoid, hn::tanh, hn::elu<>,
               hn::elu<0.5f>, hn::selu, hn::gelu, hn::gelu_tanh, hn::silu, hn::softplus, hn::relu6, hn::hard_swish>;

// The activations whose derivative is taken from the output y (the others take z).
using from_output_activations = std::tuple<hn::leaky_relu<>, hn::leaky_relu<0.2f>, hn::sigmoid, hn::tanh,
                                           hn::elu<>, hn::elu<0.5f>, hn::selu, hn::softplus, hn::relu6>;

// ---- compile-time facts ------------------------------------------------------------------------

template <class... A>
constexpr bool all_are_activations(std::tuple<A...>*) {
    return (hn::elementwise_activation<A> && ...) && (A::elementwise && ...);
}
static_assert(all_are_activations(static_cast<all_activations*>(nullptr)));

static_assert(hn::leaky_relu<>::derivative_from_output && hn::sigmoid::derivative_from_output &&
              hn::tanh::derivative_from_output && hn::elu<>::derivative_from_output &&
              hn::selu::derivative_from_output && hn::softplus::derivative_from_output &&
              hn::relu6::derivative_from_output);
static_assert(!hn::gelu::derivative_from_output && !hn::gelu_tanh::derivative_from_output &&
              !hn::silu::derivative_from_output && !hn::hard_swish::derivative_from_output);
static_assert(hn::leaky_relu<>::piecewise_linear && hn::relu6::piecewise_linear && !hn::hard_swish::piecewise_linear &&
              !hn::elu<>::piecewise_linear && !hn::sigmoid::piecewise_linear);
static_assert(hn::leaky_relu<>::negative_slope == 0.01f && hn::leaky_relu<0.3f>::negative_slope == 0.3f);

// The piecewise-linear and polynomial ones, and every derivative taken from the output without
// an elementary function, are constexpr.
static_assert(hn::leaky_relu<0.25f>::forward(-4.0) == -1.0 && hn::leaky_relu<0.25f>::forward(3.0f) == 3.0f);
static_assert(hn::leaky_relu<0.25f>::derivative(0.0) == 0.25 && hn::leaky_relu<0.25f>::derivative(2.0) == 1.0);
static_assert(hn::relu6::forward(7.0) == 6.0 && hn::relu6::forward(-1.0) == 0.0 && hn::relu6::forward(2.5) == 2.5);
static_assert(hn::hard_swish::forward(-3.0) == 0.0 && hn::hard_swish::forward(3.0) == 3.0 &&
              hn::hard_swish::forward(0.0) == 0.0);
static_assert(hn::sigmoid::derivative(0.5) == 0.25 && hn::tanh::derivative(0.0) == 1.0 &&
              hn::elu<>::derivative(-0.5) == 0.5);

// hinge::tanh is a type that goes into a network's type list; std::tanh is untouched.
using tanh_network = hn::network<hn::input<3>, hn::dense<4>, hn::tanh, hn::dense<2>, hn::sigmoid>;
static_assert(std::is_same_v<tanh_network::stage<0>::activation, hn::tanh>);
static_assert(std::is_same_v<decltype(std::tanh(0.5)), double>);

// ---- the two paths -----------------------------------------------------------------------------

template <class T>
using batch = hn::kernels::vector<T>;

template <class Act, class T>
T scalar_forward(T z) {
    return Act::forward(z);
}

// The derivative's argument: y = forward(z) (scalar) for from-output activations, else z.
template <class Act, class T>
T derivative_argument(T z) {
    if constexpr (Act::derivative_from_output)
        return Act::forward(z);
    else
        return z;
}

// Runs f on a whole vector in batches (zero-padded to a multiple of the width).
template <class T, class F>
std::vector<T> on_batches(const std::vector<T>& in, F f) {
    constexpr std::size_t width = batch<T>::size;
    std::vector<T> padded(in);
    padded.resize((in.size() + width - 1) / width * width, T(0));
    std::vector<T> out(padded.size());
    for (std::size_t k = 0; k < padded.size(); k += width)
        f(batch<T>::load_unaligned(padded.data() + k)).store_unaligned(out.data() + k);
    out.resize(in.size());
    return out;
}

// ---- inputs ------------------------------------------------------------------------------------

template <class Act>
std::vector<double> kinks() {
    if constexpr (std::is_same_v<Act, hn::relu6>)
        return {0.0, 6.0};
    else if constexpr (std::is_same_v<Act, hn::hard_swish>)
        return {-3.0, 3.0};
    else if constexpr (Act::piecewise_linear || std::is_same_v<Act, hn::elu<>> || std::is_same_v<Act, hn::elu<0.5f>> ||
                       std::is_same_v<Act, hn::selu>)
        return {0.0};
    else
        return {};
}

// Random values in [-10, 10], random magnitudes from 1e-8 to 1e8 and a few beyond, every kink
// with its neighbours, and the special values, in a fixed seeded order (the specials are spread
// out, so each one shares a batch with ordinary values).
template <class Act, class T>
std::vector<T> hard_inputs() {
    constexpr T inf = std::numeric_limits<T>::infinity();
    constexpr T nan = std::numeric_limits<T>::quiet_NaN();
    std::vector<T> specials{T(0),
                            T(-0.0),
                            inf,
                            -inf,
                            nan,
                            -nan,
                            std::numeric_limits<T>::min(),
                            -std::numeric_limits<T>::min(),
                            std::numeric_limits<T>::denorm_min(),
                            T(-1e-40),
                            std::numeric_limits<T>::max(),
                            std::numeric_limits<T>::lowest(),
                            T(1e-30),
                            T(-1e-30),
                            T(30),
                            T(-30),
                            T(90),
                            T(-90),
                            T(750),
                            T(-750),
                            T(1e20),
                            T(-1e20),
                            T(1e30),
                            T(-1e30)};
    for (double k : kinks<Act>()) {
        const T kink = static_cast<T>(k);
        specials.push_back(kink);
        specials.push_back(std::nextafter(kink, inf));
        specials.push_back(std::nextafter(kink, -inf));
        specials.push_back(kink + T(1e-3));
        specials.push_back(kink - T(1e-3));
    }
    hn::init::random_generator random(20240611);
    std::vector<T> values;
    for (std::size_t k = 0; k < 3000; ++k) {
        if (k % 7 == 3 && k / 7 < specials.size()) values.push_back(specials[k / 7]);
        const double u = random.uniform();
        if (k % 3 == 0) {
            const double magnitude = std::pow(10.0, -8.0 + 16.0 * random.uniform());
            values.push_back(static_cast<T>(u < 0.5 ? -magnitude : magnitude));
        } else {
            values.push_back(static_cast<T>(-10.0 + 20.0 * u));
        }
    }
    return values;
}

// ---- comparison --------------------------------------------------------------------------------

// Agreement of two evaluations of one function at z, in the two paths:
//  - NaN on one side only is a failure; NaN on both, equal values and equal infinities agree;
//  - otherwise |a - b| <= rel eps max(|a|, |b|) + cancellation eps max(1, |z|)
//                         + min_normal max(1, |z|).
// rel = 8 ulp covers xsimd's elementary functions against libm (documented 0.75-1.5 ulp each, and
// an activation chains two or three; the measured worst is under 8 everywhere). cancellation is
// non-zero where the result is a difference that cancels, so an ulp of an elementary function
// becomes an absolute error of order eps |z|: gelu (1 + erf(x) for x < 0; xsimd 8.1's double erf
// is off by up to 34 ulp near |x| = 2.2, hence 40 in double), and the derivatives of gelu,
// gelu_tanh and silu, which cross zero. min_normal: xsimd's exp flushes results below the
// smallest normal to 0 where libm returns a subnormal, and such a value may then be scaled by z.
struct tolerance {
    double rel_ulps;
    double cancellation_ulps;
};

template <class Act, class T>
constexpr tolerance forward_tolerance() {
    if constexpr (std::is_same_v<Act, hn::gelu>) return {8, sizeof(T) == 4 ? 4 : 40};
    else return {8, 0};
}
template <class Act, class T>
constexpr tolerance derivative_tolerance() {
    if constexpr (std::is_same_v<Act, hn::gelu>) return {8, sizeof(T) == 4 ? 4 : 40};
    else if constexpr (std::is_same_v<Act, hn::gelu_tanh> || std::is_same_v<Act, hn::silu>) return {8, 4};
    else return {8, 0};
}

template <class T>
bool agree(T a, T b, T z, tolerance tol, double& worst_ulps) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    if (a == b) return true;
    if (std::isinf(a) || std::isinf(b)) return false;
    const double eps = std::numeric_limits<T>::epsilon();
    const double min_normal = std::numeric_limits<T>::min();
    const double diff = std::fabs(static_cast<double>(a) - static_cast<double>(b));
    const double scale = std::max(std::fabs(static_cast<double>(a)), std::fabs(static_cast<double>(b)));
    const double zscale = std::max(1.0, std::fabs(static_cast<double>(z)));
    const bool ok = diff <= tol.rel_ulps * eps * scale + (tol.cancellation_ulps * eps + min_normal) * zscale;
    // The measured error in the unit the tolerance is stated in: ulps of the result, or, for the
    // cancelling ones, eps |z|.
    if (tol.cancellation_ulps == 0 && scale >= min_normal * zscale) worst_ulps = std::max(worst_ulps, diff / (eps * scale));
    if (tol.cancellation_ulps != 0) worst_ulps = std::max(worst_ulps, diff / (eps * zscale));
    return ok;
}

template <class Act, class T>
void check_simd_equals_scalar() {
    const std::vector<T> z = hard_inputs<Act, T>();
    std::vector<T> u(z.size());
    for (std::size_t k = 0; k < z.size(); ++k) u[k] = derivative_argument<Act>(z[k]);

    const std::vector<T> simd_forward = on_batches(z, [](batch<T> v) { return Act::forward(v); });
    const std::vector<T> simd_derivative = on_batches(u, [](batch<T> v) { return Act::derivative(v); });

    double worst_forward = 0, worst_derivative = 0;
    std::size_t failures = 0;
    for (std::size_t k = 0; k < z.size(); ++k) {
        const T f = Act::forward(z[k]);
        const T d = Act::derivative(u[k]);
        if (!agree(simd_forward[k], f, z[k], forward_tolerance<Act, T>(), worst_forward) && failures++ < 10)
            BOOST_ERROR("forward(" << z[k] << "): SIMD " << simd_forward[k] << ", scalar " << f);
        if (!agree(simd_derivative[k], d, z[k], derivative_tolerance<Act, T>(), worst_derivative) && failures++ < 10)
            BOOST_ERROR("derivative(" << u[k] << ") at z = " << z[k] << ": SIMD " << simd_derivative[k] << ", scalar "
                                       << d);
    }
    BOOST_TEST(failures == 0u);
    BOOST_TEST_MESSAGE(boost::core::demangle(typeid(Act).name()) << " worst SIMD/scalar difference, " << (sizeof(T) == 4 ? "float" : "double")
                                                        << ": forward " << worst_forward << ", derivative "
                                                        << worst_derivative << " (ulp, or eps max(1, |z|) where cancelling)");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(activations)

BOOST_AUTO_TEST_CASE_TEMPLATE(simd_forward_and_derivative_equal_scalar_lane_by_lane_in_float, Act, all_activations) {
    check_simd_equals_scalar<Act, float>();
}

BOOST_AUTO_TEST_CASE_TEMPLATE(simd_forward_and_derivative_equal_scalar_lane_by_lane_in_double, Act, all_activations) {
    check_simd_equals_scalar<Act, double>();
}

// Float keeps the accuracy of its type: the float evaluation is within 4 ulp of the double one
// (rounded to float; same tolerance terms as above, with 4 eps |z| where the result cancels).
// This is what catches a formula that loses precision only in float, such as silu' computed
// with 1 - sigmoid(z) by subtraction. The derivative gets the same argument in both types
// (the float y, widened), so the rounding of y itself is not counted.
BOOST_AUTO_TEST_CASE_TEMPLATE(float_evaluation_is_within_4_ulp_of_double, Act, all_activations) {
    const std::vector<float> z = hard_inputs<Act, float>();
    // Two properties of float itself, not of a formula, get their own terms:
    //  - gelu_tanh's tail is exp(-t) of a rounded cubic t = 2u(z); exp turns the few ulps of t
    //    into |t| times as many ulps of the result (its condition number). Allowed: 4 |t| ulp.
    //  - selu's constants are double; float rounds lambda alpha (by 2.3e-8), so where y + lambda
    //    alpha cancels (z < -4) the float derivative differs from the double one by up to
    //    eps |lambda alpha| absolutely. Allowed: 2 eps.
    const tolerance derivative_tol{
        4, std::is_same_v<Act, hn::selu> ? 2.0 : derivative_tolerance<Act, float>().cancellation_ulps};
    double worst_forward = 0, worst_derivative = 0;
    std::size_t failures = 0;
    for (float x : z) {
        double conditioning = 0;
        if constexpr (std::is_same_v<Act, hn::gelu_tanh>) {
            const double zd = x;
            conditioning = 4 * std::fabs(2 * hn::gelu_tanh::sqrt_2_over_pi * zd * (1 + hn::gelu_tanh::cubic * zd * zd));
        }
        const tolerance forward_tol{4 + conditioning, forward_tolerance<Act, float>().cancellation_ulps};
        const float u = derivative_argument<Act>(x);
        const float reference_forward = static_cast<float>(Act::forward(static_cast<double>(x)));
        const float reference_derivative = static_cast<float>(Act::derivative(static_cast<double>(u)));
        if (!agree(Act::forward(x), reference_forward, x, forward_tol, worst_forward) && failures++ < 10)
            BOOST_ERROR("forward(" << x << "): float " << Act::forward(x) << ", double " << reference_forward);
        if (!agree(Act::derivative(u), reference_derivative, x, derivative_tol, worst_derivative) && failures++ < 10)
            BOOST_ERROR("derivative(" << u << ") at z = " << x << ": float " << Act::derivative(u) << ", double "
                                       << reference_derivative);
    }
    BOOST_TEST(failures == 0u);
    BOOST_TEST_MESSAGE(boost::core::demangle(typeid(Act).name()) << " float vs double: forward " << worst_forward
                                                                   << ", derivative " << worst_derivative);
}

// A NaN must not become a number on one path and stay NaN on another. Checked for a NaN lane among
// ordinary ones, in every lane position, on both paths, for both functions.
template <class Act, class T>
void check_nan_stays_nan() {
    constexpr std::size_t width = batch<T>::size;
    const T nan = std::numeric_limits<T>::quiet_NaN();
    BOOST_TEST(std::isnan(Act::forward(nan)));
    BOOST_TEST(std::isnan(Act::derivative(nan)));
    for (std::size_t lane = 0; lane < width; ++lane) {
        alignas(64) T values[width];
        for (std::size_t k = 0; k < width; ++k) values[k] = T(0.5) * static_cast<T>(k) - T(1);
        values[lane] = nan;
        alignas(64) T forward[width], derivative[width];
        Act::forward(batch<T>::load_aligned(values)).store_aligned(forward);
        Act::derivative(batch<T>::load_aligned(values)).store_aligned(derivative);
        for (std::size_t k = 0; k < width; ++k) {
            BOOST_TEST(std::isnan(forward[k]) == (k == lane));
            BOOST_TEST(std::isnan(derivative[k]) == (k == lane));
        }
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(nan_in_gives_nan_out_on_scalar_and_simd_paths, Act, all_activations) {
    check_nan_stays_nan<Act, float>();
    check_nan_stays_nan<Act, double>();
}

// The infinities are the limits, not NaN (inf * 0 and inf / inf are the traps).
BOOST_AUTO_TEST_CASE_TEMPLATE(infinities_give_the_limits_not_nan, Act, all_activations) {
    constexpr double inf = std::numeric_limits<double>::infinity();
    for (double z : {inf, -inf}) {
        BOOST_TEST_CONTEXT("z = " << z) {
            BOOST_TEST(!std::isnan(Act::forward(z)));
            BOOST_TEST(!std::isnan(Act::derivative(derivative_argument<Act>(z))));
            BOOST_TEST(!std::isnan(Act::forward(static_cast<float>(z))));
            BOOST_TEST(!std::isnan(Act::derivative(derivative_argument<Act>(static_cast<float>(z)))));
        }
    }
}

// Central difference in double, h = 1e-6, on [-10, 10] away from the kinks, with the tolerance
// formula of the gradient checker (support/gradient_check.hpp):
//   |derivative - (f(z + h) - f(z - h)) / 2h| <= 1e-6 max(|derivative|, |difference|) + 1e-6.
// (The absolute term is the floor where the derivative is near 0, which gelu', silu' and
// hard_swish' cross.) The from-output activations are fed y = forward(z).
BOOST_AUTO_TEST_CASE_TEMPLATE(derivative_matches_central_difference_away_from_the_kinks, Act, all_activations) {
    constexpr double h = 1e-6;
    constexpr hinge_test::gradient_tolerance tolerance{.relative = 1e-6, .absolute = 1e-6};
    const std::vector<double> kink_points = kinks<Act>();
    double worst = 0;
    std::size_t checked = 0;
    for (double z = -10.0 + 0.00317; z < 10.0; z += 0.0123) {
        bool near_kink = false;
        for (double k : kink_points) near_kink = near_kink || std::fabs(z - k) < 1e-3;
        if (near_kink) continue;
        const double numeric = (Act::forward(z + h) - Act::forward(z - h)) / ((z + h) - (z - h));
        const double analytic = Act::derivative(derivative_argument<Act>(z));
        const double ratio = tolerance.ratio(analytic, numeric);
        worst = std::max(worst, ratio);
        BOOST_TEST(ratio <= 1.0, "z = " << z << ": derivative " << analytic << ", central difference " << numeric);
        ++checked;
    }
    BOOST_TEST(checked > 1500u);
    BOOST_TEST_MESSAGE(boost::core::demangle(typeid(Act).name()) << " worst error " << worst << " of the tolerance");
}

// ---- the documented values at the kinks, on every path -----------------------------------------

// derivative of Act at the input z (fed y = forward(z) when taken from the output), on float,
// double, and every lane of float and double batches.
template <class Act>
void check_kink(double z, double expected_forward, double expected_derivative) {
    BOOST_TEST_CONTEXT("z = " << z) {
        BOOST_TEST(Act::forward(z) == expected_forward);
        BOOST_TEST(Act::derivative(derivative_argument<Act>(z)) == expected_derivative);
        BOOST_TEST(Act::forward(static_cast<float>(z)) == static_cast<float>(expected_forward));
        BOOST_TEST(Act::derivative(derivative_argument<Act>(static_cast<float>(z))) ==
                   static_cast<float>(expected_derivative));
        const batch<float> fz(static_cast<float>(z));
        const batch<double> dz(z);
        for (std::size_t lane = 0; lane < batch<float>::size; ++lane) {
            BOOST_TEST(Act::forward(fz).get(lane) == static_cast<float>(expected_forward));
            BOOST_TEST(Act::derivative(derivative_argument<Act>(fz)).get(lane) == static_cast<float>(expected_derivative));
        }
        for (std::size_t lane = 0; lane < batch<double>::size; ++lane) {
            BOOST_TEST(Act::forward(dz).get(lane) == expected_forward);
            BOOST_TEST(Act::derivative(derivative_argument<Act>(dz)).get(lane) == expected_derivative);
        }
    }
}

BOOST_AUTO_TEST_CASE(leaky_relu_takes_the_slope_at_zero_like_relu_takes_its_left_derivative) {
    check_kink<hn::leaky_relu<>>(0.0, 0.0, static_cast<double>(0.01f));
    check_kink<hn::leaky_relu<>>(-0.0, 0.0, static_cast<double>(0.01f));
    check_kink<hn::leaky_relu<0.2f>>(0.0, 0.0, static_cast<double>(0.2f));
    check_kink<hn::leaky_relu<0.0f>>(0.0, 0.0, 0.0);  // Slope 0 is relu, with relu's relu'(0) = 0
    check_kink<hn::relu>(0.0, 0.0, 0.0);
}

BOOST_AUTO_TEST_CASE(elu_and_selu_take_the_left_derivative_at_zero) {
    check_kink<hn::elu<>>(0.0, 0.0, 1.0);  // both sides agree for Alpha = 1
    check_kink<hn::elu<0.5f>>(0.0, 0.0, 0.5);
    check_kink<hn::selu>(0.0, 0.0, hn::selu::lambda_alpha);
}

BOOST_AUTO_TEST_CASE(relu6_has_derivative_zero_at_both_kinks) {
    check_kink<hn::relu6>(0.0, 0.0, 0.0);
    check_kink<hn::relu6>(6.0, 6.0, 0.0);
    check_kink<hn::relu6>(3.0, 3.0, 1.0);
}

BOOST_AUTO_TEST_CASE(hard_swish_takes_the_middle_piece_at_both_kinks_like_pytorch) {
    check_kink<hn::hard_swish>(-3.0, 0.0, -0.5);
    check_kink<hn::hard_swish>(3.0, 3.0, 1.5);
    check_kink<hn::hard_swish>(0.0, 0.0, 0.5);
}

// sigmoid' = y (1 - y) <= 1/4, with equality at 0; tanh' <= 1 with equality at 0.
BOOST_AUTO_TEST_CASE(sigmoid_and_tanh_derivatives_peak_at_zero) {
    check_kink<hn::sigmoid>(0.0, 0.5, 0.25);
    check_kink<hn::tanh>(0.0, 0.0, 1.0);
    for (double z = -20; z <= 20; z += 0.01) {
        BOOST_TEST(hn::sigmoid::derivative(hn::sigmoid::forward(z)) <= 0.25);
        BOOST_TEST(hn::tanh::derivative(hn::tanh::forward(z)) <= 1.0);
    }
}

// Reference values computed independently (mpmath, 30 digits), to 1e-15 relative; they pin the
// constants (selu's lambda and alpha, gelu_tanh's 0.044715, the 1/sqrt 2 of gelu).
BOOST_AUTO_TEST_CASE(values_match_independent_references) {
    auto close = [](double a, double b) { return std::fabs(a - b) <= 1e-15 * std::max(1.0, std::fabs(b)); };
    BOOST_TEST(close(hn::selu::forward(1.0), 1.0507009873554804934));
    BOOST_TEST(close(hn::selu::forward(-1.0), -1.1113307378125628));
    BOOST_TEST(close(hn::gelu::forward(1.0), 0.8413447460685429));
    BOOST_TEST(close(hn::gelu::forward(-1.0), -0.15865525393145705));
    BOOST_TEST(close(hn::gelu_tanh::forward(1.0), 0.8411919906082768));
    BOOST_TEST(close(hn::gelu_tanh::forward(-2.0), -0.04540230591222595));
    BOOST_TEST(close(hn::silu::forward(2.0), 1.7615941559557649));
    BOOST_TEST(close(hn::softplus::forward(1.0), 1.3132616875182228));
    BOOST_TEST(close(hn::softplus::forward(-40.0), 4.248354255291589e-18));  // exp(-40) to rounding
    BOOST_TEST(close(hn::softplus::forward(40.0), 40.0));
    BOOST_TEST(close(hn::elu<>::forward(-1.0), -0.6321205588285577));
    BOOST_TEST(close(hn::hard_swish::forward(1.0), 2.0 / 3.0));
}

// ---- whole networks: the activation fused into dense, gradient against finite differences ----

// Three stages with the activation after each, double precision, a batch of 5 (not a multiple
// of a kernel's row block): every weight, bias and input gradient from backward() matches a
// central difference, by the suite's checker (support/gradient_check.hpp: its tolerance model).
// Coordinates whose perturbation moves a unit across a kink are skipped by the checker (counted,
// at most 1 in 10).
BOOST_AUTO_TEST_CASE_TEMPLATE(network_gradient_matches_finite_differences_with_the_activation_fused, Act,
                              from_output_activations) {
    using net = hn::network<hn::input<6>, hn::dense<9>, Act, hn::dense<7>, Act, hn::dense<3>, Act>;
    constexpr std::size_t batch_rows = 5;
    auto p = std::make_unique<hn::parameters<net, double>>();
    hinge_test::fill_random(*p, 17, 0.9);
    std::vector<double> x(batch_rows * net::input_size);
    hn::init::random_generator random(5);
    for (double& v : x) v = 4.0 * random.uniform() - 2.0;
    hinge_test::check_gradients<net, batch_rows>(*p, x.data(), {.input = true});
}

BOOST_AUTO_TEST_SUITE_END()
