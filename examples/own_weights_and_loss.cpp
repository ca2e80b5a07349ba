// Bring your own weights and your own loss. Weights are copied in from plain [out][in] arrays
// (as another framework or a file would hand them over) stage by stage with for_each_index and
// layer<I>(), or by PyTorch name through io::tensor_table, then the network is trained with a loss hinge does not ship (Huber), by feeding its
// dL/dy to backward through seed_output_gradient and applying an optimizer's update by hand.
// docs/training.md ("Your own weights and your own loss") quotes the lines marked "README"; a test
// keeps them in this file.
#include <array>
#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

#include <hinge/hinge.hpp>
#include <hinge/io/architecture.hpp>  // io::tensor_table (header-only; no zlib needed)

namespace hn = hinge;

using net = hn::network<hn::input<2>, hn::dense<8>, hn::relu, hn::dense<1>>;
constexpr std::size_t batch = 4;

// Huber loss (delta 1) of one output and its derivative: quadratic near 0, linear beyond.
float huber(float d) { return std::abs(d) <= 1.f ? 0.5f * d * d : std::abs(d) - 0.5f; }
float huber_derivative(float d) { return std::abs(d) <= 1.f ? d : (d > 0.f ? 1.f : -1.f); }

int main() {
    // Imported weights: stage I's weight(o, i) is source[I][o * input_width + i], its biases 0.
    std::vector<std::vector<float>> source(net::stage_count);
    for (std::size_t s = 0; s < source.size(); ++s)
        for (std::size_t k = 0; k < 16; ++k) source[s].push_back(0.5f * std::sin(1.f + 3.f * float(s) + float(k)));

    auto params = std::make_unique<hn::parameters<net>>();
    params->fill_zero();  // biases and padding
    hn::for_each_index<net::stage_count>([&](auto index) {  // README
        constexpr std::size_t I = decltype(index)::value;
        // The view of stage I: weight(o, i), bias(o), input_width, output_width.
        auto layer = params->layer<I>();  // README
        for (std::size_t o = 0; o < layer.output_width; ++o)
            for (std::size_t i = 0; i < layer.input_width; ++i) layer.weight(o, i) = source[I][o * layer.input_width + i];
    });
    // Read back (the export direction is the same loop with the assignment turned around).
    if (params->layer<1>().weight(0, 7) != source[1][7]) return 1;

    // The same import by tensor: every tensor's PyTorch name ("0.weight", "2.bias": the modules
    // of the equivalent torch.nn.Sequential), shape, and where element k of it lives.
    auto by_name = std::make_unique<hn::parameters<net>>();
    by_name->fill_zero();
    for (const hn::io::tensor_slot& slot : hn::io::tensor_table<net, float>())  // README
        if (slot.role == hn::io::tensor_role::weight)
            for (std::size_t k = 0; k < slot.count; ++k) by_name->data()[slot.element(k)] = source[slot.stage][k];
    for (std::size_t k = 0; k < hn::parameters<net>::storage_size; ++k)
        if (by_name->data()[k] != params->data()[k]) return 1;

    // Train y = |x0| + |x1| with the Huber loss: forward, dL/dy, backward, SGD.
    const std::array<float, batch * 2> x{-1.f, 0.5f, 0.25f, -0.75f, 1.f, 1.f, -0.5f, -0.25f};
    std::array<float, batch> t{};
    for (std::size_t r = 0; r < batch; ++r) t[r] = std::abs(x[2 * r]) + std::abs(x[2 * r + 1]);
    auto ws = std::make_unique<hn::workspace<net, batch>>();
    auto grads = std::make_unique<hn::gradients<net>>();
    hn::optim::sgd sgd{0.05f};
    float first = 0.f, last = 0.f;
    for (int step = 0; step < 300; ++step) {
        hn::train_forward(*params, *ws, x.data(), batch);  // README
        float loss = 0.f;
        for (std::size_t r = 0; r < batch; ++r) loss += huber(ws->output(r)[0] - t[r]) / float(batch);
        (step == 0 ? first : last) = loss;
        hn::seed_output_gradient(*params, *ws, *grads, batch, [&](std::size_t r, std::size_t j) { return huber_derivative(ws->output(r)[j] - t[r]) / float(batch); });  // README
        hn::backward(*params, *ws, x.data(), *grads, batch);  // README
        sgd.update(*params, *grads);  // README
    }
    std::printf("Huber loss %.5f -> %.5f after 300 steps from imported weights\n", double(first), double(last));
    return last < 0.1f * first ? 0 : 1;
}
