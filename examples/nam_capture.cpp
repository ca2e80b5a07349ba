// A Neural Amp Modeler capture trained in C++: NAM's "nano" WaveNet learns the audio demo's
// distortion with hinge's trainer, is written as a .nam file that every NAM player reads, and is
// played back from that file by hinge's run-time player.
//
// The effect is the audio demo's circuit (examples/audio.hpp: pre-emphasis, an asymmetric soft
// clipper at gain 6, a tone filter). The model is hinge::nam::standard::wavenet_nano: NAM's nano
// size (two layer arrays of 4 and 2 channels, kernel 3, 20 dilated layers, 4,093 samples of
// receptive field, 842 weights). It trains on windows of 1,024 samples of the training audio with
// Adam and mean squared error, its last head started at NAM's head_scale (0.02), then:
//
//   1. nano::save gives the .nam model (NAM's config, its weights in NAM's order, head_scale 0.02,
//      the sample rate, metadata); nam::write_model_file writes it (capture.nam);
//   2. hinge::nam::player reads capture.nam back, as a plugin would, and plays the held-out audio
//      in blocks of 64: its output must equal the trained parameters' own stream (to rounding),
//      and its error-to-signal ratio against the circuit is reported, with NAM's fast tanh too.
//
//   nam_capture --train a.wav [--train b.wav ...] --test c.wav [--out DIR] [--steps N] [--lr R] [--max-esr E]
//   nam_capture --synthetic ...   (plucked-string "music" made here, for the CTest smoke run)
//
// ./quickstart.sh nam makes speech with espeak-ng and runs it. Exit 1 when the ESR is above
// --max-esr or the file does not play as the parameters do.
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
#include <hinge/nam/nam.hpp>
#include <hinge/nam/player.hpp>
#include <hinge/nam/standard.hpp>

#include "audio.hpp"

namespace hn = hinge;
namespace nam = hinge::nam;
using namespace audio_demo;

using nano = nam::standard::wavenet_nano;
constexpr std::size_t window = 1024;
using model = nano::network<window>;

namespace {

struct options {
    std::vector<std::string> train;
    std::string test;
    std::string out = ".";
    bool synthetic = false;
    std::size_t steps = 3000;
    double max_esr = 1.0;
    float learning_rate = 4e-3f;
};

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "nam_capture: %s needs a value\n", arg.c_str());
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
        else if (arg == "--lr") o.learning_rate = std::stof(value());
        else {
            std::fprintf(stderr, "usage: nam_capture (--train FILE... --test FILE | --synthetic) [--out DIR] "
                                 "[--steps N] [--lr R] [--max-esr E]\n");
            std::exit(2);
        }
    }
    if (!o.synthetic && (o.train.empty() || o.test.empty())) {
        std::fprintf(stderr, "nam_capture: give --train and --test audio files, or --synthetic\n");
        std::exit(2);
    }
    return o;
}

