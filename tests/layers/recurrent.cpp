// Sequence models: gru and lstm against a scalar reference of PyTorch's equations, causal
// conv1d against its definition, dense applied per step, finite-difference gradient checks in
// double precision (all steps and last step, sequence lengths 1, 2 and odd, H = 1 and odd, C > 1,
// stacks), and truncated BPTT: windows with carried state give the whole sequence's outputs (also
// through grouped causal convolutions and layer_norm), and their gradients central differences.
#include <boost/test/unit_test.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <hinge/hinge.hpp>
#include <hinge/io/architecture.hpp>
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

// Gradient check of Net on Batch random samples, as tests/layers/convolution.cpp does.
template <class Net, std::size_t Batch = 2>
void check_network_gradients(std::uint64_t seed, double tolerance = 1e-6) {
    auto p = std::make_unique<hn::parameters<Net, double>>();
    fill_random(*p, seed);
    const std::vector<double> x = random_values<double>(Batch * Net::input_size, seed + 100);
    const auto result = check_gradients<Net, Batch>(*p, x.data(), Batch, true);
    BOOST_TEST_MESSAGE(hn::io::architecture_description<Net> << ": worst relative error " << result.worst_relative_error
                                                               << " over " << result.checked << " coordinates");
    BOOST_TEST(result.checked > 0u);
    BOOST_TEST(result.skipped <= result.checked / 100);
    BOOST_TEST(result.worst_relative_error < tolerance);
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
// that carries it through 7 steps gets it right. Softmax cross-entropy on the last step, SGD with
// momentum. Fixed seeds; 300 steps of batch 16; accuracy on 512 fresh sequences must reach 95 %
// (chance: 50 %).
BOOST_AUTO_TEST_CASE(a_gru_learns_to_remember_the_first_step) {
    using net = hn::network<hn::input<8, 1>, hn::gru<8, hn::returns::last_step>, hn::dense<2>>;
    auto p = std::make_unique<hn::parameters<net>>();
    hn::init::automatic(*p, 71);
    auto train = std::make_unique<hn::trainer<net, hn::loss::softmax_cross_entropy, hn::optim::momentum, hn::batch<16>>>(
        *p, hn::optim::momentum{0.2f, 0.9f});
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
    // check_gradients makes its own workspace: check through a copy of this one's state instead.
    double h = 1e-6, worst = 0;
    auto grads = std::make_unique<hn::gradients<net, double>>();
    ws->carry_state(true);
    const auto loss = [&](const hn::parameters<net, double>& q, const double* input) {
        hn::train_forward(const_cast<hn::parameters<net, double>&>(q), *ws, input, 2);
        double sum = 0;
        for (std::size_t r = 0; r < 2 * net::output_positions; ++r)
            for (std::size_t j = 0; j < net::output_channels; ++j)
                sum += hinge_test::probe_weight(r, j) *
                       ws->template activation<net::stage_count - 1>()[r * hn::workspace<net, 2, double>::template
                                                                                      activation_stride<net::stage_count - 1> + j];
        return sum;
    };
    hn::train_forward(*p, *ws, x.data(), 2);
    hn::seed_output_gradient(*p, *ws, *grads, 2, [](std::size_t r, std::size_t j) { return hinge_test::probe_weight(r, j); });
    hn::backward(*p, *ws, x.data(), *grads, 2);
    for (std::size_t k = 0; k < hn::parameters<net, double>::trainable_size; ++k) {
        const double saved = p->data()[k];
        p->data()[k] = saved + h;
        const double plus = loss(*p, x.data());
        p->data()[k] = saved - h;
        const double minus = loss(*p, x.data());
        p->data()[k] = saved;
        const double numeric = (plus - minus) / (2 * h);
        worst = std::max(worst, std::fabs(grads->data()[k] - numeric) / std::max(1.0, std::fabs(numeric)));
    }
    BOOST_TEST_MESSAGE(hn::io::architecture_description<net> << " with a carried state: worst relative error " << worst);
    BOOST_TEST(worst < 1e-6);
    BOOST_TEST(ws->state().passes == 5u);  // train_forward and backward leave the state alone
}

BOOST_AUTO_TEST_CASE(gradients_with_a_carried_state_equal_central_differences) {
    carried_state_gradients<hn::network<hn::input<3, 2>, hn::conv1d<3, 2, 1, hn::padding::causal, 2>, hn::tanh,
                                        hn::lstm<4>, hn::gru<3>>>(61);
    // The weight gradient of grouped causal convolutions reads the ring for the taps before the window.
    carried_state_gradients<hn::network<hn::input<3, 4>, hn::conv1d<4, 2, 1, hn::padding::causal, 2, 2>, hn::tanh,
                                        hn::conv1d<8, 3, 1, hn::padding::causal, 1, 4>, hn::layer_norm, hn::gru<3>>>(64);
}

BOOST_AUTO_TEST_SUITE_END()
