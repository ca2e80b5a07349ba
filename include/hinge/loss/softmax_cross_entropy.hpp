#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

#include <hinge/core/diagnostic.hpp>
#include <hinge/detail/contract.hpp>

namespace hinge::loss {

// Softmax followed by cross-entropy with integer class labels, fused: the gradient with respect
// to the logits is softmax(y) - onehot(label), averaged over the batch. Stable for any finite
// logits: the row maximum is subtracted before exp, so exp never overflows and the sum is >= 1.
struct softmax_cross_entropy {
    template <class T>
    using target_type = std::uint32_t;
    template <std::size_t Outputs>
    static constexpr std::size_t targets_per_sample = 1;
    // It applies its own softmax: trainer rejects an activation before it (loss/logits.hpp).
    static constexpr bool expects_logits = true;

    // Called by trainer::step when the targets passed are not std::uint32_t labels (Given is
    // their element type): the common mistake is one-hot float targets.
    template <class Given, std::size_t GivenCount, std::size_t ExpectedCount>
    static constexpr void reject_targets() {
        using namespace diagnostic;
        HINGE_REJECT("softmax_cross_entropy takes std::uint32_t class labels, one per sample, not one-hot floats; "
                     "pass the index of the true class of each sample",
                     given_type<Given>, given_size<GivenCount>, expected_size<ExpectedCount>);
    }

    // @pre labels[r] < outputs (checked: a violation aborts with a message).
    template <class T, class Gradient>
    static T evaluate(std::size_t rows, std::size_t outputs, const T* y, std::size_t y_stride,
                      const std::uint32_t* labels, Gradient&& gradient) noexcept {
        const T scale = T(1) / static_cast<T>(rows);
        double total = 0;  // summed in double, as mean_squared_error (a float sum drifts with the count)
        for (std::size_t r = 0; r < rows; ++r) {
            const T* logits = y + r * y_stride;
            const std::uint32_t label = labels[r];
            if (label >= outputs)
                detail::contract_violation("softmax_cross_entropy: label out of range", label, outputs - 1);
            T largest = logits[0];
            for (std::size_t j = 1; j < outputs; ++j) largest = logits[j] > largest ? logits[j] : largest;
            T sum = 0;
            for (std::size_t j = 0; j < outputs; ++j) sum += std::exp(logits[j] - largest);
            const T log_sum = std::log(sum);
            total += static_cast<double>(log_sum - (logits[label] - largest));
            for (std::size_t j = 0; j < outputs; ++j) {
                const T probability = std::exp(logits[j] - largest - log_sum);
                gradient(r, j, scale * (probability - (j == label ? T(1) : T(0))));
            }
        }
        return static_cast<T>(total / static_cast<double>(rows));
    }

    // Classification accuracy: how many rows have their largest logit at the label (the first
    // one on ties). Labels are not range-checked here; evaluate() does that.
    template <class T>
    static std::size_t count_correct(std::size_t rows, std::size_t outputs, const T* y, std::size_t y_stride,
                                     const std::uint32_t* labels) noexcept {
        std::size_t correct = 0;
        for (std::size_t r = 0; r < rows; ++r) {
            const T* logits = y + r * y_stride;
            std::size_t best = 0;
            for (std::size_t j = 1; j < outputs; ++j) best = logits[j] > logits[best] ? j : best;
            correct += best == labels[r];
        }
        return correct;
    }
    template <std::size_t Outputs>
    static constexpr std::size_t decisions_per_sample = 1;
};

}  // namespace hinge::loss
