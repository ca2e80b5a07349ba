// The .nam front end of the exporter (CTest exporter.nam): headers that `hinge_export nam` wrote at
// build time (nam_export.py) from NAM Core's example models and from mixed.nam, compiled here.
//
//   nam_export_check NAM_DATA_DIR EXPORT_DIR
//
// For every header, against the .nam file read at run time with hinge::nam::read_model_file:
//   1. file(), the compiled-in file, is what the reader gives: version, architecture, config (parsed
//      and as JSON text), sample_rate, metadata_json, and every weight bit for bit;
//   2. load(params) writes, bit for bit, the parameters that model::load writes from the file (and,
//      for an LSTM, returns the same initial state); the loader's config checks passed, so the
//      generated type is the file's;
//   3. the reference models (in both tanh modes) stream, after NAM's prewarm, bit for bit the
//      outputs of the model loaded from the file (4,800 samples of two sines and noise).
// The types are the ones written by hand in tests/nam/nam.cpp, NAM's fast-tanh mode replaces Tanh
// only, and the generated header is the first thing this file includes (so it needs nothing else).
#include "nam_wavenet.hpp"

#include "nam_lstm.hpp"
#include "nam_lstm_fast.hpp"
#include "nam_mixed.hpp"
#include "nam_wavenet_fast.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace hn = hinge;
namespace nam = hinge::nam;

// The types of tests/nam/nam.cpp, where NAM Core's outputs are checked.
using wavenet = nam::a1_wavenet<nam::layer_array<3, 3, nam::dilations<1, 2>, 2, false>,
                                nam::layer_array<2, 3, nam::dilations<8>, 1, true>>;
static_assert(std::is_same_v<nam_wavenet::model, wavenet>);
static_assert(std::is_same_v<nam_wavenet_fast::model, wavenet::with_activation<nam::fast_tanh>>);
static_assert(std::is_same_v<nam_lstm::model, nam::lstm_model<3>>);
static_assert(std::is_same_v<nam_lstm_fast::model, nam::lstm_model<3>::fast>);
// --fast-tanh changes the Tanh array only: NAM's fast tanh replaces tanh, not ReLU or Sigmoid.
static_assert(std::is_same_v<exported::mixed::model,
                             nam::a1_wavenet<nam::layer_array<3, 2, nam::dilations<1, 4>, 2, false, hn::relu, true>,
                                             nam::layer_array<2, 1, nam::dilations<1>, 4, false, nam::fast_tanh>,
                                             nam::layer_array<4, 3, nam::dilations<2, 1, 8>, 1, true, hn::sigmoid>>>);
static_assert(nam_wavenet::sample_rate == 48000.0 && exported::mixed::sample_rate == 44100.0);

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
    failures += !ok;
    std::printf("  %s %s\n", ok ? "ok  " : "FAIL", what.c_str());
}

template <class T>
bool same_bits(std::span<const T> a, std::span<const T> b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size_bytes()) == 0);
}

// 1. The compiled-in file is the file.
void check_file(const nam::model_file& compiled, const nam::model_file& read, const std::string& name) {
    check(compiled.version == read.version && compiled.architecture == read.architecture,
          name + ": version and architecture (" + compiled.architecture + ")");
    bool config = compiled.config_json == read.config_json &&
                  compiled.wavenet.has_value() == read.wavenet.has_value() && compiled.lstm == read.lstm;
    if (config && compiled.wavenet)
        config = compiled.wavenet->layer_arrays == read.wavenet->layer_arrays &&
                 same_bits(std::span<const float>(&compiled.wavenet->head_scale, 1),
                           std::span<const float>(&read.wavenet->head_scale, 1));
    check(config, name + ": the config, parsed and as JSON text");
    check(compiled.sample_rate == read.sample_rate,
          name + ": sample_rate " + (compiled.sample_rate ? std::to_string(*compiled.sample_rate) : "none"));
    check(compiled.metadata_json == read.metadata_json,
          name + ": metadata_json (" + std::to_string(compiled.metadata_json.size()) + " characters)");
    check(same_bits<float>(compiled.weights, read.weights),
          name + ": all " + std::to_string(read.weights.size()) + " weights, bit for bit");
}

// A test signal: two sines and a little noise (a fixed linear congruential generator).
std::vector<float> test_signal(std::size_t n) {
    std::vector<float> x(n);
    unsigned state = 12345;
    for (std::size_t k = 0; k < n; ++k) {
        state = state * 1664525u + 1013904223u;
        const double noise = double(state >> 8) / double(1u << 24) - 0.5;
        x[k] = float(0.3 * std::sin(0.0144 * double(k)) + 0.2 * std::sin(0.0576 * double(k)) + 0.05 * noise);
    }
    return x;
}

// Blocks of 64, as a host would call it.
template <class Net>
std::vector<float> play(hn::stream<Net>& s, const hn::parameters<Net>& p, const std::vector<float>& x) {
    std::vector<float> y(x.size());
    for (std::size_t at = 0; at < x.size(); at += 64) {
        const std::size_t n = std::min<std::size_t>(64, x.size() - at);
        s.process(p, std::span<const float>(x.data() + at, n), std::span<float>(y.data() + at, n));
    }
    return y;
}

