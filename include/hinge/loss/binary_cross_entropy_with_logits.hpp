#pragma once
#include <cmath>
#include <cstddef>

namespace hinge::loss {

// Sigmoid followed by binary cross-entropy, fused, as PyTorch's BCEWithLogitsLoss: every output
// is an independent logit x with a target probability t in [0, 1] (multi-label outputs), and
//   L = 1/(rows * Out) * sum  max(x, 0) - x t + log(1 + exp(-|x|)),   dL/dx = (sigmoid(x) - t) / (rows * Out).
// This form is exact where the naive -t log s - (1-t) log(1-s) overflows or takes log(0): exp
// only ever sees -|x| <= 0, and log1p keeps the small terms. Targets are rows x Out values.
struct binary_cross_entropy_with_logits {
    template <class T>
    using target_type = T;
    template <std::size_t Outputs>
    static constexpr std::size_t targets_per_sample = Outputs;
    // It applies its own sigmoid: trainer rejects an activation before it (loss/logits.hpp).
    static constexpr bool expects_logits = true;

    template <class T, class Gradient>
    static T evaluate(std::size_t rows, std::size_t outputs, const T* y, std::size_t y_stride, const T* targets,
                      Gradient&& gradient) noexcept {
        const T scale = T(1) / static_cast<T>(rows * outputs);
        double sum = 0;  // summed in double, as mean_squared_error (a float sum drifts with the count)
        for (std::size_t r = 0; r < rows; ++r) {
            for (std::size_t j = 0; j < outputs; ++j) {
                const T x = y[r * y_stride + j];
                const T t = targets[r * outputs + j];
                const T e = std::exp(-std::fabs(x));  // in (0, 1]
                sum += static_cast<double>((x > T(0) ? x : T(0)) - x * t + std::log1p(e));
                const T sigmoid = x >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
                gradient(r, j, scale * (sigmoid - t));
            }
        }
        return static_cast<T>(sum / static_cast<double>(rows * outputs));
    }

    // Element-wise accuracy: the prediction x > 0 against the target t > 1/2. Returns the number
    // of correct outputs (out of rows * outputs).
    template <class T>
    static std::size_t count_correct(std::size_t rows, std::size_t outputs, const T* y, std::size_t y_stride,
                                     const T* targets) noexcept {
        std::size_t correct = 0;
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t j = 0; j < outputs; ++j)
                correct += (y[r * y_stride + j] > T(0)) == (targets[r * outputs + j] > T(0.5));
        return correct;
    }
    template <std::size_t Outputs>
    static constexpr std::size_t decisions_per_sample = Outputs;
};

}  // namespace hinge::loss
