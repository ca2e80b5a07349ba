// Neural Amp Modeler models (include/hinge/nam/): the two reference models of the data folder
// (HINGE_NAM_DATA_DIR, ../shared/data/nam by default; its README describes them) give NAM Core's
// golden outputs to 1e-6 on both inputs, with the exact tanh and with NAM's fast tanh; the
// whole-sequence forward pass equals the stream; the .nam reader keeps what the file says; and a
// damaged or mismatched file is refused by name with the caller's parameters untouched.
//
// The goldens are NAM Core's outputs after its prewarm (64 zeros for the WaveNet, 24,000 for the
// LSTM from its stored state), sample k for input sample k.
#define BOOST_TEST_MODULE hinge_nam
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include <hinge/hinge.hpp>
#include <hinge/io/save.hpp>
#include <hinge/nam/nam.hpp>

#include "counted_new.hpp"
#include "reference.hpp"

namespace {

namespace hn = hinge;
namespace nam = hinge::nam;
using namespace hinge_nam_test;

// wavenet.nam: two layer arrays (3 channels, dilations 1 and 2, head 2 without bias; 2 channels,
// dilation 8, head 1 with bias), kernel 3, Tanh.
using wavenet = nam::a1_wavenet<nam::layer_array<3, 3, nam::dilations<1, 2>, 2, false>,
                                nam::layer_array<2, 3, nam::dilations<8>, 1, true>>;
using fast_wavenet = wavenet::with_activation<nam::fast_tanh>;
// lstm.nam: one layer of 3 units.
using lstm = nam::lstm_model<3>;

constexpr std::size_t samples = 96000;     // every .f32 file: 2 s at 48 kHz
constexpr std::size_t wavenet_prewarm = 64;  // NAM's: the receptive field (23) in blocks of 64
constexpr double tolerance = 1e-6;

std::string data_path(const std::string& name) { return std::string(HINGE_NAM_DATA_DIR) + "/" + name; }

// A missing file fails the test case with a message saying where it was looked for.
std::vector<float> read_f32(const std::string& name) {
    const std::string path = data_path(name);
    BOOST_TEST_REQUIRE(std::filesystem::exists(path),
                       "missing NAM reference file " << path << " (set the CMake cache variable HINGE_NAM_DATA_DIR)");
    std::vector<float> v(samples);
    std::ifstream in(path, std::ios::binary);
    in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(samples * sizeof(float)));
    BOOST_TEST_REQUIRE(in.gcount() == static_cast<std::streamsize>(samples * sizeof(float)),
                       path << " holds fewer than " << samples << " float32 samples");
    return v;
}

nam::model_file read_model(const std::string& name) {
    const std::string path = data_path(name);
    BOOST_TEST_REQUIRE(std::filesystem::exists(path),
                       "missing NAM model " << path << " (set the CMake cache variable HINGE_NAM_DATA_DIR)");
    return nam::read_model_file(path);
}

