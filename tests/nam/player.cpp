// The run-time player of .nam files (include/hinge/nam/player.hpp) and the .nam writer
// (nam/file.hpp, a1_wavenet::save, lstm_model::save). Needs no reference data: every standard
// size gets random weights and is compared with NAM's computation written out in double
// (tests/nam/reference.hpp), which the golden tests (tests/nam/nam.cpp) tie to NAM Core itself.
#define BOOST_TEST_MODULE hinge_nam_player
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include <hinge/hinge.hpp>
#include <hinge/nam/nam.hpp>
#include <hinge/nam/player.hpp>
#include <hinge/nam/standard.hpp>

#include "counted_new.hpp"
#include "reference.hpp"

namespace {

namespace hn = hinge;
namespace nam = hinge::nam;
namespace standard = hinge::nam::standard;
using namespace hinge_nam_test;

constexpr std::size_t block = 64;
constexpr std::size_t length = 2048;  // samples played after the prewarm

// A random file of a WaveNet size: weights in [-0.5, 0.5], head_scale 0.02.
template <class Model>
nam::model_file random_wavenet_file(std::uint64_t seed) {
    nam::model_file f = random_model_file(Model::weight_count, seed);
    f.architecture = "WaveNet";
    f.weights.back() = standard::head_scale;
    f.wavenet = nam::wavenet_config{Model::config(), standard::head_scale};
    f.sample_rate = 48000;
    f.metadata_json = R"({"name":"random","gear_type":"amp"})";
    return f;
}

template <class Model>
nam::model_file random_lstm_file(std::uint64_t seed) {
    nam::model_file f = random_model_file(Model::weight_count, seed);
    f.architecture = "LSTM";
    f.lstm = Model::config();
    f.sample_rate = 48000;
    return f;
}

std::vector<float> play(nam::player& p, const std::vector<float>& x) {
    std::vector<float> y(x.size());
    for (std::size_t at = 0; at < x.size(); at += block) {
        const std::size_t n = std::min(block, x.size() - at);
        p.process(std::span<const float>(x.data() + at, n), std::span<float>(y.data() + at, n));
    }
    return y;
}

struct comparison {
    double peak = 0, worst = 0;
};

// The player's output against NAM's computation from the same file over the prewarm's zeros
// and then x.
template <class Reference>
comparison against_reference(const nam::model_file& f, const nam::player& p, const std::vector<float>& played,
                             const std::vector<float>& x, Reference reference) {
    std::vector<float> with_prewarm(p.prewarm_samples(), 0.0f);
    with_prewarm.insert(with_prewarm.end(), x.begin(), x.end());
    const std::vector<double> expected = reference(f, with_prewarm);
    comparison c;
    for (std::size_t t = 0; t < x.size(); ++t) {
        const double e = expected[p.prewarm_samples() + t];
        c.peak = std::max(c.peak, std::fabs(e));
        c.worst = std::max(c.worst, std::fabs(double(played[t]) - e));
    }
    return c;
}

template <class Model>
void wavenet_size_plays_as_nam_computes(const std::string& name, std::uint64_t seed) {
    const nam::model_file f = random_wavenet_file<Model>(seed);
    const std::vector<float> x = test_input(0, length);
    nam::player exact, fast;
    exact.load(f);
    fast.load(f, {.fast_tanh = true, .block_size = 128});
    BOOST_TEST(exact.size() == name);
    BOOST_TEST(fast.size() == name);
    // NAM's prewarm: the receptive field in whole blocks of the host's.
    BOOST_TEST(exact.prewarm_samples() == (Model::receptive_field + 63) / 64 * 64);
    BOOST_TEST(fast.prewarm_samples() == (Model::receptive_field + 127) / 128 * 128);
    const std::vector<float> y_exact = play(exact, x), y_fast = play(fast, x);
    const comparison e = against_reference(f, exact, y_exact, x, reference_wavenet);
    const comparison q = against_reference(f, fast, y_fast, x, reference_wavenet);
    BOOST_TEST_MESSAGE(name << ": peak " << e.peak << ", max |player - NAM's computation| " << e.worst
                            << " (tanh), " << q.worst << " (fast tanh)");
    BOOST_TEST(e.peak > 0.01);  // the comparison means something
    BOOST_TEST(e.worst <= 1e-5 * e.peak);
    // The fast tanh is within 4.4e-4 of tanh: its outputs are near, and not the same.
    BOOST_TEST(q.worst <= 1e-2 * e.peak);
    BOOST_TEST(q.worst > 0.0);
}

template <class Model>
void lstm_size_plays_as_nam_computes(const std::string& name, std::uint64_t seed) {
    const nam::model_file f = random_lstm_file<Model>(seed);
    const std::vector<float> x = test_input(0, length);
    nam::player exact, fast;
    exact.load(f);
    fast.load(f, {.fast_tanh = true});
    BOOST_TEST(exact.size() == name);
    BOOST_TEST(exact.prewarm_samples() == 24000u);  // NAM's: half a second
    const std::vector<float> y_exact = play(exact, x), y_fast = play(fast, x);
    const comparison e = against_reference(f, exact, y_exact, x, reference_lstm);
    const comparison q = against_reference(f, fast, y_fast, x, reference_lstm);
    BOOST_TEST_MESSAGE(name << ": peak " << e.peak << ", max |player - NAM's computation| " << e.worst
                            << " (tanh), " << q.worst << " (fast tanh)");
    BOOST_TEST(e.peak > 0.01);
    BOOST_TEST(e.worst <= 1e-5 * e.peak);
    // The fast sigmoids and tanh of every step compound in the cell state: further off than a WaveNet.
    BOOST_TEST(q.worst <= 3e-2 * e.peak);
    BOOST_TEST(q.worst > 0.0);
}

std::string temporary(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("hinge_nam_player_" + name)).string();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(nam_player)

BOOST_AUTO_TEST_CASE(every_standard_wavenet_plays_as_nam_computes_it) {
    wavenet_size_plays_as_nam_computes<standard::wavenet_standard>("WaveNet standard", 1);
    wavenet_size_plays_as_nam_computes<standard::wavenet_lite>("WaveNet lite", 2);
    wavenet_size_plays_as_nam_computes<standard::wavenet_feather>("WaveNet feather", 3);
    wavenet_size_plays_as_nam_computes<standard::wavenet_nano>("WaveNet nano", 4);
}

BOOST_AUTO_TEST_CASE(every_standard_lstm_plays_as_nam_computes_it_from_the_stored_state) {
    lstm_size_plays_as_nam_computes<standard::lstm_standard>("LSTM standard (1 x 24)", 5);
    lstm_size_plays_as_nam_computes<standard::lstm_lite>("LSTM lite (2 x 8)", 6);
    lstm_size_plays_as_nam_computes<standard::lstm_feather>("LSTM feather (1 x 16)", 7);
    lstm_size_plays_as_nam_computes<standard::lstm_nano>("LSTM nano (1 x 12)", 8);
}

BOOST_AUTO_TEST_CASE(the_player_keeps_the_files_sample_rate_and_metadata) {
    nam::model_file f = random_wavenet_file<standard::wavenet_nano>(9);
    f.sample_rate = 44100;
    nam::player p;
    p.load(f);
    BOOST_TEST(p.loaded());
    BOOST_TEST(p.sample_rate().value_or(0) == 44100.0);
    BOOST_TEST(p.metadata_json() == f.metadata_json);
    BOOST_TEST(nam::player::sizes().size() == 8u);
}

BOOST_AUTO_TEST_CASE(an_empty_player_plays_silence) {
    nam::player p;
    BOOST_TEST(!p.loaded());
    BOOST_TEST(p.size() == "");
    std::vector<float> x(100, 0.5f), y(100, 3.0f);
    p.process(x, y);
    p.reset();
    BOOST_TEST(std::all_of(y.begin(), y.end(), [](float v) { return v == 0.0f; }));
}

// A file that is none of the compiled sizes, or a standard config with the wrong weight count, is
// refused with a message naming why; the player goes on playing the model it had, unchanged.
BOOST_AUTO_TEST_CASE(a_file_of_no_compiled_size_is_refused_and_the_model_kept) {
    const nam::model_file nano = random_wavenet_file<standard::wavenet_nano>(10);
    const std::vector<float> x = test_input(0, 4 * block);
    nam::player p, twin;
    p.load(nano);
    twin.load(nano);
    const std::vector<float> first = play(p, std::vector<float>(x.begin(), x.begin() + 2 * block));
    BOOST_TEST(first == play(twin, std::vector<float>(x.begin(), x.begin() + 2 * block)));

    using other = nam::a1_wavenet<nam::layer_array<5, 3, nam::dilations<1, 2>, 2, false>,
                                  nam::layer_array<3, 3, nam::dilations<4>, 1, true>>;
    nam::model_file wider = random_wavenet_file<other>(11);
    wider.source = "wider.nam";
    const std::string message = refusal([&] { p.load(wider); });
    BOOST_TEST_MESSAGE(message);
    BOOST_TEST(message.starts_with("wider.nam: the model (WaveNet, layer arrays of 5 then 3 channels, kernel 3 then 3, "
                                   "2 + 1 layers) is none of the sizes this player has compiled in"));

    nam::model_file short_file = nano;
    short_file.source = "short.nam";
    short_file.weights.pop_back();
    const std::string count_message = refusal([&] { p.load(short_file); });
    BOOST_TEST(count_message.starts_with("short.nam: the weight count is"));

    nam::model_file conv = nano;
    conv.source = "conv.nam";
    conv.architecture = "LSTM";
    conv.wavenet.reset();
    conv.lstm = nam::lstm_config{1, 7, 3};
    BOOST_TEST(refusal([&] { p.load(conv); }).find("LSTM, 3 x 7") != std::string::npos);

    // Still the nano model, in the middle of its signal.
    BOOST_TEST(p.size() == "WaveNet nano");
    const std::vector<float> rest(x.begin() + 2 * block, x.end());
    BOOST_TEST(play(p, rest) == play(twin, rest));
}

BOOST_AUTO_TEST_CASE(reset_returns_to_the_state_after_load) {
    for (const nam::model_file& f : {random_wavenet_file<standard::wavenet_feather>(12),
                                     random_lstm_file<standard::lstm_lite>(13)}) {
        nam::player p;
        p.load(f, {.fast_tanh = true});
        const std::vector<float> x = test_input(0, 8 * block);
        const std::vector<float> first = play(p, x);
        p.reset();
        BOOST_TEST(play(p, x) == first);
    }
}

// The audio thread's calls: process and reset allocate and free nothing (reset of an LSTM plays
// its 24,000 prewarm zeros).
BOOST_AUTO_TEST_CASE(playing_allocates_nothing) {
    nam::player wavenet, lstm;
    wavenet.load(random_wavenet_file<standard::wavenet_standard>(14), {.fast_tanh = true});
    lstm.load(random_lstm_file<standard::lstm_standard>(15));
    const std::vector<float> x = test_input(0, block);
    std::vector<float> y(block);
    const std::size_t before = allocation_count(), frees_before = free_count();
    for (int k = 0; k < 100; ++k) {
        wavenet.process(x, y);
        lstm.process(x, y);
    }
    wavenet.reset();
    lstm.reset();
    const std::size_t during = allocation_count() - before, frees = free_count() - frees_before;
    BOOST_TEST(during == 0u);
    BOOST_TEST(frees == 0u);
    BOOST_TEST(before > 0u);  // the counter counts: loading allocated
}

// How a plugin changes captures on the audio thread: swap a player loaded elsewhere with the
// playing one. Nothing is allocated or freed there; the old model leaves with the other player.
BOOST_AUTO_TEST_CASE(swapping_players_exchanges_their_models_without_allocating_or_freeing) {
    nam::player loaded, playing;
    loaded.load(random_wavenet_file<standard::wavenet_lite>(16));
    playing.load(random_lstm_file<standard::lstm_nano>(17));
    const std::size_t allocations_before = allocation_count(), frees_before = free_count();
    playing.swap(loaded);
    const std::size_t allocations = allocation_count() - allocations_before, frees = free_count() - frees_before;
    BOOST_TEST(allocations == 0u);
    BOOST_TEST(frees == 0u);
    BOOST_TEST(playing.size() == "WaveNet lite");
    BOOST_TEST(loaded.size() == "LSTM nano (1 x 12)");
    nam::player moved_into;
    moved_into = std::move(playing);  // moving works too (and frees what moved_into held: nothing here)
    BOOST_TEST(moved_into.size() == "WaveNet lite");
    BOOST_TEST(!playing.loaded());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(nam_writer)

// Written, then read: the same version, architecture, config, weights (bit for bit), sample rate
// and metadata.
BOOST_AUTO_TEST_CASE(a_written_file_reads_back_the_same_values) {
    nam::model_file f = random_wavenet_file<standard::wavenet_lite>(17);
    f.weights[5] = std::numeric_limits<float>::denorm_min();
    f.weights[6] = -1.0e30f;
    f.weights[7] = 0.1f;
    const std::string path = temporary("lite.nam");
    nam::write_model_file(path, f);
    const nam::model_file g = nam::read_model_file(path);
    BOOST_TEST(g.version == f.version);
    BOOST_TEST(g.architecture == "WaveNet");
    BOOST_TEST((g.wavenet->layer_arrays == f.wavenet->layer_arrays));
    BOOST_TEST(g.wavenet->head_scale == standard::head_scale);
    BOOST_TEST(g.weights == f.weights);
    BOOST_TEST(g.sample_rate.value_or(0) == 48000.0);
    BOOST_TEST(g.metadata_json == f.metadata_json);

    nam::model_file l = random_lstm_file<standard::lstm_lite>(18);
    l.sample_rate.reset();
    const std::string text = nam::format_model_file(l);
    BOOST_TEST(text.find("sample_rate") == std::string::npos);  // absent, not null: NAM Core reads it as a number
    const nam::model_file m = nam::parse_model_file(text);
    BOOST_TEST((*m.lstm == *l.lstm));
    BOOST_TEST(m.weights == l.weights);
    BOOST_TEST(!m.sample_rate.has_value());
    BOOST_TEST(m.metadata_json == "null");
    std::filesystem::remove(path);
}

BOOST_AUTO_TEST_CASE(what_no_nam_player_would_read_is_not_written) {
    nam::model_file f = random_wavenet_file<standard::wavenet_nano>(19);
    f.source = "bad.nam";
    f.weights[3] = std::numeric_limits<float>::quiet_NaN();
    BOOST_TEST(refusal([&] { (void)nam::format_model_file(f); }) == "bad.nam: cannot write weights[3]: it is not finite");
    f.weights[3] = 0;
    f.metadata_json = "{not json";
    BOOST_TEST(refusal([&] { (void)nam::format_model_file(f); }).starts_with("bad.nam: metadata_json is not JSON"));
    f.metadata_json = "null";
    f.wavenet.reset();
    BOOST_TEST(refusal([&] { (void)nam::format_model_file(f); }).starts_with("bad.nam: cannot write architecture"));
    // A file that cannot be put in place (the name is a folder's) is refused, and its temporary
    // file does not stay behind.
    const std::string folder = temporary("folder.nam");
    std::filesystem::create_directories(folder);
    f = random_wavenet_file<standard::wavenet_nano>(19);
    BOOST_TEST(!refusal([&] { nam::write_model_file(folder, f); }).empty());
    BOOST_TEST(std::filesystem::is_directory(folder));
    BOOST_TEST(!std::filesystem::exists(folder + ".tmp"));
    std::filesystem::remove_all(folder);
}

// hinge parameters of a standard size (trained, here: random, every bias too), saved as .nam,
// written, read and played by the player: the outputs of the parameters' own stream after the
// prewarm, to rounding (head_scale is divided out on writing and multiplied in on loading, and
// the biases NAM has no place for are folded into those it has).
BOOST_AUTO_TEST_CASE(saved_parameters_play_in_the_player_as_they_stream) {
    using model = standard::wavenet_nano;
    using net = model::network<1>;
    auto params = std::make_unique<hn::parameters<net>>();
    const nam::model_file random = random_model_file(params->storage().size(), 20);
    std::copy(random.weights.begin(), random.weights.end(), params->storage().begin());
    nam::model_file f = model::save(*params, standard::head_scale);
    f.sample_rate = 48000;
    const std::string path = temporary("nano.nam");
    nam::write_model_file(path, f);

    nam::player p;
    p.load(path);
    auto s = std::make_unique<hn::stream<net>>();
    nam::prewarm(*s, *params, p.prewarm_samples());
    const std::vector<float> x = test_input(0, length);
    std::vector<float> streamed(length);
    s->process(*params, x, streamed);
    const std::vector<float> played = play(p, x);
    double worst = 0, peak = 0;
    for (std::size_t t = 0; t < length; ++t) {
        worst = std::max(worst, std::fabs(double(played[t]) - double(streamed[t])));
        peak = std::max(peak, std::fabs(double(streamed[t])));
    }
    BOOST_TEST_MESSAGE("nano saved and played: peak " << peak << ", max |player - stream| " << worst);
    BOOST_TEST(peak > 0.01);
    // Rounding only: the biases NAM has no place for are folded (in double, then rounded).
    BOOST_TEST(worst <= 1e-5 * peak);
    std::filesystem::remove(path);

    // A last head without head_bias cannot take a bias: refused, not dropped.
    using headless = nam::a1_wavenet<nam::layer_array<2, 3, nam::dilations<1>, 1, false>>;
    auto headless_params = std::make_unique<hn::parameters<headless::network<1>>>();
    std::fill(headless_params->storage().begin(), headless_params->storage().end(), 0.125f);
    BOOST_TEST(refusal([&] { (void)headless::save(*headless_params); }).find("has no place for it") !=
               std::string::npos);
}

// An LSTM's two biases per gate row become NAM's one, and its initial state is the file's.
BOOST_AUTO_TEST_CASE(a_saved_lstm_loads_back_to_the_same_outputs) {
    using model = nam::lstm_model<5, 2>;
    using net = model::network<1>;
    auto params = std::make_unique<hn::parameters<net>>();
    const nam::model_file random = random_model_file(params->storage().size(), 21);
    std::copy(random.weights.begin(), random.weights.end(), params->storage().begin());
    model::initial_state init;
    init.h[1][2] = 0.25f;
    init.c[0][4] = -0.5f;
    const nam::model_file f = nam::parse_model_file(nam::format_model_file(model::save(*params, init)));
    auto again = std::make_unique<hn::parameters<net>>();
    const model::initial_state loaded = model::load(f, *again);
    BOOST_TEST(loaded.h[1][2] == 0.25f);
    BOOST_TEST(loaded.c[0][4] == -0.5f);
    auto a = std::make_unique<hn::stream<net>>(), b = std::make_unique<hn::stream<net>>();
    model::start(*a, init);
    model::start(*b, loaded);
    const std::vector<float> x = test_input(0, 512);
    std::vector<float> ya(512), yb(512);
    a->process(*params, x, ya);
    b->process(*again, x, yb);
    double worst = 0, peak = 0;
    for (std::size_t t = 0; t < 512; ++t) {
        worst = std::max(worst, std::fabs(double(ya[t]) - double(yb[t])));
        peak = std::max(peak, std::fabs(double(ya[t])));
    }
    BOOST_TEST(peak > 0.01);
    BOOST_TEST(worst <= 1e-6 * peak);
}

BOOST_AUTO_TEST_SUITE_END()
