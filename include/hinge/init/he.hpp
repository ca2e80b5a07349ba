#pragma once
#include <cmath>
#include <cstdint>

#include <hinge/core/storage.hpp>
#include <hinge/init/random.hpp>

namespace hinge::init {

// He (Kaiming) normal initialisation: W ~ N(0, 2 / fan_in), b = 0. The factor 2 compensates for
// ReLU zeroing half of its inputs, so the variance of the activations is kept from layer to layer.
// Deterministic: the same seed gives bit-identical parameters. Padding stays zero.
template <class Net, class T>
void he_normal(parameters<Net, T>& params, std::uint64_t seed) noexcept {
    random_generator generator(seed);
    params.fill_zero();
    for_each_index<Net::stage_count>([&](auto index) {
        auto view = params.template layer<decltype(index)::value>();
        const double deviation = std::sqrt(2.0 / static_cast<double>(view.input_width));
        for (std::size_t o = 0; o < view.output_width; ++o)
            for (std::size_t i = 0; i < view.input_width; ++i)
                view.weight(o, i) = static_cast<T>(deviation * generator.normal());
    });
}

}  // namespace hinge::init
