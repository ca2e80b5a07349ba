// Networks as graphs (core/graph.hpp, layers/merge.hpp, gated.hpp, film.hpp, slice.hpp): the
// planner wires every stage to the values it names, each composition's gradients equal central
// differences in double (every parameter and every input, so a gradient that reaches a value
// twice or not at all is caught), a gated WaveNet stack and a FiLM-conditioned GRU stream step by
// step to their whole-sequence outputs, a training step allocates nothing, and files know the
// wiring.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include <hinge/hinge.hpp>
#include <hinge/nam/wavenet.hpp>
#include <hinge/io/save.hpp>

#include "../allocation_counter.hpp"
#include "../support/gradient_check.hpp"

namespace {

namespace hn = hinge;
using hinge_test::check_gradients;
using hinge_test::fill_random;
using hinge_test::random_values;
template <std::size_t Dilation>
using causal = hn::conv1d<8, 3, 1, hn::padding::causal, Dilation>;

// Residual through names: the dense stage's output plus the network input (read by two stages).
using sum_with_input = hn::network<hn::input<5>, hn::dense<5>, hn::tanh, hn::add<"input">, hn::softplus, hn::dense<2>>;
// One value read by three stages: its gradient is written by one merge, added by the other, and
// the first reader adds both before the value's activation derivative.
using three_readers = hn::network<hn::input<5>, hn::dense<5>, hn::tanh, hn::tap<"h">, hn::dense<5>, hn::add<"h">, hn::tanh,
                                  hn::multiply<"h">, hn::dense<2>>;
// Two branches from one value, multiplied (a gate written out), then a head.
using product = hn::network<hn::input<4>, hn::dense<6>, hn::tanh, hn::tap<"h">, hn::dense<7>, hn::sigmoid, hn::tap<"g">,
                            hn::from<"h">, hn::dense<7>, hn::multiply<"g">, hn::dense<3>>;
// Concatenation of two branches of different widths, and of a sequence with the network input.
using flat_concat = hn::network<hn::input<3>, hn::dense<4>, hn::tanh, hn::tap<"a">, hn::from<"input">, hn::dense<5>,
                                hn::sigmoid, hn::concat<"a">, hn::dense<2>>;
using sequence_concat = hn::network<hn::input<6, 2>, hn::conv1d<3, 2, 1, hn::padding::causal>, hn::tanh,
                                    hn::concat<"input">, hn::gelu, hn::dense<2>>;
// A gated linear unit MLP.
using glu_mlp = hn::network<hn::input<5>, hn::dense<8>, hn::glu, hn::dense<6>, hn::glu, hn::dense<2>>;
// Two WaveNet layers (dilated causal convolution, tanh-sigmoid gate, 1x1 residual, skip sum) and
// a head on the skip sum.
using wavenet = hn::network<hn::input<16, 1>, hn::conv1d<4, 1>, hn::tap<"in">,
                            causal<1>, hn::gated<hn::tanh, hn::sigmoid>, hn::accumulate<"skip">, hn::conv1d<4, 1>,
                            hn::add<"in">, hn::tap<"in">,
                            causal<2>, hn::gated<hn::tanh, hn::sigmoid>, hn::accumulate<"skip">, hn::conv1d<4, 1>,
                            hn::add<"in">, hn::tap<"in">,
                            causal<4>, hn::gated<hn::tanh, hn::sigmoid>, hn::accumulate<"skip">,
                            hn::from<"skip">, hn::conv1d<1, 1>>;
// Two inputs in one frame: [audio, knob]. The knob makes a scale and a shift (FiLM) for the GRU's
// output at every step.
using film_gru = hn::network<hn::input<10, 2>, hn::slice<0, 1>, hn::tap<"audio">, hn::from<"input">, hn::slice<1, 1>,
                             hn::dense<8>, hn::tanh, hn::tap<"knob">, hn::from<"audio">, hn::gru<4>, hn::film<"knob">,
                             hn::dense<1>>;
// A flat conditioning vector modulating every position of a sequence.
using film_flat = hn::network<hn::input<12>, hn::slice<0, 8>, hn::dense<6>, hn::tanh, hn::tap<"c">, hn::from<"input">,
                              hn::slice<8, 4>, hn::dense<3>, hn::sigmoid, hn::film<"c">, hn::dense<2>>;
// The mix-in of a conditioning sequence before a gate, and a skip sum fed by both layers.
using conditioned_gate = hn::network<hn::input<9, 3>, hn::slice<0, 2>, hn::tap<"x">, hn::from<"input">, hn::slice<2, 1>,
                                     hn::conv1d<6, 1>, hn::tap<"mix">, hn::from<"x">,
                                     hn::conv1d<6, 2, 1, hn::padding::causal, 2>, hn::add<"mix">,
                                     hn::gated<hn::tanh, hn::sigmoid>, hn::accumulate<"s">, hn::conv1d<3, 1>,
                                     hn::silu, hn::accumulate<"s">, hn::from<"s">, hn::dense<1>>;

// Convolutions that add into a gradient other readers of their input wrote: the network input
// read by three convolutions, and a value read by an addition, a causal convolution and a 1x1.
using convolutions_share_inputs =
    hn::network<hn::input<10, 2>, hn::conv1d<3, 1>, hn::tap<"h">, hn::from<"input">, hn::conv1d<3, 1>, hn::add<"h">,
                hn::tanh, hn::tap<"a">, hn::from<"input">, hn::conv1d<3, 2, 1, hn::padding::causal, 2>, hn::add<"a">,
                hn::tap<"b">, hn::from<"a">, hn::conv1d<3, 3, 1, hn::padding::causal, 1>, hn::add<"b">, hn::tap<"c">,
                hn::from<"a">, hn::conv1d<3, 1>, hn::add<"c">, hn::dense<1>>;
// NAM's A1 WaveNet (two layer arrays, every layer's mix-in reading the input): what a NAM capture
// trains.
using nam_wavenet = hinge::nam::a1_wavenet<hinge::nam::layer_array<3, 3, hinge::nam::dilations<1, 2>, 2, false>,
                                           hinge::nam::layer_array<2, 2, hinge::nam::dilations<3>, 1, true>>::network<9>;

template <class Net, std::size_t Batch>
void gradients_match(std::uint64_t seed) {
    auto p = std::make_unique<hn::parameters<Net, double>>();
    fill_random(*p, seed);
    const std::vector<double> x = random_values<double>(Batch * Net::input_size, seed + 1);
    check_gradients<Net, Batch>(*p, x.data(), {.input = true});
}

// The largest |stream output - whole-sequence output| over every step and channel.
template <class Net>
double stream_against_whole(std::uint64_t seed) {
    constexpr std::size_t L = Net::input_shape::dimension(0), C = Net::input_shape::channels;
    auto pd = std::make_unique<hn::parameters<Net, double>>();
    fill_random(*pd, seed);
    auto p = std::make_unique<hn::parameters<Net, float>>();
    hn::convert_parameters(*pd, *p);
    const std::vector<float> x = random_values<float>(L * C, seed + 1);
    auto whole = std::make_unique<hn::workspace<Net, 1, float, false>>();
    hn::forward(*p, *whole, x.data(), 1);
    auto s = std::make_unique<hn::stream<Net, float>>();
    double worst = 0;
    for (std::size_t t = 0; t < L; ++t) {
        const auto y = (*s)(*p, std::span<const float, C>(x.data() + t * C, C));
        for (std::size_t j = 0; j < Net::output_channels; ++j)
            worst = std::max(worst, std::fabs(static_cast<double>(y[j]) - static_cast<double>(whole->output(0, t)[j])));
    }
    return worst;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(graph)

BOOST_AUTO_TEST_CASE(the_planner_wires_each_stage_to_the_values_it_names) {
    // wavenet: 0 rechannel, 1 conv, 2 gate, 3 1x1, 4 add (reads 4 and 1), 5 conv (reads 5), 6 gate,
    // 7 accumulate (skip so far = 3, the gate 7), 8 1x1 (reads the gate 7), 9 add, 10 conv,
    // 11 gate, 12 accumulate (reads 8 and 12), 13 head (reads the sum 13).
    using W = wavenet;
    static_assert(W::stage_count == 14);
    static_assert(std::is_same_v<W::placed<3>::sources, hn::source_list<3>>);
    static_assert(std::is_same_v<W::placed<4>::sources, hn::source_list<4, 1>>);
    static_assert(std::is_same_v<W::placed<7>::sources, hn::source_list<3, 7>>);
    static_assert(std::is_same_v<W::placed<8>::sources, hn::source_list<7>>);
    static_assert(std::is_same_v<W::placed<12>::sources, hn::source_list<8, 12>>);
    static_assert(std::is_same_v<W::placed<13>::sources, hn::source_list<13>>);
    static_assert(std::is_same_v<W::stage<13>::output_shape, hn::shape<16, 1>>);
    static_assert(std::is_same_v<W::stage<2>::output_shape, hn::shape<16, 4>>);
    // A chain alternates two gradient buffers; the skip sum and the residual inputs stay open
    // across other stages and need more.
    static_assert(hn::layout<hn::network<hn::input<4>, hn::dense<3>, hn::dense<3>, hn::dense<1>>, float>::gradient_buffers == 2);
    static_assert(hn::layout<W, float>::gradient_buffers > 2);
    static_assert(std::is_same_v<film_gru::placed<1>::sources, hn::source_list<0>>);
    static_assert(std::is_same_v<film_gru::placed<4>::sources, hn::source_list<4, 3>>);
    static_assert(std::is_same_v<film_flat::stage<4>::output_shape, hn::shape<3>>);
    static_assert(std::is_same_v<flat_concat::stage<2>::output_shape, hn::shape<9>>);
    static_assert(std::is_same_v<sequence_concat::stage<1>::output_shape, hn::shape<6, 5>>);
    // The wiring is part of the architecture a file is checked against.
    static_assert(hn::io::architecture_description<sum_with_input> ==
                  "input 5 | dense 5->5 tanh | add reads 1 0 5->5 softplus | dense 5->2 identity");
    // (A run-time check: string_view::find is not a constant expression under the sanitizers.)
    BOOST_TEST(hn::io::architecture_description<glu_mlp>.find("gated(identity sigmoid) 8->4") != std::string_view::npos);
}

BOOST_AUTO_TEST_CASE(every_composition_has_the_gradients_of_central_differences) {
    gradients_match<sum_with_input, 3>(21);
    gradients_match<product, 3>(22);
    gradients_match<three_readers, 3>(30);
    gradients_match<flat_concat, 2>(23);
    gradients_match<sequence_concat, 2>(24);
    gradients_match<glu_mlp, 3>(25);
    gradients_match<wavenet, 2>(26);
    gradients_match<film_gru, 2>(27);
    gradients_match<film_flat, 3>(28);
    gradients_match<conditioned_gate, 2>(29);
    gradients_match<convolutions_share_inputs, 2>(33);
    gradients_match<nam_wavenet, 2>(34);
}

BOOST_AUTO_TEST_CASE(graphs_stream_step_by_step_to_the_whole_sequence) {
    BOOST_TEST(stream_against_whole<wavenet>(31) < 1e-5);
    BOOST_TEST(stream_against_whole<film_gru>(32) < 1e-5);
    BOOST_TEST(stream_against_whole<conditioned_gate>(33) < 1e-5);
    // A causal convolution of one tap has no past: it streams as a 1 x 1 convolution.
    using one_tap = hn::network<hn::input<8, 2>, hn::conv1d<4, 1, 1, hn::padding::causal>, hn::tanh, hn::tap<"a">,
                                hn::conv1d<4, 2, 1, hn::padding::causal>, hn::add<"a">, hn::conv1d<1, 1, 1, hn::padding::causal>>;
    BOOST_TEST(stream_against_whole<one_tap>(34) < 1e-5);
}

// inference<Net> (batch 1, stage by stage: a graph never takes the straight line) gives forward's outputs.
template <class Net>
double inference_against_forward(std::uint64_t seed) {
    auto p = std::make_unique<hn::parameters<Net>>();
    hn::init::automatic(*p, seed);
    const std::vector<float> x = random_values<float>(Net::input_size, seed + 1);
    auto ws = std::make_unique<hn::workspace<Net, 1, float, false>>();
    hn::forward(*p, *ws, x.data(), 1);
    hn::inference<Net> run;
    const auto y = run(*p, std::span<const float, Net::input_size>(x.data(), Net::input_size));
    double worst = 0;
    for (std::size_t j = 0; j < Net::output_size; ++j)
        worst = std::max(worst, std::fabs(double(y[j]) - double(ws->output(0)[j])));
    return worst;
}

BOOST_AUTO_TEST_CASE(batch_one_inference_runs_a_graph) {
    static_assert(!hn::inference<product>::straight_line && !hn::inference<flat_concat>::straight_line);
    BOOST_TEST(inference_against_forward<product>(41) < 1e-6);
    BOOST_TEST(inference_against_forward<flat_concat>(42) < 1e-6);
    BOOST_TEST(inference_against_forward<glu_mlp>(43) < 1e-6);
    BOOST_TEST(inference_against_forward<film_flat>(44) < 1e-6);
}

BOOST_AUTO_TEST_CASE(training_and_streaming_a_graph_allocate_nothing) {
    auto p = std::make_unique<hn::parameters<wavenet>>();
    hn::init::automatic(*p, 5);
    auto train = std::make_unique<hn::trainer<wavenet, hn::loss::mean_squared_error, hn::optim::adam, hn::batch<4>>>(
        *p, hn::optim::adam{0.01f});
    const std::vector<float> x = random_values<float>(4 * wavenet::input_size, 6);
    const std::vector<float> y = random_values<float>(4 * wavenet::output_size, 7);
    float loss = train->step(x.data(), y.data(), 4);  // warm-up
    hn::stream<wavenet> stream;
    std::vector<float> streamed(wavenet::output_size);
    const std::size_t n = hinge_test_allocations_during([&] {
        for (int k = 0; k < 3; ++k) loss += train->step(x.data(), y.data(), 4);
        stream.process(*p, std::span<const float>(x.data(), wavenet::input_size), streamed);
    });
    BOOST_TEST(n == 0u);
    BOOST_TEST(std::isfinite(loss));
}

BOOST_AUTO_TEST_CASE(a_thread_team_runs_a_graph_as_one_thread_does) {
    // Forward: every output value is computed by one member in the serial order, so the bits are
    // the serial pass's; backward: weight gradients likewise, column sums within rounding.
    constexpr std::size_t B = 8;
    auto p = std::make_unique<hn::parameters<wavenet>>();
    hn::init::automatic(*p, 12);
    const std::vector<float> x = random_values<float>(B * wavenet::input_size, 13);
    auto serial = std::make_unique<hn::workspace<wavenet, B, float, true>>();
    auto split = std::make_unique<hn::workspace<wavenet, B, float, true>>();
    auto serial_grads = std::make_unique<hn::gradients<wavenet>>();
    auto split_grads = std::make_unique<hn::gradients<wavenet>>();
    hn::thread_team team(2);
    hn::train_forward(*p, *serial, x.data(), B);
    hn::train_forward(*p, *split, x.data(), B, 0, &team);
    const auto seed = [](std::size_t r, std::size_t j) { return 0.1f * float((r * 7 + j * 3) % 11) - 0.5f; };
    hn::seed_output_gradient(*p, *serial, *serial_grads, B, seed);
    hn::seed_output_gradient(*p, *split, *split_grads, B, seed);
    hn::backward(*p, *serial, x.data(), *serial_grads, B, hn::input_gradient::compute);
    hn::backward(*p, *split, x.data(), *split_grads, B, hn::input_gradient::compute, &team);
    bool same_outputs = true;
    for (std::size_t n = 0; n < B; ++n)
        for (std::size_t t = 0; t < 16; ++t) same_outputs = same_outputs && serial->output(n, t)[0] == split->output(n, t)[0];
    BOOST_TEST(same_outputs);
    double worst = 0, scale = 0;
    for (std::size_t k = 0; k < serial_grads->storage().size(); ++k) {
        worst = std::max(worst, std::fabs(double(serial_grads->data()[k]) - double(split_grads->data()[k])));
        scale = std::max(scale, std::fabs(double(serial_grads->data()[k])));
    }
    BOOST_TEST(worst <= 1e-5 * scale);
    double input_worst = 0;
    for (std::size_t n = 0; n < B; ++n)
        for (std::size_t k = 0; k < wavenet::input_size; ++k)
            input_worst = std::max(input_worst, std::fabs(double(serial->input_gradient(n)[k]) - double(split->input_gradient(n)[k])));
    BOOST_TEST(input_worst <= 1e-5 * scale);
}

BOOST_AUTO_TEST_CASE(a_conditioned_model_learns_what_its_knob_does) {
    // y_t = knob_t * x_t: the product of two inputs, which no function of the audio alone gives.
    using Net = hn::network<hn::input<8, 2>, hn::slice<0, 1>, hn::tap<"audio">, hn::from<"input">, hn::slice<1, 1>,
                            hn::dense<8>, hn::tap<"knob">, hn::from<"audio">, hn::dense<4>, hn::film<"knob">,
                            hn::dense<1>>;
    auto p = std::make_unique<hn::parameters<Net>>();
    hn::init::automatic(*p, 3);
    auto train = std::make_unique<hn::trainer<Net, hn::loss::mean_squared_error, hn::optim::adam, hn::batch<16>>>(
        *p, hn::optim::adam{0.01f});
    hn::init::random_generator random(4);
    std::vector<float> x(16 * Net::input_size), y(16 * Net::output_size);
    float first = 0, last = 0;
    for (int step = 0; step < 600; ++step) {
        for (std::size_t t = 0; t < 16 * 8; ++t) {
            x[2 * t] = static_cast<float>(2 * random.uniform() - 1);
            x[2 * t + 1] = static_cast<float>(random.uniform());
            y[t] = x[2 * t] * x[2 * t + 1];
        }
        const float loss = train->step(x.data(), y.data(), 16);
        if (step < 20) first += loss / 20;
        if (step >= 580) last += loss / 20;
    }
    BOOST_TEST_MESSAGE("mean squared error, first 20 steps " << first << ", last 20 " << last);
    BOOST_TEST(last < first / 20);
}

BOOST_AUTO_TEST_CASE(files_carry_the_wiring_and_refuse_another_one) {
    auto p = std::make_unique<hn::parameters<wavenet>>();
    hn::init::automatic(*p, 8);
    const std::filesystem::path file = std::filesystem::temp_directory_path() / "hinge_graph_test.hinge";
    hn::io::save(*p, file.string());
    auto back = std::make_unique<hn::parameters<wavenet>>();
    hn::io::load(*back, file.string());
    BOOST_TEST((*back == *p));
    // The same stages with the residual read from elsewhere: another network, refused, nothing changed.
    using rewired = hn::network<hn::input<16, 1>, hn::conv1d<4, 1>, hn::tap<"in">,
                                causal<1>, hn::gated<hn::tanh, hn::sigmoid>, hn::tap<"skip">, hn::conv1d<4, 1>,
                                hn::add<"in">,
                                causal<2>, hn::gated<hn::tanh, hn::sigmoid>, hn::accumulate<"skip">, hn::conv1d<4, 1>,
                                hn::add<"in">, hn::tap<"in">,
                                causal<4>, hn::gated<hn::tanh, hn::sigmoid>, hn::accumulate<"skip">,
                                hn::from<"skip">, hn::conv1d<1, 1>>;
    static_assert(hn::layout<rewired, float>::parameter_size == hn::layout<wavenet, float>::parameter_size);
    auto other = std::make_unique<hn::parameters<rewired>>();
    const auto before = *other;
    BOOST_CHECK_THROW(hn::io::load(*other, file.string()), hn::io::file_error);
    BOOST_TEST((*other == before));
    std::filesystem::remove(file);
}

BOOST_AUTO_TEST_SUITE_END()
