// A classifier trained in PyTorch and compiled into this program (docs/interop.md).
//
// train.py trains nn.Sequential(Linear(2, 32), ReLU, Linear(32, 32), ReLU, Linear(32, 2)) on two
// interleaved spirals and saves it; at build time hinge_add_model() (CMakeLists.txt) turns the saved
// model into spiral_net.hpp (the type) and spiral_net.cpp (the trained parameters, compiled in). So
// this program opens no file and allocates nothing: spiral_net_parameters is read-only data, and
// hinge::inference keeps its workspace inside itself (here on the stack).
//
// It classifies 1000 noise-free points along both spirals (the ones train.py reports PyTorch's
// accuracy on) and fails below 95 % (PyTorch reaches 99.7 %; the two agree to rounding).
#include <cmath>
#include <cstdio>
#include <numbers>
#include <span>

#include <hinge/hinge.hpp>

#include "spiral_net.hpp"  // generated: using spiral_net = hinge::network<...>; spiral_net_parameters

int main() {
    constexpr double turns = 1.75, offset = 0.5, pi = std::numbers::pi;
    constexpr int points = 1000;
    hinge::inference<spiral_net> run;
    int correct = 0;
    for (int k = 0; k < points; ++k) {
        const int label = k % 2;
        const double t = double(k / 2) / (points / 2) * turns * 2 * pi + offset;
        const double angle = t + pi * label, radius = t / (2 * pi);
        const float x[2] = {float(radius * std::cos(angle)), float(radius * std::sin(angle))};
        const std::span<const float, 2> scores = run(spiral_net_parameters, std::span<const float, 2>(x));
        correct += (scores[1] > scores[0] ? 1 : 0) == label;
    }
    const double accuracy = 100.0 * correct / points;
    std::printf("from_pytorch: %.*s, trained in PyTorch, compiled in: %.1f %% of %d points on the right spiral\n",
                static_cast<int>(spiral_net_architecture.size()), spiral_net_architecture.data(), accuracy, points);
    return accuracy >= 95.0 ? 0 : 1;
}
