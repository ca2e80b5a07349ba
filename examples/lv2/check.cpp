// The LV2 plugin's test program (run_test.cmake runs it around the host, Debian's lv2apply):
//
//   check model <out.nam>        a "nano" WaveNet of NAM's standard sizes with seeded random
//                                weights, written as a .nam file (the bundle's model.nam)
//   check input <out.wav>        3 s of plucked strings at 48 kHz, mono float WAV
//   check compare <model.nam> <in.wav> <host.wav> [--input-gain dB] [--output-gain dB]
//                                the host's output against hinge::nam::player's own for the same
//                                model and input (fast tanh, block 64, as the plugin plays
//                                without a nominal block from the host): the largest difference
//                                must be at most 1e-6, and the output must not be trivial
//   check allocations <report>   the allocation shim's report (alloc_shim.cpp): the hook ran,
//                                the shim saw allocations outside run(), none inside
//   check refusal <plugin.so> <dir>
//                                instantiates the plugin with a bundle directory whose model.nam
//                                is missing, then one whose model.nam is not a model: both must
//                                fail (null handle), not crash
//
// Exit status 0: passed; 1: failed (the reason on stderr); 2: usage or I/O error.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <dlfcn.h>
#include <sndfile.h>

#include <lv2/core/lv2.h>

#include <hinge/init/glorot.hpp>
#include <hinge/init/random.hpp>
#include <hinge/nam/file.hpp>
#include <hinge/nam/player.hpp>
#include <hinge/runtime/denormals.hpp>
#include <hinge/nam/standard.hpp>

#include "gain.hpp"

