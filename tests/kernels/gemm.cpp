// Every kernel of kernels/dense.hpp and kernels/update.hpp against a plain scalar reference, on
// shapes that are and are not multiples of the SIMD width and of the 64-byte panel, for float and
// double, and on row counts on both sides of the micro-kernel's row block (and the batch-1 path).
//
// Tolerance. The reference sums in long double, so its own error is negligible. A kernel result
// that sums n products may differ from the exact value by gamma_2n * sum|terms| <= 2n u sum|terms|
// (at most two roundings per step when fma is emulated; u = epsilon / 2), plus a few roundings for
// the bias and the final sum of split accumulators. Every comparison below therefore accepts
//     |kernel - reference| <= 2 (n + 4) epsilon<T> sum|terms|
// which for n = 100 is about 2.5e-5 (float) and 4.6e-14 (double) relative to the sum of the
// absolute values of the terms (n = 513 on the deep shapes: 1.2e-4 and 2.3e-13). A misplaced or
// missing term is of the order of one whole term.
// Exact results (copies, transposes, padding, untouched memory) are compared exactly.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include <boost/mp11/algorithm.hpp>
#include <boost/mp11/list.hpp>
#include <boost/test/unit_test.hpp>

#include <hinge/activations/identity.hpp>
#include <hinge/activations/relu.hpp>
#include <hinge/core/network.hpp>
#include <hinge/core/storage.hpp>
#include <hinge/kernels/dense.hpp>
#include <hinge/kernels/update.hpp>
#include <hinge/layers/dense.hpp>

namespace {

namespace hn = hinge;
namespace kn = hinge::kernels;
namespace mp = boost::mp11;

template <class T>
using aligned_vector = std::vector<T, xsimd::aligned_allocator<T, 64>>;

// In and Out are template arguments of the kernels, so the shapes are a compile-time list; the
// row count is a run-time argument. Every width of the list appears once as In and once as Out,
// a small width paired with a large one: (In, Out) = (w_k, w_k+5). Each shape costs ~0.6 s of
// compile time (every kernel instantiation inlines the whole driver), so the full 144-pair
// product is not built here (it passes: checked once with g++ AVX2 and clang SSE2, ~60 s to build).
using widths = mp::mp_list_c<std::size_t, 1, 2, 3, 5, 7, 15, 16, 17, 31, 33, 64, 100>;
using shapes = mp::mp_transform<mp::mp_list, widths, mp::mp_rotate_left_c<widths, 5>>;
static_assert(mp::mp_size<shapes>::value == 12);
constexpr std::array<std::size_t, 8> row_counts{1, 2, 3, 5, 6, 7, 13, 64};

// Depths past hinge::depth_block (256), where the driver keeps partial sums in the destination
// between depth blocks: In for the forward product, Out for the input gradient and the row count
// for the weight gradient. 513 = 256 + 256 + 1 has a middle block and a last block of depth 1.
template <std::size_t In, std::size_t Out>
using shape = mp::mp_list_c<std::size_t, In, Out>;
using deep_shapes = mp::mp_list<shape<513, 17>, shape<17, 513>>;
constexpr std::array<std::size_t, 4> deep_row_counts{1, 7, 256, 513};
static_assert(hn::depth_block == 256, "the deep shapes above are chosen around a depth block of 256");

template <class T>
constexpr std::size_t P = hn::panel_width<T>;

constexpr std::size_t padded(std::size_t n, std::size_t panel) { return hn::round_up(n, panel); }

// The documented panel layout (core/layout.hpp): weight(o, i) of an In-input matrix.
template <class T>
std::size_t weight_index(std::size_t in, std::size_t o, std::size_t i) {
    return o / P<T> * (in * P<T>) + i * P<T> + o % P<T>;
}

template <class T>
T quiet_nan() {
    return std::numeric_limits<T>::quiet_NaN();
}

// A value that no kernel computes: marks memory that must stay untouched.
template <class T>
constexpr T sentinel = T(-12345.5);

template <class T>
bool equal_or_both_nan(T a, T b) {
    return a == b || (std::isnan(a) && std::isnan(b));
}

// The worst |kernel - reference| / bound seen, and where; NaN or infinity count as unbounded.
struct worst_error {
    double ratio = 0;
    std::string where;

