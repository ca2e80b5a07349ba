// streams<Net, S>: every stream of S gives, bit for bit, what a stream<Net> gives alone on its
// signal, and holds its state (gru, lstm, a dilated causal conv1d stack; S = 2, 8 and 16, which
// runs the small recurrent models in lanes wherever a vector holds 16 floats or fewer, and a GRU
// in double; interleaved and planar blocks and single frames); reset and restore act on one stream
// only; nothing allocates.
#include <boost/test/unit_test.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include <hinge/hinge.hpp>

#include "../allocation_counter.hpp"

namespace hn = hinge;

namespace {

using gru_net = hn::network<hn::input<64, 2>, hn::gru<12>, hn::dense<1>>;
using lstm_net = hn::network<hn::input<64, 1>, hn::lstm<13>, hn::dense<3>>;
using causal_net = hn::network<hn::input<64, 1>, hn::conv1d<6, 2, 1, hn::padding::causal, 1>, hn::tanh,
                               hn::conv1d<6, 2, 1, hn::padding::causal, 2>, hn::tanh,
                               hn::conv1d<6, 3, 1, hn::padding::causal, 4>, hn::tanh, hn::dense<2>>;

constexpr std::size_t steps = 150;

// Stream s's signal: steps frames of C values, different per stream; stream 1 meets a NaN.
template <class Net>
std::vector<float> signal_of(std::size_t s) {
    constexpr std::size_t C = Net::input_shape::channels;
    hn::init::random_generator random(100 + s);
    std::vector<float> v(steps * C);
    for (float& x : v) x = static_cast<float>(2 * random.uniform() - 1);
    if (s == 1) v[5 * C] = std::numeric_limits<float>::quiet_NaN();
    return v;
}

// Index of the first element whose bits differ, or the size when none does.
std::size_t first_difference(const std::vector<float>& a, const std::vector<float>& b) {
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
        if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) return i;
    return a.size() == b.size() ? a.size() : std::min(a.size(), b.size());
}

