#pragma once
// Gradient flow: how large the gradient is when it reaches each stage, for one batch.
//
//   auto flow = std::make_unique<hinge::analysis::gradient_flow<net, 32, double>>();
//   const auto& g = flow->measure(params, x, 32, [&](std::size_t r, std::size_t j) { return dL_dy(r, j); });
//   g[0].weight, g[0].input, g[3].pre_activation ...
//
// and a depth sweep, which builds one network per depth (depth is a type parameter):
//
//   auto curve = hinge::analysis::sweep_depth<hinge::sigmoid, 64>(hinge::analysis::depths<5, 10, 20>{},
//                    [](auto& p, std::uint64_t seed) { hinge::init::he_normal(p, seed); }, 7);
//
// The parameter gradients come from one train_forward + backward on the batch, as in training.
// The gradient with respect to each stage's input (dL/dy of the stage before) and pre-activation
// (dL/dz) are not kept by backward, which reuses two buffers for them; they are recovered
// exactly by running each sample alone: with one row, stage I's bias gradient *is* dL/dz_I, and
// dL/dx_I = W_I^T dL/dz_I. The norms over the batch are the Frobenius norms of the
// rows x width matrices. This decomposition holds when the samples of a batch do not interact:
// for networks with batch_norm (training statistics couple the rows) or stochastic activations
// (the noise is drawn per row index) only stage 0's input gradient is reported and the other
// input and pre-activation norms are NaN.
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>

#include <hinge/activations/concepts.hpp>
#include <hinge/core/sequential.hpp>
#include <hinge/core/network.hpp>
#include <hinge/core/shape.hpp>
#include <hinge/core/storage.hpp>
#include <hinge/init/random.hpp>
#include <hinge/layers/dense.hpp>
#include <hinge/runtime/passes.hpp>

namespace hinge::analysis {

// Gradient norms at one stage for one batch (Euclidean / Frobenius, summed over the batch's rows
// as the parameter gradients are).
struct stage_gradient {
    double weight = 0;          // dL/dW (0 for batch_norm)
    double bias = 0;            // dL/db (batch_norm: dL/dbeta)
    double parameters = 0;      // every trainable value of the stage: W, b, learned slope, gamma
    double pre_activation = 0;  // dL/dz over the batch's rows x units
    double input = 0;           // dL/dx over the batch's rows x inputs (x = the previous stage's output)
};

template <class Net>
inline constexpr bool rows_are_independent = [] {
    bool independent = true;
    for_each_index<Net::stage_count>([&](auto index) {
        using S = typename Net::template stage<decltype(index)::value>;
        if constexpr (stage_property::couples_samples<typename S::layer_type> || stochastic_activation<typename S::activation>)
            independent = false;
    });
    return independent;
}();

namespace detail {

inline double norm_of(const double* values, std::size_t n) noexcept {
    double sum = 0;
    for (std::size_t k = 0; k < n; ++k) sum += values[k] * values[k];
    return std::sqrt(sum);
}
inline double norm_of(const float* values, std::size_t n) noexcept {
    double sum = 0;
    for (std::size_t k = 0; k < n; ++k) sum += static_cast<double>(values[k]) * static_cast<double>(values[k]);
    return std::sqrt(sum);
}

}  // namespace detail

// Owns two training workspaces (Batch rows and 1 row), two gradient blocks and the seed of the
// loss gradient: construct it once (on the heap for a large model), call measure() per batch.
template <class Net, std::size_t Batch, class T = double>
class gradient_flow {
    static_assert(multilayer_perceptron<Net>, "hinge::analysis: this tool works on multilayer perceptrons (dense and batch_norm stages); convolutions, pooling, dropout and residual blocks are not supported by it yet");
public:
    using result_type = std::array<stage_gradient, Net::stage_count>;