    void add(long double got, long double expected, long double bound, const char* what, std::size_t r,
             std::size_t c) {
        const long double error = std::fabs(got - expected);
        double q;
        if (!std::isfinite(static_cast<double>(got)))
            q = std::numeric_limits<double>::infinity();
        else if (error == 0)
            q = 0;
        else
            q = bound > 0 ? static_cast<double>(error / bound) : std::numeric_limits<double>::infinity();
        if (q > ratio || (q == std::numeric_limits<double>::infinity() && where.empty())) {
            ratio = q;
            std::ostringstream s;
            s << what << "(" << r << ", " << c << "): kernel " << static_cast<double>(got) << ", reference "
              << static_cast<double>(expected) << ", bound " << static_cast<double>(bound);
            where = s.str();
        }
    }
};

template <class T>
long double bound(std::size_t terms, long double sum_of_abs) {
    return 2.0L * static_cast<long double>(terms + 4) * std::numeric_limits<T>::epsilon() * sum_of_abs;
}

// Counts entries of [first, last) that are not equal to `value` (a NaN value matches NaN).
template <class T>
std::size_t count_not(const T* first, const T* last, T value) {
    std::size_t n = 0;
    for (; first != last; ++first) n += !equal_or_both_nan(*first, value);
    return n;
}

template <class T>
struct random_values {
    std::mt19937 engine{20240601u};
    T normal() { return static_cast<T>(std::normal_distribution<double>(0.0, 1.0)(engine)); }
};

// A weight matrix in panel layout with random logical entries and zero padding (the contract of
// parameter blocks), and a bias of padded width with zero padding.
template <class T>
struct weights {
    std::size_t in, out;
    aligned_vector<T> w, b;
    weights(std::size_t in_, std::size_t out_, random_values<T>& random)
        : in(in_), out(out_), w(in_ * padded(out_, P<T>), T(0)), b(padded(out_, P<T>), T(0)) {
        for (std::size_t o = 0; o < out; ++o) {
            for (std::size_t i = 0; i < in; ++i) w[weight_index<T>(in, o, i)] = random.normal();
            b[o] = random.normal();
        }
    }
    T operator()(std::size_t o, std::size_t i) const { return w[weight_index<T>(in, o, i)]; }
};

// Row-major matrix of `rows` rows, `stride` apart, random in the first `width` columns and
// `gap` (zero or NaN) in the rest.
template <class T>
aligned_vector<T> random_matrix(std::size_t rows, std::size_t width, std::size_t stride, T gap,
                                random_values<T>& random) {
    aligned_vector<T> m(rows * stride, gap);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < width; ++c) m[r * stride + c] = random.normal();
    return m;
}

std::string shape_name(const char* type, std::size_t in, std::size_t out, std::size_t rows) {
    std::ostringstream s;
    s << type << " In=" << in << " Out=" << out << " rows=" << rows;
    return s.str();
}

template <class T>
const char* type_name() {
    return sizeof(T) == 4 ? "float" : "double";
}

template <class T>
T relu_derivative_reference(T y) {
    return y > T(0) ? T(1) : T(0);
}

// ---- dense_forward ------------------------------------------------------------------------------

template <class T>
using forward_kernel = void (*)(std::size_t, const T*, std::size_t, const T*, const T*, T*);

