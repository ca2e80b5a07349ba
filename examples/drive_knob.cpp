// A distortion with a drive knob, learned by a conditioned gated WaveNet, streamed while the knob
// turns.
//
// The effect is the audio demo's circuit (examples/audio.hpp: pre-emphasis, an asymmetric soft
// clipper, a tone filter) with its drive gain on a knob: gain 2 + 10 d for a knob d in [0, 1].
// Every frame the model reads holds two inputs, the audio sample and the knob. The knob goes
// through two dense layers to a scale and a shift for each of 8 channels (FiLM) that modulate the
// audio before five gated WaveNet layers (dilated causal convolution of kernel 3, tanh-sigmoid
// gate, 1x1 residual, skip sum; dilations 1..16); a 1x1 head reads the skip sum. It trains on
// windows of 256 samples of the training audio, each at one of the knob settings 0, 0.25, 0.5,
// 0.75 and 1, with Adam. Then, on held-out audio, streamed one sample per call:
//
//   - the error-to-signal ratio ESR = sum (y - y_hat)^2 / sum y^2 at each of the five settings;
//   - a sweep: the knob turns from 0 to 1 over the whole held-out audio, sample by sample, and the
//     model's output is compared with the circuit's at the same knob position.
//
// It writes dry.wav, reference_sweep.wav and model_sweep.wav, knob_esr.csv and knob_sweep.csv
// (examples/plot_knob.py draws them), and the stream's CPU time per sample.
//
//   drive_knob --train a.wav [--train b.wav ...] --test c.wav [--out DIR] [--steps N] [--max-esr E]
//   drive_knob --synthetic ...   (plucked-string "music" made here, for the CTest smoke run)
//
// ./quickstart.sh knob makes speech with espeak-ng and runs it. Exit 1 when the ESR at a setting
// is above --max-esr.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <hinge/hinge.hpp>

#include "audio.hpp"

namespace hn = hinge;
using namespace audio_demo;

// One WaveNet layer: tap<"in"> names its input for the residual addition.
template <std::size_t Dilation>
using wavenet_layer = hn::sequential<hn::tap<"in">, hn::conv1d<16, 3, 1, hn::padding::causal, Dilation>,
                                     hn::gated<hn::tanh, hn::sigmoid>, hn::accumulate<"skip">, hn::conv1d<8, 1>,
                                     hn::add<"in">>;

constexpr std::size_t window = 256;
using model = hn::network<hn::input<window, 2>,                                   // frames of [audio, knob]
                          hn::slice<1, 1>, hn::dense<16>, hn::tanh, hn::dense<16>,  // knob -> scale and shift
                          hn::tap<"film">,
                          hn::from<"input">, hn::slice<0, 1>, hn::conv1d<8, 1>,     // audio -> 8 channels
                          hn::film<"film">,
                          wavenet_layer<1>, wavenet_layer<2>, wavenet_layer<4>, wavenet_layer<8>,
                          hn::tap<"in">, hn::conv1d<16, 3, 1, hn::padding::causal, 16>, hn::gated<hn::tanh, hn::sigmoid>,
                          hn::accumulate<"skip">,
                          hn::from<"skip">, hn::conv1d<1, 1>>;

namespace {

constexpr std::array<float, 5> settings_of_knob{0.0f, 0.25f, 0.5f, 0.75f, 1.0f};
double gain(double knob) { return 2 + 10 * knob; }

struct options {
    std::vector<std::string> train;
    std::string test;
    std::string out = ".";
    bool synthetic = false;
    std::size_t steps = 3000;
    double max_esr = 1.0;
};

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "drive_knob: %s needs a value\n", arg.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (arg == "--train") o.train.push_back(value());
        else if (arg == "--test") o.test = value();
        else if (arg == "--out") o.out = value();
        else if (arg == "--synthetic") o.synthetic = true;
        else if (arg == "--steps") o.steps = std::stoul(value());
        else if (arg == "--max-esr") o.max_esr = std::stod(value());
        else {
            std::fprintf(stderr, "usage: drive_knob (--train FILE... --test FILE | --synthetic) [--out DIR] [--steps N] "
                                 "[--max-esr E]\n");
            std::exit(2);
        }
    }
    if (!o.synthetic && (o.train.empty() || o.test.empty())) {
        std::fprintf(stderr, "drive_knob: give --train and --test audio files, or --synthetic\n");
        std::exit(2);
    }
    return o;
}

