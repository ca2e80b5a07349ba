#pragma once
// convert_parameters(from, to): the same network's parameters in another precision (float <->
// double). The storage layouts differ (a 64-byte panel holds 16 floats but 8 doubles), so the
// values are copied tensor by tensor through the logical views, never as raw storage; the padding
// of `to` stays zero. Useful to check a float model in double, or to start a double run from
// float weights.
//
//   hn::parameters<net, double> reference;
//   hn::convert_parameters(params, reference);
#include <cstddef>

#include <hinge/core/storage.hpp>

namespace hinge {

template <class Net, class From, class RoleFrom, class To, class RoleTo>
void convert_parameters(const parameter_block<Net, From, RoleFrom>& from, parameter_block<Net, To, RoleTo>& to) noexcept {
    to.fill_zero();
    for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        const auto a = from.template layer<i>();
        auto b = to.template layer<i>();
        using view = decltype(a);
        for (std::size_t o = 0; o < view::output_width; ++o) {
            if constexpr (requires { a.weight_ih(o, 0); }) {
                for (std::size_t g = 0; g < view::gates; ++g) {
                    const std::size_t row = g * view::output_width + o;
                    for (std::size_t k = 0; k < view::input_width; ++k) b.weight_ih(row, k) = static_cast<To>(a.weight_ih(row, k));
                    for (std::size_t k = 0; k < view::output_width; ++k) b.weight_hh(row, k) = static_cast<To>(a.weight_hh(row, k));
                    b.bias_ih(row) = static_cast<To>(a.bias_ih(row));
                    b.bias_hh(row) = static_cast<To>(a.bias_hh(row));
                }
            } else if constexpr (requires { a.weight(o, 0); }) {
                for (std::size_t k = 0; k < view::input_width; ++k) b.weight(o, k) = static_cast<To>(a.weight(o, k));
                b.bias(o) = static_cast<To>(a.bias(o));
            } else if constexpr (requires { a.scale(o); }) {
                b.scale(o) = static_cast<To>(a.scale(o));
                b.shift(o) = static_cast<To>(a.shift(o));
                b.running_mean(o) = static_cast<To>(a.running_mean(o));
                b.running_variance(o) = static_cast<To>(a.running_variance(o));
            }
            if constexpr (requires { a.slope(o); })
                if (a.has_slope()) b.slope(o) = static_cast<To>(a.slope(o));
        }
    });
}

}  // namespace hinge
