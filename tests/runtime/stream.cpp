// stream<Net>: one step per call gives the outputs of a forward pass over the whole sequence
// (gru, lstm, a dilated causal conv1d stack, a mix, a grouped / depthwise causal stack with
// layer_norm), in double to 1e-12 and in float to 1e-5;
// a block call equals single steps; reset() starts a sequence afresh; a saved state resumes
// exactly; a non-finite input value enters as 0, so it does not poison the state. Zero allocation
// over a million steps is in tests/no_allocation.cpp.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include <hinge/hinge.hpp>

#include "../support/gradient_check.hpp"

namespace hn = hinge;

namespace {

template <class T>
std::vector<T> signal(std::size_t n, std::uint64_t seed) {
    hn::init::random_generator random(seed);
    std::vector<T> v(n);
    for (T& x : v) x = static_cast<T>(2 * random.uniform() - 1);
    return v;
}

// The largest |stream output - whole-sequence output| over every step and channel.
template <class Net, class T>
double stream_against_whole(std::uint64_t seed) {
    constexpr std::size_t L = Net::input_shape::dimension(0), C = Net::input_shape::channels;
    auto pd = std::make_unique<hn::parameters<Net, double>>();
    hinge_test::fill_random(*pd, seed);
    auto p = std::make_unique<hn::parameters<Net, T>>();
    hn::convert_parameters(*pd, *p);
    const std::vector<T> x = signal<T>(L * C, seed + 1);
    auto whole = std::make_unique<hn::workspace<Net, 1, T, false>>();
    hn::forward(*p, *whole, x.data(), 1);
    auto s = std::make_unique<hn::stream<Net, T>>();
    double worst = 0;
    for (std::size_t t = 0; t < L; ++t) {
        const auto y = (*s)(*p, std::span<const T, C>(x.data() + t * C, C));
        for (std::size_t j = 0; j < Net::output_channels; ++j)
            worst = std::max(worst, std::fabs(static_cast<double>(y[j]) - static_cast<double>(whole->output(0, t)[j])));
    }
    BOOST_TEST(s->steps() == L);
    return worst;
}

using gru_model = hn::network<hn::input<40, 2>, hn::gru<7>, hn::dense<1>>;
using lstm_model = hn::network<hn::input<40, 1>, hn::lstm<17>, hn::lstm<5>, hn::dense<2>>;
// WaveNet-like: dilations 1..16, receptive field 32 (plus the first layer's kernel).
using causal_model = hn::network<hn::input<70, 1>, hn::conv1d<8, 2, 1, hn::padding::causal, 1>, hn::tanh,
                                 hn::conv1d<8, 2, 1, hn::padding::causal, 2>, hn::tanh,
                                 hn::conv1d<8, 2, 1, hn::padding::causal, 4>, hn::tanh,
                                 hn::conv1d<8, 2, 1, hn::padding::causal, 8>, hn::tanh,
                                 hn::conv1d<8, 3, 1, hn::padding::causal, 16>, hn::tanh, hn::dense<1>>;
using mixed_model = hn::network<hn::input<33, 3>, hn::conv1d<6, 3, 1, hn::padding::causal, 2>, hn::relu,
                                hn::residual<hn::dense<6>, hn::relu>, hn::gru<9>, hn::dense<4>, hn::leaky_relu<0.1f>,
                                hn::dense<2>>;
// Grouped (2 and 3 channels per group), depthwise with a multiplier and depthwise causal
// convolutions, dilations 1..8, with layer_norm per step between them; 20 filters (past a panel).
using grouped_model = hn::network<hn::input<60, 4>, hn::conv1d<6, 2, 1, hn::padding::causal, 1, 2>, hn::tanh,
                                  hn::conv1d<12, 3, 1, hn::padding::causal, 2, 6>, hn::layer_norm, hn::tanh,
                                  hn::conv1d<12, 2, 1, hn::padding::causal, 4, 12>, hn::relu,
                                  hn::conv1d<20, 2, 1, hn::padding::causal, 8, 4>, hn::layer_norm, hn::dense<2>>;

// A TCN with a 1x1 convolution as its per-sample head, declared as PyTorch's nn.Conv1d(8, 1, 1)
// exports it (padding::valid): one tap has no past, so it streams whatever its padding.
using tcn_with_1x1_head = hn::network<hn::input<30, 2>, hn::conv1d<8, 2, 1, hn::padding::causal, 1>, hn::tanh,
                                      hn::conv1d<8, 2, 1, hn::padding::causal, 2>, hn::tanh,
                                      hn::conv1d<3, 1, 1, hn::padding::valid>, hn::sigmoid,
                                      hn::conv1d<1, 1, 1, hn::padding::same>>;

}  // namespace