// The model streamed over x with the knob at knob(t), one sample per call.
template <class Knob>
std::vector<float> stream_through(const hn::parameters<model>& params, const std::vector<float>& x, Knob knob) {
    auto s = std::make_unique<hn::stream<model>>();
    std::vector<float> y(x.size());
    for (std::size_t t = 0; t < x.size(); ++t) {
        const std::array<float, 2> frame{x[t], static_cast<float>(knob(t))};
        y[t] = (*s)(params, std::span<const float, 2>(frame))[0];
    }
    return y;
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    hn::flush_denormals_guard no_denormals;
    int rate = 22050;
    std::vector<float> dry, test_dry;
    if (o.synthetic) {
        dry = synthetic_music(static_cast<std::size_t>(rate) * 8, rate, 1);
        test_dry = synthetic_music(static_cast<std::size_t>(rate) * 3, rate, 2);
    } else {
        for (const std::string& path : o.train) {
            const audio a = read_audio(path);
            rate = a.rate;
            dry.insert(dry.end(), a.samples.begin(), a.samples.end());
        }
        const audio t = read_audio(o.test);
        if (t.rate != rate) {
            std::fprintf(stderr, "drive_knob: %s has %d Hz, the training audio %d Hz\n", o.test.c_str(), t.rate, rate);
            return 2;
        }
        test_dry = t.samples;
    }
    // The circuit's output at every knob setting, for training.
    std::vector<std::vector<float>> wet;
    for (float knob : settings_of_knob) wet.push_back(reference_effect(dry, rate, [&](std::size_t) { return gain(knob); }));
    std::printf("drive_knob: %.1f s of training audio, %.1f s held out, %d Hz; %zu Adam steps of 16 windows of %zu "
                "samples at knob settings 0, 0.25, 0.5, 0.75, 1\n",
                double(dry.size()) / rate, double(test_dry.size()) / rate, rate, o.steps, window);

    auto params = std::make_unique<hn::parameters<model>>();
    hn::init::automatic(*params, 7);
    constexpr std::size_t batch = 16;
    auto train = std::make_unique<hn::trainer<model, hn::loss::mean_squared_error, hn::optim::adam, hn::batch<batch>>>(
        *params, hn::optim::adam{});
    const hn::optim::cosine_decay schedule{4e-3f, 2e-4f, o.steps};
    hn::init::random_generator random(2);
    std::vector<float> x(batch * model::input_size), y(batch * model::output_size);
    const auto start = std::chrono::steady_clock::now();
    double loss = 0;
    for (std::size_t step = 0; step < o.steps; ++step) {
        for (std::size_t n = 0; n < batch; ++n) {
            const std::size_t setting = random.next() % settings_of_knob.size();
            const std::size_t offset = random.next() % (dry.size() - window);
            for (std::size_t t = 0; t < window; ++t) {
                x[(n * window + t) * 2] = dry[offset + t];
                x[(n * window + t) * 2 + 1] = settings_of_knob[setting];
                y[n * window + t] = wet[setting][offset + t];
            }
        }
        train->optimizer().learning_rate = schedule(step);
        loss += train->step(x.data(), y.data(), batch);
        if ((step + 1) % 500 == 0 || step + 1 == o.steps) {
            std::printf("  step %5zu  mean squared error %.6f\n", step + 1, loss / double(step % 500 + 1));
            loss = 0;
        }
    }
    const double train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::filesystem::create_directories(o.out);
    bool ok = true;
    std::printf("\nheld-out audio (%.1f s), streamed one sample per call:\n", double(test_dry.size()) / rate);
    std::FILE* esr_file = std::fopen((o.out + "/knob_esr.csv").c_str(), "w");
    std::fprintf(esr_file, "knob,gain,esr\n");
    for (float knob : settings_of_knob) {
        const std::vector<float> reference = reference_effect(test_dry, rate, [&](std::size_t) { return gain(knob); });
        const double esr = error_to_signal(reference, stream_through(*params, test_dry, [&](std::size_t) { return knob; }));
        std::printf("  knob %.2f (gain %4.1f): ESR %.4f (%.2f %%)\n", knob, gain(knob), esr, 100 * esr);
        std::fprintf(esr_file, "%.2f,%.1f,%.6f\n", knob, gain(knob), esr);
        ok = ok && esr <= o.max_esr;
    }
    std::fclose(esr_file);

    // The sweep: the knob turns from 0 to 1 over the held-out audio.
    const auto sweep = [&](std::size_t t) { return double(t) / double(test_dry.size() - 1); };
    const std::vector<float> reference = reference_effect(test_dry, rate, [&](std::size_t t) { return gain(sweep(t)); });
    const std::vector<float> output = stream_through(*params, test_dry, sweep);
    std::printf("  sweep 0 -> 1: ESR %.4f over the whole sweep\n", error_to_signal(reference, output));
    write_audio(o.out + "/dry.wav", test_dry, rate);
    write_audio(o.out + "/reference_sweep.wav", reference, rate);
    write_audio(o.out + "/model_sweep.wav", output, rate);
    std::FILE* sweep_file = std::fopen((o.out + "/knob_sweep.csv").c_str(), "w");
    std::fprintf(sweep_file, "seconds,knob,dry,reference,model\n");
    for (std::size_t t = 0; t < test_dry.size(); ++t)
        std::fprintf(sweep_file, "%.5f,%.4f,%.5f,%.5f,%.5f\n", double(t) / rate, sweep(t), test_dry[t], reference[t],
                     output[t]);
    std::fclose(sweep_file);

    // The stream's CPU time per sample, the fastest of 3 passes (thread CPU time: on a shared
    // machine wall-clock time also counts the waits for a core).
    double per_sample = 1e9;
    bool deterministic = true;
    for (int round = 0; round < 3; ++round) {
        const double t0 = thread_cpu_seconds();
        const std::vector<float> again = stream_through(*params, test_dry, sweep);
        per_sample = std::min(per_sample, (thread_cpu_seconds() - t0) / double(test_dry.size()));
        deterministic = deterministic && again == output;
    }
    std::printf("trained in %.1f s; the stream takes %.0f ns of CPU per sample (%.0fx faster than real time at 48 kHz)\n",
                train_seconds, 1e9 * per_sample, 1.0 / (per_sample * 48000.0));
    std::printf("wrote %s/{dry,reference_sweep,model_sweep}.wav, knob_esr.csv, knob_sweep.csv\n", o.out.c_str());
    if (!ok) std::printf("FAIL: an ESR is above --max-esr %.4f\n", o.max_esr);
    if (!deterministic) std::printf("FAIL: streaming the same audio twice gave different outputs\n");
    return ok && deterministic ? 0 : 1;
}