// y = act(x W + b) on logical columns; padding columns = act(0 + 0) = 0; rows past `rows` untouched.
// The input has a stride larger than In on odd row counts, with NaN in the gap: never read.
template <class T>
void check_dense_forward(std::size_t in, std::size_t out, std::span<const std::size_t> row_list, bool relu,
                         forward_kernel<T> kernel, random_values<T>& random) {
    const weights<T> w(in, out, random);
    const std::size_t y_stride = padded(out, P<T>);
    for (std::size_t rows : row_list) {
        BOOST_TEST_CONTEXT(shape_name(type_name<T>(), in, out, rows) << (relu ? " relu" : " identity")) {
            const std::size_t x_stride = rows % 2 == 1 ? in + 3 : in;
            const aligned_vector<T> x = random_matrix<T>(rows, in, x_stride, quiet_nan<T>(), random);
            aligned_vector<T> y((rows + 1) * y_stride, sentinel<T>);
            kernel(rows, x.data(), x_stride, w.w.data(), w.b.data(), y.data());

            worst_error worst;
            std::size_t bad_padding = 0;
            for (std::size_t r = 0; r < rows; ++r) {
                for (std::size_t o = 0; o < out; ++o) {
                    long double z = w.b[o];
                    long double sum_of_abs = std::fabs(static_cast<long double>(w.b[o]));
                    for (std::size_t i = 0; i < in; ++i) {
                        const long double term = static_cast<long double>(x[r * x_stride + i]) * w(o, i);
                        z += term;
                        sum_of_abs += std::fabs(term);
                    }
                    const long double expected = relu && z < 0 ? 0.0L : z;
                    worst.add(y[r * y_stride + o], expected, bound<T>(in, sum_of_abs), "y", r, o);
                }
                bad_padding += count_not(y.data() + r * y_stride + out, y.data() + (r + 1) * y_stride, T(0));
            }
            BOOST_TEST(worst.ratio <= 1.0, worst.where);
            BOOST_TEST(bad_padding == 0u);
            BOOST_TEST(count_not(y.data() + rows * y_stride, y.data() + y.size(), sentinel<T>) == 0u);
        }
    }
}

// ---- dense_weight_gradient ----------------------------------------------------------------------

template <class T>
using weight_gradient_kernel = void (*)(std::size_t, const T*, std::size_t, const T*, std::size_t, T*, T*);

// The packing scratch a workspace reserves for a stage of In inputs and Out outputs, for a batch
// of `rows` (dense's buffers(); kernels/dense.hpp documents the same bound).
template <std::size_t In, std::size_t Out, class T>
std::size_t reserved_packing_size(std::size_t rows) {
    return hn::dense<Out>::packed_input_size(In, rows);
}

// dW(o, i) = sum_r x(r, i) dz(r, o), written in panel layout over the whole (NaN-filled) buffer:
// logical entries match, padding columns are exactly 0 (dz's padding is 0, as in every gradient).
template <class T>
void check_dense_weight_gradient(std::size_t in, std::size_t out, std::span<const std::size_t> row_list,
                                 std::size_t (*reserved_scratch)(std::size_t), weight_gradient_kernel<T> kernel,
                                 random_values<T>& random) {
    const std::size_t pad = padded(out, P<T>);
    for (std::size_t rows : row_list) {
        BOOST_TEST_CONTEXT(shape_name(type_name<T>(), in, out, rows)) {
            const std::size_t x_stride = rows % 2 == 1 ? in + 5 : in;
            const std::size_t dz_stride = rows % 3 == 1 ? pad + P<T> : pad;  // a whole panel more
            const aligned_vector<T> x = random_matrix<T>(rows, in, x_stride, quiet_nan<T>(), random);
            aligned_vector<T> dz = random_matrix<T>(rows, out, dz_stride, T(0), random);
            for (std::size_t r = 0; r < rows; ++r)  // beyond the padded width: never read
                for (std::size_t c = pad; c < dz_stride; ++c) dz[r * dz_stride + c] = quiet_nan<T>();
            aligned_vector<T> dw(in * pad, quiet_nan<T>());
            // The scratch a workspace reserves, followed by a guard that must stay untouched; or
            // (reserved_scratch null), to check the arithmetic on its own, more than any kernel needs.
            const std::size_t reserved = reserved_scratch ? reserved_scratch(rows) : 0;
            const std::size_t guard = 2 * hn::max_micro_rows * std::min(rows, hn::depth_block);
            aligned_vector<T> scratch(reserved_scratch ? reserved + guard : 2 * (in + 64) * rows, sentinel<T>);
            kernel(rows, x.data(), x_stride, dz.data(), dz_stride, dw.data(), scratch.data());
            if (reserved_scratch)
                BOOST_TEST(count_not(scratch.data() + reserved, scratch.data() + scratch.size(), sentinel<T>) == 0u,
                           "values written past the " << reserved << " values of packing scratch reserved");

            worst_error worst;
            std::size_t bad_padding = 0;
            for (std::size_t i = 0; i < in; ++i) {
                for (std::size_t o = 0; o < pad; ++o) {
                    if (o >= out) {
                        bad_padding += !(dw[weight_index<T>(in, o, i)] == T(0));
                        continue;
                    }
                    long double sum = 0, sum_of_abs = 0;
                    for (std::size_t r = 0; r < rows; ++r) {
                        const long double term =
                            static_cast<long double>(x[r * x_stride + i]) * dz[r * dz_stride + o];
                        sum += term;
                        sum_of_abs += std::fabs(term);
                    }
                    worst.add(dw[weight_index<T>(in, o, i)], sum, bound<T>(rows, sum_of_abs), "dW", o, i);
                }
            }
            BOOST_TEST(worst.ratio <= 1.0, worst.where);
            BOOST_TEST(bad_padding == 0u);
        }
    }
}