BOOST_AUTO_TEST_SUITE(stream)

BOOST_AUTO_TEST_CASE(a_convolution_of_one_tap_streams_whatever_its_padding) {
    BOOST_TEST((stream_against_whole<tcn_with_1x1_head, double>(5)) < 1e-12);
    BOOST_TEST((stream_against_whole<tcn_with_1x1_head, float>(5)) < 1e-5);
}

// inference<Net> on a model that outputs every step: the whole output sequence, contiguous,
// equal to the forward pass's (whose rows are padded to whole panels in the workspace).
BOOST_AUTO_TEST_CASE(inference_returns_every_step_of_a_sequence_output) {
    using net = hn::network<hn::input<12, 2>, hn::gru<5>, hn::dense<3>>;
    auto p = std::make_unique<hn::parameters<net>>();
    hn::init::automatic(*p, 9);
    const std::vector<float> x = signal<float>(net::input_size, 10);
    hn::inference<net> run;
    const std::span<const float, net::output_size> y = run(*p, std::span<const float, net::input_size>(x.data(), net::input_size));
    static_assert(net::output_size == 12 * 3);
    auto whole = std::make_unique<hn::workspace<net, 1, float, false>>();
    hn::forward(*p, *whole, x.data(), 1);
    double worst = 0;
    for (std::size_t t = 0; t < 12; ++t)
        for (std::size_t c = 0; c < 3; ++c)
            worst = std::max(worst, double(std::fabs(y[t * 3 + c] - whole->output(0, t)[c])));
    BOOST_TEST(worst < 1e-6);  // the same kernels on one sample, up to the row product's summation order
}

BOOST_AUTO_TEST_CASE(streaming_equals_the_whole_sequence_forward_pass) {
    BOOST_TEST((stream_against_whole<gru_model, double>(1)) < 1e-12);
    BOOST_TEST((stream_against_whole<lstm_model, double>(2)) < 1e-12);
    BOOST_TEST((stream_against_whole<causal_model, double>(3)) < 1e-12);
    BOOST_TEST((stream_against_whole<mixed_model, double>(4)) < 1e-12);
    BOOST_TEST((stream_against_whole<gru_model, float>(1)) < 1e-5);
    BOOST_TEST((stream_against_whole<lstm_model, float>(2)) < 1e-5);
    BOOST_TEST((stream_against_whole<causal_model, float>(3)) < 1e-5);
    BOOST_TEST((stream_against_whole<mixed_model, float>(4)) < 1e-5);
    BOOST_TEST((stream_against_whole<grouped_model, double>(5)) < 1e-12);
    BOOST_TEST((stream_against_whole<grouped_model, float>(5)) < 1e-5);
}