template <class Net, std::size_t S>
void every_stream_is_the_single_stream() {
    constexpr std::size_t C = Net::input_shape::channels, O = Net::output_channels;
    auto p = std::make_unique<hn::parameters<Net>>();
    hn::init::automatic(*p, 42);

    std::array<std::vector<float>, S> x, alone;
    std::array<std::unique_ptr<hn::stream<Net>>, S> single;
    for (std::size_t s = 0; s < S; ++s) {
        x[s] = signal_of<Net>(s);
        alone[s].resize(steps * O);
        single[s] = std::make_unique<hn::stream<Net>>();
        single[s]->process(*p, x[s], alone[s]);
    }

    // Interleaved: 10 single frames, then two blocks of uneven length.
    std::vector<float> in(steps * S * C), out(steps * S * O);
    for (std::size_t n = 0; n < steps; ++n)
        for (std::size_t s = 0; s < S; ++s)
            for (std::size_t c = 0; c < C; ++c) in[(n * S + s) * C + c] = x[s][n * C + c];
    auto multi = std::make_unique<hn::streams<Net, S>>();
    for (std::size_t n = 0; n < 10; ++n) {
        const auto y = (*multi)(*p, std::span<const float, S * C>(in.data() + n * S * C, S * C));
        std::copy(y.begin(), y.end(), out.begin() + std::ptrdiff_t(n * S * O));
    }
    multi->process(*p, std::span<const float>(in.data() + 10 * S * C, 37 * S * C),
                   std::span<float>(out.data() + 10 * S * O, 37 * S * O));
    multi->process(*p, std::span<const float>(in.data() + 47 * S * C, (steps - 47) * S * C),
                   std::span<float>(out.data() + 47 * S * O, (steps - 47) * S * O));
    for (std::size_t s = 0; s < S; ++s) {
        std::vector<float> mine(steps * O);
        for (std::size_t n = 0; n < steps; ++n)
            for (std::size_t o = 0; o < O; ++o) mine[n * O + o] = out[(n * S + s) * O + o];
        BOOST_TEST_INFO("interleaved, stream " << s << " of " << S);
        BOOST_TEST(first_difference(mine, alone[s]) == mine.size());
        BOOST_TEST(multi->steps(s) == steps);
        BOOST_TEST(multi->non_finite_inputs(s) == (s == 1 ? 1u : 0u));
        BOOST_TEST((multi->state(s) == single[s]->state()));
    }

    // Planar: one buffer per stream, in two blocks.
    std::array<std::vector<float>, S> planar_out;
    std::array<const float*, S> from{};
    std::array<float*, S> to{};
    auto planar = std::make_unique<hn::streams<Net, S>>();
    for (std::size_t s = 0; s < S; ++s) planar_out[s].resize(steps * O);
    for (const auto& [first, frames] : {std::pair<std::size_t, std::size_t>{0, 64}, {64, steps - 64}}) {
        for (std::size_t s = 0; s < S; ++s) {
            from[s] = x[s].data() + first * C;
            to[s] = planar_out[s].data() + first * O;
        }
        planar->process(*p, std::span<const float* const, S>(from), std::span<float* const, S>(to), frames);
    }
    for (std::size_t s = 0; s < S; ++s) {
        BOOST_TEST_INFO("planar, stream " << s << " of " << S);
        BOOST_TEST(first_difference(planar_out[s], alone[s]) == planar_out[s].size());
    }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(streams)

BOOST_AUTO_TEST_CASE(every_stream_equals_a_single_stream_on_its_signal_bit_for_bit) {
    every_stream_is_the_single_stream<gru_net, 2>();
    every_stream_is_the_single_stream<gru_net, 8>();
    every_stream_is_the_single_stream<lstm_net, 2>();
    every_stream_is_the_single_stream<lstm_net, 8>();
    every_stream_is_the_single_stream<causal_net, 2>();
    every_stream_is_the_single_stream<causal_net, 8>();
    every_stream_is_the_single_stream<gru_net, 16>();
    every_stream_is_the_single_stream<lstm_net, 16>();
    // In lanes wherever 16 streams fill whole vectors (AVX-512: one, AVX2: two, SSE2: four).
    static_assert(hn::streams<gru_net, 16>::in_lanes && hn::streams<lstm_net, 16>::in_lanes);
    static_assert(!hn::streams<causal_net, 16>::in_lanes && !hn::streams<gru_net, 2>::in_lanes);
    // A larger cell runs one stream after another (hn::detail::lanes_max_hidden), bit-identical too.
    using wide_net = hn::network<hn::input<64, 1>, hn::gru<17>, hn::dense<1>>;
    static_assert(!hn::streams<wide_net, 16>::in_lanes);
    every_stream_is_the_single_stream<wide_net, 16>();
}

// In double: 8 lanes with AVX-512, so S = 16 is two vectors of streams.
BOOST_AUTO_TEST_CASE(double_streams_equal_single_streams_bit_for_bit) {
    using net = hn::network<hn::input<8, 2>, hn::gru<12>, hn::dense<1>>;
    constexpr std::size_t S = 16, C = 2, n = 120;
    auto p = std::make_unique<hn::parameters<net, double>>();
    hn::init::automatic(*p, 4);
    std::vector<double> in(n * S * C), out(n * S);
    hn::init::random_generator random(9);
    for (double& v : in) v = 2 * random.uniform() - 1;
    auto m = std::make_unique<hn::streams<net, S, double>>();
    m->process(*p, in, out);
    std::size_t differing = 0;
    for (std::size_t s = 0; s < S; ++s) {
        auto single = std::make_unique<hn::stream<net, double>>();
        for (std::size_t t = 0; t < n; ++t) {
            const auto y = (*single)(*p, std::span<const double, C>(in.data() + (t * S + s) * C, C));
            differing += std::memcmp(y.data(), out.data() + t * S + s, sizeof(double)) != 0;
        }
    }
    BOOST_TEST(differing == 0u);
}

template <std::size_t S>
void reset_and_restore_act_on_one_stream() {
    auto p = std::make_unique<hn::parameters<lstm_net>>();
    hn::init::automatic(*p, 3);
    std::array<std::vector<float>, S> x;
    std::array<const float*, S> from{};
    for (std::size_t s = 0; s < S; ++s) {
        x[s] = signal_of<lstm_net>(s + 2);
        from[s] = x[s].data();
    }
    constexpr std::size_t O = lstm_net::output_channels, half = steps / 2;
    std::array<std::vector<float>, S> first, second;
    std::array<float*, S> to{};
    const auto run = [&](hn::streams<lstm_net, S>& m, std::array<std::vector<float>, S>& into, std::size_t start) {
        for (std::size_t s = 0; s < S; ++s) {
            into[s].assign(half * O, 0.0f);
            from[s] = x[s].data() + start;
            to[s] = into[s].data();
        }
        m.process(*p, std::span<const float* const, S>(from), std::span<float* const, S>(to), half);
    };
    auto m = std::make_unique<hn::streams<lstm_net, S>>();
    run(*m, first, 0);
    const auto saved = m->state(2);
    run(*m, second, half);

    // Stream 2 restored to the middle, stream 1 reset, the others left where they are.
    auto n = std::make_unique<hn::streams<lstm_net, S>>();
    run(*n, first, 0);
    n->reset(1);
    n->restore(2, saved);
    BOOST_TEST(n->steps(1) == 0u);
    std::array<std::vector<float>, S> again;
    run(*n, again, half);
    BOOST_TEST(first_difference(again[2], second[2]) == again[2].size());  // resumed exactly
    BOOST_TEST(first_difference(again[0], second[0]) == again[0].size());  // untouched
    BOOST_TEST(first_difference(again[3], second[3]) == again[3].size());
    // Stream 1 started afresh on the second half: what a new single stream gives there.
    auto fresh = std::make_unique<hn::stream<lstm_net>>();
    std::vector<float> cold(half * O);
    fresh->process(*p, std::span<const float>(x[1].data() + half, half), cold);
    BOOST_TEST(first_difference(again[1], cold) == cold.size());
    BOOST_TEST(first_difference(again[1], second[1]) < cold.size());  // and not what it gave with its past

    // A multi-stream state is a single stream's state: it resumes in a stream<Net> too.
    auto single = std::make_unique<hn::stream<lstm_net>>();
    single->restore(saved);
    std::vector<float> resumed(half * O);
    single->process(*p, std::span<const float>(x[2].data() + half, half), resumed);
    BOOST_TEST(first_difference(resumed, second[2]) == resumed.size());
}

BOOST_AUTO_TEST_CASE(reset_and_restore_act_on_one_stream_only) {
    reset_and_restore_act_on_one_stream<4>();
    reset_and_restore_act_on_one_stream<16>();
}

template <std::size_t S>
void many_streams_allocate_nothing() {
    constexpr std::size_t C = gru_net::input_shape::channels;
    auto p = std::make_unique<hn::parameters<gru_net>>();
    hn::init::automatic(*p, 5);
    auto m = std::make_unique<hn::streams<gru_net, S>>();
    const std::vector<float> in = signal_of<gru_net>(0);  // steps frames of C: read as steps / S frames of S C
    std::vector<float> out(in.size() / C);
    std::array<const float*, S> from{};
    std::array<float*, S> to{};
    for (std::size_t s = 0; s < S; ++s) {
        from[s] = in.data() + s * C;
        to[s] = out.data() + s;
    }
    const std::size_t frames = steps / S;
    const std::span<const float> whole(in.data(), frames * S * C);
    const std::span<float> whole_out(out.data(), frames * S);
    m->process(*p, whole, whole_out);  // warm-up
    const std::size_t allocations = hinge_test_allocations_during([&] {
        for (int k = 0; k < 2000; ++k) {
            m->process(*p, whole, whole_out);
            m->process(*p, std::span<const float* const, S>(from), std::span<float* const, S>(to), 1);
            (*m)(*p, std::span<const float, S * C>(in.data(), S * C));
            m->reset(3);
        }
    });
    BOOST_TEST(allocations == 0u);
    BOOST_TEST(std::isfinite(out[0]));
}

BOOST_AUTO_TEST_CASE(many_streams_allocate_nothing_after_construction) {
    many_streams_allocate_nothing<8>();
    many_streams_allocate_nothing<16>();
}

BOOST_AUTO_TEST_SUITE_END()