// ---- transpose_weights --------------------------------------------------------------------------

template <class T>
using transpose_kernel = void (*)(const T*, T*);

// wt[q][n][c] = W(n, q P + c), and 0 for inputs q P + c >= In; every entry of the
// pad(In) x Out scratch is written (it starts as NaN).
template <class T>
void check_transpose_weights(std::size_t in, std::size_t out, transpose_kernel<T> kernel, random_values<T>& random) {
    const weights<T> w(in, out, random);
    const std::size_t in_pad = padded(in, P<T>);
    aligned_vector<T> wt(in_pad * out + P<T>, quiet_nan<T>());
    for (std::size_t k = in_pad * out; k < wt.size(); ++k) wt[k] = sentinel<T>;
    kernel(w.w.data(), wt.data());
    std::size_t wrong = 0;
    for (std::size_t q = 0; q < in_pad / P<T>; ++q)
        for (std::size_t n = 0; n < out; ++n)
            for (std::size_t c = 0; c < P<T>; ++c) {
                const std::size_t k = q * P<T> + c;
                const T expected = k < in ? w(n, k) : T(0);
                wrong += !equal_or_both_nan(wt[q * (out * P<T>) + n * P<T> + c], expected);
            }
    BOOST_TEST_CONTEXT(shape_name(type_name<T>(), in, out, 0)) {
        BOOST_TEST(wrong == 0u);
        BOOST_TEST(count_not(wt.data() + in_pad * out, wt.data() + wt.size(), sentinel<T>) == 0u);
    }
}

// ---- dense_input_gradient -----------------------------------------------------------------------

template <class T>
using input_gradient_kernel = void (*)(std::size_t, const T*, std::size_t, const T*, T*, const T*, std::size_t, T*,
                                       std::size_t, T*);

