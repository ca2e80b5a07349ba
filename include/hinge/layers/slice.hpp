#pragma once
// slice<First, Count>: channels [First, First + Count) of the value it reads. With from<"input">
// it splits a network input into several inputs: an amplifier model whose frames are
// [audio, drive] reads the audio with slice<0, 1> and the knob with from<"input">, slice<1, 1>.
// Every API that takes the network's input (trainer, fit, inference, stream, files) then takes
// the inputs together, one frame of all of them per step.
#include <cstddef>

#include <hinge/core/diagnostic.hpp>
#include <hinge/core/stage.hpp>
#include <hinge/layers/merge.hpp>

namespace hinge {

template <std::size_t First, std::size_t Count>
struct slice {
    static_assert(Count > 0, "hinge::slice<First, Count>: Count must be at least 1");
    static constexpr bool opens_stage = true;
    static constexpr bool reads_network_input = true;
    static constexpr channel_order_rule channel_order = channel_order_rule::resets;

    template <class Arriving, std::size_t Stage>
    static constexpr auto output_shape() {
        if constexpr (First + Count > Arriving::channels) {
            using namespace diagnostic;
            HINGE_REJECT("hinge::slice<First, Count>: the channels First .. First + Count - 1 must exist in the value "
                         "it reads, because it copies them; lower First or Count",
                         stage_index<Stage>, slice, arriving_shape<Arriving>);
            return Arriving{};
        } else {
            return detail::with_channels_t<Arriving, Count>{};
        }
    }
    template <class S>
    static constexpr bool streams() {
        return true;
    }
    template <class S, class Out>
    static constexpr void describe(Out& out) {
        description::put(out, "slice(");
        description::put_number(out, First);
        out.put(' ');
        description::put_number(out, Count);
        description::put(out, ") ");
    }

    template <class Context>
    static void forward(const Context& ctx) noexcept {
        const auto x = ctx.input();
        ctx.write_output([&](std::size_t r, std::size_t c) { return x.rows[r * x.stride + First + c]; });
    }
    template <class Context>
    static void backward(const Context& ctx) noexcept {
        using T = typename Context::value_type;
        const T* dz = ctx.dz();
        ctx.write_input_gradient([&](std::size_t r, std::size_t c) {
            return c >= First && c < First + Count ? dz[r * Context::dz_stride + c - First] : T(0);
        });
    }
};

}  // namespace hinge
