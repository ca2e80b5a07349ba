// The quick-start demo: a small ReLU network learns the continuous XOR problem (the class of a
// point in [-1, 1]^2 is whether x and y have the same sign), which no linear model can solve.
// It trains with softmax cross-entropy and SGD, prints the accuracy on held-out points, draws
// the learned decision map, and times batch-1 inference.
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>

#include <hinge/hinge.hpp>

namespace hn = hinge;

using model = hn::network<hn::input<2>,
                          hn::dense<32>, hn::relu,
                          hn::dense<32>, hn::relu,
                          hn::dense<2>>;  // two logits: "different signs", "same sign"
constexpr std::size_t batch_size = 32;

struct data_set {
    static constexpr std::size_t size = 2048;
    std::array<float, 2 * size> points{};
    std::array<std::uint32_t, size> labels{};

    explicit data_set(std::uint64_t seed) {
        hn::init::random_generator random(seed);
        for (std::size_t i = 0; i < size; ++i) {
            const float x = static_cast<float>(2 * random.uniform() - 1);
            const float y = static_cast<float>(2 * random.uniform() - 1);
            points[2 * i] = x;
            points[2 * i + 1] = y;
            labels[i] = (x > 0) == (y > 0) ? 1u : 0u;
        }
    }
};

static std::uint32_t predict(hn::inference<model>& run, const hn::parameters<model>& p, float x, float y) {
    const std::array<float, 2> point{x, y};
    const auto logits = run(p, point);
    return logits[1] > logits[0] ? 1u : 0u;
}

int main() {
    static_assert(model::parameter_count == 2 * 32 + 32 + 32 * 32 + 32 + 32 * 2 + 2);

    // Storage is the caller's: here, on the heap, once, outside the training loop.
    auto params = std::make_unique<hn::parameters<model>>();
    hn::init::he_normal(*params, /*seed=*/42);
    auto train = std::make_unique<hn::trainer<model, hn::loss::softmax_cross_entropy, hn::optim::sgd,
                                              hn::batch<batch_size>>>(*params, hn::optim::sgd{0.1f});

    const auto training = std::make_unique<data_set>(1);
    const auto held_out = std::make_unique<data_set>(2);
    hn::inference<model> run;

    std::printf("hinge demo: continuous XOR, network 2 -> 32 -> 32 -> 2 (ReLU), %zu parameters\n",
                model::parameter_count);
    const auto start = std::chrono::steady_clock::now();
    for (int epoch = 1; epoch <= 30; ++epoch) {
        float loss = 0;
        constexpr std::size_t batches = data_set::size / batch_size;
        for (std::size_t b = 0; b < batches; ++b)
            loss += train->step(std::span<const float, batch_size * 2>(training->points.data() + b * batch_size * 2,
                                                                         batch_size * 2),
                                std::span<const std::uint32_t, batch_size>(training->labels.data() + b * batch_size,
                                                                           batch_size));
        if (epoch % 5 == 0) {
            std::size_t correct = 0;
            for (std::size_t i = 0; i < data_set::size; ++i)
                correct += predict(run, *params, held_out->points[2 * i], held_out->points[2 * i + 1]) ==
                           held_out->labels[i];
            std::printf("epoch %2d  training loss %.4f  held-out accuracy %.1f%%\n", epoch,
                        static_cast<double>(loss / batches), 100.0 * static_cast<double>(correct) / data_set::size);
        }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("trained 30 epochs in %.3f s\n\n", seconds);

    std::printf("learned decision map ('#' same sign, '.' different signs), x right, y up:\n");
    for (int row = 0; row < 16; ++row) {
        const float y = 1.f - (static_cast<float>(row) + 0.5f) / 8.f;
        std::printf("  ");
        for (int column = 0; column < 40; ++column) {
            const float x = -1.f + (static_cast<float>(column) + 0.5f) / 20.f;
            std::putchar(predict(run, *params, x, y) == 1u ? '#' : '.');
        }
        std::putchar('\n');
    }

    constexpr int calls = 200000;
    float sink = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < calls; ++i) {
        const std::array<float, 2> point{static_cast<float>(i % 97) * 0.01f - 0.5f, 0.25f};
        sink += run(*params, point)[1];
    }
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / calls;
    std::printf("\nbatch-1 inference: %.0f ns per call (no allocation; checksum %.3f)\n", ns, static_cast<double>(sink));
}