// dz_prev(r, i) = (sum_n dz(r, n) W(n, i)) * act'(y_prev(r, i)), padding columns 0, rows past
// `rows` untouched; with bias accumulation, bias_prev(i) = sum_r dz_prev(r, i) (bias starts at 0
// as the contract asks), padding 0. y_prev is a ReLU output (half of it exactly 0); with identity
// it is not read at all, and the kernel is given a null pointer.
template <class T>
void check_dense_input_gradient(std::size_t in, std::size_t out, std::span<const std::size_t> row_list, bool relu,
                                bool accumulate_bias, input_gradient_kernel<T> kernel, random_values<T>& random) {
    const weights<T> w(in, out, random);
    const std::size_t pad = padded(out, P<T>);
    const std::size_t in_pad = padded(in, P<T>);
    for (std::size_t rows : row_list) {
        BOOST_TEST_CONTEXT(shape_name(type_name<T>(), in, out, rows)
                           << (relu ? " relu" : " identity") << (accumulate_bias ? " with bias" : " without bias")) {
            const std::size_t dz_stride = rows % 2 == 1 ? pad + P<T> : pad;
            const std::size_t y_stride = rows % 3 == 0 ? in_pad + P<T> : in_pad;
            const std::size_t dz_prev_stride = rows % 4 == 1 ? in_pad + P<T> : in_pad;
            const aligned_vector<T> dz = random_matrix<T>(rows, out, dz_stride, T(0), random);
            aligned_vector<T> y_prev = random_matrix<T>(rows, in, y_stride, T(0), random);
            for (T& v : y_prev) v = v < T(0) ? T(0) : v;  // a ReLU output
            aligned_vector<T> wt(in_pad * out, quiet_nan<T>());
            aligned_vector<T> dz_prev((rows + 1) * dz_prev_stride, sentinel<T>);
            aligned_vector<T> bias(in_pad, T(0));
            kernel(rows, dz.data(), dz_stride, w.w.data(), wt.data(), relu ? y_prev.data() : nullptr, y_stride,
                   dz_prev.data(), dz_prev_stride, accumulate_bias ? bias.data() : nullptr);

            worst_error worst;
            std::size_t bad_padding = 0;
            std::vector<long double> bias_sum(in, 0.0L), bias_sum_of_abs(in, 0.0L);
            for (std::size_t r = 0; r < rows; ++r) {
                for (std::size_t i = 0; i < in; ++i) {
                    long double sum = 0, sum_of_abs = 0;
                    for (std::size_t n = 0; n < out; ++n) {
                        const long double term = static_cast<long double>(dz[r * dz_stride + n]) * w(n, i);
                        sum += term;
                        sum_of_abs += std::fabs(term);
                    }
                    const T derivative = relu ? relu_derivative_reference(y_prev[r * y_stride + i]) : T(1);
                    sum *= derivative;
                    sum_of_abs *= derivative;
                    worst.add(dz_prev[r * dz_prev_stride + i], sum, bound<T>(out, sum_of_abs), "dz_prev", r, i);
                    bias_sum[i] += sum;
                    bias_sum_of_abs[i] += sum_of_abs;
                }
                bad_padding += count_not(dz_prev.data() + r * dz_prev_stride + in,
                                         dz_prev.data() + r * dz_prev_stride + in_pad, T(0));
                // Between the padded width and the stride nothing is written.
                bad_padding += count_not(dz_prev.data() + r * dz_prev_stride + in_pad,
                                         dz_prev.data() + (r + 1) * dz_prev_stride, sentinel<T>);
            }
            if (accumulate_bias) {
                for (std::size_t i = 0; i < in; ++i)
                    worst.add(bias[i], bias_sum[i], bound<T>(out + rows, bias_sum_of_abs[i]), "bias", 0, i);
                bad_padding += count_not(bias.data() + in, bias.data() + in_pad, T(0));
            } else {
                bad_padding += count_not(bias.data(), bias.data() + in_pad, T(0));  // not given, not touched
            }
            BOOST_TEST(worst.ratio <= 1.0, worst.where);
            BOOST_TEST(bad_padding == 0u);
            BOOST_TEST(count_not(dz_prev.data() + rows * dz_prev_stride, dz_prev.data() + dz_prev.size(),
                                 sentinel<T>) == 0u);
        }
    }
}

// ---- the kernels under test, at one shape ------------------------------------------------------
// Called through these wrappers, so that arguments the kernels gain later with defaults (as
// dense_forward's activation inputs) keep their defaults here.

template <class Act, std::size_t In, std::size_t Out, class T>
void dense_forward_at(std::size_t rows, const T* x, std::size_t x_stride, const T* w, const T* b, T* y) {
    kn::dense_forward<Act, In, Out>(rows, x, x_stride, w, b, y);
}

template <std::size_t In, std::size_t Out, class T>
void dense_weight_gradient_at(std::size_t rows, const T* x, std::size_t x_stride, const T* dz, std::size_t dz_stride,
                              T* dw, T* scratch) {
    kn::dense_weight_gradient<In, Out>(rows, x, x_stride, dz, dz_stride, dw, scratch);
}

template <std::size_t In, std::size_t Out, class T>
void transpose_weights_at(const T* w, T* wt) {
    kn::transpose_weights<In, Out>(w, wt);
}

template <class PrevAct, bool AccumulateBias, std::size_t In, std::size_t Out, class T>
void dense_input_gradient_at(std::size_t rows, const T* dz, std::size_t dz_stride, const T* w, T* wt, const T* y_prev,
                             std::size_t y_prev_stride, T* dz_prev, std::size_t dz_prev_stride, T* bias_prev) {
    kn::dense_input_gradient<PrevAct, AccumulateBias, In, Out>(rows, dz, dz_stride, w, wt, y_prev, y_prev_stride,
                                                               dz_prev, dz_prev_stride, bias_prev);
}

// ---- the shape loops ----------------------------------------------------------------------------

template <class S>
constexpr std::size_t in_of = mp::mp_first<S>::value;
template <class S>
constexpr std::size_t out_of = mp::mp_second<S>::value;

