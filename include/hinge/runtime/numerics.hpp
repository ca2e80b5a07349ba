#pragma once
// Numerics guard: find the first non-finite value (NaN or +-inf) after a training step and say
// where it is, e.g. "activations of stage 1 (batch_norm 16->16), sample 3, unit 7: nan".
//
//     for (...) {
//         train.step(x, y);
//         if (auto bad = hinge::first_non_finite(train)) { std::fprintf(stderr, "%s\n", bad->message().c_str()); break; }
//     }
//
// Optional and outside the step: the scan reads every activation, gradient and parameter once
// (about the cost of one SGD update), allocates nothing and never throws; only message()
// allocates. Order of the search, which is the order in which a blow-up spreads: the stored
// activations of the last forward pass in stage order, then the gradients from the last stage
// back to the first, then the (updated) parameters in stage order. Within a tensor the first
// value in storage order is reported (weights are stored in panels, see core/layout.hpp) with
// its logical coordinates. Padding is never reported (it is zero, or unused).
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <optional>
#include <string>

#include <hinge/core/description.hpp>
#include <hinge/core/storage.hpp>
#include <hinge/detail/contract.hpp>

namespace hinge {

enum class numeric_site { activations, gradients, parameters };

template <class T>
struct non_finite_value {
    numeric_site site;
    std::size_t stage;
    const char* stage_kind;  // the first word of the stage's description: "dense", "batch_norm", "gru", ...
    const char* tensor;      // "output", or the tensor's name: "weight", "bias", "slope", "scale", "shift", ...
    std::size_t row;         // weight: output unit; activations: sample; other tensors: unit
    std::size_t column;      // weight: input; activations: unit; other tensors: 0
    std::size_t input_width, output_width;
    T value;

    std::string message() const {
        const char* where = site == numeric_site::activations ? "activations"
                            : site == numeric_site::gradients ? "gradient"
                                                              : "parameter";
        char text[320];
        const double v = static_cast<double>(value);
        const char* shown = std::isnan(v) ? "nan" : v > 0 ? "+inf" : "-inf";
        if (site == numeric_site::activations)
            std::snprintf(text, sizeof text, "non-finite value %s in the activations of stage %zu (%s %zu->%zu), sample %zu, unit %zu",
                          shown, stage, stage_kind, input_width, output_width, row, column);
        else if (std::string(tensor) == "weight")
            std::snprintf(text, sizeof text, "non-finite value %s in the %s of stage %zu (%s %zu->%zu) weight(%zu, %zu) (output, input)",
                          shown, where, stage, stage_kind, input_width, output_width, row, column);
        else
            std::snprintf(text, sizeof text, "non-finite value %s in the %s of stage %zu (%s %zu->%zu) %s(%zu)", shown, where,
                          stage, stage_kind, input_width, output_width, tensor, row);
        return text;
    }
};

namespace detail {

template <class T>
bool is_finite(T v) noexcept {
    return std::isfinite(v);
}

// The first non-finite value of stage I's tensors in a block: its trainable tensors in the order
// its layer declares them (weights at their logical (output, input) coordinates), then, in a
// parameter block, its buffers.
template <class Net, std::size_t I, class T>
std::optional<non_finite_value<T>> scan_stage(const T* block, numeric_site site) noexcept {
    using LT = layout<Net, T>;
    constexpr stage_layout s = LT::stages[I];
    constexpr std::size_t panel = LT::panel;
    const char* kind = description::kind_name<typename Net::template stage<I>::layer_type, typename Net::template placed<I>>();
    const auto report = [&](const char* tensor, std::size_t row, std::size_t column, T v) {
        return non_finite_value<T>{site, I, kind, tensor, row, column, s.input_width, s.output_width, v};
    };
    for (const bool buffers : {false, true}) {
        if (buffers && site != numeric_site::parameters) break;
        for (std::size_t k = s.first_tensor; k < s.first_tensor + s.tensor_count; ++k) {
            const tensor_spec& t = LT::tensors[k];
            if (t.trainable == buffers) continue;
            const T* values = block + LT::tensor_offsets[k];
            const std::size_t padded = round_up(t.units, panel);
            // Storage order: column panels of a matrix (fan_in x panel each), or columns of a vector.
            const std::size_t rows = t.fan_in == 0 ? 1 : t.fan_in;
            for (std::size_t e = 0; e < rows * t.blocks * padded; ++e) {
                const std::size_t column = t.fan_in == 0 ? e : e / (rows * panel) * panel + e % panel;
                const std::size_t input = t.fan_in == 0 ? 0 : e % (rows * panel) / panel;
                if (column % padded >= t.units) continue;  // padding
                if (is_finite(values[e])) continue;
                const std::size_t o = column / padded * t.units + column % padded;
                return report(t.name.data(), o, input, values[e]);
            }
        }
    }
    return std::nullopt;
}

}  // namespace detail

// The first non-finite parameter (or gradient) of a block, in stage order.
template <class Net, class T, class Role>
std::optional<non_finite_value<T>> first_non_finite(const parameter_block<Net, T, Role>& block) noexcept {
    constexpr numeric_site site = std::is_same_v<Role, detail::gradients_role> ? numeric_site::gradients
                                                                                : numeric_site::parameters;
    std::optional<non_finite_value<T>> found;
    const auto scan = [&](auto index) {
        if (!found) found = detail::scan_stage<Net, decltype(index)::value>(block.data(), site);
    };
    // Gradients are searched from the last stage back: the backward pass produces them in that order.
    if (site == numeric_site::gradients) for_each_index_reversed<Net::stage_count>(scan);
    else for_each_index<Net::stage_count>(scan);
    return found;
}

// The first non-finite stored activation of the first `rows` samples of the last forward pass.
template <class Net, std::size_t Batch, class T, bool ForTraining>
std::optional<non_finite_value<T>> first_non_finite(const workspace<Net, Batch, T, ForTraining>& ws,
                                                    std::size_t rows = Batch) noexcept {
    detail::expect_rows<Batch>(rows, "first_non_finite: rows must be in 1..batch size");
    std::optional<non_finite_value<T>> found;
    for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        if (found) return;
        constexpr stage_layout s = layout<Net, T>::stages[i];
        const T* y = ws.template activation<i>();
        for (std::size_t r = 0; r < rows && !found; ++r)
            for (std::size_t j = 0; j < s.output_width; ++j)
                if (!detail::is_finite(y[r * s.padded_output + j])) {
                    found = non_finite_value<T>{numeric_site::activations, i,
                                                description::kind_name<typename Net::template stage<i>::layer_type,
                                                                       typename Net::template placed<i>>(),
                                                "output", r, j, s.input_width, s.output_width, y[r * s.padded_output + j]};
                    break;
                }
    });
    return found;
}

// After trainer::step: activations of the step's forward pass (its first `rows` samples), then
// its gradients, then the updated parameters.
template <class Trainer>
    requires requires(const Trainer& t) {
        t.last_workspace();
        t.last_gradients();
        t.params();
    }
auto first_non_finite(const Trainer& trainer, std::size_t rows = Trainer::batch_size) noexcept {
    auto found = first_non_finite(trainer.last_workspace(), rows);
    if (!found) found = first_non_finite(trainer.last_gradients());
    if (!found) found = first_non_finite(trainer.params());
    return found;
}

}  // namespace hinge
