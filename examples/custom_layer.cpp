// A layer of your own in a network: my::rms_norm (examples/rms_norm.hpp), defined outside hinge.
//
// The model: a per-step dense layer, the RMS norm with tanh fused, a GRU and a per-step output,
// learning a small nonlinear filter from noise; then the same model streamed one sample at a
// time, and saved and loaded.
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include <hinge/hinge.hpp>
#include <hinge/io/save.hpp>

#include "rms_norm.hpp"

namespace hn = hinge;

// A per-step dense layer, the user's RMS norm with tanh fused into it, a GRU, a per-step output.
constexpr std::size_t steps = 32;
using model = hn::network<hn::input<steps, 1>, hn::dense<8>, my::rms_norm<>, hn::tanh, hn::gru<8>, hn::dense<1>>;

int main() {
    std::printf("model: %s\n", std::string(hn::io::architecture_description<model>).c_str());
    auto params = std::make_unique<hn::parameters<model>>();
    hn::init::automatic(*params, 7);

    // The filter to learn: y_t = tanh(2 x_t - x_{t-1}), on uniform noise.
    constexpr std::size_t batch = 16;
    hn::init::random_generator random(3);
    const auto make_batch = [&](std::vector<float>& x, std::vector<float>& y) {
        x.resize(batch * steps);
        y.resize(batch * steps);
        for (std::size_t n = 0; n < batch; ++n)
            for (std::size_t t = 0; t < steps; ++t) {
                x[n * steps + t] = static_cast<float>(2 * random.uniform() - 1);
                const float previous = t > 0 ? x[n * steps + t - 1] : 0.0f;
                y[n * steps + t] = std::tanh(2 * x[n * steps + t] - previous);
            }
    };
    auto train = std::make_unique<hn::trainer<model, hn::loss::mean_squared_error, hn::optim::adam, hn::batch<batch>>>(
        *params, hn::optim::adam{0.01f});
    std::vector<float> x, y;
    float first = 0, last = 0;
    for (int step = 0; step < 400; ++step) {
        make_batch(x, y);
        const float loss = train->step(x.data(), y.data(), batch);
        if (step == 0) first = loss;
        last = loss;
    }
    std::printf("training: mean squared error %.4f at the first step, %.4f after 400\n", first, last);

    // Streamed one sample at a time, the model gives what it gives on the whole sequence.
    make_batch(x, y);
    auto whole = std::make_unique<hn::workspace<model, 1, float, false>>();
    hn::forward(*params, *whole, x.data(), 1);
    hn::stream<model> stream;
    float worst = 0;
    for (std::size_t t = 0; t < steps; ++t) {
        const float streamed = stream(*params, std::span<const float, 1>(&x[t], 1))[0];
        worst = std::max(worst, std::fabs(streamed - whole->output(0, t)[0]));
    }
    std::printf("streamed vs whole sequence: largest difference %.2e\n", worst);

    // Saved and loaded like any model: the file names the layer in its architecture.
    const std::filesystem::path file = std::filesystem::temp_directory_path() / "custom_layer.hinge";
    hn::io::save(*params, file.string());
    auto loaded = std::make_unique<hn::parameters<model>>();
    hn::io::load(*loaded, file.string());
    std::filesystem::remove(file);
    std::printf("saved and loaded: %s\n", *loaded == *params ? "the same parameters" : "DIFFERENT");

    const bool ok = last < 0.25f * first && worst < 1e-5f && *loaded == *params;
    std::printf("%s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
