#pragma once
#include <span>
#include <type_traits>

#include <hinge/core/diagnostic.hpp>

#include <hinge/runtime/passes.hpp>

namespace hinge {

// inference<Net, T>: batch-1 evaluation with its own small workspace. Calling it performs no
// allocation and no virtual call and takes a bounded time; the returned span points into this
// object and stays valid until the next call. One object per thread: parameters may be shared.
template <class Net, class T = float>
class inference {
public:
    std::span<const T, Net::output_size> operator()(const parameters<Net, T>& params,
                                                    std::span<const T, Net::input_size> x) noexcept {
        forward(params, workspace_, x.data(), 1);
        return workspace_.output(0);
    }

    // Any other input: a hinge error naming both counts, not an overload failure. given_size 0
    // means the input has no compile-time size (a vector, a dynamic span): take a fixed-size
    // span of it, e.g. std::span<const float, N>(v.data(), N).
    template <class X>
        requires(!std::is_convertible_v<const X&, std::span<const T, Net::input_size>>)
    std::span<const T, Net::output_size> operator()(const parameters<Net, T>& params, const X& x) noexcept {
        using namespace diagnostic;
        HINGE_REJECT("inference<Net>: the input must hold exactly as many values as the network input, because "
                     "the size is part of the type of the call; pass a std::span<const T, N> or std::array<T, N> with "
                     "N = expected_size",
                     given_size<static_count<std::remove_cvref_t<X>>()>, expected_size<Net::input_size>, X);
        (void)params;
        (void)x;
        return workspace_.output(0);
    }

private:
    workspace<Net, 1, T, false> workspace_{};
};

}  // namespace hinge