    // loss_gradient(r, j) = dL/dy for sample r < rows and output j, as seed_output_gradient.
    // Returns per-stage norms; valid until the next call.
    template <class LossGradient>
    const result_type& measure(parameters<Net, T>& params, const T* x, std::size_t rows,
                               LossGradient&& loss_gradient) noexcept {
        hinge::detail::expect_rows<Batch>(rows, "gradient_flow::measure: rows must be in 1..batch size");
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t j = 0; j < Net::output_size; ++j)
                seed_[r * Net::output_size + j] = static_cast<T>(loss_gradient(r, j));
        // The batch, as a training step sees it: parameter gradients and stage 0's input gradient.
        train_forward(params, batch_workspace_, x, rows, 1);
        seed_output_gradient(params, batch_workspace_, batch_gradients_, rows,
                             [&](std::size_t r, std::size_t j) { return seed_[r * Net::output_size + j]; });
        backward(params, batch_workspace_, x, batch_gradients_, rows, input_gradient::compute);
        for_each_index<Net::stage_count>([&](auto index) {
            constexpr std::size_t i = decltype(index)::value;
            constexpr stage_layout s = layout<Net, T>::stages[i];
            const T* g = batch_gradients_.data();
            stage_gradient& out = result_[i];
            out = {};
            if constexpr (s.weight_offset != no_offset)
                out.weight = detail::norm_of(g + s.weight_offset, s.input_width * s.padded_output);
            out.bias = detail::norm_of(g + s.bias_offset, s.padded_output);
            double all = out.weight * out.weight + out.bias * out.bias;
            if constexpr (s.scale_offset != no_offset) {
                const double n = detail::norm_of(g + s.scale_offset, s.padded_output);
                all += n * n;
            }
            if constexpr (s.slope_offset != no_offset) {
                const double n = detail::norm_of(g + s.slope_offset, s.padded_output);
                all += n * n;
            }
            out.parameters = std::sqrt(all);
            out.pre_activation = std::numeric_limits<double>::quiet_NaN();
            out.input = std::numeric_limits<double>::quiet_NaN();
        });
        double input_sum = 0;
        for (std::size_t r = 0; r < rows; ++r) {
            const double n = detail::norm_of(batch_workspace_.input_gradient(r).data(), Net::input_size);
            input_sum += n * n;
        }
        result_[0].input = std::sqrt(input_sum);

        if constexpr (rows_are_independent<Net>) per_sample_norms(params, x, rows);
        return result_;
    }

    const result_type& last() const noexcept { return result_; }
    // Parameter gradients of the last batch, and the workspace of its training pass (every
    // stage's output of the batch's rows).
    const gradients<Net, T>& batch_gradients() const noexcept { return batch_gradients_; }
    const workspace<Net, Batch, T, true>& batch_workspace() const noexcept { return batch_workspace_; }

private:
    // dL/dz_I of sample r is the bias gradient of a one-row pass; dL/dx_I = W_I^T dL/dz_I.
    void per_sample_norms(parameters<Net, T>& params, const T* x, std::size_t rows) noexcept {
        std::array<double, Net::stage_count> dz_sum{}, dx_sum{};
        for (std::size_t r = 0; r < rows; ++r) {
            const T* row = x + r * Net::input_size;
            train_forward(params, row_workspace_, row, 1, 1);
            seed_output_gradient(params, row_workspace_, row_gradients_, 1,
                                 [&](std::size_t, std::size_t j) { return seed_[r * Net::output_size + j]; });
            backward(params, row_workspace_, row, row_gradients_, 1);
            for_each_index<Net::stage_count>([&](auto index) {
                constexpr std::size_t i = decltype(index)::value;
                using S = typename Net::template stage<i>;
                const auto dz = row_gradients_.template layer<i>();
                const auto w = params.template layer<i>();
                for (std::size_t o = 0; o < S::output_width; ++o) {
                    const double d = static_cast<double>(dz.bias(o));
                    dz_sum[i] += d * d;
                }
                for (std::size_t k = 0; k < S::input_width; ++k) {
                    double dx = 0;
                    for (std::size_t o = 0; o < S::output_width; ++o)
                        dx += static_cast<double>(w.weight(o, k)) * static_cast<double>(dz.bias(o));
                    dx_sum[i] += dx * dx;
                }
            });
        }
        for (std::size_t i = 0; i < Net::stage_count; ++i) {
            result_[i].pre_activation = std::sqrt(dz_sum[i]);
            if (i > 0) result_[i].input = std::sqrt(dx_sum[i]);  // stage 0's comes from the batch pass
        }
    }

