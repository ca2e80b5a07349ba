#pragma once
// Activation statistics over a data set, per stage and per unit: mean, variance, fraction of
// exact zeros (sparsity), fraction of samples on which the unit is active, and the dead units.
//
//   hinge::analysis::activation_statistics<net> stats;             // accumulators: fixed size
//   auto ws = std::make_unique<hinge::workspace<net, 256, float, false>>();
//   stats.accumulate(params, *ws, images, 60000);                  // forward in batches of 256
//   stats.layer<0>().dead_count();  stats.layer<1>().zero_fraction();
//
// It reuses the fused forward pass: accumulate() runs forward() on batches of the workspace's
// size and reads every stage's stored output from the workspace (observe() does only the
// reading, after a forward or train_forward of your own). The accumulators are std::arrays sized
// at compile time from the network's layout, so nothing is allocated, per sample or at all.
//
// Definitions. Over n samples, for unit u of stage I with output y (after the activation):
//   mean(u) = (1/n) sum y,  variance(u) = (1/n) sum (y - mean)^2   (population variance),
//   zero_fraction(u) = #{y == 0} / n,  active_fraction(u) = #{y > 0} / n,
//   dead(u) = the unit was never active: y <= 0 on every sample (for every rectifier that is
//   z <= 0 everywhere, so the unit passes no gradient through relu and never recovers).
// Batches are merged with Chan et al.'s pairwise update, so the variance does not suffer the
// cancellation of sum(y^2) - n mean^2.
#include <array>
#include <cstddef>
#include <cstdint>

#include <hinge/core/storage.hpp>
#include <hinge/runtime/passes.hpp>

namespace hinge::analysis {

namespace detail {

template <class Net>
constexpr auto unit_offsets() {
    std::array<std::size_t, Net::stage_count + 1> offsets{};
    for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        offsets[i + 1] = offsets[i] + Net::template stage<i>::output_width;
    });
    return offsets;
}

template <class Net>
constexpr std::size_t widest_stage() {
    std::size_t widest = 0;
    for_each_index<Net::stage_count>([&](auto index) {
        const std::size_t w = Net::template stage<decltype(index)::value>::output_width;
        widest = w > widest ? w : widest;
    });
    return widest;
}

}  // namespace detail

// The statistics of the units of one stage: a view into activation_statistics.
class stage_statistics {
public:
    constexpr stage_statistics(const double* mean, const double* m2, const std::uint64_t* zeros,
                               const std::uint64_t* active, std::size_t width, std::uint64_t samples) noexcept
        : mean_(mean), m2_(m2), zeros_(zeros), active_(active), width_(width), samples_(samples) {}

    constexpr std::size_t width() const noexcept { return width_; }
    constexpr std::uint64_t samples() const noexcept { return samples_; }

    constexpr double mean(std::size_t unit) const noexcept { return mean_[unit]; }
    constexpr double variance(std::size_t unit) const noexcept {
        return samples_ == 0 ? 0.0 : m2_[unit] / static_cast<double>(samples_);
    }
    constexpr double zero_fraction(std::size_t unit) const noexcept { return fraction(zeros_[unit]); }
    constexpr double active_fraction(std::size_t unit) const noexcept { return fraction(active_[unit]); }
    constexpr bool dead(std::size_t unit) const noexcept { return samples_ > 0 && active_[unit] == 0; }

    // Over the whole stage: the fraction of all its outputs that are exactly zero, the number of
    // dead units, and the mean over units of the per-unit variance.
    constexpr double zero_fraction() const noexcept {
        std::uint64_t zeros = 0;
        for (std::size_t u = 0; u < width_; ++u) zeros += zeros_[u];
        return samples_ == 0 ? 0.0 : static_cast<double>(zeros) / static_cast<double>(samples_ * width_);
    }
    constexpr std::size_t dead_count() const noexcept {
        std::size_t dead_units = 0;
        for (std::size_t u = 0; u < width_; ++u) dead_units += dead(u) ? 1 : 0;
        return dead_units;
    }
    constexpr double mean_variance() const noexcept {
        double sum = 0;
        for (std::size_t u = 0; u < width_; ++u) sum += variance(u);
        return sum / static_cast<double>(width_);
    }
    // The second moment E[y^2] averaged over units (what the He analysis keeps constant).
    constexpr double mean_second_moment() const noexcept {
        double sum = 0;
        for (std::size_t u = 0; u < width_; ++u) sum += variance(u) + mean(u) * mean(u);
        return sum / static_cast<double>(width_);
    }

private:
    constexpr double fraction(std::uint64_t count) const noexcept {
        return samples_ == 0 ? 0.0 : static_cast<double>(count) / static_cast<double>(samples_);
    }
    const double* mean_;
    const double* m2_;
    const std::uint64_t* zeros_;
    const std::uint64_t* active_;
    std::size_t width_;
    std::uint64_t samples_;
};