void check_output(const std::vector<float>& compiled, const std::vector<float>& read, const std::string& name) {
    float peak = 0;
    for (float v : read) peak = std::max(peak, std::fabs(v));
    check(same_bits<float>(compiled, read) && peak > 1e-3f,
          name + ": streamed from the compiled-in weights = from the file, bit for bit (" +
              std::to_string(read.size()) + " samples, peak " + std::to_string(peak) + ")");
}

// 2. and 3. for a WaveNet header (namespace NS).
template <class Model, class Load>
void check_wavenet(const nam::model_file& read, Load load, const std::string& name, bool stream) {
    using net = typename Model::template network<1>;
    auto compiled = std::make_unique<hn::parameters<net>>();
    auto loaded = std::make_unique<hn::parameters<net>>();
    load(*compiled);
    Model::load(read, *loaded);
    check(same_bits<float>(compiled->storage(), loaded->storage()),
          name + ": load(params) = model::load(read_model_file), bit for bit");
    if (!stream) return;
    const std::vector<float> x = test_signal(4800);
    auto a = std::make_unique<hn::stream<net>>();
    auto b = std::make_unique<hn::stream<net>>();
    nam::prewarm(*a, *compiled, Model::prewarm_samples);
    nam::prewarm(*b, *loaded, Model::prewarm_samples);
    check_output(play(*a, *compiled, x), play(*b, *loaded, x), name);
}

template <class Model, class Load>
void check_lstm(const nam::model_file& read, Load load, const std::string& name) {
    using net = typename Model::template network<1>;
    auto compiled = std::make_unique<hn::parameters<net>>();
    auto loaded = std::make_unique<hn::parameters<net>>();
    const typename Model::initial_state from_header = load(*compiled);
    const typename Model::initial_state from_file = Model::load(read, *loaded);
    check(same_bits<float>(compiled->storage(), loaded->storage()) &&
              std::memcmp(&from_header, &from_file, sizeof from_file) == 0,
          name + ": load(params) = model::load(read_model_file), parameters and initial state bit for bit");
    const std::vector<float> x = test_signal(4800);
    auto a = std::make_unique<hn::stream<net>>();
    auto b = std::make_unique<hn::stream<net>>();
    Model::start(*a, from_header);
    Model::start(*b, from_file);
    nam::prewarm(*a, *compiled, Model::prewarm_samples(48000));
    nam::prewarm(*b, *loaded, Model::prewarm_samples(48000));
    check_output(play(*a, *compiled, x), play(*b, *loaded, x), name);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: nam_export_check NAM_DATA_DIR EXPORT_DIR\n");
        return 2;
    }
    const std::string data = argv[1], exported = argv[2];
    try {
        const nam::model_file wavenet_file = nam::read_model_file(data + "/wavenet.nam");
        const nam::model_file lstm_file = nam::read_model_file(data + "/lstm.nam");
        const nam::model_file mixed_file = nam::read_model_file(exported + "/mixed.nam");

        check_file(nam_wavenet::file(), wavenet_file, "wavenet.nam");
        check_file(nam_wavenet_fast::file(), wavenet_file, "wavenet.nam --fast-tanh");
        check_file(nam_lstm::file(), lstm_file, "lstm.nam");
        check_file(nam_lstm_fast::file(), lstm_file, "lstm.nam --fast-tanh");
        check_file(exported::mixed::file(), mixed_file, "mixed.nam --fast-tanh");
        // mixed.nam's name holds )nam" (the raw string's first delimiter) and an e with an acute accent.
        const std::string mixed_metadata = "{\"name\":\"mixed \xc3\xa9 \\\")nam\\\" test\",\"gain\":0.5}";
        check(std::string(nam_wavenet::metadata_json).find(R"("name":"Test Model")") != std::string::npos &&
                  std::string(nam_lstm::metadata_json).find(R"("name":"Test LSTM")") != std::string::npos &&
                  exported::mixed::metadata_json == mixed_metadata,
              "metadata_json holds the files' metadata (a raw string whose delimiter the text does not contain)");

        check_wavenet<nam_wavenet::model>(
            wavenet_file, [](auto& p) { nam_wavenet::load(p); }, "wavenet.nam", true);
        check_wavenet<nam_wavenet_fast::model>(
            wavenet_file, [](auto& p) { nam_wavenet_fast::load(p); }, "wavenet.nam --fast-tanh", true);
        check_wavenet<exported::mixed::model>(
            mixed_file, [](auto& p) { exported::mixed::load(p); }, "mixed.nam --fast-tanh", false);
        check_lstm<nam_lstm::model>(lstm_file, [](auto& p) { return nam_lstm::load(p); }, "lstm.nam");
        check_lstm<nam_lstm_fast::model>(
            lstm_file, [](auto& p) { return nam_lstm_fast::load(p); }, "lstm.nam --fast-tanh");
    } catch (const std::exception& e) {
        std::printf("  FAIL %s\n", e.what());
        return 1;
    }
    std::printf("nam_export_check: %s\n", failures == 0 ? "all ok" : (std::to_string(failures) + " FAILED").c_str());
    return failures == 0 ? 0 : 1;
}
