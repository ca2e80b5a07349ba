#pragma once
// inference<Net, T>: evaluation of one sample, on the parameters as they are, with the fastest
// plan hinge has for the network, chosen at compile time:
//
//   straight line   a small network of plain dense stages (float, at most
//                   inference_straight_line_limit bytes of weights): the whole network is one unrolled
//                   function, every stage's output in registers (kernels/straight_line.hpp)
//   per stage       anything else: each stage's own one-row path, e.g. a dense stage as a row
//                   product in registers (kernels/row_product.hpp), a recurrent layer's or a
//                   causal convolution's one-step kernel on a sequence of one step, the general
//                   kernels for the rest
//
// Both read the caller's parameters directly; converted weights (bf16, int8) stay the explicit
// opt-in of runtime/batch1_inference.hpp. Calling it performs no allocation and no virtual call and
// takes a bounded time; the returned span points into this object and stays valid until the next
// call. One object per thread: parameters may be shared.
#include <array>
#include <cstddef>
#include <span>
#include <type_traits>

#include <hinge/core/diagnostic.hpp>
#include <hinge/kernels/straight_line.hpp>
#include <hinge/runtime/batch1_plan.hpp>
#include <hinge/runtime/passes.hpp>

namespace hinge {

namespace detail {
struct no_workspace {};

// The largest network (bytes of float weights) that inference<Net> runs as one straight-line
// function. With AVX-512 the stage-by-stage row products overtake it sooner than with AVX2, where
// batch1_straight_line_limit was measured (g++ 12, Sapphire Rapids guest: 32-48-33-7, 14.9 KB,
// 115 ns straight-line against 76 ns stage by stage; 7-13-33-1, 2.7 KB, 22 against 28 ns).
inline constexpr std::size_t inference_straight_line_limit =
    kernels::vector_registers >= 32 ? 8192 : batch1_straight_line_limit;

// Whether inference<Net, T> runs Net as one straight-line function.
template <class Net, class T>
inline constexpr bool straight_line_inference = [] {
    if constexpr (!std::is_same_v<T, float> || !all_plain_dense<Net>()) return false;
    else
        return batch1_plan<Net, weight_format::float32, inference_straight_line_limit>::network_path ==
               batch1_path::straight_line;
}();
}  // namespace detail

template <class Net, class T = float>
class inference {
    using last = typename Net::template stage<Net::stage_count - 1>;
    static constexpr std::size_t padded_output = layout<Net, T>::stages[Net::stage_count - 1].padded_output;
    // Whether the output rows are padded in the workspace (a sequence or image of few channels):
    // then the call copies them into one contiguous output.
    static constexpr bool gathers_output = last::positions > 1 && last::output_width != padded_output;

public:
    // Which plan this network runs (see the top of this file).
    static constexpr bool straight_line = detail::straight_line_inference<Net, T>;
    // Whether the straight line takes the last stage as dot products (few outputs of many inputs).
    static constexpr bool last_stage_dot =
        Net::stage_count > 1 && detail::prefer_dot(last::input_width, last::output_width);

    // The output: output_size values, all positions of a sequence or image output in order.
    std::span<const T, Net::output_size> operator()(const parameters<Net, T>& params,
                                                    std::span<const T, Net::input_size> x) noexcept {
        if constexpr (straight_line) {
            kernels::straight_line_forward_parameters<Net, layout<Net, T>, last_stage_dot>(x.data(), params.data(),
                                                                                         output_.data());
            return std::span<const T, Net::output_size>(output_.data(), Net::output_size);
        } else {
            forward(params, workspace_, x.data(), 1);
            if constexpr (gathers_output) {
                const T* y = workspace_.template activation<Net::stage_count - 1>();
                for (std::size_t p = 0; p < last::positions; ++p)
                    for (std::size_t c = 0; c < last::output_width; ++c)
                        output_[p * last::output_width + c] = y[p * padded_output + c];
                return std::span<const T, Net::output_size>(output_.data(), Net::output_size);
            } else {
                return workspace_.output(0);
            }
        }
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
        return std::span<const T, Net::output_size>(output_.data(), Net::output_size);
    }

private:
    static constexpr std::size_t output_room =
        straight_line ? round_up(Net::output_size, panel_width<T>) : gathers_output ? Net::output_size : 1;
    static constexpr bool has_workspace = !straight_line;
    alignas(storage_alignment) std::array<T, output_room> output_{};
    [[no_unique_address]] std::conditional_t<has_workspace, workspace<Net, 1, T, false>, detail::no_workspace>
        workspace_{};
};

}  // namespace hinge
