// Convolutions (grouped and depthwise too, and their kernels), pooling, flatten, dropout, residual
// blocks and layer_norm: shapes, forward passes against naive scalar references, finite-difference
// gradient checks in double precision.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <hinge/hinge.hpp>
#include <hinge/io/architecture.hpp>

#include "../support/gradient_check.hpp"

namespace hn = hinge;
using hinge_test::check_gradients;
using hinge_test::fill_random;
using hinge_test::random_values;

namespace {

// The input position that tap (kh, kw) of output position p reads, or -1 in the padding.
long tap_position(const hn::window_geometry& g, std::size_t p, std::size_t kh, std::size_t kw) {
    const std::size_t oy = p / g.out_width, ox = p % g.out_width;
    const long iy = static_cast<long>(oy * g.stride_height + kh * g.dilation_height) - static_cast<long>(g.pad_top);
    const long ix = static_cast<long>(ox * g.stride_width + kw * g.dilation_width) - static_cast<long>(g.pad_left);
    if (iy < 0 || ix < 0 || iy >= static_cast<long>(g.height) || ix >= static_cast<long>(g.width)) return -1;
    return iy * static_cast<long>(g.width) + ix;
}

// Every product of a (grouped) convolution, by definition: visit(q, p, f, row, channel) for the
// input position q that output position p reads through tap t, filter f, its weight's row
// t * C / G + c and its input channel g * C / G + c (g = f / (F / G)). One sample; taps in the
// padding are skipped.
template <class Visit>
void for_each_product(const hn::window_geometry& g, std::size_t filters, std::size_t groups, Visit visit) {
    const std::size_t cg = g.channels / groups, fg = filters / groups;
    for (std::size_t p = 0; p < g.output_positions(); ++p)
        for (std::size_t t = 0; t < g.window_size(); ++t) {
            const long q = tap_position(g, p, t / g.kernel_width, t % g.kernel_width);
            if (q < 0) continue;
            for (std::size_t f = 0; f < filters; ++f)
                for (std::size_t c = 0; c < cg; ++c) visit(static_cast<std::size_t>(q), p, f, t * cg + c, f / fg * cg + c);
        }
}

// The (grouped) convolution of one sample by definition: y[p][f] = b[f] + sum over the taps and
// the C / G channels of f's group g = f / (F / G), with weight(f, t * C / G + c) and input channel
// g * C / G + c. x: positions x x_stride (channels last), the result: out positions x F.
template <class Weight, class Bias, class T>
std::vector<double> naive_convolution(const hn::window_geometry& g, std::size_t filters, std::size_t groups,
                                      const T* x, std::size_t x_stride, Weight weight, Bias bias) {
    const std::size_t cg = g.channels / groups, fg = filters / groups;
    std::vector<double> y(g.output_positions() * filters);
    for (std::size_t p = 0; p < g.output_positions(); ++p)
        for (std::size_t f = 0; f < filters; ++f) {
            double sum = static_cast<double>(bias(f));
            for (std::size_t t = 0; t < g.window_size(); ++t) {
                const long q = tap_position(g, p, t / g.kernel_width, t % g.kernel_width);
                if (q < 0) continue;
                for (std::size_t c = 0; c < cg; ++c)
                    sum += static_cast<double>(weight(f, t * cg + c)) *
                           static_cast<double>(x[static_cast<std::size_t>(q) * x_stride + f / fg * cg + c]);
            }
            y[p * filters + f] = sum;
        }
    return y;
}

template <class View>
std::vector<double> naive_convolution(const View& view, const hn::window_geometry& g, std::size_t filters,
                                      const double* x, std::size_t groups = 1) {
    return naive_convolution(
        g, filters, groups, x, g.channels, [&](std::size_t f, std::size_t k) { return view.weight(f, k); },
        [&](std::size_t f) { return view.bias(f); });
}

// A network of one convolution (no activation), run on 3 samples and compared with the naive
// convolution of each.
template <class Input, class Conv>
void check_convolution_forward() {
    using net = hn::network<Input, Conv>;
    using S = typename net::template stage<0>;
    constexpr hn::window_geometry g = Conv::template geometry<typename S::input_shape>();
    constexpr std::size_t batch = 3;
    auto p = std::make_unique<hn::parameters<net, double>>();
    fill_random(*p, 11);
    auto ws = std::make_unique<hn::workspace<net, batch, double, false>>();
    const std::vector<double> x = random_values<double>(batch * net::input_size, 5);
    hn::forward(*p, *ws, x.data(), batch);
    constexpr std::size_t padded = hn::layout<net, double>::stages[0].padded_output;
    double worst = 0;
    for (std::size_t n = 0; n < batch; ++n) {
        const std::vector<double> expected =
            naive_convolution(p->template layer<0>(), g, Conv::filters, x.data() + n * net::input_size, Conv::groups);
        for (std::size_t q = 0; q < S::positions; ++q)
            for (std::size_t f = 0; f < Conv::filters; ++f)
                worst = std::max(worst, std::fabs(ws->template activation<0>()[(n * S::positions + q) * padded + f] -
                                                  expected[q * Conv::filters + f]));
    }
    BOOST_TEST(worst < 1e-12);
}

// Every parameter and input coordinate of Batch random samples, by the suite's checker
// (support/gradient_check.hpp: its tolerance, kink skipping, padding check).
template <class Net, std::size_t Batch = 2>
void check_network_gradients(std::uint64_t seed) {
    auto p = std::make_unique<hn::parameters<Net, double>>();
    fill_random(*p, seed);
    const std::vector<double> x = random_values<double>(Batch * Net::input_size, seed + 1);
    check_gradients<Net, Batch>(*p, x.data(), {.input = true});
}

// ---- the grouped kernels (kernels/grouped_convolution.hpp) against scalar references ----------

// The largest |a - b| relative to the largest |b| (1 when b is all zeros).
template <class Values>
double relative_difference(const Values& a, const std::vector<double>& b) {
    double diff = 0, scale = 1e-300;
    for (std::size_t k = 0; k < b.size(); ++k) {
        diff = std::max(diff, std::fabs(static_cast<double>(a[k]) - b[k]));
        scale = std::max(scale, std::fabs(b[k]));
    }
    return diff / scale;
}

// Forward (plain and tanh, input rows padded or not), weight gradient, input gradient with a
// fused tanh derivative and its column sums, on two samples, against the definitions; padding
// lanes of every output must be what the other kernels leave there (0, or Act(0)).
// The padding lanes of the input rows hold NaN: no kernel may read them.
template <hn::window_geometry G, std::size_t F, std::size_t Groups, class T>
void check_grouped_kernels(std::uint64_t seed) {
    namespace k = hn::kernels;
    constexpr std::size_t P = hn::panel_width<T>, C = G.channels, Cp = hn::round_up(C, P), Fp = hn::round_up(F, P);
    constexpr std::size_t cg = C / Groups, fg = F / Groups, K = G.window_size(), fan_in = K * cg;
    constexpr std::size_t in_positions = G.input_positions(), out_positions = G.output_positions(), N = 2;
    const double tolerance = sizeof(T) == 8 ? 1e-13 : 2e-6;
    std::vector<T, xsimd::aligned_allocator<T, 64>> w(Fp * fan_in, T(0)), b(Fp, T(0)), x(N * in_positions * Cp),
        y(N * out_positions * Fp), z(N * out_positions * Fp), dz(N * out_positions * Fp, T(0)), dw(Fp * fan_in),
        wt(K * fg * Cp), u(N * in_positions * Cp), dx(N * in_positions * Cp), bias_sums(Cp, T(0));
    const std::vector<double> r = random_values<double>(w.size() + b.size() + x.size() + dz.size() + u.size(), seed);
    std::size_t next = 0;
    const auto weight = [&](std::size_t f, std::size_t row) -> T& { return w[f / P * (fan_in * P) + row * P + f % P]; };
    for (std::size_t f = 0; f < F; ++f) {
        b[f] = static_cast<T>(r[next++]);
        for (std::size_t row = 0; row < fan_in; ++row) weight(f, row) = static_cast<T>(r[next++]);
    }
    for (std::size_t q = 0; q < N * in_positions; ++q)
        for (std::size_t c = 0; c < Cp; ++c) {
            x[q * Cp + c] = c < C ? static_cast<T>(r[next++]) : std::numeric_limits<T>::quiet_NaN();
            u[q * Cp + c] = c < C ? static_cast<T>(0.9 * r[next++]) : T(0);  // the previous stage's tanh outputs
        }
    for (std::size_t p = 0; p < N * out_positions; ++p)
        for (std::size_t f = 0; f < F; ++f) dz[p * Fp + f] = static_cast<T>(r[next++]);  // padding lanes 0, as a next stage leaves them

    // Forward, identity and tanh, from padded rows; and from unpadded rows (a first stage).
    const auto expected = [&](std::size_t n, const T* rows, std::size_t stride) {
        return naive_convolution(G, F, Groups, rows + n * in_positions * stride, stride, weight,
                                 [&](std::size_t f) { return b[f]; });
    };
    std::vector<T> unpadded(N * in_positions * C);
    for (std::size_t q = 0; q < N * in_positions; ++q)
        for (std::size_t c = 0; c < C; ++c) unpadded[q * C + c] = x[q * Cp + c];
    for (int pass = 0; pass < 3; ++pass) {
        const bool padded = pass != 2;
        std::fill(y.begin(), y.end(), T(-7));
        if (pass == 1)
            k::grouped_convolution_forward<hn::tanh, G, F, Groups>(N, x.data(), Cp, w.data(), b.data(), y.data(), {},
                                                                  z.data());
        else
            k::grouped_convolution_forward<hn::identity, G, F, Groups>(N, padded ? x.data() : unpadded.data(),
                                                                      padded ? Cp : C, w.data(), b.data(), y.data(),
                                                                      {}, z.data());
        std::vector<T> got;
        std::vector<double> want;
        for (std::size_t n = 0; n < N; ++n) {
            const std::vector<double> e = padded ? expected(n, x.data(), Cp) : expected(n, unpadded.data(), C);
            for (std::size_t p = 0; p < out_positions; ++p)
                for (std::size_t f = 0; f < Fp; ++f) {
                    got.push_back(y[(n * out_positions + p) * Fp + f]);
                    const double pre = f < F ? e[p * F + f] : 0.0;
                    want.push_back(pass == 1 ? std::tanh(pre) : pre);
                }
        }
        BOOST_TEST(relative_difference(got, want) < tolerance, "forward pass " << pass);
    }

    // Weight gradient: dW(f, t * cg + c) = sum over samples and positions of dz[p][f] x[tap t of p][g cg + c].
    std::fill(dw.begin(), dw.end(), T(-7));
    k::grouped_convolution_weight_gradient<G, F, Groups>(N, x.data(), Cp, dz.data(), Fp, dw.data());
    {
        std::vector<double> want(dw.size(), 0.0);
        for (std::size_t n = 0; n < N; ++n)
            for_each_product(G, F, Groups, [&](std::size_t q, std::size_t p, std::size_t f, std::size_t row, std::size_t c) {
                want[f / P * (fan_in * P) + row * P + f % P] += static_cast<double>(dz[(n * out_positions + p) * Fp + f]) *
                                                                static_cast<double>(x[(n * in_positions + q) * Cp + c]);
            });
        BOOST_TEST(relative_difference(dw, want) < tolerance, "weight gradient");
    }

    // Input gradient, through the previous stage's tanh, with its bias gradient's column sums.
    k::transpose_grouped_weights<G, F, Groups>(w.data(), wt.data());
    std::fill(dx.begin(), dx.end(), T(-7));
    const k::activation_gradient_target<T> previous{u.data(), Cp, nullptr, bias_sums.data(), nullptr, nullptr};
    k::grouped_convolution_input_gradient<hn::tanh, G, F, Groups>(N, dz.data(), Fp, wt.data(), previous, dx.data(), Cp);
    {
        std::vector<double> want(dx.size(), 0.0), sums(Cp, 0.0);
        for (std::size_t n = 0; n < N; ++n)
            for_each_product(G, F, Groups, [&](std::size_t q, std::size_t p, std::size_t f, std::size_t row, std::size_t c) {
                want[(n * in_positions + q) * Cp + c] +=
                    static_cast<double>(dz[(n * out_positions + p) * Fp + f]) * static_cast<double>(weight(f, row));
            });
        for (std::size_t q = 0; q < N * in_positions; ++q)
            for (std::size_t c = 0; c < Cp; ++c) {
                want[q * Cp + c] *= hn::tanh::derivative(static_cast<double>(u[q * Cp + c]));
                sums[c] += want[q * Cp + c];
            }
        BOOST_TEST(relative_difference(dx, want) < tolerance, "input gradient");
        BOOST_TEST(relative_difference(bias_sums, sums) < tolerance, "column sums");
    }
}

// A causal grouped conv1d one step at a time (grouped_causal_step, with the ring of past inputs)
// equals the whole sequence (grouped_convolution_forward), and so does a sequence continued in
// two passes through the ring.
template <std::size_t L, std::size_t C, std::size_t F, std::size_t Kernel, std::size_t Dilation, std::size_t Groups,
          class T>
void check_grouped_causal_steps(std::uint64_t seed) {
    namespace k = hn::kernels;
    using conv = hn::conv1d<F, Kernel, 1, hn::padding::causal, Dilation, Groups>;
    constexpr hn::window_geometry whole = conv::template geometry<hn::shape<L, C>>();
    constexpr hn::window_geometry step = conv::template geometry<hn::shape<1, C>>();
    constexpr hn::window_geometry half = conv::template geometry<hn::shape<L / 2, C>>();
    constexpr std::size_t P = hn::panel_width<T>, Cp = hn::round_up(C, P), Fp = hn::round_up(F, P);
    constexpr std::size_t fan_in = Kernel * C / Groups, R = whole.pad_left;
    static_assert(L % 2 == 0 && step.pad_left == R);
    std::vector<T, xsimd::aligned_allocator<T, 64>> w(Fp * fan_in, T(0)), b(Fp, T(0)), x(L * Cp, T(0)), y(L * Fp),
        y_step(Fp), y_half(L * Fp), ring(R * Cp, T(0));
    const std::vector<double> r = random_values<double>(F * (fan_in + 1) + L * C, seed);
    std::size_t next = 0;
    for (std::size_t f = 0; f < F; ++f) {
        b[f] = static_cast<T>(r[next++]);
        for (std::size_t row = 0; row < fan_in; ++row) w[f / P * (fan_in * P) + row * P + f % P] = static_cast<T>(r[next++]);
    }
    for (std::size_t t = 0; t < L; ++t)
        for (std::size_t c = 0; c < C; ++c) x[t * Cp + c] = static_cast<T>(r[next++]);
    k::grouped_convolution_forward<hn::identity, whole, F, Groups>(1, x.data(), Cp, w.data(), b.data(), y.data(), {},
                                                                  static_cast<T*>(nullptr));
    double worst = 0;
    for (std::size_t t = 0; t < L; ++t) {
        // Before the first step there is no past (a null ring: zeros).
        const k::causal_context<T> context{t == 0 ? nullptr : ring.data(), 0, Cp, t};
        k::grouped_causal_step<hn::identity, step, F, Groups>(x.data() + t * Cp, context, w.data(), b.data(),
                                                              y_step.data(), {});
        k::push_causal_context<R, Cp>(1, x.data() + t * Cp, Cp, ring.data(), context);
        for (std::size_t f = 0; f < F; ++f)
            worst = std::max(worst, std::fabs(static_cast<double>(y_step[f]) - static_cast<double>(y[t * Fp + f])));
    }
    // Two halves: the second reads the first's last R inputs from the ring.
    std::fill(ring.begin(), ring.end(), T(0));
    const k::causal_context<T> start{nullptr, 0, Cp, 0};
    k::grouped_convolution_forward<hn::identity, half, F, Groups>(1, x.data(), Cp, w.data(), b.data(), y_half.data(),
                                                                 {}, static_cast<T*>(nullptr));
    k::push_causal_context<R, Cp>(L / 2, x.data(), Cp, ring.data(), start);
    const k::causal_context<T> continued{ring.data(), 0, Cp, L / 2};
    k::grouped_convolution_forward<hn::identity, half, F, Groups>(1, x.data() + L / 2 * Cp, Cp, w.data(), b.data(),
                                                                 y_half.data() + L / 2 * Fp, {},
                                                                 static_cast<T*>(nullptr), &continued);
    for (std::size_t t = 0; t < L; ++t)
        for (std::size_t f = 0; f < F; ++f)
            worst = std::max(worst, std::fabs(static_cast<double>(y_half[t * Fp + f]) - static_cast<double>(y[t * Fp + f])));
    BOOST_TEST(worst < (sizeof(T) == 8 ? 1e-13 : 1e-5));
}

// layer_norm by definition: y = Act(gamma (x - mean) / sqrt(var + eps) + beta) over the C channels
// of every row (position) of the stage before it (the last but one), compared on 3 samples.
template <class Net>
void check_layer_norm_forward(std::uint64_t seed) {
    constexpr std::size_t I = Net::stage_count - 1;  // the layer_norm stage, after a product
    using S = typename Net::template stage<I>;
    constexpr std::size_t C = S::output_width, B = 3;
    auto p = std::make_unique<hn::parameters<Net, double>>();
    fill_random(*p, seed);
    auto ws = std::make_unique<hn::workspace<Net, B, double, false>>();
    const std::vector<double> x = random_values<double>(B * Net::input_size, seed + 1);
    hn::forward(*p, *ws, x.data(), B);
    using LT = hn::layout<Net, double>;
    const double* gamma = p->data() + LT::template tensor_offset<I>(0);
    const double* beta = p->data() + LT::template tensor_offset<I>(1);
    constexpr std::size_t stride = LT::stages[I].padded_output;
    double worst = 0;
    for (std::size_t row = 0; row < B * S::positions; ++row) {
        const double* in = ws->template activation<I - 1>() + row * LT::stages[I - 1].padded_output;
        double mean = 0, var = 0;
        for (std::size_t c = 0; c < C; ++c) mean += in[c] / C;
        for (std::size_t c = 0; c < C; ++c) var += (in[c] - mean) * (in[c] - mean) / C;
        for (std::size_t c = 0; c < C; ++c) {
            const double u = gamma[c] * (in[c] - mean) / std::sqrt(var + 1e-5f) + beta[c];
            const double want = hn::tanh::forward(u);
            worst = std::max(worst, std::fabs(ws->template activation<I>()[row * stride + c] - want));
        }
    }
    BOOST_TEST(worst < 1e-13);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(layers)

BOOST_AUTO_TEST_CASE(shapes_are_inferred_through_convolutions_and_pooling) {
    using cnn = hn::network<hn::input<28, 28, 1>, hn::conv2d<32, 3>, hn::relu, hn::max_pool2d<2>, hn::conv2d<64, 3>,
                            hn::relu, hn::max_pool2d<2>, hn::flatten, hn::dense<128>, hn::relu, hn::dense<10>>;
    static_assert(std::is_same_v<cnn::stage<0>::output_shape, hn::shape<28, 28, 32>>);
    static_assert(std::is_same_v<cnn::stage<1>::output_shape, hn::shape<14, 14, 32>>);
    static_assert(std::is_same_v<cnn::stage<3>::output_shape, hn::shape<7, 7, 64>>);
    static_assert(std::is_same_v<cnn::stage<4>::output_shape, hn::shape<3136>>);
    static_assert(cnn::output_size == 10);
    // As PyTorch counts them: 320 + 18496 + 401536 + 1290.
    static_assert(cnn::parameter_count == 421642);

    using strided = hn::network<hn::input<9, 7, 2>, hn::conv2d<4, 3, 2, hn::padding::valid>>;
    static_assert(std::is_same_v<strided::stage<0>::output_shape, hn::shape<4, 3, 4>>);
    using same_strided = hn::network<hn::input<9, 7, 2>, hn::conv2d<4, 3, 2>>;
    static_assert(std::is_same_v<same_strided::stage<0>::output_shape, hn::shape<5, 4, 4>>);
    using dilated = hn::network<hn::input<20, 3>, hn::conv1d<5, 2, 1, hn::padding::valid, 4>>;
    static_assert(std::is_same_v<dilated::stage<0>::output_shape, hn::shape<16, 5>>);
    using pooled = hn::network<hn::input<7, 5, 3>, hn::conv2d<3, 1>, hn::max_pool2d<2>, hn::global_avg_pool>;
    static_assert(std::is_same_v<pooled::stage<1>::output_shape, hn::shape<3, 2, 3>>);
    static_assert(std::is_same_v<pooled::stage<2>::output_shape, hn::shape<3>>);
}

BOOST_AUTO_TEST_CASE(convolution_forward_matches_the_definition) {
    check_convolution_forward<hn::input<6, 5, 3>, hn::conv2d<4, 3>>();
    check_convolution_forward<hn::input<7, 9, 2>, hn::conv2d<5, 3, 2>>();                       // stride, same
    check_convolution_forward<hn::input<8, 7, 3>, hn::conv2d<3, 3, 2, hn::padding::valid>>();  // stride, valid
    check_convolution_forward<hn::input<9, 9, 1>, hn::conv2d<17, 5, 1, hn::padding::same, 2>>(); // dilation, >1 panel
    check_convolution_forward<hn::input<5, 4, 6>, hn::conv2d<2, 1>>();                         // 1x1: no gathering
    check_convolution_forward<hn::input<6, 6, 2>, hn::conv2d<3, 4>>();                         // even kernel, same
    check_convolution_forward<hn::input<13, 3>, hn::conv1d<4, 3>>();
    check_convolution_forward<hn::input<20, 2>, hn::conv1d<3, 2, 1, hn::padding::valid, 4>>();  // dilated, causal-style
    check_convolution_forward<hn::input<11, 4>, hn::conv1d<6, 5, 3>>();
}

BOOST_AUTO_TEST_CASE(grouped_convolutions_have_pytorchs_shapes_counts_and_descriptions) {
    // Groups = 1 is the convolution of every existing spelling.
    static_assert(std::is_same_v<hn::conv2d<4, 3>, hn::conv2d<4, 3, 1, hn::padding::same, 1, 1>>);
    static_assert(std::is_same_v<hn::conv1d<4, 2, 1, hn::padding::causal>, hn::conv1d<4, 2, 1, hn::padding::causal, 1, 1>>);
    // As PyTorch counts them: weight [F, C / G, K, K] and bias [F].
    using grouped = hn::network<hn::input<6, 5, 8>, hn::conv2d<12, 3, 1, hn::padding::same, 1, 4>>;
    static_assert(grouped::parameter_count == 12 * 2 * 3 * 3 + 12);
    static_assert(std::is_same_v<grouped::stage<0>::output_shape, hn::shape<6, 5, 12>>);
    static_assert(grouped::stage<0>::input_width == 3 * 3 * 2);  // fan-in: the taps over one group's channels
    static_assert(grouped::stage<0>::fan_out == 3 * 3 * 3);      // outputs one input value reaches: (F / G) K K
    using depthwise = hn::network<hn::input<16, 6>, hn::conv1d<12, 3, 1, hn::padding::causal, 2, 6>>;
    static_assert(depthwise::parameter_count == 12 * 1 * 3 + 12);
    // Descriptions say the groups only when there are several, so ungrouped ones (and the files
    // they fingerprint) are unchanged.
    const std::string text(hn::io::architecture_description<grouped>);
    BOOST_TEST(text == "input <6,5,8> | convolution(kernel 3x3 stride 1x1 dilation 1x1 pad 1x1 groups 4) "
                       "<6,5,8>-><6,5,12> identity");
    BOOST_TEST(std::string(hn::io::architecture_description<hn::network<hn::input<6, 5, 8>, hn::conv2d<12, 3>>>) ==
               "input <6,5,8> | convolution(kernel 3x3 stride 1x1 dilation 1x1 pad 1x1) <6,5,8>-><6,5,12> identity");
    BOOST_TEST(std::string(hn::io::architecture_description<depthwise>).find("pad 0x4 groups 6) <16,6>-><16,12>") !=
               std::string::npos);
    // PyTorch's weight [F, C / G, Kh, Kw] in the io table, element (f, c, kh, kw) at row
    // (kh Kw + kw) C / G + c of column f.
    const auto table = hn::io::tensor_table<grouped, float>();
    BOOST_TEST(table[0].rank == 4u);
    BOOST_TEST((table[0].shape == std::array<std::size_t, 4>{12, 2, 3, 3}));
    auto p = std::make_unique<hn::parameters<grouped>>();
    for (std::size_t f = 0; f < 12; ++f)
        for (std::size_t c = 0; c < 2; ++c)
            for (std::size_t t = 0; t < 9; ++t)
                p->layer<0>().weight(f, t * 2 + c) = static_cast<float>(1000 * f + 10 * c + t);
    bool all = true;
    for (std::size_t k = 0; k < table[0].count; ++k) {
        const std::size_t f = k / 18, c = k / 9 % 2, t = k % 9;
        all = all && p->data()[table[0].element(k)] == static_cast<float>(1000 * f + 10 * c + t);
    }
    BOOST_TEST(all);
}

BOOST_AUTO_TEST_CASE(grouped_convolution_forward_matches_the_definition) {
    check_convolution_forward<hn::input<6, 5, 6>, hn::conv2d<9, 3, 1, hn::padding::same, 1, 3>>();    // 2 -> 3 per group
    check_convolution_forward<hn::input<7, 9, 4>, hn::conv2d<8, 3, 2, hn::padding::same, 1, 4>>();    // depthwise x2, stride
    check_convolution_forward<hn::input<5, 6, 11>, hn::conv2d<11, 3, 1, hn::padding::valid, 2, 11>>(); // depthwise, dilated
    check_convolution_forward<hn::input<5, 4, 4>, hn::conv2d<32, 3, 1, hn::padding::same, 1, 2>>();   // 16 per group: broadcasts
    check_convolution_forward<hn::input<13, 6>, hn::conv1d<4, 3, 1, hn::padding::causal, 2, 2>>();
    check_convolution_forward<hn::input<11, 8>, hn::conv1d<8, 5, 3, hn::padding::same, 1, 8>>();      // strided depthwise
}

BOOST_AUTO_TEST_CASE(grouped_kernels_match_scalar_references) {
    // Lanes gathered (3 filters per group), depthwise with contiguous channel vectors and a
    // gathered tail (11 channels), depthwise with a multiplier, 16 filters per group (one
    // broadcast per vector of floats or doubles), causal dilated conv1d, strides.
    constexpr hn::window_geometry gathered = hn::conv2d<9, 3, 2, hn::padding::same, 1, 3>::geometry<hn::shape<5, 6, 6>>();
    constexpr hn::window_geometry depthwise = hn::conv2d<11, 3>::geometry<hn::shape<4, 5, 11>>();
    constexpr hn::window_geometry multiplier =
        hn::conv2d<6, 3, 1, hn::padding::same, 2>::geometry<hn::shape<5, 4, 3>>();
    constexpr hn::window_geometry broadcast = hn::conv2d<32, 3>::geometry<hn::shape<4, 3, 4>>();
    constexpr hn::window_geometry causal =
        hn::conv1d<8, 3, 1, hn::padding::causal, 2>::geometry<hn::shape<9, 4>>();
    constexpr hn::window_geometry wide = hn::conv1d<40, 2, 2, hn::padding::valid>::geometry<hn::shape<9, 20>>();
    check_grouped_kernels<gathered, 9, 3, double>(1);
    check_grouped_kernels<gathered, 9, 3, float>(1);
    check_grouped_kernels<depthwise, 11, 11, double>(2);
    check_grouped_kernels<depthwise, 11, 11, float>(2);
    check_grouped_kernels<multiplier, 6, 3, double>(3);
    check_grouped_kernels<multiplier, 6, 3, float>(3);
    check_grouped_kernels<broadcast, 32, 2, double>(4);
    check_grouped_kernels<broadcast, 32, 2, float>(4);
    check_grouped_kernels<causal, 8, 2, double>(5);
    check_grouped_kernels<causal, 8, 4, float>(5);
    check_grouped_kernels<wide, 40, 20, float>(6);  // depthwise x2 past one panel of floats
    check_grouped_kernels<wide, 40, 4, double>(6);
    check_grouped_causal_steps<12, 4, 8, 3, 2, 2, double>(7);
    check_grouped_causal_steps<12, 4, 8, 3, 2, 4, float>(7);
    check_grouped_causal_steps<10, 6, 6, 2, 3, 6, float>(8);
}

BOOST_AUTO_TEST_CASE(float_convolution_matches_double) {
    using net = hn::network<hn::input<10, 9, 5>, hn::conv2d<20, 3, 2>, hn::relu>;
    auto pd = std::make_unique<hn::parameters<net, double>>();
    fill_random(*pd, 3);
    auto pf = std::make_unique<hn::parameters<net, float>>();
    // Logical copy: the panel layouts of float and double differ.
    for (std::size_t f = 0; f < 20; ++f) {
        pf->layer<0>().bias(f) = static_cast<float>(pd->layer<0>().bias(f));
        for (std::size_t k = 0; k < 45; ++k) pf->layer<0>().weight(f, k) = static_cast<float>(pd->layer<0>().weight(f, k));
    }
    const std::vector<double> xd = random_values<double>(4 * net::input_size, 9);
    const std::vector<float> xf(xd.begin(), xd.end());
    auto wd = std::make_unique<hn::workspace<net, 4, double, false>>();
    auto wf = std::make_unique<hn::workspace<net, 4, float, false>>();
    hn::forward(*pd, *wd, xd.data(), 4);
    hn::forward(*pf, *wf, xf.data(), 4);
    double worst = 0;
    // Rows of 20 channels, padded to 24 doubles or 32 floats.
    for (std::size_t r = 0; r < 4 * net::stage<0>::positions; ++r)
        for (std::size_t f = 0; f < 20; ++f)
            worst = std::max(worst, std::fabs(wd->activation<0>()[r * 24 + f] - static_cast<double>(wf->activation<0>()[r * 32 + f])));
    BOOST_TEST(worst < 1e-5);
}

BOOST_AUTO_TEST_CASE(max_and_average_pooling_match_the_definition) {
    using net = hn::network<hn::input<5, 7, 3>, hn::conv2d<3, 1>, hn::max_pool2d<2>>;
    using avg = hn::network<hn::input<5, 7, 3>, hn::conv2d<3, 1>, hn::avg_pool2d<2>>;
    auto p = std::make_unique<hn::parameters<net, double>>();
    fill_random(*p, 4);
    auto pa = std::make_unique<hn::parameters<avg, double>>();
    std::copy(p->data(), p->data() + p->storage().size(), pa->data());
    const std::vector<double> x = random_values<double>(net::input_size, 8);
    auto ws = std::make_unique<hn::workspace<net, 1, double, false>>();
    auto wa = std::make_unique<hn::workspace<avg, 1, double, false>>();
    hn::forward(*p, *ws, x.data(), 1);
    hn::forward(*pa, *wa, x.data(), 1);
    constexpr std::size_t P = hn::panel_width<double>;
    const double* conv = ws->activation<0>();
    for (std::size_t oy = 0; oy < 2; ++oy)
        for (std::size_t ox = 0; ox < 3; ++ox)
            for (std::size_t c = 0; c < 3; ++c) {
                double m = -1e300, s = 0;
                for (std::size_t dy = 0; dy < 2; ++dy)
                    for (std::size_t dx = 0; dx < 2; ++dx) {
                        const double v = conv[((2 * oy + dy) * 7 + 2 * ox + dx) * P + c];
                        m = std::max(m, v);
                        s += v;
                    }
                BOOST_TEST(ws->activation<1>()[(oy * 3 + ox) * P + c] == m);
                BOOST_TEST(std::fabs(wa->activation<1>()[(oy * 3 + ox) * P + c] - s / 4) < 1e-15);
            }
}

// Every layer of this suite, gradient-checked in double against central differences, through
// the whole network (so the fused derivative of each previous stage is checked too).
BOOST_AUTO_TEST_CASE(convolution_gradients) {
    check_network_gradients<hn::network<hn::input<6, 5, 2>, hn::conv2d<3, 3>, hn::tanh, hn::flatten, hn::dense<2>>>(21);
    check_network_gradients<hn::network<hn::input<7, 6, 3>, hn::conv2d<4, 3, 2>, hn::relu, hn::conv2d<3, 3, 1, hn::padding::valid>,
                                        hn::flatten, hn::dense<3>>>(22);
    check_network_gradients<hn::network<hn::input<9, 9, 1>, hn::conv2d<5, 3, 1, hn::padding::same, 2>, hn::elu<>,
                                        hn::conv2d<2, 1>, hn::flatten, hn::dense<2>>>(23);
    check_network_gradients<hn::network<hn::input<6, 6, 2>, hn::conv2d<3, 4, 2>, hn::softplus, hn::flatten, hn::dense<2>>>(24);
}

BOOST_AUTO_TEST_CASE(dilated_conv1d_gradients) {
    check_network_gradients<hn::network<hn::input<16, 2>, hn::conv1d<4, 2, 1, hn::padding::valid, 1>, hn::tanh,
                                        hn::conv1d<4, 2, 1, hn::padding::valid, 2>, hn::tanh,
                                        hn::conv1d<3, 2, 1, hn::padding::valid, 4>, hn::flatten, hn::dense<1>>>(31);
    check_network_gradients<hn::network<hn::input<11, 3>, hn::conv1d<5, 3, 2>, hn::sigmoid, hn::global_avg_pool, hn::dense<2>>>(32);
}

// Every grouped form, through whole networks (so the input gradient's fused derivative and column
// sums of the stage before, and a first stage's network-input gradient, are checked too).
BOOST_AUTO_TEST_CASE(grouped_and_depthwise_convolution_gradients) {
    // conv1d: 2 groups, then a strided valid one of 2 groups.
    check_network_gradients<hn::network<hn::input<10, 6>, hn::conv1d<4, 3, 1, hn::padding::same, 1, 2>, hn::tanh,
                                        hn::conv1d<6, 3, 2, hn::padding::valid, 1, 2>, hn::flatten, hn::dense<2>>>(91);
    // conv2d: grouped as a first stage (3 filters from 2 channels per group), then grouped 3 -> 3.
    check_network_gradients<hn::network<hn::input<6, 5, 4>, hn::conv2d<6, 3, 1, hn::padding::same, 1, 2>, hn::tanh,
                                        hn::conv2d<9, 3, 2, hn::padding::same, 1, 3>, hn::sigmoid, hn::flatten,
                                        hn::dense<2>>>(92);
    // Depthwise, and depthwise with a channel multiplier of 2 (dilated), after a dense-like conv;
    // batch_norm and prelu after them (their column sums come from the grouped input gradient).
    check_network_gradients<hn::network<hn::input<6, 6, 2>, hn::conv2d<5, 3>, hn::tanh,
                                        hn::conv2d<5, 3, 1, hn::padding::same, 1, 5>, hn::prelu,
                                        hn::conv2d<10, 3, 1, hn::padding::valid, 2, 5>, hn::batch_norm, hn::tanh,
                                        hn::flatten, hn::dense<2>>,
                            3>(93);
    // Depthwise on the network input (its gradient unpadded), 16 filters per group (broadcasts).
    check_network_gradients<hn::network<hn::input<5, 4, 3>, hn::conv2d<3, 3, 1, hn::padding::same, 1, 3>, hn::elu<>,
                                        hn::conv2d<48, 3, 1, hn::padding::same, 1, 3>, hn::tanh, hn::global_avg_pool,
                                        hn::dense<2>>>(94);
    // Causal dilated grouped and depthwise conv1d (TCN), per-step dense head.
    check_network_gradients<hn::network<hn::input<12, 4>, hn::conv1d<8, 2, 1, hn::padding::causal, 1, 4>, hn::tanh,
                                        hn::conv1d<8, 3, 1, hn::padding::causal, 2, 2>, hn::tanh,
                                        hn::conv1d<8, 2, 1, hn::padding::causal, 4, 8>, hn::dense<1>>>(95);
}

BOOST_AUTO_TEST_CASE(layer_norm_is_the_normalisation_of_every_row) {
    // After a sigmoid, whose padding lanes hold sigmoid(0) = 0.5: the statistics must leave them out.
    check_layer_norm_forward<hn::network<hn::input<5>, hn::dense<13>, hn::sigmoid, hn::layer_norm, hn::tanh>>(101);
    check_layer_norm_forward<hn::network<hn::input<7, 3>, hn::dense<20>, hn::sigmoid, hn::layer_norm, hn::tanh>>(102);
    check_layer_norm_forward<hn::network<hn::input<4, 5, 2>, hn::conv2d<6, 3>, hn::sigmoid, hn::layer_norm, hn::tanh>>(103);
}

BOOST_AUTO_TEST_CASE(layer_norm_gradients) {
    // A vector (13 channels: masked padding lanes), before and after other stages; prelu's slope
    // and an MLP whose widths pass a panel of doubles.
    check_network_gradients<hn::network<hn::input<5>, hn::dense<13>, hn::layer_norm, hn::tanh, hn::dense<3>>>(111);
    check_network_gradients<hn::network<hn::input<6>, hn::dense<17>, hn::layer_norm_with<1e-3f>, hn::prelu, hn::dense<9>,
                                        hn::layer_norm, hn::sigmoid, hn::dense<2>>, 3>(112);
    // Per step of a sequence, before a GRU.
    check_network_gradients<hn::network<hn::input<6, 3>, hn::dense<5>, hn::layer_norm, hn::gru<4>, hn::dense<2>>>(113);
    // Per position of an image, after a (grouped) convolution; as the last stage.
    check_network_gradients<hn::network<hn::input<5, 4, 3>, hn::conv2d<6, 3>, hn::layer_norm, hn::relu,
                                        hn::conv2d<6, 3, 1, hn::padding::same, 1, 3>, hn::layer_norm>>(114);
}

BOOST_AUTO_TEST_CASE(pooling_gradients) {
    check_network_gradients<hn::network<hn::input<6, 7, 2>, hn::conv2d<3, 3>, hn::tanh, hn::max_pool2d<2>, hn::flatten,
                                        hn::dense<2>>>(41);
    check_network_gradients<hn::network<hn::input<6, 7, 2>, hn::conv2d<3, 3>, hn::sigmoid, hn::avg_pool2d<3>, hn::tanh,
                                        hn::flatten, hn::dense<2>>>(42);
    check_network_gradients<hn::network<hn::input<5, 4, 3>, hn::conv2d<18, 3>, hn::relu, hn::global_avg_pool, hn::dense<3>>>(43);
    check_network_gradients<hn::network<hn::input<12, 2>, hn::conv1d<3, 3>, hn::tanh, hn::max_pool1d<3>, hn::flatten,
                                        hn::dense<2>>>(44);
}

BOOST_AUTO_TEST_CASE(per_channel_batch_norm_and_prelu_gradients) {
    check_network_gradients<hn::network<hn::input<5, 5, 2>, hn::conv2d<3, 3>, hn::batch_norm, hn::prelu, hn::flatten,
                                        hn::dense<2>>, 3>(51);
}

BOOST_AUTO_TEST_CASE(dropout_gradients) {
    check_network_gradients<hn::network<hn::input<8>, hn::dense<12>, hn::tanh, hn::dropout<0.3f>, hn::dense<3>>>(61);
    check_network_gradients<hn::network<hn::input<6, 6, 1>, hn::conv2d<4, 3>, hn::tanh, hn::dropout<0.5f>, hn::flatten,
                                        hn::dense<2>>>(62);
}

BOOST_AUTO_TEST_CASE(residual_gradients) {
    // Shortcut from the network input, from a stage's output, nested, and two in a row.
    check_network_gradients<hn::network<hn::input<6>, hn::residual<hn::dense<6>, hn::tanh, hn::dense<6>>, hn::tanh,
                                        hn::dense<2>>>(71);
    check_network_gradients<hn::network<hn::input<6, 5, 2>, hn::conv2d<4, 3>, hn::tanh,
                                        hn::residual<hn::conv2d<4, 3>, hn::tanh, hn::conv2d<4, 3>>, hn::tanh,
                                        hn::residual<hn::residual<hn::conv2d<4, 1>, hn::sigmoid, hn::conv2d<4, 3>>, hn::tanh>,
                                        hn::flatten, hn::dense<2>>>(72);
    check_network_gradients<hn::network<hn::input<5, 5, 3>, hn::residual<hn::conv2d<3, 3>, hn::batch_norm, hn::tanh>,
                                        hn::global_avg_pool, hn::dense<2>>, 3>(73);
}

BOOST_AUTO_TEST_CASE(projection_shortcut_gradients) {
    // A strided block that doubles the channels, with a strided 1x1 projection (ResNet's
    // downsampling block), and a dense projection in an MLP.
    using down = hn::network<hn::input<6, 6, 2>, hn::conv2d<3, 3>, hn::tanh,
                             hn::residual_with<hn::conv2d<5, 1, 2>, hn::conv2d<5, 3, 2>, hn::tanh, hn::conv2d<5, 3>>,
                             hn::tanh, hn::flatten, hn::dense<2>>;
    static_assert(std::is_same_v<down::stage<3>::output_shape, hn::shape<3, 3, 5>>);  // the projection
    check_network_gradients<down>(81);
    check_network_gradients<hn::network<hn::input<5>, hn::dense<7>, hn::sigmoid,
                                        hn::residual_with<hn::dense<4>, hn::dense<6>, hn::tanh, hn::dense<4>>, hn::tanh,
                                        hn::residual<hn::dense<4>, hn::tanh>, hn::dense<2>>>(82);
}

BOOST_AUTO_TEST_CASE(residual_adds_its_input) {
    using net = hn::network<hn::input<4>, hn::dense<4>, hn::residual<hn::dense<4>>>;
    auto p = std::make_unique<hn::parameters<net, double>>();
    fill_random(*p, 1);
    const std::vector<double> x = random_values<double>(4, 2);
    auto ws = std::make_unique<hn::workspace<net, 1, double, false>>();
    hn::forward(*p, *ws, x.data(), 1);
    for (std::size_t j = 0; j < 4; ++j)
        BOOST_TEST(std::fabs(ws->output(0)[j] - (ws->activation<0>()[j] + ws->activation<1>()[j])) < 1e-15);
}

BOOST_AUTO_TEST_CASE(dropout_drops_the_rate_and_keeps_the_mean) {
    using net = hn::network<hn::input<64>, hn::dense<256>, hn::dropout<0.25f>>;
    auto p = std::make_unique<hn::parameters<net, double>>();
    // Zero weights and bias 1: every unit is 1 before dropout.
    for (std::size_t o = 0; o < 256; ++o) p->layer<0>().bias(o) = 1.0;
    const std::vector<double> x(64 * 64, 0.0);
    auto ws = std::make_unique<hn::workspace<net, 64, double>>();
    hn::train_forward(*p, *ws, x.data(), 64, 7);
    std::size_t dropped = 0;
    double sum = 0;
    for (std::size_t r = 0; r < 64; ++r)
        for (std::size_t j = 0; j < 256; ++j) {
            const double y = ws->output(r)[j];
            dropped += y == 0.0;
            sum += y;
            BOOST_TEST((y == 0.0 || std::fabs(y - 1.0 / 0.75) < 1e-12));
        }
    // 16384 Bernoulli(0.25) draws: standard deviation 0.0034 of the fraction; tolerance 4 sigma.
    BOOST_TEST(std::fabs(static_cast<double>(dropped) / 16384.0 - 0.25) < 0.014);
    BOOST_TEST(std::fabs(sum / 16384.0 - 1.0) < 0.02);
    // Inference: the identity.
    hn::forward(*p, *ws, x.data(), 64);
    for (std::size_t j = 0; j < 256; ++j) BOOST_TEST(ws->output(3)[j] == 1.0);
}

// The networks shown in docs/layers.md plan, and run a training step without NaN.
template <std::size_t C>
using basic_block = hn::sequential<hn::residual<hn::conv2d<C, 3>, hn::batch_norm, hn::relu, hn::conv2d<C, 3>, hn::batch_norm>,
                                   hn::relu>;
using documented_resnet = hn::network<hn::input<32, 32, 3>, hn::conv2d<16, 3>, hn::batch_norm, hn::relu,
                                      hn::repeat<3, basic_block<16>>, hn::global_avg_pool, hn::dense<10>>;
using documented_downsample =
    hn::network<hn::input<8, 8, 16>, hn::conv2d<16, 3>, hn::relu,
                hn::residual_with<hn::conv2d<32, 1, 2>, hn::conv2d<32, 3, 2>, hn::batch_norm, hn::relu, hn::conv2d<32, 3>,
                                  hn::batch_norm>,
                hn::relu, hn::global_avg_pool, hn::dense<3>>;
using documented_tcn = hn::network<hn::input<64, 1>, hn::conv1d<16, 2, 1, hn::padding::valid, 1>, hn::relu,
                                   hn::conv1d<16, 2, 1, hn::padding::valid, 2>, hn::relu,
                                   hn::conv1d<16, 2, 1, hn::padding::valid, 4>, hn::relu,
                                   hn::conv1d<16, 2, 1, hn::padding::valid, 8>, hn::relu, hn::global_avg_pool, hn::dense<1>>;

template <class Net>
void one_training_step_is_finite() {
    auto p = std::make_unique<hn::parameters<Net>>();
    hn::init::automatic(*p, 3);
    auto train = std::make_unique<hn::trainer<Net, hn::loss::mean_squared_error, hn::optim::sgd, hn::batch<2>>>(*p, hn::optim::sgd{0.01f});
    const std::vector<float> x = random_values<float>(2 * Net::input_size, 4);
    const std::vector<float> y(2 * Net::output_size, 0.5f);
    const float loss = train->step(x.data(), y.data(), 2);
    BOOST_TEST(std::isfinite(loss));
}

BOOST_AUTO_TEST_CASE(documented_networks_train) {
    static_assert(documented_resnet::stage_count == 2 + 3 * 5 + 2);
    static_assert(std::is_same_v<documented_tcn::stage<3>::output_shape, hn::shape<49, 16>>);
    one_training_step_is_finite<documented_resnet>();
    one_training_step_is_finite<documented_tcn>();
    one_training_step_is_finite<documented_downsample>();
}

BOOST_AUTO_TEST_SUITE_END()