namespace {

constexpr int rate = 48000;
constexpr std::size_t block = 64;  // the plugin's block when the host gives none (lv2apply gives none)

[[noreturn]] void fail(const std::string& why) {
    std::fprintf(stderr, "check: FAILED: %s\n", why.c_str());
    std::exit(1);
}
[[noreturn]] void io_error(const std::string& why) {
    std::fprintf(stderr, "check: %s\n", why.c_str());
    std::exit(2);
}

std::vector<float> read_wav(const std::string& path, int& file_rate) {
    SF_INFO info{};
    SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
    if (!file) io_error("cannot read " + path + ": " + sf_strerror(nullptr));
    if (info.channels != 1) io_error(path + " has " + std::to_string(info.channels) + " channels, not 1");
    std::vector<float> samples(static_cast<std::size_t>(info.frames));
    const sf_count_t got = sf_readf_float(file, samples.data(), info.frames);
    sf_close(file);
    if (got != info.frames) io_error("short read from " + path);
    file_rate = info.samplerate;
    return samples;
}

void write_wav(const std::string& path, const std::vector<float>& samples) {
    SF_INFO info{};
    info.samplerate = rate;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;  // float: the host's output keeps every bit
    SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
    if (!file) io_error("cannot write " + path + ": " + sf_strerror(nullptr));
    const auto n = static_cast<sf_count_t>(samples.size());
    const sf_count_t put = sf_writef_float(file, samples.data(), n);
    sf_close(file);
    if (put != n) io_error("short write to " + path);
}

int make_model(const std::string& path) {
    using model = hinge::nam::standard::wavenet_nano;
    auto params = std::make_unique<hinge::parameters<model::network<1>>>();
    // Glorot suits tanh; the seed makes the file the same on every run.
    hinge::init::glorot_normal(*params, 2026);
    hinge::nam::model_file f = model::save(*params, hinge::nam::standard::head_scale);
    // Glorot's weights play the test input at about +10 dBFS. The loader multiplies the last
    // head by the file's head_scale (its last weight, repeated in the config), so a smaller one
    // makes the placeholder a drive at a sane level (peaks near 1 on a full-scale input).
    f.weights.back() /= 16;
    f.wavenet->head_scale = f.weights.back();
    f.sample_rate = rate;
    f.metadata_json = R"({"name": "hinge LV2 test: NAM nano WaveNet, random weights"})";
    hinge::nam::write_model_file(path, f);
    return 0;
}

// Plucked strings (Karplus-Strong), a new note every quarter second, and a little noise.
int make_input(const std::string& path) {
    hinge::init::random_generator random(7);
    const std::size_t length = 3 * rate;
    std::vector<float> x(length, 0.0f);
    const double notes[] = {82.41, 110.0, 146.83, 196.0, 246.94, 329.63};
    for (std::size_t start = 0; start < length; start += rate / 4) {
        const std::size_t period = static_cast<std::size_t>(rate / notes[random.next() % 6]);
        std::vector<double> string(period);
        for (double& v : string) v = 2 * random.uniform() - 1;
        const double loudness = 0.2 + 0.4 * random.uniform();
        for (std::size_t t = start, k = 0; t < length; ++t, ++k) {
            const std::size_t i = k % period;
            x[t] += static_cast<float>(loudness * string[i]);
            string[i] = 0.497 * (string[i] + string[(i + 1) % period]);
        }
    }
    for (float& v : x) v = std::clamp(v + static_cast<float>(0.002 * random.normal()), -1.0f, 1.0f);
    write_wav(path, x);
    return 0;
}

double rms(std::span<const float> x) {
    double sum = 0;
    for (float v : x) sum += double(v) * v;
    return x.empty() ? 0.0 : std::sqrt(sum / static_cast<double>(x.size()));
}

int compare(const std::string& model_path, const std::string& in_path, const std::string& host_path,
            float input_db, float output_db) {
    int in_rate = 0, host_rate = 0;
    const std::vector<float> x = read_wav(in_path, in_rate);
    const std::vector<float> host = read_wav(host_path, host_rate);
    if (host.size() != x.size() || host_rate != in_rate)
        fail(host_path + " has " + std::to_string(host.size()) + " samples at " + std::to_string(host_rate) +
             " Hz, the input " + std::to_string(x.size()) + " at " + std::to_string(in_rate) + " Hz");

    // What the plugin does, block by block: input gain, the player, output gain, with denormals
    // flushed as in its run().
    hinge::flush_denormals_guard no_denormals;
    hinge::nam::player amp;
    amp.load(model_path, {.fast_tanh = true, .block_size = block});
    const float in_gain = nam_lv2::db_to_factor(input_db), out_gain = nam_lv2::db_to_factor(output_db);
    std::vector<float> y(x.size());
    for (std::size_t t = 0; t < x.size(); t += block) {
        const std::size_t n = std::min(block, x.size() - t);
        const std::span<float> out(y.data() + t, n);
        for (std::size_t i = 0; i < n; ++i) out[i] = x[t + i] * in_gain;
        amp.process(out, out);
        for (float& v : out) v *= out_gain;
    }

    double worst = 0;
    std::size_t differing = 0, worst_at = 0;
    for (std::size_t t = 0; t < y.size(); ++t) {
        const double d = std::fabs(double(host[t]) - double(y[t]));
        if (!(d <= worst)) {  // NaN counts as the worst
            worst = std::isnan(d) ? INFINITY : d;
            worst_at = t;
        }
        differing += host[t] != y[t];
    }
    std::vector<float> change(y.size());
    for (std::size_t t = 0; t < y.size(); ++t) change[t] = y[t] - x[t] * in_gain;
    double mean = 0, peak = 0;
    for (float v : y) {
        mean += v;
        peak = std::max(peak, std::fabs(double(v)));
    }
    mean /= static_cast<double>(y.size());
    std::printf("check: %s (%.*s), %zu samples, gains %+g / %+g dB: max |host - player| = %.3g (sample %zu), "
                "%zu samples differ; output rms %.4f, peak %.4f, mean %.4f, rms of (output - input) %.4f\n",
                host_path.c_str(), static_cast<int>(amp.size().size()), amp.size().data(), y.size(),
                static_cast<double>(input_db), static_cast<double>(output_db), worst, worst_at, differing, rms(y),
                peak, mean, rms(change));
    // A model that passes its input, or plays silence, would make the comparison mean nothing.
    if (!(rms(y) > 0.01) || !(rms(change) > 0.01))
        fail("the model's output is trivial (silent or its input), so the comparison proves nothing");
    // The same code on the same samples: the host's output must be the player's, bit for bit.
    if (differing != 0)
        fail("the host's output differs from the player's in " + std::to_string(differing) + " samples, by up to " +
             std::to_string(worst));
    return 0;
}

int allocations(const std::string& report_path) {
    std::ifstream report(report_path);
    if (!report) fail(report_path + " was not written: the shim was not loaded into the host");
    std::map<std::string, long> count;
    std::string key;
    long value = 0;
    while (report >> key >> value) count[key] = value;
    for (const char* k : {"run_enters", "run_exits", "unbalanced_hooks", "allocations_in_run", "frees_in_run",
                          "c_allocations", "cxx_allocations"})
        if (!count.contains(k)) fail(report_path + " has no " + k);
    std::printf("check: run() called %ld times under the shim; inside it %ld allocations and %ld frees; "
                "outside it the shim counted %ld C and %ld C++ allocations\n",
                count["run_enters"], count["allocations_in_run"], count["frees_in_run"], count["c_allocations"],
                count["cxx_allocations"]);
    // Each replacement must have been in use, or "none inside run()" would prove nothing.
    if (count["run_enters"] == 0) fail("the plugin never called the shim's hook: run() was not observed");
    if (count["run_enters"] != count["run_exits"] || count["unbalanced_hooks"] != 0)
        fail("the hook's entries and exits do not pair up");
    if (count["c_allocations"] == 0 || count["cxx_allocations"] == 0)
        fail("the shim saw no malloc or no operator new at all: its replacements were not in use");
    if (count["allocations_in_run"] != 0 || count["frees_in_run"] != 0) fail("run() allocated or freed memory");
    return 0;
}

int refusal(const std::string& plugin_path, const std::string& dir) {
    void* library = dlopen(plugin_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!library) io_error(std::string("cannot load the plugin: ") + dlerror());
    using descriptor_function = const LV2_Descriptor* (*)(std::uint32_t);
    const auto entry = reinterpret_cast<descriptor_function>(dlsym(library, "lv2_descriptor"));
    const LV2_Descriptor* d = entry ? entry(0) : nullptr;
    if (!d || std::string_view(d->URI) != "urn:hinge:nam") fail(plugin_path + " does not describe urn:hinge:nam");
    const std::string bundle = dir + "/";
    std::remove((bundle + "model.nam").c_str());
    if (LV2_Handle h = d->instantiate(d, rate, bundle.c_str(), nullptr)) {
        d->cleanup(h);
        fail("the plugin instantiated without a model.nam");
    }
    std::ofstream(bundle + "model.nam") << R"({"version": "0.5.4", "architecture": "ConvNet"})";
    if (LV2_Handle h = d->instantiate(d, rate, bundle.c_str(), nullptr)) {
        d->cleanup(h);
        fail("the plugin instantiated with a model.nam that is not a model it plays");
    }
    std::printf("check: the plugin refused a missing and an unplayable model.nam (messages above)\n");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> a(argv + 1, argv + argc);
    try {
        if (a.size() == 2 && a[0] == "model") return make_model(a[1]);
        if (a.size() == 2 && a[0] == "input") return make_input(a[1]);
        if (a.size() == 2 && a[0] == "allocations") return allocations(a[1]);
        if (a.size() == 3 && a[0] == "refusal") return refusal(a[1], a[2]);
        if (a.size() >= 4 && a[0] == "compare") {
            float input_db = 0, output_db = 0;
            for (std::size_t k = 4; k + 1 < a.size(); k += 2) {
                if (a[k] == "--input-gain") input_db = std::stof(a[k + 1]);
                else if (a[k] == "--output-gain") output_db = std::stof(a[k + 1]);
                else io_error("unknown option " + a[k]);
            }
            if (a.size() % 2 != 0) io_error("an option without its value");
            return compare(a[1], a[2], a[3], input_db, output_db);
        }
    } catch (const std::exception& e) {
        io_error(e.what());
    }
    std::fprintf(stderr,
                 "usage: check model OUT.nam | input OUT.wav | compare MODEL.nam IN.wav HOST.wav [--input-gain dB] "
                 "[--output-gain dB] | allocations REPORT | refusal PLUGIN.so DIR\n");
    return 2;
}