std::string read_text(const std::string& name) {
    const nam::model_file check = read_model(name);  // the same message when it is missing
    std::ifstream in(data_path(name));
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

double max_difference(std::span<const float> a, std::span<const float> b) {
    double worst = 0;
    for (std::size_t k = 0; k < a.size(); ++k) worst = std::max(worst, std::fabs(double(a[k]) - double(b[k])));
    return worst;
}

// The model streamed over the input file, after NAM's prewarm, one 64-sample block per call.
template <class Model>
std::vector<float> stream_wavenet(const std::string& input) {
    using net = typename Model::template network<1>;
    auto params = std::make_unique<hn::parameters<net>>();
    Model::load(read_model("wavenet.nam"), *params);
    auto s = std::make_unique<hn::stream<net>>();
    nam::prewarm(*s, *params, wavenet_prewarm);
    const std::vector<float> x = read_f32(input);
    std::vector<float> y(samples);
    for (std::size_t at = 0; at < samples; at += 64)
        s->process(*params, std::span<const float>(x.data() + at, 64), std::span<float>(y.data() + at, 64));
    return y;
}

template <class Model>
std::vector<float> stream_lstm(const std::string& input) {
    using net = typename Model::template network<1>;
    auto params = std::make_unique<hn::parameters<net>>();
    const nam::model_file f = read_model("lstm.nam");
    const typename Model::initial_state init = Model::load(f, *params);
    auto s = std::make_unique<hn::stream<net>>();
    Model::start(*s, init);
    nam::prewarm(*s, *params, Model::prewarm_samples(*f.sample_rate));
    const std::vector<float> x = read_f32(input);
    std::vector<float> y(samples);
    s->process(*params, x, y);
    return y;
}

// The golden's name for a model, input and tanh mode.
std::string golden(const std::string& model, const std::string& input, bool fast) {
    return model + (input == "input_wav_2s_48k.f32" ? ".input_wav" : "") + (fast ? ".fast_tanh.f32" : ".tanh.f32");
}

const std::vector<std::string> inputs{"test_signal_2s_48k.f32", "input_wav_2s_48k.f32"};

// Every weight of a parameter block set to a value no loader writes, to see that a refused file
// changes none.
template <class Net>
std::unique_ptr<hn::parameters<Net>> sentinel_parameters() {
    auto p = std::make_unique<hn::parameters<Net>>();
    for (float& v : p->storage()) v = 7.25f;
    return p;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    const std::size_t at = text.find(from);
    BOOST_TEST_REQUIRE(at != std::string::npos, "the test's edit target '" << from << "' is not in the file");
    return text.replace(at, from.size(), to);
}


// The largest |stream - reference| and |whole - stream| for a WaveNet of random weights.
template <class Model, std::size_t Length>
void wavenet_against_reference(std::uint64_t seed) {
    nam::model_file f = random_model_file(Model::weight_count, seed);
    f.architecture = "WaveNet";
    f.wavenet = nam::wavenet_config{Model::config(), f.weights.back()};
    const std::vector<float> x = test_input(Model::receptive_field, Length - Model::receptive_field);
    const std::vector<double> expected = reference_wavenet(f, x);

    using step = typename Model::template network<1>;
    auto params = std::make_unique<hn::parameters<step>>();
    Model::load(f, *params);
    auto s = std::make_unique<hn::stream<step>>();
    std::vector<float> streamed(Length);
    s->process(*params, x, streamed);
    using whole_net = typename Model::template network<Length>;
    auto whole_params = std::make_unique<hn::parameters<whole_net>>();
    Model::load(f, *whole_params);
    auto whole = std::make_unique<hn::workspace<whole_net, 1, float, false>>();
    hn::forward(*whole_params, *whole, x.data(), 1);
    double against_reference = 0, against_whole = 0, scale = 0;
    for (std::size_t t = Model::receptive_field; t < Length; ++t) {
        against_reference = std::max(against_reference, std::fabs(streamed[t] - expected[t]));
        against_whole = std::max(against_whole, std::fabs(double(streamed[t]) - double(whole->output(0, t)[0])));
        scale = std::max(scale, std::fabs(expected[t]));
    }
    BOOST_TEST_MESSAGE("random WaveNet (seed " << seed << "): peak " << scale << ", max |stream - reference| "
                                               << against_reference << ", max |whole - stream| " << against_whole);
    BOOST_TEST(scale > 0.01);  // the comparison means something
    BOOST_TEST(against_reference <= 1e-5 * scale);
    BOOST_TEST(against_whole <= 1e-5 * scale);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(nam_models)

BOOST_AUTO_TEST_CASE(wavenet_gives_nam_cores_outputs_with_the_exact_tanh) {
    for (const std::string& input : inputs) {
        const double error = max_difference(stream_wavenet<wavenet>(input), read_f32(golden("wavenet", input, false)));
        BOOST_TEST_MESSAGE("wavenet.nam, " << input << ", tanh: max |hinge - NAM| = " << error);
        BOOST_TEST(error <= tolerance, "wavenet.nam on " << input << ": max error " << error);
    }
}

BOOST_AUTO_TEST_CASE(wavenet_gives_nam_cores_outputs_with_its_fast_tanh) {
    for (const std::string& input : inputs) {
        const double error =
            max_difference(stream_wavenet<fast_wavenet>(input), read_f32(golden("wavenet", input, true)));
        BOOST_TEST_MESSAGE("wavenet.nam, " << input << ", fast tanh: max |hinge - NAM| = " << error);
        BOOST_TEST(error <= tolerance, "wavenet.nam on " << input << " (fast tanh): max error " << error);
    }
}

BOOST_AUTO_TEST_CASE(lstm_gives_nam_cores_outputs_with_the_exact_tanh) {
    for (const std::string& input : inputs) {
        const double error = max_difference(stream_lstm<lstm>(input), read_f32(golden("lstm", input, false)));
        BOOST_TEST_MESSAGE("lstm.nam, " << input << ", tanh: max |hinge - NAM| = " << error);
        BOOST_TEST(error <= tolerance, "lstm.nam on " << input << ": max error " << error);
    }
}

BOOST_AUTO_TEST_CASE(lstm_gives_nam_cores_outputs_with_its_fast_tanh) {
    for (const std::string& input : inputs) {
        const double error = max_difference(stream_lstm<lstm::fast>(input), read_f32(golden("lstm", input, true)));
        BOOST_TEST_MESSAGE("lstm.nam, " << input << ", fast tanh: max |hinge - NAM| = " << error);
        BOOST_TEST(error <= tolerance, "lstm.nam on " << input << " (fast tanh): max error " << error);
    }
}

// A WaveNet sees receptive_field - 1 past samples: any prewarm at least that long leaves the
// same state, so NAM's count (which depends on the host's block size) need not be matched.
BOOST_AUTO_TEST_CASE(any_wavenet_prewarm_of_the_receptive_field_gives_the_same_bits) {
    using net = wavenet::network<1>;
    auto params = std::make_unique<hn::parameters<net>>();
    wavenet::load(read_model("wavenet.nam"), *params);
    const std::vector<float> x = read_f32(inputs[0]);
    const auto run = [&](std::size_t zeros) {
        auto s = std::make_unique<hn::stream<net>>();
        nam::prewarm(*s, *params, zeros);
        std::vector<float> y(samples);
        s->process(*params, x, y);
        return y;
    };
    const std::vector<float> nams = run(wavenet_prewarm);
    BOOST_TEST((run(wavenet::receptive_field - 1) == nams));
    BOOST_TEST((run(1000) == nams));
    BOOST_TEST(max_difference(run(0), nams) > 1e-2);  // without it the first outputs differ
}

// The fast tanh is a different function: the goldens of the two modes differ by up to 5e-4, so
// matching both to 1e-6 says that each mode computes its own.
BOOST_AUTO_TEST_CASE(the_two_tanh_modes_are_told_apart_by_the_goldens) {
    const std::string input = inputs[0];
    BOOST_TEST(max_difference(stream_wavenet<wavenet>(input), read_f32(golden("wavenet", input, true))) > 1e-5);
    BOOST_TEST(max_difference(stream_lstm<lstm>(input), read_f32(golden("lstm", input, true))) > 1e-5);
}

BOOST_AUTO_TEST_CASE(the_whole_sequence_forward_equals_the_stream) {
    const std::string input = inputs[1];
    const std::vector<float> x = read_f32(input);
    {
        // The prewarm as leading zeros of one long sequence, their outputs dropped.
        using net = wavenet::network<wavenet_prewarm + samples>;
        auto params = std::make_unique<hn::parameters<net>>();
        wavenet::load(read_model("wavenet.nam"), *params);
        std::vector<float> padded(wavenet_prewarm, 0.0f);
        padded.insert(padded.end(), x.begin(), x.end());
        auto whole = std::make_unique<hn::workspace<net, 1, float, false>>();
        hn::forward(*params, *whole, padded.data(), 1);
        std::vector<float> y(samples);
        for (std::size_t t = 0; t < samples; ++t) y[t] = whole->output(0, wavenet_prewarm + t)[0];
        const std::vector<float> streamed = stream_wavenet<wavenet>(input);
        BOOST_TEST_MESSAGE("wavenet.nam: max |whole - stream| = " << max_difference(y, streamed));
        BOOST_TEST(max_difference(y, streamed) <= tolerance);
        BOOST_TEST(max_difference(y, read_f32(golden("wavenet", input, false))) <= tolerance);
    }
    {
        // The LSTM from its stored state, carried into the pass.
        constexpr std::size_t prewarm = lstm::prewarm_samples(48000);
        using net = lstm::network<prewarm + samples>;
        auto params = std::make_unique<hn::parameters<net>>();
        const lstm::initial_state init = lstm::load(read_model("lstm.nam"), *params);
        std::vector<float> padded(prewarm, 0.0f);
        padded.insert(padded.end(), x.begin(), x.end());
        auto whole = std::make_unique<hn::workspace<net, 1, float, false>>();
        whole->carry_state(true);
        lstm::start(whole->state(), init);
        hn::forward(*params, *whole, padded.data(), 1);
        std::vector<float> y(samples);
        for (std::size_t t = 0; t < samples; ++t) y[t] = whole->output(0, prewarm + t)[0];
        const std::vector<float> streamed = stream_lstm<lstm>(input);
        BOOST_TEST_MESSAGE("lstm.nam: max |whole - stream| = " << max_difference(y, streamed));
        BOOST_TEST(max_difference(y, streamed) <= tolerance);
        BOOST_TEST(max_difference(y, read_f32(golden("lstm", input, false))) <= tolerance);
    }
}

// Without the stored initial state the LSTM starts elsewhere: the state is part of the model.
BOOST_AUTO_TEST_CASE(the_lstm_starts_from_the_state_the_file_stores) {
    using net = lstm::network<1>;
    auto params = std::make_unique<hn::parameters<net>>();
    const lstm::initial_state init = lstm::load(read_model("lstm.nam"), *params);
    hn::stream<net> s;
    lstm::start(s, init);
    const float zero = 0.0f;
    const float from_stored = s(*params, std::span<const float, 1>(&zero, 1))[0];
    s.reset();
    const float from_zero = s(*params, std::span<const float, 1>(&zero, 1))[0];
    BOOST_TEST(std::fabs(from_stored - from_zero) > 1e-4f);
    // start() also resets: the same first output again.
    lstm::start(s, init);
    BOOST_TEST(s(*params, std::span<const float, 1>(&zero, 1))[0] == from_stored);
}

// The type template beyond the reference model: other channel counts, kernels, dilations, one or
// three arrays, gated layers, heads with and without bias, all against the plain reference above
// (so every weight goes where NAM's order says), and the whole sequence against the stream.
BOOST_AUTO_TEST_CASE(any_a1_wavenet_places_every_weight_where_nams_order_says) {
    using nano_like = nam::a1_wavenet<nam::layer_array<4, 3, nam::dilations<1, 2, 4, 8>, 2, false>,
                                      nam::layer_array<2, 3, nam::dilations<1, 2, 4, 8>, 1, true>>;
    using one_array = nam::a1_wavenet<nam::layer_array<2, 2, nam::dilations<1, 3>, 1, true>>;
    using gated = nam::a1_wavenet<nam::layer_array<3, 2, nam::dilations<1, 3>, 2, false, hn::tanh, true>,
                                  nam::layer_array<2, 3, nam::dilations<2>, 3, true, hn::tanh, true>,
                                  nam::layer_array<3, 1, nam::dilations<1>, 1, false>>;
    wavenet_against_reference<nano_like, 512>(41);
    wavenet_against_reference<one_array, 256>(42);
    wavenet_against_reference<gated, 256>(43);
}

// NAM's standard capture (13,802 weights, NAM's own count) and its nano size are types too.
BOOST_AUTO_TEST_CASE(nams_standard_sizes_count_their_weights_as_nam_does) {
    using d = nam::dilations<1, 2, 4, 8, 16, 32, 64, 128, 256, 512>;
    using standard = nam::a1_wavenet<nam::layer_array<16, 3, d, 8, false>, nam::layer_array<8, 3, d, 1, true>>;
    static_assert(standard::weight_count == 13802);
    static_assert(standard::receptive_field == 4093);
    BOOST_TEST(standard::config()[1].input_size == 16u);
}

BOOST_AUTO_TEST_CASE(a_stacked_lstm_follows_nams_equations_from_its_stored_state) {
    using model = nam::lstm_model<4, 2>;
    nam::model_file f = random_model_file(model::weight_count, 44);
    f.architecture = "LSTM";
    f.lstm = model::config();
    const std::vector<float> x = test_input(0, 2000);
    const std::vector<double> expected = reference_lstm(f, x);
    using net = model::network<1>;
    auto params = std::make_unique<hn::parameters<net>>();
    const model::initial_state init = model::load(f, *params);
    auto s = std::make_unique<hn::stream<net>>();
    model::start(*s, init);
    std::vector<float> y(x.size());
    s->process(*params, x, y);
    double worst = 0, scale = 0;
    for (std::size_t t = 0; t < x.size(); ++t) {
        worst = std::max(worst, std::fabs(y[t] - expected[t]));
        scale = std::max(scale, std::fabs(expected[t]));
    }
    BOOST_TEST_MESSAGE("random 2-layer LSTM: peak " << scale << ", max |stream - reference| " << worst);
    BOOST_TEST(scale > 0.01);
    BOOST_TEST(worst <= 1e-5 * scale);
}

// After construction, loading and prewarm, an audio callback's block allocates nothing, in
// either model and either tanh mode.
BOOST_AUTO_TEST_CASE(streaming_a_nam_model_allocates_nothing) {
    const std::vector<float> x = read_f32(inputs[1]);
    std::vector<float> y(64);
    const auto count = [&](auto& s, const auto& params) {
        const std::size_t before = hinge_nam_test::allocation_count();
        for (std::size_t at = 0; at < 640; at += 64)
            s.process(params, std::span<const float>(x.data() + at, 64), std::span<float>(y));
        return hinge_nam_test::allocation_count() - before;
    };
    auto wp = std::make_unique<hn::parameters<fast_wavenet::network<1>>>();
    fast_wavenet::load(read_model("wavenet.nam"), *wp);
    auto ws = std::make_unique<hn::stream<fast_wavenet::network<1>>>();
    nam::prewarm(*ws, *wp, wavenet_prewarm);
    auto lp = std::make_unique<hn::parameters<lstm::fast::network<1>>>();
    const lstm::fast::initial_state init = lstm::fast::load(read_model("lstm.nam"), *lp);
    auto ls = std::make_unique<hn::stream<lstm::fast::network<1>>>();
    lstm::fast::start(*ls, init);
    const std::size_t wavenet_allocations = count(*ws, *wp), lstm_allocations = count(*ls, *lp);
    BOOST_TEST(wavenet_allocations == 0u);
    BOOST_TEST(lstm_allocations == 0u);
    BOOST_TEST(hinge_nam_test::allocation_count() > 0u);  // the counter counts (the loads above allocate)
}

// A fast-tanh model has a name in hinge's own files, so it saves and loads like any network; the
// file knows the activation (a tanh model's file is refused by it).
BOOST_AUTO_TEST_CASE(a_loaded_model_saves_and_loads_as_hinge_parameters) {
    using net = fast_wavenet::network<1>;
    auto params = std::make_unique<hn::parameters<net>>();
    fast_wavenet::load(read_model("wavenet.nam"), *params);
    const std::string path = (std::filesystem::temp_directory_path() / "hinge_nam_fast_wavenet.hinge").string();
    hn::io::save(*params, path);
    auto again = sentinel_parameters<net>();
    hn::io::load(*again, path);
    BOOST_TEST((*again == *params));
    auto exact = std::make_unique<hn::parameters<wavenet::network<1>>>();
    BOOST_TEST(!refusal([&] { hn::io::load(*exact, path); }).empty());
    std::filesystem::remove(path);
}

BOOST_AUTO_TEST_CASE(the_reader_keeps_what_the_file_says) {
    const nam::model_file w = read_model("wavenet.nam");
    BOOST_TEST(w.version == "0.5.4");
    BOOST_TEST(w.architecture == "WaveNet");
    BOOST_TEST_REQUIRE(w.sample_rate.has_value());
    BOOST_TEST(*w.sample_rate == 48000.0);
    BOOST_TEST(w.weights.size() == 131u);
    BOOST_TEST(w.weights.size() == wavenet::weight_count);
    BOOST_TEST(w.metadata_json.find("\"name\":\"Test Model\"") != std::string::npos);
    BOOST_TEST_REQUIRE(w.wavenet.has_value());
    BOOST_TEST(w.wavenet->head_scale == 0.02f);
    BOOST_TEST((w.wavenet->layer_arrays == wavenet::config()));
    BOOST_TEST(wavenet::receptive_field == 23u);
    const nam::model_file l = read_model("lstm.nam");
    BOOST_TEST(l.architecture == "LSTM");
    BOOST_TEST_REQUIRE(l.lstm.has_value());
    BOOST_TEST((*l.lstm == lstm::config()));
    BOOST_TEST(l.weights.size() == lstm::weight_count);
    BOOST_TEST(l.metadata_json.find("\"name\":\"Test LSTM\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bias_slots_nam_does_not_have_are_zero_and_head_scale_is_in_the_last_head) {
    using net = wavenet::network<1>;
    auto params = sentinel_parameters<net>();
    const nam::model_file f = read_model("wavenet.nam");
    wavenet::load(f, *params);
    // Stage 0 is array 0's rechannel (no bias in NAM); its weights are the file's first three.
    const auto rechannel = params->layer<0>();
    for (std::size_t o = 0; o < 3; ++o) {
        BOOST_TEST(rechannel.bias(o) == 0.0f);
        BOOST_TEST(rechannel.weight(o, 0) == f.weights[o]);
    }
    // The last stage is array 1's head (with bias): weights and bias times head_scale.
    const auto head = params->layer<net::stage_count - 1>();
    const std::size_t head_at = f.weights.size() - 1 - 3;  // 2 weights and 1 bias before head_scale
    BOOST_TEST(head.weight(0, 0) == f.weights.back() * f.weights[head_at]);
    BOOST_TEST(head.weight(0, 1) == f.weights.back() * f.weights[head_at + 1]);
    BOOST_TEST(head.bias(0) == f.weights.back() * f.weights[head_at + 2]);
}

BOOST_AUTO_TEST_CASE(a_damaged_or_mismatched_file_is_refused_and_the_parameters_are_untouched) {
    using wnet = wavenet::network<1>;
    using lnet = lstm::network<1>;
    auto wp = sentinel_parameters<wnet>();
    auto lp = sentinel_parameters<lnet>();
    const auto untouched_w = sentinel_parameters<wnet>();
    const auto untouched_l = sentinel_parameters<lnet>();
    const std::string text = read_text("wavenet.nam");

    // One weight fewer: the count the config implies is not met.
    nam::model_file short_file = nam::parse_model_file(text, "short.nam");
    short_file.weights.pop_back();
    std::string e = refusal([&] { wavenet::load(short_file, *wp); });
    BOOST_TEST(e.find("short.nam: the weight count is 130, the compiled type has 131") == 0u, e);

    // Another channel count than the compiled type.
    const nam::model_file wider =
        nam::parse_model_file(replaced(text, "\"channels\": 3", "\"channels\": 4"), "wider.nam");
    e = refusal([&] { wavenet::load(wider, *wp); });
    BOOST_TEST(e.find("wider.nam: config.layers[0].channels is 4, the compiled type has 3") == 0u, e);

    // Another dilation list, another activation, the other tanh being no excuse.
    e = refusal([&] {
        wavenet::load(nam::parse_model_file(replaced(text, "[1, 2]", "[1, 4]"), "dilated.nam"), *wp);
    });
    BOOST_TEST(e.find("dilated.nam: config.layers[0].dilations differ") == 0u, e);
    e = refusal([&] {
        wavenet::load(nam::parse_model_file(replaced(text, "\"Tanh\"", "\"ReLU\""), "relu.nam"), *wp);
    });
    BOOST_TEST(e.find("relu.nam: config.layers[0].activation is \"ReLU\", the compiled type has \"Tanh\"") == 0u, e);

    // The other architecture, each way.
    e = refusal([&] { wavenet::load(read_model("lstm.nam"), *wp); });
    BOOST_TEST(e.find("architecture \"LSTM\", the compiled type is a WaveNet") != std::string::npos, e);
    e = refusal([&] { lstm::load(read_model("wavenet.nam"), *lp); });
    BOOST_TEST(e.find("architecture \"WaveNet\", the compiled type is an LSTM") != std::string::npos, e);
    e = refusal([&] {
        lstm::load(nam::parse_model_file(replaced(read_text("lstm.nam"), "\"hidden_size\": 3", "\"hidden_size\": 4"),
                                         "big.nam"),
                   *lp);
    });
    BOOST_TEST(e.find("big.nam: config.hidden_size is 4, the compiled type has 3") == 0u, e);

    BOOST_TEST((*wp == *untouched_w));
    BOOST_TEST((*lp == *untouched_l));
}

BOOST_AUTO_TEST_CASE(the_reader_refuses_what_it_does_not_know_by_name) {
    const std::string text = read_text("wavenet.nam");
    std::string e = refusal([&] { nam::parse_model_file(text.substr(0, text.size() / 2), "cut.nam"); });
    BOOST_TEST(e.find("cut.nam: not a .nam file (invalid JSON)") == 0u, e);
    e = refusal([&] { nam::parse_model_file(replaced(text, "\"WaveNet\"", "\"ConvNet\""), "conv.nam"); });
    BOOST_TEST(e.find("conv.nam: architecture \"ConvNet\" is not supported") == 0u, e);
    e = refusal(
        [&] { nam::parse_model_file(replaced(text, "\"gated\": false", "\"gated\": false, \"groups\": 2"), "g.nam"); });
    BOOST_TEST(
        e.find("g.nam: config.layers[0] has the key \"groups\" (value 2), which this reader does not support") == 0u,
        e);
    e = refusal([&] { nam::parse_model_file(replaced(text, "\"head\": null", "\"head\": {}"), "head.nam"); });
    BOOST_TEST(e.find("head.nam: config.head is {}") == 0u, e);
    e = refusal([&] { nam::parse_model_file(replaced(text, "\"kernel_size\": 3", "\"kernel_size\": -3"), "k.nam"); });
    BOOST_TEST(e.find("k.nam: config.layers[0].kernel_size must be a positive integer, found -3") == 0u, e);
    e = refusal([&] { nam::parse_model_file(replaced(text, "\"weights\": [", "\"weights\": [\"x\", "), "w.nam"); });
    BOOST_TEST(e.find("w.nam: weights[0] is not a number") == 0u, e);
    e = refusal([&] { nam::read_model_file(data_path("no_such_model.nam")); });
    BOOST_TEST(e.find("no_such_model.nam") != std::string::npos, e);
}

// Damaged files, as a disk or a download damages them: every byte change or cut of the reference
// WaveNet either reads and loads or is refused with a file_error, and nothing else escapes.
BOOST_AUTO_TEST_CASE(a_damaged_file_is_read_or_refused_never_anything_else) {
    const std::string text = read_text("wavenet.nam");
    using net = wavenet::network<1>;
    auto params = std::make_unique<hn::parameters<net>>();
    std::uint64_t s = 99;
    const auto next = [&] {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<std::size_t>(s >> 33);
    };
    std::size_t refused = 0, loaded = 0, other = 0;
    for (int k = 0; k < 400; ++k) {
        std::string damaged = text;
        if (k % 4 == 0) {
            damaged.resize(next() % text.size());
        } else {
            for (int j = 0; j < 1 + k % 3; ++j) damaged[next() % damaged.size()] = static_cast<char>(next() % 256);
        }
        try {
            wavenet::load(nam::parse_model_file(damaged, "damaged.nam"), *params);
            ++loaded;
        } catch (const hn::io::file_error&) {
            ++refused;
        } catch (...) {
            ++other;
        }
    }
    BOOST_TEST_MESSAGE("400 damaged files: " << refused << " refused, " << loaded << " loaded");
    BOOST_TEST(other == 0u);
    BOOST_TEST(refused > 0u);
    // A number beyond float's range is no float32 weight (and converting it would be undefined).
    const std::string e = refusal(
        [&] { nam::parse_model_file(replaced(text, "\"weights\": [", "\"weights\": [1e300, "), "big.nam"); });
    BOOST_TEST(e.find("big.nam: weights[0] is 1e+300, beyond float's range") == 0u, e);
}

// The defining properties of NAM's rational tanh: odd, within 4.4e-4 of tanh on [-10, 10],
// below 1 in magnitude up to |x| = 8.5 and tending to c / e = 1.0081 beyond (so a model driven
// that hard differs from one with tanh), and the same on SIMD vectors as on scalars (the SIMD
// path is what the streams above run).
BOOST_AUTO_TEST_CASE(fast_tanh_is_an_odd_approximation_of_tanh) {
    double worst = 0;
    bool odd = true, below_one = true;
    for (int k = -100000; k <= 100000; ++k) {
        const float x = 1e-4f * static_cast<float>(k);
        const float y = nam::fast_tanh::forward(x);
        worst = std::max(worst, std::fabs(double(y) - std::tanh(double(x))));
        odd = odd && nam::fast_tanh::forward(-x) == -y;
        below_one = below_one && (std::fabs(x) > 8.5f || std::fabs(y) < 1.0f);
    }
    BOOST_TEST_MESSAGE("max |fast_tanh - tanh| on [-10, 10] = " << worst);
    BOOST_TEST(worst < 4.5e-4);
    BOOST_TEST(worst > 1e-5);  // it is an approximation: an exact tanh here would be the wrong function
    BOOST_TEST(odd);
    BOOST_TEST(below_one);
    BOOST_TEST(std::fabs(nam::fast_tanh::forward(1e4f) - 0.821226666969744f / 0.814642734961073f) < 1e-4f);
    using batch = xsimd::batch<float>;
    alignas(64) float xs[batch::size], ys[batch::size];
    for (std::size_t i = 0; i < batch::size; ++i) xs[i] = -3.0f + 0.77f * static_cast<float>(i);
    nam::fast_tanh::forward(batch::load_aligned(xs)).store_aligned(ys);
    // Within an ulp or two, not bit for bit: a compiler may contract the scalar products into FMAs.
    for (std::size_t i = 0; i < batch::size; ++i)
        BOOST_TEST(std::fabs(ys[i] - nam::fast_tanh::forward(xs[i])) <= 3e-7f);
}

BOOST_AUTO_TEST_SUITE_END()
