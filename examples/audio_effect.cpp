// Learn a guitar-pedal-like distortion from audio, then run it sample by sample in real time.
//
// The effect to learn (reference_effect in examples/audio.hpp, the "circuit"): a pre-emphasis
// filter, a drive stage into an asymmetric soft clipper (positive half clips harder than the
// negative one, as a diode pair of unequal forward voltages does) and a one-pole low-pass tone
// filter: memory before and after a non-linearity, the case a memoryless model cannot learn. Two hinge models learn it
// from (dry, wet) audio by truncated backpropagation through time on windows of 256 samples, the
// state carried from window to window (hinge::trainer::carry_state):
//
//   gru:   input<256, 1> -> gru<16> -> dense<1>                         (1,185 parameters)
//   conv:  input<256, 1> -> 7 causal conv1d<8, 2> with dilations 1..64, tanh -> dense<1>
//          (receptive field 128 samples, 929 parameters)
//
// Then each runs through hinge::stream, one sample per call, over held-out audio: the program
// reports the error-to-signal ratio ESR = sum (y - y_hat)^2 / sum y^2 (the metric of
// neural amp modelling), the training time, and the time per sample as a real-time factor at
// 48 kHz; it writes the held-out audio (dry, reference, both models) as WAV with libsndfile, a
// learning curve and a waveform excerpt as CSV (examples/plot_audio.py draws them).
//
//   audio_effect --train a.wav [--train b.wav ...] --test c.wav [--out DIR] [--epochs N]
//                [--max-esr E] [--min-speed X]
//   audio_effect --synthetic ...   (plucked-string "music" made here, for the CTest smoke run)
//
// ./quickstart.sh audio makes the speech with espeak-ng (Debian's speech synthesiser) and runs it.
// Exit 1 when a model's held-out ESR is above --max-esr or its stream is slower than --min-speed
// times real time at 48 kHz.
#include <algorithm>
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

