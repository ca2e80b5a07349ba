// Built by quickstart.sh against an installed hinge (find_package(hinge CONFIG REQUIRED)):
// proves that the installed headers, the exported target and the installed hinge_add_dispatch()
// are complete, by training a network, checking that it learned something, and evaluating it
// through the run-time dispatched entry point on every arch this CPU runs.
#include <array>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

#include <hinge/runtime/dispatch.hpp>

#include "network.hpp"

int main() {
    hn::parameters<net> params;
    hn::init::he_normal(params, 1);
    hn::trainer<net, hn::loss::mean_squared_error, hn::optim::sgd, hn::batch<4>> train(params, {0.05f});
    const std::array<float, 4> x{-1.f, -0.5f, 0.5f, 1.f};
    const std::array<float, 4> t{1.f, 0.5f, 0.5f, 1.f};  // |x|
    const float first = train.step(x, t);
    float last = first;
    for (int i = 0; i < 500; ++i) last = train.step(x, t);
    std::printf("consumer: loss %.5f -> %.5f\n", static_cast<double>(first), static_cast<double>(last));
    if (!(last < first * 0.01f)) return 1;

    std::printf("consumer: default arch %s\n", std::string(hn::dispatched_inference<net>{}.arch_name()).c_str());
    hn::inference<net> direct;
    const float expected = direct(params, std::span<const float, 1>(&x[0], 1))[0];
    for (const char* arch : {"avx512bw", "fma3+avx2", "sse4.2", "sse2"}) {
        try {
            hn::dispatched_inference<net> dispatched(arch);
            const float y = dispatched(params, std::span<const float, 1>(&x[0], 1))[0];
            std::printf("consumer: dispatched %-9s f(-1) = %.6f (direct %.6f)\n", arch, static_cast<double>(y),
                        static_cast<double>(expected));
            if (!(std::abs(y - expected) <= 1e-5f * (1.f + std::abs(expected)))) return 1;
        } catch (const std::invalid_argument& e) {
            std::printf("consumer: %s\n", e.what());  // an arch this CPU lacks
        }
    }
    return 0;
}