// Accumulates the statistics of every stage's output over any number of samples. Trivially
// copyable, no allocation; 48 bytes per unit of the network.
template <class Net>
class activation_statistics {
    static_assert(multilayer_perceptron<Net>, "hinge::analysis: this tool works on multilayer perceptrons (dense and batch_norm stages); convolutions, pooling, dropout and residual blocks are not supported by it yet");
    static constexpr auto offsets = detail::unit_offsets<Net>();

public:
    using network_type = Net;
    static constexpr std::size_t unit_count = offsets[Net::stage_count];

    // Runs forward() (inference semantics) on `samples` rows of x (samples x Net::input_size,
    // contiguous), in batches of the workspace's size, and adds every stage's outputs.
    template <class T, std::size_t Batch, bool ForTraining>
    void accumulate(const parameters<Net, T>& params, workspace<Net, Batch, T, ForTraining>& ws, const T* x,
                    std::size_t samples) noexcept {
        for (std::size_t first = 0; first < samples; first += Batch) {
            const std::size_t rows = samples - first < Batch ? samples - first : Batch;
            forward(params, ws, x + first * Net::input_size, rows);
            observe(ws, rows);
        }
    }

    // Adds the first `rows` rows of every stage's output that the last forward pass (forward or
    // train_forward) left in ws. rows = 0 adds nothing; rows > Batch is a contract violation.
    template <std::size_t Batch, class T, bool ForTraining>
    void observe(const workspace<Net, Batch, T, ForTraining>& ws, std::size_t rows) noexcept {
        if (rows == 0) return;
        hinge::detail::expect_rows<Batch>(rows, "activation_statistics::observe: rows must be at most the batch size");
        for_each_index<Net::stage_count>([&](auto index) {
            constexpr std::size_t i = decltype(index)::value;
            constexpr std::size_t width = Net::template stage<i>::output_width;
            constexpr std::size_t stride = workspace<Net, Batch, T, ForTraining>::template activation_stride<i>;
            constexpr std::size_t base = offsets[i];
            const T* y = ws.template activation<i>();
            // Pass 1: the batch's mean per unit, zeros and actives.
            for (std::size_t u = 0; u < width; ++u) batch_mean_[u] = 0;
            for (std::size_t r = 0; r < rows; ++r)
                for (std::size_t u = 0; u < width; ++u) {
                    const T v = y[r * stride + u];
                    batch_mean_[u] += static_cast<double>(v);
                    zeros_[base + u] += v == T(0) ? 1u : 0u;
                    active_[base + u] += v > T(0) ? 1u : 0u;
                }
            const double n_batch = static_cast<double>(rows);
            for (std::size_t u = 0; u < width; ++u) batch_mean_[u] /= n_batch;
            // Pass 2: the batch's sum of squared deviations, then Chan's merge with the total.
            for (std::size_t u = 0; u < width; ++u) batch_m2_[u] = 0;
            for (std::size_t r = 0; r < rows; ++r)
                for (std::size_t u = 0; u < width; ++u) {
                    const double d = static_cast<double>(y[r * stride + u]) - batch_mean_[u];
                    batch_m2_[u] += d * d;
                }
            const double n_before = static_cast<double>(samples_);
            const double n_after = n_before + n_batch;
            for (std::size_t u = 0; u < width; ++u) {
                const double delta = batch_mean_[u] - mean_[base + u];
                mean_[base + u] += delta * (n_batch / n_after);
                m2_[base + u] += batch_m2_[u] + delta * delta * (n_before * n_batch / n_after);
            }
        });
        samples_ += rows;
    }

    std::uint64_t samples() const noexcept { return samples_; }

    template <std::size_t I>
    stage_statistics layer() const noexcept {
        static_assert(I < Net::stage_count, "activation_statistics<Net>::layer<I>: I must be less than Net::stage_count");
        return {mean_.data() + offsets[I], m2_.data() + offsets[I], zeros_.data() + offsets[I],
                active_.data() + offsets[I], Net::template stage<I>::output_width, samples_};
    }
    // The same by run-time index, for loops over deep networks.
    stage_statistics layer(std::size_t i) const noexcept {
        return {mean_.data() + offsets[i], m2_.data() + offsets[i], zeros_.data() + offsets[i],
                active_.data() + offsets[i], offsets[i + 1] - offsets[i], samples_};
    }

    void reset() noexcept { *this = activation_statistics{}; }

private:
    std::array<double, unit_count> mean_{};
    std::array<double, unit_count> m2_{};
    std::array<std::uint64_t, unit_count> zeros_{};
    std::array<std::uint64_t, unit_count> active_{};
    std::array<double, detail::widest_stage<Net>()> batch_mean_{};
    std::array<double, detail::widest_stage<Net>()> batch_m2_{};
    std::uint64_t samples_ = 0;
};

}  // namespace hinge::analysis
