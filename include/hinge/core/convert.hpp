#pragma once
// convert_parameters(from, to): the same network's parameters in another precision (float <->
// double). The storage layouts differ (a 64-byte panel holds 16 floats but 8 doubles), so the
// values are copied tensor by tensor, element by element at their logical coordinates, never as
// raw storage; the padding of `to` stays zero. Useful to check a float model in double, or to
// start a double run from float weights.
//
//   hn::parameters<net, double> reference;
//   hn::convert_parameters(params, reference);
#include <cstddef>

#include <hinge/core/storage.hpp>

namespace hinge {

template <class Net, class From, class RoleFrom, class To, class RoleTo>
void convert_parameters(const parameter_block<Net, From, RoleFrom>& from, parameter_block<Net, To, RoleTo>& to) noexcept {
    using LF = layout<Net, From>;
    using LT = layout<Net, To>;
    to.fill_zero();
    for (std::size_t k = 0; k < LF::tensor_total; ++k) {
        const tensor_spec& t = LF::tensors[k];
        const From* source = from.data() + LF::tensor_offsets[k];
        To* target = to.data() + LT::tensor_offsets[k];
        const std::size_t fan_in = t.fan_in == 0 ? 1 : t.fan_in;
        for (std::size_t o = 0; o < t.blocks * t.units; ++o)
            for (std::size_t i = 0; i < fan_in; ++i)
                target[t.template element<To>(o, i)] = static_cast<To>(source[t.template element<From>(o, i)]);
    }
}

}  // namespace hinge