// The player over x in blocks of 64 samples, as a host's callback calls it.
std::vector<float> play(nam::player& p, const std::vector<float>& x) {
    std::vector<float> y(x.size());
    for (std::size_t at = 0; at < x.size(); at += 64) {
        const std::size_t n = std::min<std::size_t>(64, x.size() - at);
        p.process(std::span<const float>(x.data() + at, n), std::span<float>(y.data() + at, n));
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
            std::fprintf(stderr, "nam_capture: %s has %d Hz, the training audio %d Hz\n", o.test.c_str(), t.rate, rate);
            return 2;
        }
        test_dry = t.samples;
    }
    const std::vector<float> wet = reference_effect(dry, rate);
    std::printf("nam_capture: NAM's nano WaveNet (%zu weights, receptive field %zu samples); %.1f s of training audio, "
                "%.1f s held out, %d Hz; %zu Adam steps of 8 windows of %zu samples\n",
                nano::weight_count, nano::receptive_field, double(dry.size()) / rate, double(test_dry.size()) / rate,
                rate, o.steps, window);

    auto params = std::make_unique<hn::parameters<model>>();
    hn::init::automatic(*params, 11);
    // NAM scales the last head by head_scale (0.02): start the model's output as small as NAM's.
    {
        const auto head = params->layer<model::stage_count - 1>();
        for (std::size_t i = 0; i < decltype(head)::input_width; ++i) head.weight(0, i) *= nam::standard::head_scale;
    }
    constexpr std::size_t batch = 8;
    auto train = std::make_unique<hn::trainer<model, hn::loss::mean_squared_error, hn::optim::adam, hn::batch<batch>>>(
        *params, hn::optim::adam{});
    const hn::optim::cosine_decay schedule{o.learning_rate, o.learning_rate / 20, o.steps};
    hn::init::random_generator random(3);
    std::vector<float> x(batch * window), y(batch * window);
    const auto start = std::chrono::steady_clock::now();
    double loss = 0;
    for (std::size_t step = 0; step < o.steps; ++step) {
        for (std::size_t n = 0; n < batch; ++n) {
            const std::size_t offset = random.next() % (dry.size() - window);
            std::copy_n(dry.begin() + static_cast<std::ptrdiff_t>(offset), window, x.begin() + n * window);
            std::copy_n(wet.begin() + static_cast<std::ptrdiff_t>(offset), window, y.begin() + n * window);
        }
        train->optimizer().learning_rate = schedule(step);
        loss += train->step(x.data(), y.data(), batch);
        if ((step + 1) % 100 == 0 || step + 1 == o.steps) {
            std::printf("  step %5zu  mean squared error %.7f\n", step + 1, loss / double(step % 100 + 1));
            loss = 0;
        }
    }
    const double train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    // 1. The .nam file.
    std::filesystem::create_directories(o.out);
    const std::string path = o.out + "/capture.nam";
    nam::model_file file = nano::save(*params, nam::standard::head_scale);
    file.sample_rate = rate;
    file.metadata_json = R"({"name":"hinge nam_capture demo","modeled_by":"hinge","gear_type":"pedal",)"
                         R"("gear_make":"examples/audio.hpp","gear_model":"asymmetric soft clipper, gain 6",)"
                         R"("tone_type":"overdrive"})";
    nam::write_model_file(path, file);

    // 2. Played back from the file, against the trained parameters' own stream.
    nam::player player;
    player.load(path);
    const std::vector<float> played = play(player, test_dry);
    auto s = std::make_unique<hn::stream<model>>();
    nam::prewarm(*s, *params, player.prewarm_samples());
    std::vector<float> streamed(test_dry.size());
    s->process(*params, test_dry, streamed);
    double worst = 0, peak = 0;
    for (std::size_t t = 0; t < played.size(); ++t) {
        worst = std::max(worst, std::fabs(double(played[t]) - double(streamed[t])));
        peak = std::max(peak, std::fabs(double(streamed[t])));
    }
    const std::vector<float> reference = reference_effect(test_dry, rate);
    const double esr = error_to_signal(reference, played);
    nam::player fast;
    fast.load(path, {.fast_tanh = true});
    const double fast_esr = error_to_signal(reference, play(fast, test_dry));

    std::printf("\ntrained in %.1f s; wrote %s (%ju bytes)\n", train_seconds, path.c_str(),
                static_cast<std::uintmax_t>(std::filesystem::file_size(path)));
    std::printf("played back from the file by hinge::nam::player (%s, blocks of 64, prewarm %zu samples):\n",
                std::string(player.size()).c_str(), player.prewarm_samples());
    std::printf("  max |player - trained stream| = %.3g (peak %.3f)\n", worst, peak);
    std::printf("  held-out ESR %.4f (%.2f %%); with NAM's fast tanh %.4f (%.2f %%)\n", esr, 100 * esr, fast_esr,
                100 * fast_esr);
    write_audio(o.out + "/dry.wav", test_dry, rate);
    write_audio(o.out + "/reference.wav", reference, rate);
    write_audio(o.out + "/capture.wav", played, rate);
    std::printf("wrote %s/{dry,reference,capture}.wav\n", o.out.c_str());

    bool ok = true;
    if (!(worst <= 1e-5 * peak) || !(peak > 0)) {
        std::printf("FAIL: the file does not play as the trained parameters stream\n");
        ok = false;
    }
    if (!(esr <= o.max_esr)) {
        std::printf("FAIL: the ESR is above --max-esr %.4f\n", o.max_esr);
        ok = false;
    }
    return ok ? 0 : 1;
}