namespace {

using namespace audio_demo;

// ---- the models -----------------------------------------------------------------------------------

constexpr std::size_t window = 256, batch = 16;

using gru_model = hn::network<hn::input<window, 1>, hn::gru<16>, hn::dense<1>>;

template <std::size_t D>
using causal = hn::sequential<hn::conv1d<8, 2, 1, hn::padding::causal, D>, hn::tanh>;
using conv_model = hn::network<hn::input<window, 1>, causal<1>, causal<2>, causal<4>, causal<8>, causal<16>,
                               causal<32>, causal<64>, hn::dense<1>>;

struct settings {
    std::vector<std::string> train;
    std::string test;
    std::string out = ".";
    bool synthetic = false;
    std::size_t epochs = 30;
    double max_esr = 1.0;
    double min_speed = 0;  // times real time at 48 kHz
};

struct result {
    std::vector<float> output;  // held-out audio through the stream
    double esr = 0, train_seconds = 0, seconds_per_sample = 0;
};

// The model run as a stream over x, one sample per call.
template <class Net>
std::vector<float> stream_through(const hn::parameters<Net>& params, const std::vector<float>& x) {
    auto s = std::make_unique<hn::stream<Net>>();
    std::vector<float> y(x.size());
    s->process(params, x, y);
    return y;
}

template <class Net>
result train_and_evaluate(const char* name, const std::vector<float>& dry, const std::vector<float>& wet,
                          const std::vector<float>& test_dry, const std::vector<float>& test_wet, const settings& s,
                          std::FILE* curve) {
    auto params = std::make_unique<hn::parameters<Net>>();
    hn::init::automatic(*params, 1);
    using trainer_type = hn::trainer<Net, hn::loss::mean_squared_error, hn::optim::adam, hn::batch<batch>>;
    auto train = std::make_unique<trainer_type>(*params, hn::optim::adam{});
    train->carry_state(true);  // truncated BPTT: each row of a batch continues its own segment

    // batch contiguous segments of the training audio, read window by window in parallel.
    const std::size_t segment = dry.size() / batch / window * window;
    const std::size_t steps_per_epoch = segment / window;
    std::vector<float> x(batch * window), y(batch * window);
    const hn::optim::cosine_decay schedule{5e-3f, 2e-4f, s.epochs * steps_per_epoch};
    std::size_t step = 0;
    double train_seconds = 0;
    double signal_power = 0;
    for (std::size_t t = 0; t < batch * segment; ++t) signal_power += double(wet[t]) * wet[t];
    signal_power /= double(batch * segment);

    for (std::size_t epoch = 1; epoch <= s.epochs; ++epoch) {
        const auto start = std::chrono::steady_clock::now();
        train->reset_state();
        double loss = 0;
        for (std::size_t w = 0; w < steps_per_epoch; ++w) {
            for (std::size_t r = 0; r < batch; ++r)
                for (std::size_t t = 0; t < window; ++t) {
                    x[r * window + t] = dry[r * segment + w * window + t];
                    y[r * window + t] = wet[r * segment + w * window + t];
                }
            train->optimizer().learning_rate = schedule(step++);
            loss += train->step(x.data(), y.data(), batch);
        }
        train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();  // wall
        const double train_esr = loss / double(steps_per_epoch) / signal_power;
        const double test_esr = error_to_signal(test_wet, stream_through(*params, test_dry));
        std::printf("  %-4s epoch %3zu  train ESR %.4f  held-out ESR %.4f  (%.1f s)\n", name, epoch, train_esr,
                    test_esr, train_seconds);
        std::fprintf(curve, "%s,%zu,%.6f,%.6f,%.3f\n", name, epoch, train_esr, test_esr, train_seconds);
    }

    result r;
    r.train_seconds = train_seconds;
    r.output = stream_through(*params, test_dry);
    r.esr = error_to_signal(test_wet, r.output);
    // Per-sample time of the stream, the fastest of 5 passes over the held-out audio, in the
    // thread's CPU time: on a shared machine wall-clock time also counts the waits for a core
    // (on a quiet one the two agree).
    auto s2 = std::make_unique<hn::stream<Net>>();
    std::vector<float> sink(test_dry.size());
    r.seconds_per_sample = 1e9;
    for (int round = 0; round < 5; ++round) {
        s2->reset();
        const double start = thread_cpu_seconds();
        s2->process(*params, test_dry, sink);
        r.seconds_per_sample = std::min(r.seconds_per_sample, (thread_cpu_seconds() - start) / double(test_dry.size()));
    }
    return r;
}

settings parse(int argc, char** argv) {
    settings s;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "audio_effect: %s needs a value\n", arg.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (arg == "--train") s.train.push_back(value());
        else if (arg == "--test") s.test = value();
        else if (arg == "--out") s.out = value();
        else if (arg == "--synthetic") s.synthetic = true;
        else if (arg == "--epochs") s.epochs = std::stoul(value());
        else if (arg == "--max-esr") s.max_esr = std::stod(value());
        else if (arg == "--min-speed") s.min_speed = std::stod(value());
        else {
            std::fprintf(stderr, "usage: audio_effect (--train FILE... --test FILE | --synthetic) [--out DIR] "
                                 "[--epochs N] [--max-esr E] [--min-speed X]\n");
            std::exit(2);
        }
    }
    if (!s.synthetic && (s.train.empty() || s.test.empty())) {
        std::fprintf(stderr, "audio_effect: give --train and --test audio files, or --synthetic\n");
        std::exit(2);
    }
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    const settings s = parse(argc, argv);
    hn::flush_denormals_guard no_denormals;  // real-time audio: decaying signals must not go subnormal
    int rate = 22050;
    std::vector<float> dry, test_dry;
    if (s.synthetic) {
        dry = synthetic_music(static_cast<std::size_t>(rate) * 12, rate, 1);
        test_dry = synthetic_music(static_cast<std::size_t>(rate) * 3, rate, 2);
    } else {
        for (const std::string& path : s.train) {
            const audio a = read_audio(path);
            rate = a.rate;
            dry.insert(dry.end(), a.samples.begin(), a.samples.end());
        }
        const audio t = read_audio(s.test);
        if (t.rate != rate) {
            std::fprintf(stderr, "audio_effect: %s has %d Hz, the training audio %d Hz\n", s.test.c_str(), t.rate, rate);
            return 2;
        }
        test_dry = t.samples;
    }
    const std::vector<float> wet = reference_effect(dry, rate), test_wet = reference_effect(test_dry, rate);
    std::printf("audio_effect: %.1f s of training audio, %.1f s held out, %d Hz; %zu epochs of windows of %zu "
                "samples, batch %zu, Adam\n",
                double(dry.size()) / rate, double(test_dry.size()) / rate, rate, s.epochs, window, batch);

