// Concurrent inference: several threads share one const parameters object, each with its own
// inference<> object (batch 1) or workspace (batch 8), and every result must equal the
// single-threaded one bit for bit. thread_team.cpp adds the thread teams' checks (parallel
// training steps and forward passes) to the same executable. Built as its own small executable so that quickstart.sh can
// also build and run it under ThreadSanitizer, which then checks that inference only reads the
// shared parameters.
#include <array>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include <hinge/hinge.hpp>

namespace hn = hinge;

namespace {

using net = hn::network<hn::input<40>, hn::dense<64>, hn::relu, hn::dense<48>, hn::batch_norm, hn::prelu,
                        hn::dense<32>, hn::gelu, hn::dense<10>>;
constexpr std::size_t samples = 64, threads = 4, rounds = 20, batch = 8;

float input_value(std::size_t sample, std::size_t i) {
    return static_cast<float>((sample * 131 + i * 17) % 97) / 48.5f - 1.0f;
}

}  // namespace

int thread_team_checks();  // thread_team.cpp

int main() {
    if (thread_team_checks() != 0) return 1;

    auto params = std::make_unique<hn::parameters<net>>();
    hn::init::he_normal(*params, 11);
    for (std::size_t o = 0; o < 48; ++o) {  // non-trivial batch_norm statistics
        params->layer<2>().running_mean(o) = 0.01f * static_cast<float>(o);
        params->layer<2>().running_variance(o) = 1.0f + 0.02f * static_cast<float>(o);
    }
    const hn::parameters<net>& shared = *params;

    std::vector<float> x(samples * net::input_size);
    for (std::size_t s = 0; s < samples; ++s)
        for (std::size_t i = 0; i < net::input_size; ++i) x[s * net::input_size + i] = input_value(s, i);

    // Single-threaded reference.
    std::vector<float> expected(samples * net::output_size);
    {
        auto run = std::make_unique<hn::inference<net>>();
        for (std::size_t s = 0; s < samples; ++s) {
            const auto y = (*run)(shared, std::span<const float, net::input_size>(x.data() + s * net::input_size,
                                                                                  net::input_size));
            std::memcpy(expected.data() + s * net::output_size, y.data(), sizeof(float) * net::output_size);
        }
    }

    // Batch 8 runs another kernel (register tiles instead of batch 1's split accumulators), whose
    // summation order differs: it gets its own single-threaded reference.
    std::vector<float> expected_batched(samples * net::output_size);
    {
        auto ws = std::make_unique<hn::workspace<net, batch, float, false>>();
        for (std::size_t first = 0; first < samples; first += batch) {
            hn::forward(shared, *ws, x.data() + first * net::input_size, batch);
            for (std::size_t r = 0; r < batch; ++r)
                std::memcpy(expected_batched.data() + (first + r) * net::output_size, ws->output(r).data(),
                            sizeof(float) * net::output_size);
        }
    }

    std::array<std::size_t, threads> mismatches{};
    std::vector<std::thread> pool;
    for (std::size_t t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            auto run = std::make_unique<hn::inference<net>>();  // batch 1, own workspace
            auto ws = std::make_unique<hn::workspace<net, batch, float, false>>();  // batch 8, own workspace
            for (std::size_t round = 0; round < rounds; ++round) {
                for (std::size_t k = 0; k < samples; ++k) {
                    const std::size_t s = (k + t * 13 + round) % samples;
                    const auto y = (*run)(shared, std::span<const float, net::input_size>(
                                                      x.data() + s * net::input_size, net::input_size));
                    mismatches[t] += std::memcmp(y.data(), expected.data() + s * net::output_size,
                                                 sizeof(float) * net::output_size) != 0;
                }
                for (std::size_t first = 0; first < samples; first += batch) {
                    hn::forward(shared, *ws, x.data() + first * net::input_size, batch);
                    for (std::size_t r = 0; r < batch; ++r)
                        mismatches[t] += std::memcmp(ws->output(r).data(), expected_batched.data() + (first + r) * net::output_size,
                                                     sizeof(float) * net::output_size) != 0;
                }
            }
        });
    }
    for (std::thread& th : pool) th.join();

    std::size_t total = 0;
    for (std::size_t m : mismatches) total += m;
    std::printf("concurrent inference: %zu threads x %zu rounds x %zu samples (batch 1 and batch %zu): %zu mismatches\n",
                threads, rounds, samples, batch, total);
    return total == 0 ? 0 : 1;
}