    workspace<Net, Batch, T, true> batch_workspace_{};
    workspace<Net, 1, T, true> row_workspace_{};
    gradients<Net, T> batch_gradients_{};
    gradients<Net, T> row_gradients_{};
    std::array<T, Batch * Net::output_size> seed_{};
    result_type result_{};
};

// ---- depth sweep ---------------------------------------------------------------------------

template <std::size_t... Depth>
struct depths {};

// The networks of the sweep: Depth hidden layers dense<Width> + Act, then a linear read-out
// dense<1>, on Width inputs.
template <class Act, std::size_t Width, std::size_t Depth>
using deep_network = network<input<Width>, repeat<Depth, sequential<dense<Width>, Act>>, dense<1>>;

// One point of the sweep's curve.
struct depth_point {
    std::size_t depth = 0;           // hidden layers
    double first_weight = 0;         // ||dL/dW|| of the first hidden layer
    double last_weight = 0;          // ||dL/dW|| of the last hidden layer
    double ratio = 0;                // first_weight / last_weight: below 1 the gradient vanishes on the way down
    double input = 0;                // ||dL/dx|| at the network's input
    double output_second_moment = 0; // E[y^2] of the last hidden layer's output (forward signal)
};

namespace detail {

template <class Act, std::size_t Width, std::size_t Depth, std::size_t Batch, class Initialise>
depth_point measure_depth(Initialise& initialise, std::uint64_t seed) {
    using net = deep_network<Act, Width, Depth>;
    auto params = std::make_unique<parameters<net, double>>();
    initialise(*params, seed);
    // Inputs: N(0, 1), the same for every depth (a function of the seed alone).
    init::random_generator random(seed ^ 0x5eedu);
    std::array<double, Batch * Width> x{};
    for (double& v : x) v = random.normal();
    auto flow = std::make_unique<gradient_flow<net, Batch, double>>();
    // L = mean of the outputs: dL/dy = 1 / Batch for every sample.
    const auto& g = flow->measure(*params, x.data(), Batch, [](std::size_t, std::size_t) { return 1.0 / Batch; });
    depth_point point;
    point.depth = Depth;
    point.first_weight = g[0].weight;
    point.last_weight = g[Depth - 1].weight;
    point.ratio = point.first_weight / point.last_weight;
    point.input = g[0].input;
    // The batch pass left every stage's output in the flow's workspace (training semantics,
    // which for these networks are the inference semantics).
    const auto& ws = flow->batch_workspace();
    constexpr std::size_t stride = workspace<net, Batch, double, true>::template activation_stride<Depth - 1>;
    double sum = 0;
    for (std::size_t r = 0; r < Batch; ++r)
        for (std::size_t u = 0; u < Width; ++u) {
            const double y = ws.template activation<Depth - 1>()[r * stride + u];
            sum += y * y;
        }
    point.output_second_moment = sum / static_cast<double>(Batch * Width);
    return point;
}

}  // namespace detail

// For each depth D: builds deep_network<Act, Width, D> in double, initialises it with
// initialise(params, seed) (a generic lambda calling an initialiser), feeds Batch N(0, 1) inputs
// and measures the gradient of L = mean output. Each depth instantiates its own network type, so
// compile time grows with the sum of the depths (the planner is about 5 s for 50 layers).
template <class Act, std::size_t Width, std::size_t Batch = 32, std::size_t... Depth, class Initialise>
std::array<depth_point, sizeof...(Depth)> sweep_depth(depths<Depth...>, Initialise&& initialise, std::uint64_t seed) {
    static_assert(((Depth > 0) && ...), "sweep_depth: every depth must be at least 1 hidden layer");
    return {detail::measure_depth<Act, Width, Depth, Batch>(initialise, seed)...};
}

}  // namespace hinge::analysis