    std::filesystem::create_directories(s.out);
    std::FILE* curve = std::fopen((s.out + "/audio_learning_curve.csv").c_str(), "w");
    std::fprintf(curve, "model,epoch,train_esr,test_esr,seconds\n");
    const result gru = train_and_evaluate<gru_model>("gru", dry, wet, test_dry, test_wet, s, curve);
    const result conv = train_and_evaluate<conv_model>("conv", dry, wet, test_dry, test_wet, s, curve);
    std::fclose(curve);

    write_audio(s.out + "/dry.wav", test_dry, rate);
    write_audio(s.out + "/reference.wav", test_wet, rate);
    write_audio(s.out + "/gru.wav", gru.output, rate);
    write_audio(s.out + "/conv.wav", conv.output, rate);
    // A 20 ms excerpt for the waveform plot: the one with the most energy (voiced speech, where the
    // clipper works hardest), on a 5 ms grid.
    const std::size_t excerpt = static_cast<std::size_t>(rate) / 50, hop = static_cast<std::size_t>(rate) / 200;
    std::size_t loudest = 0;
    double best = -1;
    for (std::size_t t = 0; t + excerpt <= test_wet.size(); t += hop) {
        double e = 0;
        for (std::size_t k = t; k < t + excerpt; ++k) e += double(test_dry[k]) * test_dry[k];
        if (e > best) best = e, loudest = t;
    }
    std::FILE* wave = std::fopen((s.out + "/audio_waveform.csv").c_str(), "w");
    std::fprintf(wave, "milliseconds,dry,reference,gru,conv\n");
    for (std::size_t t = loudest; t < std::min(test_wet.size(), loudest + excerpt); ++t)
        std::fprintf(wave, "%.3f,%.5f,%.5f,%.5f,%.5f\n", 1000.0 * double(t - loudest) / rate, test_dry[t], test_wet[t],
                     gru.output[t], conv.output[t]);
    std::fclose(wave);

    bool ok = true;
    std::printf("\nheld-out audio (%.1f s), streamed one sample per call:\n", double(test_dry.size()) / rate);
    for (const auto& [name, r] : {std::pair<const char*, const result&>{"gru<16>", gru}, {"conv1d x7", conv}}) {
        const double speed = 1.0 / (r.seconds_per_sample * 48000.0);
        std::printf("  %-10s ESR %.4f (%.2f %%)  trained in %.1f s  %.1f ns of CPU per sample = %.0fx faster than "
                    "real time at 48 kHz\n",
                    name, r.esr, 100 * r.esr, r.train_seconds, 1e9 * r.seconds_per_sample, speed);
        if (!(r.esr <= s.max_esr)) {
            std::printf("  FAIL: %s's held-out ESR %.4f is above --max-esr %.4f\n", name, r.esr, s.max_esr);
            ok = false;
        }
        if (speed < s.min_speed) {
            std::printf("  FAIL: %s runs %.0fx real time, below --min-speed %.0f\n", name, speed, s.min_speed);
            ok = false;
        }
    }
    std::printf("wrote %s/{dry,reference,gru,conv}.wav, audio_learning_curve.csv, audio_waveform.csv\n", s.out.c_str());
    return ok ? 0 : 1;
}