BOOST_AUTO_TEST_CASE(a_block_equals_single_steps_and_reset_starts_afresh) {
    auto p = std::make_unique<hn::parameters<mixed_model>>();
    hn::init::automatic(*p, 5);
    const std::vector<float> x = signal<float>(50 * 3, 6);
    auto single = std::make_unique<hn::stream<mixed_model>>();
    std::vector<float> one_by_one;
    for (std::size_t t = 0; t < 50; ++t) {
        const auto y = (*single)(*p, std::span<const float, 3>(x.data() + 3 * t, 3));
        one_by_one.insert(one_by_one.end(), y.begin(), y.end());
    }
    auto block = std::make_unique<hn::stream<mixed_model>>();
    std::vector<float> blocks(100);
    block->process(*p, std::span<const float>(x.data(), 60), std::span<float>(blocks.data(), 40));  // 20 steps
    block->process(*p, std::span<const float>(x.data() + 60, 90), std::span<float>(blocks.data() + 40, 60));
    BOOST_TEST(blocks == one_by_one, boost::test_tools::per_element());

    block->reset();
    BOOST_TEST(block->steps() == 0u);
    std::vector<float> again(100);
    block->process(*p, x, again);
    BOOST_TEST(again == one_by_one, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_restored_state_resumes_exactly_there) {
    auto p = std::make_unique<hn::parameters<causal_model>>();
    hn::init::automatic(*p, 7);
    const std::vector<float> x = signal<float>(200, 8);
    auto s = std::make_unique<hn::stream<causal_model>>();
    std::vector<float> first(100), second(100), resumed(100);
    s->process(*p, std::span<const float>(x.data(), 100), first);
    const auto saved = s->state();
    s->process(*p, std::span<const float>(x.data() + 100, 100), second);
    auto other = std::make_unique<hn::stream<causal_model>>();
    other->restore(saved);
    other->process(*p, std::span<const float>(x.data() + 100, 100), resumed);
    BOOST_TEST(resumed == second, boost::test_tools::per_element());
    BOOST_TEST(other->steps() == 200u);
    // The state is not the zero state: the second half differs from a fresh start on it.
    auto fresh = std::make_unique<hn::stream<causal_model>>();
    std::vector<float> cold(100);
    fresh->process(*p, std::span<const float>(x.data() + 100, 100), cold);
    BOOST_TEST(cold != second);
}

// NaN or Inf held in a recurrent state (or a causal ring) would make every later output NaN.
// The law: a signal with non-finite values streams as the same signal with 0 in their place,
// bit for bit, and the stream counts them.
template <class Net>
void non_finite_inputs_enter_as_zero() {
    constexpr std::size_t C = Net::input_shape::channels, O = Net::output_channels, n = 120;
    auto p = std::make_unique<hn::parameters<Net>>();
    hn::init::automatic(*p, 12);
    std::vector<float> x = signal<float>(n * C, 13), zeroed = x;
    constexpr float inf = std::numeric_limits<float>::infinity();
    for (const auto& [at, value] : {std::pair<std::size_t, float>{10 * C, std::numeric_limits<float>::quiet_NaN()},
                                   {20 * C + C - 1, inf}, {21 * C, -inf}, {60 * C, std::numeric_limits<float>::signaling_NaN()}}) {
        x[at] = value;
        zeroed[at] = 0.0f;
    }
    auto s = std::make_unique<hn::stream<Net>>();
    auto clean = std::make_unique<hn::stream<Net>>();
    std::vector<float> y(n * O), expected(n * O);
    s->process(*p, x, y);
    clean->process(*p, zeroed, expected);
    BOOST_TEST(std::memcmp(y.data(), expected.data(), y.size() * sizeof(float)) == 0);
    BOOST_TEST(std::all_of(y.begin(), y.end(), [](float v) { return std::isfinite(v); }));
    BOOST_TEST(s->non_finite_inputs() == 4u);
    BOOST_TEST(clean->non_finite_inputs() == 0u);
    s->reset();
    BOOST_TEST(s->non_finite_inputs() == 0u);
}

BOOST_AUTO_TEST_CASE(a_non_finite_input_enters_as_zero_and_does_not_poison_the_state) {
    non_finite_inputs_enter_as_zero<gru_model>();
    non_finite_inputs_enter_as_zero<lstm_model>();
    non_finite_inputs_enter_as_zero<causal_model>();
}

BOOST_AUTO_TEST_SUITE_END()
