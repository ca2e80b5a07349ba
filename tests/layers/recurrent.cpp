// Sequence models: gru and lstm against a scalar reference of PyTorch's equations, the recurrent
// kernels (forward, final state, one streaming step, BPTT) against a scalar reference on odd sizes
// in float and double, causal conv1d against its definition, dense applied per step,
// finite-difference gradient checks in double precision (all steps and last step, sequence
// lengths 1, 2 and odd, H = 1 and odd, C > 1, stacks, a carried starting state, also through
// grouped causal convolutions and layer_norm), and truncated BPTT: windows with carried state
// give the whole sequence's outputs.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <hinge/hinge.hpp>
#include <hinge/kernels/simd.hpp>

#include "../support/gradient_check.hpp"

namespace hn = hinge;
using hinge_test::check_gradients;
using hinge_test::fill_random;
using hinge_test::random_values;

namespace {

double sigmoid(double z) { return 1 / (1 + std::exp(-z)); }

// The hidden states of one sample by PyTorch's equations (torch.nn.GRU / torch.nn.LSTM docs),
// one step at a time in plain double loops, from the logical view of the parameters.
// x: steps x C; returns steps x H (every h_t).
template <class View>
std::vector<double> reference_gru(const View& w, const double* x, std::size_t steps, std::vector<double> h) {
    constexpr std::size_t C = View::input_width, H = View::output_width;
    std::vector<double> out;
    for (std::size_t t = 0; t < steps; ++t) {
        std::vector<double> next(H);
        for (std::size_t j = 0; j < H; ++j) {
            double a[3], r[3];
            for (std::size_t g = 0; g < 3; ++g) {
                a[g] = w.bias_ih(g * H + j);
                r[g] = w.bias_hh(g * H + j);
                for (std::size_t c = 0; c < C; ++c) a[g] += w.weight_ih(g * H + j, c) * x[t * C + c];
                for (std::size_t k = 0; k < H; ++k) r[g] += w.weight_hh(g * H + j, k) * h[k];
            }
            const double reset = sigmoid(a[0] + r[0]), update = sigmoid(a[1] + r[1]);
            const double candidate = std::tanh(a[2] + reset * r[2]);
            next[j] = (1 - update) * candidate + update * h[j];
        }
        h = next;
        out.insert(out.end(), h.begin(), h.end());
    }
    return out;
}

template <class View>
std::vector<double> reference_lstm(const View& w, const double* x, std::size_t steps, std::vector<double> h,
                                   std::vector<double> c) {
    constexpr std::size_t C = View::input_width, H = View::output_width;
    std::vector<double> out;
    for (std::size_t t = 0; t < steps; ++t) {
        std::vector<double> next_h(H), next_c(H);
        for (std::size_t j = 0; j < H; ++j) {
            double pre[4];
            for (std::size_t g = 0; g < 4; ++g) {
                pre[g] = w.bias_ih(g * H + j) + w.bias_hh(g * H + j);
                for (std::size_t k = 0; k < C; ++k) pre[g] += w.weight_ih(g * H + j, k) * x[t * C + k];
                for (std::size_t k = 0; k < H; ++k) pre[g] += w.weight_hh(g * H + j, k) * h[k];
            }
            next_c[j] = sigmoid(pre[1]) * c[j] + sigmoid(pre[0]) * std::tanh(pre[2]);
            next_h[j] = sigmoid(pre[3]) * std::tanh(next_c[j]);
        }
        h = next_h;
        c = next_c;
        out.insert(out.end(), h.begin(), h.end());
    }
    return out;
}

// Gradient check of Net on Batch random samples, every parameter and input coordinate, by the
// suite's checker (support/gradient_check.hpp), at most 1% of the coordinates next to a kink.
template <class Net, std::size_t Batch = 2>
void check_network_gradients(std::uint64_t seed) {
    auto p = std::make_unique<hn::parameters<Net, double>>();
    fill_random(*p, seed);
    const std::vector<double> x = random_values<double>(Batch * Net::input_size, seed + 100);
    check_gradients<Net, Batch>(*p, x.data(), {.input = true, .max_skipped = 0.01});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(recurrent)

BOOST_AUTO_TEST_CASE(shapes_and_parameter_counts_are_pytorchs) {
    using all = hn::network<hn::input<7, 3>, hn::gru<5>, hn::dense<2>>;
    static_assert(std::is_same_v<all::stage<0>::output_shape, hn::shape<7, 5>>);
    static_assert(std::is_same_v<all::stage<1>::output_shape, hn::shape<7, 2>>);  // dense per step
    static_assert(all::output_positions == 7 && all::output_channels == 2);
    // torch.nn.GRU(3, 5): 3 * 5 * (3 + 5 + 2) = 150; nn.Linear(5, 2): 12.
    static_assert(all::parameter_count == 150 + 12);
    using last = hn::network<hn::input<7, 3>, hn::lstm<5, hn::returns::last_step>, hn::dense<2>>;
    static_assert(std::is_same_v<last::stage<0>::output_shape, hn::shape<5>>);
    static_assert(last::output_positions == 1 && last::output_size == 2);
    static_assert(last::parameter_count == 4 * 5 * (3 + 5 + 2) + 12);  // nn.LSTM(3, 5): 200
    using causal = hn::network<hn::input<9, 2>, hn::conv1d<4, 3, 1, hn::padding::causal, 2>, hn::relu>;
    static_assert(std::is_same_v<causal::stage<0>::output_shape, hn::shape<9, 4>>);
    BOOST_TEST(true);
}

// The cells' gate functions on float vectors are a rational tanh (kernels/simd.hpp): within 8
// ulp of tanh (5.6 measured when it was fitted) over every float in [-12, 12] on a grid of 2^-12,
// and a sigmoid from it within 2e-7 absolute (3 float ulps of 1); on doubles they are tanh itself.
BOOST_AUTO_TEST_CASE(gate_functions_are_within_their_stated_accuracy) {
    using V = hn::kernels::vector<float>;
    double worst_ulps = 0, worst_sigmoid = 0;
    for (double z = -12; z <= 12; z += 0x1p-12) {
        const float x = static_cast<float>(z);
        const float t = hn::detail::gate_tanh(V(x)).get(0);
        const double exact = std::tanh(double(x));
        const double ulp = std::nextafter(float(std::fabs(exact)), 2.0f) - float(std::fabs(exact));
        worst_ulps = std::max(worst_ulps, std::fabs(t - exact) / ulp);
        const float s = hn::detail::gate_sigmoid(V(x)).get(0);
        worst_sigmoid = std::max(worst_sigmoid, std::fabs(s - 1 / (1 + std::exp(-double(x)))));
    }
    BOOST_TEST_MESSAGE("gate tanh: " << worst_ulps << " ulp; gate sigmoid: " << worst_sigmoid << " absolute");
    BOOST_TEST(worst_ulps <= 8.0);
    BOOST_TEST(worst_sigmoid <= 2e-7);
    BOOST_TEST(hn::detail::gate_tanh(0.3) == std::tanh(0.3));
    BOOST_TEST(hn::detail::gate_tanh(V(0.0f)).get(0) == 0.0f);  // odd: exact at 0, no sign flip
}

BOOST_AUTO_TEST_CASE(gru_and_lstm_equal_pytorchs_equations) {
    using gru_net = hn::network<hn::input<6, 3>, hn::gru<5>>;
    using lstm_net = hn::network<hn::input<6, 3>, hn::lstm<5>>;
    using gru_last = hn::network<hn::input<6, 3>, hn::gru<5, hn::returns::last_step>>;
    auto pg = std::make_unique<hn::parameters<gru_net, double>>();
    auto pl = std::make_unique<hn::parameters<lstm_net, double>>();
    auto pgl = std::make_unique<hn::parameters<gru_last, double>>();
    fill_random(*pg, 3);
    fill_random(*pl, 4);
    std::copy(pg->storage().begin(), pg->storage().end(), pgl->storage().begin());  // same layout
    const std::vector<double> x = random_values<double>(2 * 18, 5);
    auto wg = std::make_unique<hn::workspace<gru_net, 2, double, false>>();
    auto wl = std::make_unique<hn::workspace<lstm_net, 2, double, false>>();
    auto wgl = std::make_unique<hn::workspace<gru_last, 2, double, false>>();
    hn::forward(*pg, *wg, x.data(), 2);
    hn::forward(*pl, *wl, x.data(), 2);
    hn::forward(*pgl, *wgl, x.data(), 2);
    double worst = 0;
    for (std::size_t n = 0; n < 2; ++n) {
        const auto g = reference_gru(pg->layer<0>(), x.data() + n * 18, 6, std::vector<double>(5));
        const auto l = reference_lstm(pl->layer<0>(), x.data() + n * 18, 6, std::vector<double>(5), std::vector<double>(5));
        for (std::size_t t = 0; t < 6; ++t)
            for (std::size_t j = 0; j < 5; ++j) {
                worst = std::max(worst, std::fabs(wg->output(n, t)[j] - g[t * 5 + j]));
                worst = std::max(worst, std::fabs(wl->output(n, t)[j] - l[t * 5 + j]));
            }
        for (std::size_t j = 0; j < 5; ++j) worst = std::max(worst, std::fabs(wgl->output(n)[j] - g[25 + j]));
    }
    BOOST_TEST(worst < 1e-12);
}

BOOST_AUTO_TEST_CASE(causal_conv1d_equals_its_definition) {
    // y[t][f] = b[f] + sum_k sum_c w[f][k][c] x[t - (K - 1 - k) d][c], x = 0 before the start.
    constexpr std::size_t L = 9, C = 2, F = 3, K = 3, D = 2;
    using net = hn::network<hn::input<L, C>, hn::conv1d<F, K, 1, hn::padding::causal, D>>;
    auto p = std::make_unique<hn::parameters<net, double>>();
    fill_random(*p, 6);
    const std::vector<double> x = random_values<double>(L * C, 7);
    auto ws = std::make_unique<hn::workspace<net, 1, double, false>>();
    hn::forward(*p, *ws, x.data(), 1);
    const auto w = p->layer<0>();
    double worst = 0;
    for (std::size_t t = 0; t < L; ++t)
        for (std::size_t f = 0; f < F; ++f) {
            double y = w.bias(f);
            for (std::size_t k = 0; k < K; ++k) {
                const std::ptrdiff_t source = static_cast<std::ptrdiff_t>(t) - static_cast<std::ptrdiff_t>((K - 1 - k) * D);
                if (source < 0) continue;
                for (std::size_t c = 0; c < C; ++c) y += w.weight(f, k * C + c) * x[source * C + c];
            }
            worst = std::max(worst, std::fabs(ws->output(0, t)[f] - y));
        }
    BOOST_TEST(worst < 1e-12);
}

BOOST_AUTO_TEST_CASE(dense_on_a_sequence_is_applied_per_step) {
    using seq = hn::network<hn::input<4, 3>, hn::dense<5>, hn::tanh>;
    using flat = hn::network<hn::input<3>, hn::dense<5>, hn::tanh>;
    auto ps = std::make_unique<hn::parameters<seq, double>>();
    auto pf = std::make_unique<hn::parameters<flat, double>>();
    fill_random(*ps, 8);
    std::copy(ps->storage().begin(), ps->storage().end(), pf->storage().begin());
    const std::vector<double> x = random_values<double>(12, 9);
    auto ws = std::make_unique<hn::workspace<seq, 1, double, false>>();
    auto wf = std::make_unique<hn::workspace<flat, 4, double, false>>();
    hn::forward(*ps, *ws, x.data(), 1);
    hn::forward(*pf, *wf, x.data(), 4);  // the 4 steps as 4 samples
    for (std::size_t t = 0; t < 4; ++t)
        for (std::size_t j = 0; j < 5; ++j) BOOST_TEST(ws->output(0, t)[j] == wf->output(t)[j]);
}

// ---- the recurrent kernels against a scalar reference ------------------------------------------
//
// kernels/recurrent.hpp called directly (recurrent_forward, recurrent_final_state, recurrent_step,
// recurrent_backward) on buffers laid out as the layer lays them out, against the cell equations
// of layers/gru.hpp and layers/lstm.hpp (PyTorch's) and their chain rule, written here in plain
// double loops with PyTorch's parameter order. Odd sizes: H = 1, 5, 17 (17 > one panel in float
// and in double), In = 1 and 3, 1 and 7 steps, 1 and 3 samples, a zero and a random initial
// state, all steps and last step; float and double kernels, the same (rounded) values in the
// reference. The padded lanes of every output and gradient must be exactly 0.
//
// Tolerances, |kernel - reference| <= relative * max(|k|, |r|) + absolute (gradient_tolerance):
//   double: 1e-12 and 1e-13. The kernels use tanh and a sigmoid from tanh in double (the
//           reference uses 1 / (1 + exp(-x))): a few ulp per value, growing over 7 steps of sums
//           of up to 20 products. Measured: at most 2.5e-15 (under 0.01 of the tolerance).
//   float:  2e-5 and 4e-6. The gate functions are a rational tanh within 8 ulp and a sigmoid
//           within 2e-7 absolute (gate_functions_are_within_their_stated_accuracy), and products
//           are summed in float: a few 1e-7 per step, carried through 7 steps of BPTT.
//           Measured: at most 7e-7 (under 0.1 of the tolerance).
// A wrong gate order, a missing bias or a wrong derivative is off by 1e-2 or more.
namespace {

template <class T>
using aligned_vector = std::vector<T, xsimd::aligned_allocator<T, 64>>;

// One cell in PyTorch's layout, in double: W_ih [G H][In], W_hh [G H][H], b_ih [G H], b_hh [G H].
struct cell_reference {
    bool lstm = false;
    std::size_t gates = 3, hidden = 1, in = 1;
    std::vector<double> w_ih{}, w_hh{}, b_ih{}, b_hh{};

    // What one step keeps: the state it starts from, the gate pre-activations from the input (a)
    // and from the state (s), the gate values, and the new state.
    struct step {
        std::vector<double> h_prev, c_prev, a, s, gate, h, c;
    };

    static double sigmoid(double z) { return 1 / (1 + std::exp(-z)); }

    step forward(const double* x, const std::vector<double>& h_prev, const std::vector<double>& c_prev) const {
        const std::size_t H = hidden, G = gates;
        step k{h_prev, c_prev, std::vector<double>(G * H), std::vector<double>(G * H), std::vector<double>(G * H),
               std::vector<double>(H), std::vector<double>(H)};
        for (std::size_t row = 0; row < G * H; ++row) {
            k.a[row] = b_ih[row];
            for (std::size_t i = 0; i < in; ++i) k.a[row] += w_ih[row * in + i] * x[i];
            k.s[row] = b_hh[row];
            for (std::size_t j = 0; j < H; ++j) k.s[row] += w_hh[row * H + j] * h_prev[j];
        }
        for (std::size_t j = 0; j < H; ++j) {
            if (!lstm) {  // gates r, z, n
                const double r = sigmoid(k.a[j] + k.s[j]);
                const double z = sigmoid(k.a[H + j] + k.s[H + j]);
                const double n = std::tanh(k.a[2 * H + j] + r * k.s[2 * H + j]);
                k.gate[j] = r;
                k.gate[H + j] = z;
                k.gate[2 * H + j] = n;
                k.h[j] = (1 - z) * n + z * h_prev[j];
            } else {  // gates i, f, g, o
                const double i = sigmoid(k.a[j] + k.s[j]);
                const double f = sigmoid(k.a[H + j] + k.s[H + j]);
                const double g = std::tanh(k.a[2 * H + j] + k.s[2 * H + j]);
                const double o = sigmoid(k.a[3 * H + j] + k.s[3 * H + j]);
                k.gate[j] = i;
                k.gate[H + j] = f;
                k.gate[2 * H + j] = g;
                k.gate[3 * H + j] = o;
                k.c[j] = f * c_prev[j] + i * g;
                k.h[j] = o * std::tanh(k.c[j]);
            }
        }
        return k;
    }

    // The gradients of a sequence's steps given dL/dh_t of every step (zero rows where the output
    // does not reach): dL/da of every step (steps x G H, added to da), and dW_hh, db_ih, db_hh
    // (added to). The gradient reaching the initial state is dropped, as the kernel drops it.
    void backward(const std::vector<step>& steps, const std::vector<std::vector<double>>& dy, std::vector<double>& da,
                  std::vector<double>& dw_hh, std::vector<double>& db_ih, std::vector<double>& db_hh) const {
        const std::size_t H = hidden, G = gates;
        std::vector<double> dh_next(H, 0.0), dc_next(H, 0.0);
        for (std::size_t t = steps.size(); t-- > 0;) {
            const step& k = steps[t];
            std::vector<double> dpre_a(G * H), dpre_s(G * H), dh_prev(H, 0.0);
            for (std::size_t j = 0; j < H; ++j) {
                const double dh = dy[t][j] + dh_next[j];
                if (!lstm) {
                    const double r = k.gate[j], z = k.gate[H + j], n = k.gate[2 * H + j];
                    const double dn = dh * (1 - z), dz = dh * (k.h_prev[j] - n);
                    const double dn_pre = dn * (1 - n * n);
                    const double dr = dn_pre * k.s[2 * H + j];
                    dpre_a[j] = dpre_s[j] = dr * r * (1 - r);
                    dpre_a[H + j] = dpre_s[H + j] = dz * z * (1 - z);
                    dpre_a[2 * H + j] = dn_pre;
                    dpre_s[2 * H + j] = dn_pre * r;
                    dh_prev[j] += dh * z;
                } else {
                    const double i = k.gate[j], f = k.gate[H + j], g = k.gate[2 * H + j], o = k.gate[3 * H + j];
                    const double tc = std::tanh(k.c[j]);
                    const double dc = dc_next[j] + dh * o * (1 - tc * tc);
                    dpre_a[j] = dc * g * i * (1 - i);
                    dpre_a[H + j] = dc * k.c_prev[j] * f * (1 - f);
                    dpre_a[2 * H + j] = dc * i * (1 - g * g);
                    dpre_a[3 * H + j] = dh * tc * o * (1 - o);
                    for (std::size_t q = 0; q < 4; ++q) dpre_s[q * H + j] = dpre_a[q * H + j];
                    dc_next[j] = dc * f;
                }
            }
            for (std::size_t row = 0; row < G * H; ++row) {
                da[t * G * H + row] += dpre_a[row];
                db_ih[row] += dpre_a[row];
                db_hh[row] += dpre_s[row];
                for (std::size_t j = 0; j < H; ++j) {
                    dw_hh[row * H + j] += dpre_s[row] * k.h_prev[j];
                    dh_prev[j] += w_hh[row * H + j] * dpre_s[row];
                }
            }
            dh_next = dh_prev;
        }
    }
};

// The worst error of each kernel as a fraction of its tolerance, and in absolute terms.
struct kernel_errors {
    hinge_test::gradient_tolerance tolerance;
    double forward = 0, state = 0, step = 0, backward = 0, absolute = 0;
    std::size_t nonzero_padding = 0;
    void add(double& worst, double kernel, double reference) {
        worst = std::max(worst, tolerance.ratio(kernel, reference));
        absolute = std::max(absolute, std::fabs(kernel - reference));
    }
};

template <class Cell, std::size_t In, std::size_t H, std::size_t Steps, bool AllSteps, class T>
void compare_recurrent_kernels(std::size_t samples, bool initial_state, std::uint64_t seed, kernel_errors& e) {
    namespace k = hn::kernels;
    using G = k::recurrent_geometry<Cell, H, T>;
    constexpr std::size_t P = hn::panel_width<T>, hp = G::hp, gw = G::gate_width, sw = G::state_width;
    constexpr std::size_t NG = Cell::gates, fan_in = std::max(In, H);
    constexpr bool lstm = Cell::has_cell_state;
    const auto rounded = [](double v) { return static_cast<double>(static_cast<T>(v)); };

    // Parameters (rounded to T, so that the reference sees what the kernel sees), packed as the
    // layer stores them: gate g of unit j is column g * hp + j of panel-major matrices.
    cell_reference ref{.lstm = lstm, .gates = NG, .hidden = H, .in = In};
    ref.w_ih = random_values<double>(NG * H * In, seed, 0.6);
    ref.w_hh = random_values<double>(NG * H * H, seed + 1, 0.6);
    ref.b_ih = random_values<double>(NG * H, seed + 2, 0.4);
    ref.b_hh = random_values<double>(NG * H, seed + 3, 0.4);
    for (auto* v : {&ref.w_ih, &ref.w_hh, &ref.b_ih, &ref.b_hh})
        for (double& x : *v) x = rounded(x);
    const auto column = [&](std::size_t row) { return row / H * hp + row % H; };
    const auto at = [&](std::size_t fan, std::size_t c, std::size_t i) { return c / P * (fan * P) + i * P + c % P; };
    aligned_vector<T> w_ih(In * gw, T(0)), w_hh(H * gw, T(0)), b_ih(gw, T(0)), b_hh(gw, T(0));
    for (std::size_t row = 0; row < NG * H; ++row) {
        for (std::size_t i = 0; i < In; ++i) w_ih[at(In, column(row), i)] = static_cast<T>(ref.w_ih[row * In + i]);
        for (std::size_t j = 0; j < H; ++j) w_hh[at(H, column(row), j)] = static_cast<T>(ref.w_hh[row * H + j]);
        b_ih[column(row)] = static_cast<T>(ref.b_ih[row]);
        b_hh[column(row)] = static_cast<T>(ref.b_hh[row]);
    }

    // Inputs, the starting state (h then c, hp values each per sample), the output gradient.
    std::vector<double> x = random_values<double>(samples * Steps * In, seed + 4);
    for (double& v : x) v = rounded(v);
    const std::vector<T> xt(x.begin(), x.end());
    aligned_vector<T> initial(samples * sw, T(0));
    std::vector<std::vector<double>> h0(samples, std::vector<double>(H)), c0(samples, std::vector<double>(H));
    if (initial_state) {
        const std::vector<double> drawn = random_values<double>(samples * 2 * H, seed + 5, 0.8);
        for (std::size_t n = 0; n < samples; ++n)
            for (std::size_t j = 0; j < H; ++j) {
                h0[n][j] = rounded(drawn[(2 * n) * H + j]);
                initial[n * sw + j] = static_cast<T>(h0[n][j]);
                if (lstm) {
                    c0[n][j] = rounded(drawn[(2 * n + 1) * H + j]);
                    initial[n * sw + hp + j] = static_cast<T>(c0[n][j]);
                }
            }
    }
    const std::size_t output_rows = AllSteps ? samples * Steps : samples;
    aligned_vector<T> dy(output_rows * hp, T(0));
    {
        const std::vector<double> drawn = random_values<double>(output_rows * H, seed + 6);
        for (std::size_t r = 0; r < output_rows; ++r)
            for (std::size_t j = 0; j < H; ++j) dy[r * hp + j] = static_cast<T>(drawn[r * H + j]);
    }

    // The kernels, on the layer's buffers.
    aligned_vector<T> gates(samples * Steps * gw), extra(samples * Steps * hp), previous(samples * Steps * sw),
        output(output_rows * hp, T(-7)), step_scratch(samples * gw);
    const k::recurrent_rows<T> rows{gates.data(), extra.data(), previous.data(), output.data(), step_scratch.data()};
    k::recurrent_forward<Cell, In, H, Steps, AllSteps>(samples, xt.data(), In, w_ih.data(), b_ih.data(), w_hh.data(),
                                                       b_hh.data(), initial_state ? initial.data() : nullptr, sw, rows);
    aligned_vector<T> final_state(samples * sw, T(-7));
    k::recurrent_final_state<Cell, H, Steps, AllSteps>(samples, rows, final_state.data(), sw);

    constexpr bool same = Cell::same_pre_activation_gradients;
    aligned_vector<T> gradient_scratch(samples * (Steps * gw * (same ? 1 : 2) + 3 * hp));
    const k::recurrent_gradient_rows<T> gradient =
        k::split_recurrent_gradient_scratch(gradient_scratch.data(), samples, Steps, gw, hp, same);
    aligned_vector<T> wt(hn::round_up(fan_in, P) * gw), packing((fan_in + hn::max_micro_rows) * std::min(samples * Steps, hn::depth_block));
    aligned_vector<T> dw_hh(H * gw, T(-7)), db_ih(gw, T(-7)), db_hh(gw, T(-7));
    k::recurrent_backward<Cell, H, Steps, AllSteps>(samples, dy.data(), hp, rows, w_hh.data(), wt.data(), gradient,
                                                    dw_hh.data(), db_ih.data(), db_hh.data(), packing.data());

    // The reference, sample by sample, and the comparisons.
    std::vector<double> ref_dw_hh(NG * H * H, 0.0), ref_db_ih(NG * H, 0.0), ref_db_hh(NG * H, 0.0);
    for (std::size_t n = 0; n < samples; ++n) {
        std::vector<cell_reference::step> steps;
        std::vector<double> h = h0[n], c = c0[n];
        for (std::size_t t = 0; t < Steps; ++t) {
            steps.push_back(ref.forward(x.data() + (n * Steps + t) * In, h, c));
            h = steps.back().h;
            c = steps.back().c;
        }
        for (std::size_t t = 0; t < Steps; ++t) {
            if (!AllSteps && t + 1 < Steps) continue;
            const T* out = output.data() + (AllSteps ? n * Steps + t : n) * hp;
            for (std::size_t j = 0; j < H; ++j) e.add(e.forward, static_cast<double>(out[j]), steps[t].h[j]);
            for (std::size_t j = H; j < hp; ++j) e.nonzero_padding += out[j] != T(0);
        }
        for (std::size_t j = 0; j < H; ++j) {
            e.add(e.state, static_cast<double>(final_state[n * sw + j]), h[j]);
            if (lstm) e.add(e.state, static_cast<double>(final_state[n * sw + hp + j]), c[j]);
        }
        for (std::size_t j = H; j < hp; ++j) {
            e.nonzero_padding += final_state[n * sw + j] != T(0);
            if (lstm) e.nonzero_padding += final_state[n * sw + hp + j] != T(0);
        }

        // One step of this sequence from its starting state: the streaming kernel.
        // It writes h to h_out and the next state (h, c) over the state it started from, as a
        // stream runs it.
        aligned_vector<T> state(sw, T(0)), h_out(hp, T(0));
        std::copy_n(initial.data() + n * sw, sw, state.data());
        k::recurrent_step<Cell, In, H>(xt.data() + n * Steps * In, w_ih.data(), b_ih.data(), w_hh.data(), b_hh.data(),
                                       initial_state ? state.data() : nullptr, h_out.data(), state.data());
        for (std::size_t j = 0; j < H; ++j) {
            e.add(e.step, static_cast<double>(h_out[j]), steps[0].h[j]);
            e.add(e.step, static_cast<double>(state[j]), steps[0].h[j]);
            if (lstm) e.add(e.step, static_cast<double>(state[hp + j]), steps[0].c[j]);
        }

        std::vector<std::vector<double>> dh(Steps, std::vector<double>(H, 0.0));
        for (std::size_t t = 0; t < Steps; ++t)
            if (AllSteps || t + 1 == Steps)
                for (std::size_t j = 0; j < H; ++j) dh[t][j] = static_cast<double>(dy[(AllSteps ? n * Steps + t : n) * hp + j]);
        std::vector<double> ref_da(Steps * NG * H, 0.0);
        ref.backward(steps, dh, ref_da, ref_dw_hh, ref_db_ih, ref_db_hh);
        for (std::size_t t = 0; t < Steps; ++t) {
            const T* da = gradient.da + (n * Steps + t) * gw;
            for (std::size_t row = 0; row < NG * H; ++row)
                e.add(e.backward, static_cast<double>(da[column(row)]), ref_da[t * NG * H + row]);
            for (std::size_t g = 0; g < NG; ++g)
                for (std::size_t j = H; j < hp; ++j) e.nonzero_padding += da[g * hp + j] != T(0);
        }
    }
    for (std::size_t row = 0; row < NG * H; ++row) {
        for (std::size_t j = 0; j < H; ++j)
            e.add(e.backward, static_cast<double>(dw_hh[at(H, column(row), j)]), ref_dw_hh[row * H + j]);
        e.add(e.backward, static_cast<double>(db_ih[column(row)]), ref_db_ih[row]);
        e.add(e.backward, static_cast<double>(db_hh[column(row)]), ref_db_hh[row]);
    }
    for (std::size_t c = 0; c < gw; ++c) {
        if (c % hp < H) continue;
        e.nonzero_padding += db_ih[c] != T(0);
        e.nonzero_padding += db_hh[c] != T(0);
        for (std::size_t j = 0; j < H; ++j) e.nonzero_padding += dw_hh[at(H, c, j)] != T(0);
    }
}

// Every size combination of one cell and value type, with 1 and 3 samples, zero and random
// starting states.
template <template <std::size_t, hn::returns> class Cell, class T>
void compare_recurrent_kernels_on_odd_sizes(const char* name, hinge_test::gradient_tolerance tolerance) {
    kernel_errors e;
    e.tolerance = tolerance;
    constexpr auto all = hn::returns::all_steps, last = hn::returns::last_step;
    for (std::size_t samples : {1u, 3u})
        for (bool initial : {false, true}) {
            const std::uint64_t seed = 100 * samples + (initial ? 10 : 0);
            // (H, In, steps, all steps / last step)
            compare_recurrent_kernels<Cell<1, all>, 1, 1, 1, true, T>(samples, initial, seed + 1, e);
            compare_recurrent_kernels<Cell<1, last>, 3, 1, 7, false, T>(samples, initial, seed + 2, e);
            compare_recurrent_kernels<Cell<5, all>, 3, 5, 7, true, T>(samples, initial, seed + 3, e);
            compare_recurrent_kernels<Cell<5, last>, 1, 5, 1, false, T>(samples, initial, seed + 4, e);
            compare_recurrent_kernels<Cell<17, all>, 3, 17, 7, true, T>(samples, initial, seed + 5, e);
            compare_recurrent_kernels<Cell<17, last>, 1, 17, 7, false, T>(samples, initial, seed + 6, e);
        }
    BOOST_TEST_MESSAGE(name << ": worst error as a fraction of the tolerance: forward " << e.forward << ", final state "
                            << e.state << ", step " << e.step << ", backward " << e.backward << "; worst absolute "
                            << e.absolute);
    BOOST_TEST_CONTEXT(name) {
        BOOST_TEST(e.forward <= 1.0);
        BOOST_TEST(e.state <= 1.0);
        BOOST_TEST(e.step <= 1.0);
        BOOST_TEST(e.backward <= 1.0);
        BOOST_TEST(e.nonzero_padding == 0u);
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(recurrent_kernels_equal_the_scalar_reference_in_double) {
    constexpr hinge_test::gradient_tolerance tolerance{.relative = 1e-12, .absolute = 1e-13};
    compare_recurrent_kernels_on_odd_sizes<hn::gru, double>("gru, double", tolerance);
    compare_recurrent_kernels_on_odd_sizes<hn::lstm, double>("lstm, double", tolerance);
}

BOOST_AUTO_TEST_CASE(recurrent_kernels_equal_the_scalar_reference_in_float) {
    constexpr hinge_test::gradient_tolerance tolerance{.relative = 2e-5, .absolute = 4e-6};
    compare_recurrent_kernels_on_odd_sizes<hn::gru, float>("gru, float", tolerance);
    compare_recurrent_kernels_on_odd_sizes<hn::lstm, float>("lstm, float", tolerance);
}

// ---- gradients ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(gru_gradients_all_steps) {
    check_network_gradients<hn::network<hn::input<1, 1>, hn::gru<1>>>(11);
    check_network_gradients<hn::network<hn::input<2, 3>, hn::gru<5>>>(12);
    check_network_gradients<hn::network<hn::input<5, 2>, hn::gru<3>, hn::dense<2>>>(13);
}

BOOST_AUTO_TEST_CASE(gru_gradients_last_step) {
    check_network_gradients<hn::network<hn::input<1, 2>, hn::gru<3, hn::returns::last_step>>>(14);
    check_network_gradients<hn::network<hn::input<2, 1>, hn::gru<1, hn::returns::last_step>, hn::dense<2>>>(15);
    check_network_gradients<hn::network<hn::input<5, 3>, hn::gru<7, hn::returns::last_step>, hn::dense<2>>>(16);
}

BOOST_AUTO_TEST_CASE(lstm_gradients_all_steps) {
    check_network_gradients<hn::network<hn::input<1, 1>, hn::lstm<1>>>(21);
    check_network_gradients<hn::network<hn::input<2, 3>, hn::lstm<5>>>(22);
    check_network_gradients<hn::network<hn::input<5, 2>, hn::lstm<3>, hn::dense<2>>>(23);
}

BOOST_AUTO_TEST_CASE(lstm_gradients_last_step) {
    check_network_gradients<hn::network<hn::input<1, 2>, hn::lstm<3, hn::returns::last_step>>>(24);
    check_network_gradients<hn::network<hn::input<2, 1>, hn::lstm<1, hn::returns::last_step>, hn::dense<2>>>(25);
    check_network_gradients<hn::network<hn::input<5, 3>, hn::lstm<7, hn::returns::last_step>, hn::dense<2>>>(26);
}

// A hidden size past one panel (17 > 16 floats, > 8 doubles), stacked layers, and a layer with an
// activation before the recurrent one (its derivative is applied in the epilogue of dA W_ih^T).
BOOST_AUTO_TEST_CASE(stacked_and_wide_recurrent_gradients) {
    check_network_gradients<hn::network<hn::input<3, 2>, hn::gru<17>, hn::lstm<4, hn::returns::last_step>, hn::dense<1>>>(31);
    check_network_gradients<hn::network<hn::input<3, 2>, hn::dense<4>, hn::relu, hn::lstm<3>, hn::gru<2>>>(32);
}

BOOST_AUTO_TEST_CASE(causal_conv1d_and_per_step_dense_gradients) {
    check_network_gradients<hn::network<hn::input<7, 2>, hn::conv1d<3, 2, 1, hn::padding::causal, 1>, hn::tanh,
                                        hn::conv1d<3, 2, 1, hn::padding::causal, 2>, hn::tanh,
                                        hn::conv1d<2, 3, 1, hn::padding::causal, 4>, hn::dense<1>>>(41);
    check_network_gradients<hn::network<hn::input<3, 2>, hn::dense<4>, hn::tanh, hn::dense<1>>>(42);
}

// ---- training through time learns ------------------------------------------------------------

// Memory: the label is the sign of the FIRST step of 8, the other steps are noise, so only a cell
// that carries it through 7 steps gets it right. Softmax cross-entropy on the last step, Adam
// (lr 0.01). Fixed seeds; 300 steps of batch 16; accuracy on 512 fresh sequences must reach 95 %
// (chance: 50 %). With Adam every one of 6 seeds x lr 0.01 / 0.03 tried reached 512 of 512; SGD with
// momentum 0.9 at lr 0.2 (this test's optimiser before) reached it on half the seeds and chance on
// the others, so a change of rounding in the gate functions flipped it.
BOOST_AUTO_TEST_CASE(a_gru_learns_to_remember_the_first_step) {
    using net = hn::network<hn::input<8, 1>, hn::gru<8, hn::returns::last_step>, hn::dense<2>>;
    auto p = std::make_unique<hn::parameters<net>>();
    hn::init::automatic(*p, 71);
    auto train = std::make_unique<hn::trainer<net, hn::loss::softmax_cross_entropy, hn::optim::adam, hn::batch<16>>>(
        *p, hn::optim::adam{0.01f});
    hn::init::random_generator random(72);
    std::array<float, 16 * 8> x{};
    std::array<std::uint32_t, 16> labels{};
    const auto draw = [&](std::size_t n) {
        for (std::size_t r = 0; r < n; ++r) {
            labels[r] = random.uniform() < 0.5 ? 1u : 0u;
            x[r * 8] = labels[r] ? 1.0f : -1.0f;
            for (std::size_t t = 1; t < 8; ++t) x[r * 8 + t] = static_cast<float>(random.uniform() - 0.5);
        }
    };
    for (int step = 0; step < 300; ++step) {
        draw(16);
        train->step(x, labels);
    }
    std::size_t correct = 0;
    for (int b = 0; b < 32; ++b) {
        draw(16);
        correct += train->evaluate(x.data(), labels.data(), 16).correct;
    }
    BOOST_TEST_MESSAGE("gru memory task: " << correct << " of 512 correct");
    BOOST_TEST(correct >= 487u);
}

// Per-step targets: an LSTM echoes the sign of the input 2 steps back, one label per step
// (softmax cross-entropy sees batch x steps rows), Adam; the first 2 steps have no past and are
// labelled 0. 400 steps; at least 95 % of the 16 x 12 x 16 fresh labels right.
BOOST_AUTO_TEST_CASE(an_lstm_learns_a_per_step_delayed_echo) {
    constexpr std::size_t L = 12;
    using net = hn::network<hn::input<L, 1>, hn::lstm<8>, hn::dense<2>>;
    auto p = std::make_unique<hn::parameters<net>>();
    hn::init::automatic(*p, 73);
    auto train = std::make_unique<hn::trainer<net, hn::loss::softmax_cross_entropy, hn::optim::adam, hn::batch<16>>>(
        *p, hn::optim::adam{0.01f});
    static_assert(decltype(train)::element_type::targets_per_sample == L);
    hn::init::random_generator random(74);
    std::array<float, 16 * L> x{};
    std::array<std::uint32_t, 16 * L> labels{};
    const auto draw = [&] {
        for (std::size_t r = 0; r < 16; ++r)
            for (std::size_t t = 0; t < L; ++t) {
                x[r * L + t] = static_cast<float>(2 * random.uniform() - 1);
                labels[r * L + t] = t >= 2 && x[r * L + t - 2] > 0 ? 1u : 0u;
            }
    };
    for (int step = 0; step < 400; ++step) {
        draw();
        train->step(x, labels);
    }
    std::size_t correct = 0;
    for (int b = 0; b < 16; ++b) {
        draw();
        correct += train->evaluate(x.data(), labels.data(), 16).correct;
    }
    BOOST_TEST_MESSAGE("lstm delayed echo: " << correct << " of " << 16 * L * 16 << " correct");
    BOOST_TEST(correct >= 16 * L * 16 * 95 / 100);
}

// ---- truncated BPTT: state carried over windows ---------------------------------------------

// Feeding a long sequence in windows, with the state carried, gives the whole sequence's outputs.
template <class Whole, class Window, std::size_t Windows>
void windows_continue_the_sequence(std::uint64_t seed) {
    constexpr std::size_t L = Window::input_shape::dimension(0), C = Window::input_shape::channels;
    constexpr std::size_t out = Window::output_channels;
    static_assert(Whole::input_shape::dimension(0) == L * Windows);
    auto p = std::make_unique<hn::parameters<Whole, double>>();
    fill_random(*p, seed);
    auto pw = std::make_unique<hn::parameters<Window, double>>();
    static_assert(sizeof(*p) == sizeof(*pw));
    std::copy(p->storage().begin(), p->storage().end(), pw->storage().begin());
    constexpr std::size_t B = 2;
    const std::vector<double> x = random_values<double>(B * Whole::input_size, seed + 1);
    auto whole = std::make_unique<hn::workspace<Whole, B, double, false>>();
    hn::forward(*p, *whole, x.data(), B);

    auto ws = std::make_unique<hn::workspace<Window, B, double, false>>();
    ws->carry_state(true);
    std::vector<double> window(B * L * C);
    double worst = 0;
    for (std::size_t w = 0; w < Windows; ++w) {
        for (std::size_t n = 0; n < B; ++n)
            std::copy_n(x.data() + n * Whole::input_size + w * L * C, L * C, window.data() + n * L * C);
        hn::forward(*pw, *ws, window.data(), B);
        for (std::size_t n = 0; n < B; ++n)
            for (std::size_t t = 0; t < L; ++t)
                for (std::size_t j = 0; j < out; ++j)
                    worst = std::max(worst, std::fabs(ws->output(n, t)[j] - whole->output(n, w * L + t)[j]));
    }
    BOOST_TEST(worst < 1e-12);
    BOOST_TEST(ws->state().passes == Windows);
}

BOOST_AUTO_TEST_CASE(windows_with_carried_state_equal_the_whole_sequence) {
    windows_continue_the_sequence<hn::network<hn::input<12, 2>, hn::gru<5>, hn::dense<1>>,
                                  hn::network<hn::input<3, 2>, hn::gru<5>, hn::dense<1>>, 4>(51);
    windows_continue_the_sequence<hn::network<hn::input<12, 2>, hn::lstm<5>, hn::lstm<3>>,
                                  hn::network<hn::input<4, 2>, hn::lstm<5>, hn::lstm<3>>, 3>(52);
    // Receptive field 1 + 1 + 2 + 4 + 8 = 16 > the window: the ring carries more than one window.
    using causal_stack = hn::sequential<hn::conv1d<4, 2, 1, hn::padding::causal, 1>, hn::tanh,
                                        hn::conv1d<4, 2, 1, hn::padding::causal, 2>, hn::tanh,
                                        hn::conv1d<4, 2, 1, hn::padding::causal, 4>, hn::tanh,
                                        hn::conv1d<4, 2, 1, hn::padding::causal, 8>, hn::dense<1>>;
    windows_continue_the_sequence<hn::network<hn::input<20, 1>, causal_stack>,
                                  hn::network<hn::input<5, 1>, causal_stack>, 4>(53);
    windows_continue_the_sequence<hn::network<hn::input<20, 1>, causal_stack>,
                                  hn::network<hn::input<1, 1>, causal_stack>, 20>(54);
    // Grouped and depthwise causal convolutions keep the same ring; layer_norm works per step.
    using grouped_stack = hn::sequential<hn::conv1d<6, 2, 1, hn::padding::causal, 1, 3>, hn::tanh,
                                         hn::conv1d<6, 3, 1, hn::padding::causal, 2, 6>, hn::layer_norm, hn::tanh,
                                         hn::conv1d<4, 2, 1, hn::padding::causal, 4, 2>, hn::dense<1>>;
    windows_continue_the_sequence<hn::network<hn::input<20, 3>, grouped_stack>,
                                  hn::network<hn::input<5, 3>, grouped_stack>, 4>(55);
}

// With a carried (non-zero) starting state the gradients are those of the window given that state.
template <class net>
void carried_state_gradients(std::uint64_t seed) {
    auto p = std::make_unique<hn::parameters<net, double>>();
    fill_random(*p, seed);
    const std::vector<double> x = random_values<double>(2 * net::input_size, seed + 1);
    // The starting state: a random state block (as a previous window would leave).
    auto ws = std::make_unique<hn::workspace<net, 2, double>>();
    const std::vector<double> state = random_values<double>(ws->state().values.size(), seed + 2, 0.5);
    std::copy(state.begin(), state.end(), ws->state().values.begin());
    ws->state().passes = 5;
    // The checker runs in this workspace: it copies the state in before every pass, and checks
    // that train_forward and backward leave it as it was.
    ws->carry_state(true);
    check_gradients<net, 2>(*p, x.data(), {.input = true, .workspace = ws.get()});
    BOOST_TEST(ws->state().passes == 5u);  // train_forward and backward leave the state alone
    BOOST_TEST(std::equal(state.begin(), state.end(), ws->state().values.begin()));  // and its values
}

BOOST_AUTO_TEST_CASE(gradients_with_a_carried_state_equal_central_differences) {
    carried_state_gradients<hn::network<hn::input<3, 2>, hn::conv1d<3, 2, 1, hn::padding::causal, 2>, hn::tanh,
                                        hn::lstm<4>, hn::gru<3>>>(61);
    // The weight gradient of grouped causal convolutions reads the ring for the taps before the window.
    carried_state_gradients<hn::network<hn::input<3, 4>, hn::conv1d<4, 2, 1, hn::padding::causal, 2, 2>, hn::tanh,
                                        hn::conv1d<8, 3, 1, hn::padding::causal, 1, 4>, hn::layer_norm, hn::gru<3>>>(64);
}

BOOST_AUTO_TEST_SUITE_END()
