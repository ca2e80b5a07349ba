#pragma once
// film<"c">: feature-wise linear modulation (Perez et al. 2018). The named value holds 2C
// channels, a scale gamma and a shift beta for each of the C channels of the current value:
//
//   y = Act(gamma * x + beta),   [gamma, beta] = c
//
// c is usually made from a conditioning input by a layer of its own (dense<2 * C> on knob
// values), so the conditioning reaches any stage. c has the positions of x (a conditioning
// sequence: one scale and shift per step) or is flat (one per sample, applied at every position).
#include <cstddef>

#include <hinge/core/diagnostic.hpp>
#include <hinge/core/graph.hpp>
#include <hinge/core/stage.hpp>
#include <hinge/kernels/merge.hpp>
#include <hinge/layers/merge.hpp>

namespace hinge {

template <value_name Name>
struct film : detail::elementwise_merge {
    static constexpr const char* name = "film";
    using named_inputs = hinge::named_inputs<Name>;

    template <class Arriving, std::size_t Stage, class Conditioning>
    static constexpr auto output_shape() {
        constexpr bool fits = Conditioning::channels == 2 * Arriving::channels &&
                              (Conditioning::rank == 1 || detail::same_positions<Arriving, Conditioning>());
        if constexpr (!fits) {
            using namespace diagnostic;
            HINGE_REJECT("hinge::film<Name>: the named value must hold 2 C channels (a scale and a shift for each of "
                         "the C channels it modulates), at every position of the current value or flat; make it with "
                         "a layer of 2 C units, e.g. dense<2 * C>",
                         stage_index<Stage>, film, current_shape<Arriving>, named_shape<Conditioning>);
        }
        return Arriving{};
    }

    template <class S>
    static constexpr bool streams() {
        return true;  // per position; a flat conditioning value cannot reach a stream (no flat stage streams)
    }

    // Row r of the output reads row r of x and row r (a flat c: row r / positions) of c.
    template <class Context>
    static void forward(const Context& ctx) noexcept {
        const auto x = ctx.template input<0>();
        const auto c = ctx.template input<1>();
        kernels::film_forward<typename Context::activation, Context::stage::output_width, Context::output_stride,
                              conditioning_rows<Context>>(ctx.rows(), x.rows, x.stride, c.rows, c.stride, ctx.output(),
                                                          ctx.activation_inputs(), ctx.pre_activation());
    }

    // dL/dx = dz gamma, dL/dgamma = dz x, dL/dbeta = dz (summed over positions for a flat c).
    template <class Context>
    static void backward(const Context& ctx) noexcept {
        using T = typename Context::value_type;
        constexpr std::size_t C = Context::stage::output_width;
        constexpr std::size_t per_row = conditioning_rows<Context>;
        const auto x = ctx.template input<0>();
        const auto c = ctx.template input<1>();
        const T* dz = ctx.dz();
        ctx.template write_input_gradient<0>([&](std::size_t r, std::size_t j) {
            return dz[r * Context::dz_stride + j] * c.rows[r / per_row * c.stride + j];
        });
        ctx.template write_input_gradient<1>([&](std::size_t row, std::size_t k) {
            T sum = 0;
            for (std::size_t r = row * per_row; r < (row + 1) * per_row; ++r) {
                const T g = dz[r * Context::dz_stride + k % C];
                sum += k < C ? g * x.rows[r * x.stride + k] : g;
            }
            return sum;
        });
    }

private:
    // Rows of x per row of c: 1, or the positions of x when c is flat.
    template <class Context>
    static constexpr std::size_t conditioning_rows =
        Context::template input_shape<1>::rank == 1 ? Context::stage::positions : 1;
};

}  // namespace hinge