// Calls f(In, Out, rows list, shape type) for every shape, then for every deep shape.
template <class F>
void for_each_shape(F&& f) {
    mp::mp_for_each<shapes>([&](auto s) { f(in_of<decltype(s)>, out_of<decltype(s)>, std::span(row_counts), s); });
    mp::mp_for_each<deep_shapes>(
        [&](auto s) { f(in_of<decltype(s)>, out_of<decltype(s)>, std::span(deep_row_counts), s); });
}

// ---- the laws, for one value type ---------------------------------------------------------------
// Plain test cases call these for float and double: BOOST_AUTO_TEST_CASE_TEMPLATE costs ~0.3 s
// of compile time per case and type.

template <class T>
void dense_forward_equals_activation_of_x_times_w_plus_b_for() {
    random_values<T> random;
    for_each_shape([&](std::size_t in, std::size_t out, auto rows, auto s) {
        using S = decltype(s);
        check_dense_forward<T>(in, out, rows, false, &dense_forward_at<hn::identity, in_of<S>, out_of<S>, T>,
                               random);
        check_dense_forward<T>(in, out, rows, true, &dense_forward_at<hn::relu, in_of<S>, out_of<S>, T>, random);
    });
}

template <class T>
void dense_weight_gradient_equals_x_transposed_times_dz_for() {
    random_values<T> random;
    for_each_shape([&](std::size_t in, std::size_t out, auto rows, auto s) {
        using S = decltype(s);
        check_dense_weight_gradient<T>(in, out, rows, nullptr,
                                       &dense_weight_gradient_at<in_of<S>, out_of<S>, T>, random);
    });
}

// The backward pass hands the kernel ws.packed_inputs(), sized by layout<>::packed_input_size:
// the kernel must stay inside it.
template <class T>
void dense_weight_gradient_writes_only_inside_the_packing_scratch_a_workspace_reserves_for() {
    random_values<T> random;
    for_each_shape([&](std::size_t in, std::size_t out, auto rows, auto s) {
        using S = decltype(s);
        check_dense_weight_gradient<T>(in, out, rows, &reserved_packing_size<in_of<S>, out_of<S>, T>,
                                       &dense_weight_gradient_at<in_of<S>, out_of<S>, T>, random);
    });
}

template <class T>
void transpose_weights_gives_w_transposed_in_input_panels_with_zero_padding_for() {
    random_values<T> random;
    for_each_shape([&](std::size_t in, std::size_t out, auto, auto s) {
        using S = decltype(s);
        check_transpose_weights<T>(in, out, &transpose_weights_at<in_of<S>, out_of<S>, T>, random);
    });
}

// The two forms the backward pass uses (a hidden ReLU stage with its bias gradient, the network
// input without) on every shape; the other two on the deep shapes and on (17, 2) and (64, 7).
template <class T>
void dense_input_gradient_equals_dz_times_w_transposed_times_derivative_and_sums_bias_for() {
    random_values<T> random;
    for_each_shape([&](std::size_t in, std::size_t out, auto rows, auto s) {
        using S = decltype(s);
        constexpr std::size_t In = in_of<S>, Out = out_of<S>;
        check_dense_input_gradient<T>(in, out, rows, true, true,
                                      &dense_input_gradient_at<hn::relu, true, In, Out, T>, random);
        check_dense_input_gradient<T>(in, out, rows, false, false,
                                      &dense_input_gradient_at<hn::identity, false, In, Out, T>, random);
        if constexpr (In > 256 || Out > 256 || (In == 17 && Out == 2) || (In == 64 && Out == 7)) {
            check_dense_input_gradient<T>(in, out, rows, true, false,
                                          &dense_input_gradient_at<hn::relu, false, In, Out, T>, random);
            check_dense_input_gradient<T>(in, out, rows, false, true,
                                          &dense_input_gradient_at<hn::identity, true, In, Out, T>, random);
        }
    });
}

