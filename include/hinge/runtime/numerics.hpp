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

#include <hinge/core/storage.hpp>
#include <hinge/detail/contract.hpp>

namespace hinge {

enum class numeric_site { activations, gradients, parameters };

template <class T>
struct non_finite_value {
    numeric_site site;
    std::size_t stage;
    const char* stage_kind;  // "dense" or "batch_norm"
    const char* tensor;      // "output", "weight", "bias", "slope", "scale", "shift", "running_mean", "running_variance"
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

template <class Net, class T>
std::optional<non_finite_value<T>> scan_stage(const T* block, std::size_t i, numeric_site site) noexcept {
    const stage_layout& s = layout<Net, T>::stages[i];
    constexpr std::size_t panel = layout<Net, T>::panel;
    const char* kind = s.weight_offset != no_offset ? "dense" : "batch_norm";
    const auto report = [&](const char* tensor, std::size_t row, std::size_t column, T v) {
        return non_finite_value<T>{site, i, kind, tensor, row, column, s.input_width, s.output_width, v};
    };
    if (s.weight_offset != no_offset) {
        const T* w = block + s.weight_offset;
        for (std::size_t k = 0; k < s.input_width * s.padded_output; ++k) {
            const std::size_t o = k / (s.input_width * panel) * panel + k % panel;
            if (o < s.output_width && !is_finite(w[k])) return report("weight", o, k % (s.input_width * panel) / panel, w[k]);
        }
    }
    const struct {
        std::size_t offset;
        const char* name;
    } vectors[] = {{s.scale_offset, "scale"},
                   {s.bias_offset, s.weight_offset != no_offset ? "bias" : "shift"},
                   {s.slope_offset, "slope"},
                   {site == numeric_site::parameters ? s.running_mean_offset : no_offset, "running_mean"},
                   {site == numeric_site::parameters ? s.running_variance_offset : no_offset, "running_variance"}};
    for (const auto& v : vectors) {
        if (v.offset == no_offset) continue;
        for (std::size_t o = 0; o < s.output_width; ++o)
            if (!is_finite(block[v.offset + o])) return report(v.name, o, 0, block[v.offset + o]);
    }
    return std::nullopt;
}

}  // namespace detail

// The first non-finite parameter (or gradient) of a block, in stage order.
template <class Net, class T, class Role>
std::optional<non_finite_value<T>> first_non_finite(const parameter_block<Net, T, Role>& block) noexcept {
    constexpr numeric_site site = std::is_same_v<Role, detail::gradients_role> ? numeric_site::gradients
                                                                                : numeric_site::parameters;
    for (std::size_t i = 0; i < Net::stage_count; ++i) {
        // Gradients are searched from the last stage back: the backward pass produces them in that order.
        const std::size_t stage = site == numeric_site::gradients ? Net::stage_count - 1 - i : i;
        if (auto bad = detail::scan_stage<Net, T>(block.data(), stage, site)) return bad;
    }
    return std::nullopt;
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
                                                s.weight_offset != no_offset ? "dense" : "batch_norm",
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
