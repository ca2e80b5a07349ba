#pragma once
#include <cstdint>

#include <hinge/core/storage.hpp>
#include <hinge/init/variance.hpp>

namespace hinge::init {

// automatic: every dense layer gets the scheme that the activation after it prefers
// (init::preferred_scheme): He for the ReLU family (with the leaky/prelu gain), Glorot for
// sigmoid, tanh and identity, LeCun for selu; all with normal draws, b = 0. "After it" looks
// through a batch_norm stage: in dense, batch_norm, relu the dense layer gets He.
//
// On a network of one scheme it equals that scheme's *_normal initialiser bit for bit (the draws
// are made in the same order from the same generator). Deterministic: the same seed gives
// bit-identical parameters.
//
//   hinge::parameters<net> p;
//   hinge::init::automatic(p, 42);
template <class Net, class T>
void automatic(parameters<Net, T>& params, std::uint64_t seed) noexcept {
    detail::fill(params, seed, distribution::normal, [](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        using S = typename Net::template stage<i>;
        using A = detail::following_activation_t<Net, i>;
        return variance(preferred_scheme<A>, S::input_width, S::fan_out, negative_slope<A>);
    });
}

}  // namespace hinge::init
