// The batch-1 kernels against a plain scalar reference: the row product (kernels/row_product.hpp)
// through dense_row on the parameters' panels (float, double) and on converted rows (bf16, int8),
// with gate groups as the one-step recurrent kernel reads them, and the straight-line kernel
// (kernels/straight_line.hpp) through inference<Net>, with and without its last-stage dot products.
// Shapes are and are not multiples of the vector width, of a panel and of the 16-output block.
//
// Tolerance, as in tests/kernels/gemm.cpp: the reference sums in long double; a kernel summing n
// products may differ by at most 2 (n + 4) epsilon<T> sum|terms| (split accumulators, emulated
// FMA, the bias and the final sums included). A misplaced or missing term is of the order of one
// whole term.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include <boost/mp11/algorithm.hpp>
#include <boost/mp11/list.hpp>
#include <boost/test/unit_test.hpp>

#include <hinge/hinge.hpp>
#include <hinge/io/architecture.hpp>
#include <hinge/kernels/dense.hpp>
#include <hinge/kernels/row_product.hpp>
#include <hinge/kernels/weight_widening.hpp>

namespace {

namespace hn = hinge;
namespace kn = hinge::kernels;
namespace mp = boost::mp11;
using hn::weight_format;

template <class T>
using aligned_vector = std::vector<T, xsimd::aligned_allocator<T, 64>>;

template <class T>
struct reference_check {
    double worst = 0;  // the largest |kernel - reference| / allowed
    void add(T kernel, long double reference, long double magnitude, std::size_t n) {
        const long double allowed =
            2.0L * static_cast<long double>(n + 4) * std::numeric_limits<T>::epsilon() * magnitude + 1e-30L;
        worst = std::max(worst, static_cast<double>(std::fabs(static_cast<long double>(kernel) - reference) / allowed));
    }
};

// A weight of In x Out in blocks of R outputs, input-major (the parameters' panels when R is the
// panel width; a converted weight's rows of 16), filled through `put(o, k, value)`.
template <std::size_t In, std::size_t Out, std::size_t R>
constexpr std::size_t block_index(std::size_t o, std::size_t k) {
    return o / R * (In * R) + k * R + o % R;
}

// dense_row<F, Act, In, Out> against sum_k x_k w_ok (+ b_o, times s_o for int8), through Act.
template <weight_format F, class Act, std::size_t In, std::size_t Out, class T>
void check_dense_row(std::mt19937& rng) {
    using storage = typename kn::row_format<F, T>::storage;
    constexpr std::size_t R = kn::row_format<F, T>::row_width;
    constexpr std::size_t blocks = (Out + R - 1) / R;
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    aligned_vector<storage> w(blocks * R * In, storage{});
    aligned_vector<T> b(blocks * R, T(0)), scale(blocks * R, T(1)), y(blocks * R, T(-7)), x(In);
    std::vector<long double> decoded(Out * In);
    for (std::size_t o = 0; o < Out; ++o) {
        b[o] = static_cast<T>(u(rng));
        if constexpr (F == weight_format::int8) scale[o] = static_cast<T>(0.01 + 0.02 * std::fabs(u(rng)));
        for (std::size_t k = 0; k < In; ++k) {
            const double value = u(rng);
            storage stored;
            if constexpr (F == weight_format::float32) stored = static_cast<T>(value);
            else if constexpr (F == weight_format::bf16) stored = kn::bf16_from_float(static_cast<float>(value));
            else stored = static_cast<std::int8_t>(std::lround(value * 127));
            const std::size_t at = o / R * (In * R) + k * R + kn::row_position<F>(o % R);
            w[at] = stored;
            decoded[o * In + k] = F == weight_format::float32 ? static_cast<long double>(stored)
                                                              : static_cast<long double>(kn::widen_scalar<F>(stored));
        }
    }
    for (T& v : x) v = static_cast<T>(u(rng));
    kn::dense_row<F, Act, In, Out>(x.data(), w.data(), b.data(), F == weight_format::int8 ? scale.data() : nullptr,
                                   y.data());
    reference_check<T> check;
    for (std::size_t o = 0; o < Out; ++o) {
        long double sum = 0, magnitude = 0;
        for (std::size_t k = 0; k < In; ++k) {
            sum += decoded[o * In + k] * x[k];
            magnitude += std::fabs(decoded[o * In + k] * x[k]);
        }
        const long double s = static_cast<long double>(scale[o]);
        const long double z = s * sum + b[o];
        // The kernel's error, carried through Act (whose slope is at most 1 for these activations).
        check.add(y[o], static_cast<long double>(Act::forward(static_cast<double>(z))), s * magnitude + std::fabs(b[o]), In);
    }
    BOOST_TEST_CONTEXT("dense_row<" << hn::name_of(F) << ", " << In << ", " << Out << ">, " << sizeof(T) * 8 << "-bit") {
        BOOST_TEST(check.worst <= 1.0);
    }
}

using shapes = mp::mp_list<mp::mp_list_c<std::size_t, 1, 1>, mp::mp_list_c<std::size_t, 1, 16>,
                           mp::mp_list_c<std::size_t, 3, 5>, mp::mp_list_c<std::size_t, 7, 13>,
                           mp::mp_list_c<std::size_t, 16, 1>, mp::mp_list_c<std::size_t, 17, 33>,
                           mp::mp_list_c<std::size_t, 33, 7>, mp::mp_list_c<std::size_t, 64, 10>,
                           mp::mp_list_c<std::size_t, 65, 3>, mp::mp_list_c<std::size_t, 100, 40>>;

template <weight_format F, class Act, class T>
void check_every_shape(std::mt19937& rng) {
    mp::mp_for_each<shapes>([&](auto shape) {
        using S = decltype(shape);
        check_dense_row<F, Act, mp::mp_at_c<S, 0>::value, mp::mp_at_c<S, 1>::value, T>(rng);
    });
}

// The one-step recurrent kernel's view: G gate groups of H units, each group padded to whole
// panels, only the vectors that hold units computed (accumulate_columns over column_offsets).
template <std::size_t In, std::size_t H, std::size_t G, class T>
void check_gate_groups(std::mt19937& rng) {
    using V = kn::vector<T>;
    constexpr std::size_t W = V::size, P = hn::panel_width<T>, hp = hn::round_up(H, P);
    constexpr std::size_t nv = (H + W - 1) / W, total = G * nv;
    using offsets = kn::column_offsets<nv, hp, W, P, In>;
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    aligned_vector<T> w(G * hp * In, T(0)), x(In);
    for (std::size_t g = 0; g < G; ++g)
        for (std::size_t j = 0; j < H; ++j)
            for (std::size_t k = 0; k < In; ++k) w[block_index<In, G * hp, P>(g * hp + j, k)] = static_cast<T>(u(rng));
    for (T& v : x) v = static_cast<T>(u(rng));
    V acc[total];
    for (std::size_t c = 0; c < total; ++c) acc[c] = V(T(0.25));  // the kernel adds to what is there
    kn::accumulate_columns<In, offsets>(x.data(), w.data(), acc);
    reference_check<T> check;
    for (std::size_t g = 0; g < G; ++g)
        for (std::size_t v = 0; v < nv; ++v) {
            alignas(64) T lanes[W];
            acc[g * nv + v].store_aligned(lanes);
            for (std::size_t l = 0; l < W && v * W + l < H; ++l) {
                const std::size_t column = g * hp + v * W + l;
                long double sum = 0.25L, magnitude = 0.25L;
                for (std::size_t k = 0; k < In; ++k) {
                    const long double term = static_cast<long double>(w[block_index<In, G * hp, P>(column, k)]) * x[k];
                    sum += term;
                    magnitude += std::fabs(term);
                }
                check.add(lanes[l], sum, magnitude, In);
            }
        }
    BOOST_TEST_CONTEXT("gate groups In " << In << ", H " << H << ", G " << G << ", " << sizeof(T) * 8 << "-bit") {
        BOOST_TEST(check.worst <= 1.0);
    }
}

// inference<Net> against the network computed in long double on its parameters.
template <class Net>
void check_inference(unsigned seed) {
    auto params = std::make_unique<hn::parameters<Net>>();
    hn::init::automatic(*params, seed);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-0.5f, 0.5f);
    hn::for_each_index<Net::stage_count>([&](auto i) {
        for (float& b : params->template layer<decltype(i)::value>().biases()) b = u(rng);
    });
    std::vector<float> x(Net::input_size);
    for (float& v : x) v = 2 * u(rng);
    hn::inference<Net> run;
    const auto y = run(*params, std::span<const float, Net::input_size>(x.data(), Net::input_size));
    std::vector<long double> a(x.begin(), x.end()), magnitude(x.size(), 0.0L);
    std::size_t depth = 0;
    hn::for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        using S = typename Net::template stage<i>;
        const auto view = params->template layer<i>();
        std::vector<long double> next(S::output_width), next_magnitude(S::output_width);
        for (std::size_t o = 0; o < S::output_width; ++o) {
            long double z = view.bias(o), m = std::fabs(static_cast<long double>(view.bias(o)));
            for (std::size_t k = 0; k < S::input_width; ++k) {
                z += static_cast<long double>(view.weight(o, k)) * a[k];
                m += std::fabs(static_cast<long double>(view.weight(o, k))) * (std::fabs(a[k]) + magnitude[k]);
            }
            next[o] = S::activation::forward(static_cast<double>(z));
            next_magnitude[o] = m;
        }
        depth += S::input_width;
        a = next;
        magnitude = next_magnitude;
    });
    reference_check<float> check;
    for (std::size_t o = 0; o < Net::output_size; ++o) check.add(y[o], a[o], magnitude[o], depth);
    BOOST_TEST_CONTEXT(hn::io::architecture_description<Net> << (hn::inference<Net>::straight_line ? ", straight line" : "")
                                                          << (hn::inference<Net>::last_stage_dot ? " with dot products" : "")) {
        BOOST_TEST(check.worst <= 1.0);
    }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(row_product)

