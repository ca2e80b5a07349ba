// A distortion with a drive knob, learned by a conditioned gated WaveNet and streamed while the
// knob turns.
//
// Every frame the model reads holds two inputs, the audio sample and the drive setting (0..1).
// The drive goes through two dense layers to a scale and a shift for each of 8 channels (FiLM),
// which modulate the audio before three gated WaveNet layers (dilated causal convolution,
// tanh-sigmoid gate, 1x1 residual, skip sum); a 1x1 head reads the skip sum. The reference is
// y = tanh(g x) with a gain g from 1 to 8 as the drive turns. Trained on windows of 64 samples
// with a random drive each, then streamed sample by sample over a held-out signal while the
// drive sweeps from 0 to 1; the error-to-signal ratio (ESR) is printed per fifth of the sweep.
// Exits with 1 when an ESR is above --max-esr (default 0.01).
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include <hinge/hinge.hpp>

namespace hn = hinge;

// One WaveNet layer: tap<"in"> names its input for the residual addition.
template <std::size_t Dilation>
using wavenet_layer = hn::sequential<hn::tap<"in">, hn::conv1d<16, 3, 1, hn::padding::causal, Dilation>,
                                     hn::gated<hn::tanh, hn::sigmoid>, hn::accumulate<"skip">, hn::conv1d<8, 1>,
                                     hn::add<"in">>;

constexpr std::size_t window = 64;
using model = hn::network<hn::input<window, 2>,                                   // frames of [audio, drive]
                          hn::slice<1, 1>, hn::dense<16>, hn::tanh, hn::dense<16>,  // drive -> scale and shift
                          hn::tap<"film">,
                          hn::from<"input">, hn::slice<0, 1>, hn::conv1d<8, 1>,     // audio -> 8 channels
                          hn::film<"film">,
                          wavenet_layer<1>, wavenet_layer<2>, wavenet_layer<4>,
                          hn::tap<"in">, hn::conv1d<16, 3, 1, hn::padding::causal, 8>, hn::gated<hn::tanh, hn::sigmoid>,
                          hn::accumulate<"skip">,
                          hn::from<"skip">, hn::conv1d<1, 1>>;

namespace {

float gain(float drive) { return 1.0f + 7.0f * drive; }

// A test signal: a few partials with drifting amplitudes, and a little noise.
struct signal_source {
    hn::init::random_generator random;
    double phase[3]{0, 0, 0};
    double t = 0;
    float next() {
        static constexpr double frequencies[3] = {0.0131, 0.0377, 0.0713};  // cycles per sample
        double x = 0;
        for (int k = 0; k < 3; ++k) {
            phase[k] += frequencies[k] * (1.0 + 0.2 * std::sin(1e-4 * t * (k + 1)));
            x += std::sin(6.283185307179586 * phase[k]) * (0.35 / (k + 1)) * (1.0 + 0.5 * std::sin(3e-4 * t + k));
        }
        t += 1;
        return static_cast<float>(x + 0.02 * (2 * random.uniform() - 1));
    }
};

}  // namespace

int main(int argc, char** argv) {
    double max_esr = 0.01;
    int steps = 800;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--max-esr")) max_esr = std::atof(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
    }

    auto params = std::make_unique<hn::parameters<model>>();
    hn::init::automatic(*params, 7);
    constexpr std::size_t batch = 16;
    auto train = std::make_unique<hn::trainer<model, hn::loss::mean_squared_error, hn::optim::adam, hn::batch<batch>>>(
        *params, hn::optim::adam{0.003f});

    // Training: every window has its own drive, held for the whole window.
    signal_source source{hn::init::random_generator(1)};
    hn::init::random_generator random(2);
    std::vector<float> x(batch * model::input_size), y(batch * model::output_size);
    const auto start = std::chrono::steady_clock::now();
    float loss = 0;
    for (int step = 0; step < steps; ++step) {
        for (std::size_t n = 0; n < batch; ++n) {
            const float drive = static_cast<float>(random.uniform());
            for (std::size_t t = 0; t < window; ++t) {
                const float s = source.next();
                x[(n * window + t) * 2] = s;
                x[(n * window + t) * 2 + 1] = drive;
                y[n * window + t] = std::tanh(gain(drive) * s);
            }
        }
        loss = train->step(x.data(), y.data(), batch);
        if (step % 500 == 0 || step + 1 == steps) std::printf("step %5d  loss %.5f\n", step, loss);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("trained %d steps of %zu windows in %.1f s\n", steps, batch, seconds);

    // Streaming a held-out signal while the drive sweeps from 0 to 1.
    constexpr std::size_t samples = 48000, bands = 5;
    signal_source held_out{hn::init::random_generator(99)};
    hn::stream<model> effect;
    std::array<double, bands> error{}, energy{};
    const auto stream_start = std::chrono::steady_clock::now();
    for (std::size_t t = 0; t < samples; ++t) {
        const float drive = static_cast<float>(t) / samples;
        const float s = held_out.next();
        const std::array<float, 2> frame{s, drive};
        const float out = effect(*params, std::span<const float, 2>(frame))[0];
        const float reference = std::tanh(gain(drive) * s);
        const std::size_t band = t * bands / samples;
        error[band] += (out - reference) * (out - reference);
        energy[band] += reference * reference;
    }
    const double stream_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - stream_start).count();
    std::printf("streamed %zu samples: %.0f ns per sample (with the reference and the ESR sums), %.0fx real time at "
                "48 kHz\n",
                samples, 1e9 * stream_seconds / samples, samples / 48000.0 / stream_seconds);
    bool ok = true;
    for (std::size_t b = 0; b < bands; ++b) {
        const double esr = error[b] / energy[b];
        ok = ok && esr <= max_esr;
        std::printf("drive %.1f-%.1f (gain %.1f-%.1f): ESR %.4f\n", double(b) / bands, double(b + 1) / bands,
                    gain(float(b) / bands), gain(float(b + 1) / bands), esr);
    }
    if (!ok) std::printf("an ESR is above %.3f\n", max_esr);
    return ok ? 0 : 1;
}