// p <- p - rate g, element-wise over whole panels; nothing past `size` is touched. A fused
// multiply-add rounds once, the reference p - rate g at most twice after the exact product:
// accepted error 2 epsilon (|p| + |rate g|).
template <class T>
void subtract_scaled_equals_p_minus_rate_times_g_for() {
    random_values<T> random;
    for (std::size_t panels : {1u, 2u, 3u, 7u, 64u}) {
        for (T rate : {T(0), T(0.37), T(-2.5)}) {
            const std::size_t size = panels * P<T>;
            BOOST_TEST_CONTEXT(type_name<T>() << " size=" << size << " rate=" << rate) {
                aligned_vector<T> p(size + P<T>, sentinel<T>), g(size + P<T>, quiet_nan<T>());
                for (std::size_t k = 0; k < size; ++k) {
                    p[k] = random.normal();
                    g[k] = random.normal();
                }
                const aligned_vector<T> before = p;
                kn::subtract_scaled(p.data(), g.data(), rate, size);
                worst_error worst;
                for (std::size_t k = 0; k < size; ++k) {
                    const long double product = static_cast<long double>(rate) * g[k];
                    const long double expected = before[k] - product;
                    const long double tolerance = 2.0L * std::numeric_limits<T>::epsilon() *
                                                  (std::fabs(static_cast<long double>(before[k])) + std::fabs(product));
                    worst.add(p[k], expected, tolerance, "p", 0, k);
                }
                BOOST_TEST(worst.ratio <= 1.0, worst.where);
                if (rate == T(0)) BOOST_TEST((p == before));  // p - 0 g is p exactly
                BOOST_TEST(count_not(p.data() + size, p.data() + p.size(), sentinel<T>) == 0u);
            }
        }
    }
}

// The tests above build weights through the documented index formula; the library's own view
// must agree with it, or the reference would be checking a different matrix.
template <class T>
void test_weight_index_agrees_with_dense_view_for() {
    aligned_vector<T> w(33 * padded(17, P<T>)), b(padded(17, P<T>));
    const hn::dense_view<T, 33, 17> view(w.data(), b.data());
    std::size_t mismatches = 0;
    for (std::size_t o = 0; o < 17; ++o)
        for (std::size_t i = 0; i < 33; ++i) mismatches += &view.weight(o, i) != &w[weight_index<T>(33, o, i)];
    BOOST_TEST(mismatches == 0u);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(kernels_gemm)

BOOST_AUTO_TEST_CASE(dense_forward_equals_activation_of_x_times_w_plus_b) {
    dense_forward_equals_activation_of_x_times_w_plus_b_for<float>();
    dense_forward_equals_activation_of_x_times_w_plus_b_for<double>();
}

BOOST_AUTO_TEST_CASE(dense_weight_gradient_equals_x_transposed_times_dz) {
    dense_weight_gradient_equals_x_transposed_times_dz_for<float>();
    dense_weight_gradient_equals_x_transposed_times_dz_for<double>();
}

BOOST_AUTO_TEST_CASE(dense_weight_gradient_writes_only_inside_the_packing_scratch_a_workspace_reserves) {
    dense_weight_gradient_writes_only_inside_the_packing_scratch_a_workspace_reserves_for<float>();
    dense_weight_gradient_writes_only_inside_the_packing_scratch_a_workspace_reserves_for<double>();
}

BOOST_AUTO_TEST_CASE(transpose_weights_gives_w_transposed_in_input_panels_with_zero_padding) {
    transpose_weights_gives_w_transposed_in_input_panels_with_zero_padding_for<float>();
    transpose_weights_gives_w_transposed_in_input_panels_with_zero_padding_for<double>();
}

BOOST_AUTO_TEST_CASE(dense_input_gradient_equals_dz_times_w_transposed_times_derivative_and_sums_bias) {
    dense_input_gradient_equals_dz_times_w_transposed_times_derivative_and_sums_bias_for<float>();
    dense_input_gradient_equals_dz_times_w_transposed_times_derivative_and_sums_bias_for<double>();
}

BOOST_AUTO_TEST_CASE(subtract_scaled_equals_p_minus_rate_times_g) {
    subtract_scaled_equals_p_minus_rate_times_g_for<float>();
    subtract_scaled_equals_p_minus_rate_times_g_for<double>();
}

BOOST_AUTO_TEST_CASE(test_weight_index_agrees_with_dense_view) {
    test_weight_index_agrees_with_dense_view_for<float>();
    test_weight_index_agrees_with_dense_view_for<double>();
}

BOOST_AUTO_TEST_SUITE_END()