BOOST_AUTO_TEST_CASE(dense_row_on_panels_equals_the_scalar_reference_in_float_and_double) {
    std::mt19937 rng(1);
    check_every_shape<weight_format::float32, hn::identity, float>(rng);
    check_every_shape<weight_format::float32, hn::relu, float>(rng);
    check_every_shape<weight_format::float32, hn::identity, double>(rng);
}

BOOST_AUTO_TEST_CASE(dense_row_on_converted_rows_equals_the_reference_of_the_stored_weights) {
    std::mt19937 rng(2);
    check_every_shape<weight_format::bf16, hn::identity, float>(rng);
    check_every_shape<weight_format::int8, hn::identity, float>(rng);
    check_every_shape<weight_format::int8, hn::tanh, float>(rng);
}

BOOST_AUTO_TEST_CASE(gate_groups_compute_only_the_units_and_add_to_the_accumulators) {
    std::mt19937 rng(3);
    check_gate_groups<1, 1, 3, float>(rng);
    check_gate_groups<3, 5, 3, float>(rng);
    check_gate_groups<8, 17, 4, float>(rng);
    check_gate_groups<16, 16, 4, float>(rng);
    check_gate_groups<5, 9, 3, double>(rng);
}

BOOST_AUTO_TEST_CASE(inference_equals_the_scalar_reference_on_straight_line_and_per_stage_plans) {
    using tiny = hn::network<hn::input<1>, hn::dense<16>, hn::relu, hn::dense<16>, hn::relu, hn::dense<1>>;
    using odd = hn::network<hn::input<7>, hn::dense<13>, hn::relu, hn::dense<33>, hn::tanh, hn::dense<5>>;
    using odd_wide = hn::network<hn::input<33>, hn::dense<13>, hn::leaky_relu<>, hn::dense<7>, hn::sigmoid, hn::dense<3>,
                                 hn::relu>;
    using single = hn::network<hn::input<37>, hn::dense<21>>;
    using mid = hn::network<hn::input<64>, hn::dense<128>, hn::relu, hn::dense<128>, hn::relu, hn::dense<10>>;
    static_assert(hn::inference<tiny>::straight_line && hn::inference<tiny>::last_stage_dot);
    static_assert(hn::inference<odd>::straight_line && hn::inference<odd>::last_stage_dot);  // 33 -> 5
    static_assert(hn::inference<odd_wide>::straight_line && !hn::inference<odd_wide>::last_stage_dot);  // 7 -> 3
    static_assert(hn::inference<single>::straight_line);
    static_assert(!hn::inference<mid>::straight_line);  // 104 KB of weights: stage by stage
    check_inference<tiny>(4);
    check_inference<odd>(5);
    check_inference<odd_wide>(6);
    check_inference<single>(7);
    check_inference<mid>(8);
}

BOOST_AUTO_TEST_SUITE_END()
