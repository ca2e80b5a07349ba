#pragma once
// streams<Net, S>: S independent signals through one network, one call for all of them: the two
// channels of a stereo effect, the voices of a synthesiser, the microphones of an array. Each
// stream has its own state (stream<Net>'s: recurrent h and c, causal rings, the non-finite count)
// and its outputs are those of a stream<Net> run alone on its signal, bit for bit.
//
//   hn::streams<model, 2> stereo;                                          // S = 2, fixed
//   stereo.process(params, interleaved_in, interleaved_out);              // L R L R ...
//   stereo.process(params, std::span<const float* const, 2>(in_channels, 2),
//                  std::span<float* const, 2>(out_channels, 2), frames);   // planar (one buffer per channel)
//   stereo.reset(1);                                                       // one voice starts afresh
//
// Two ways to run them, chosen at compile time (streams::in_lanes says which):
// - in lanes, for a recurrent cell of up to 16 units with a dense head (network<input<L, C>,
//   gru / lstm<H>, dense<Out>>) when S is a multiple of the vector width (16 floats with AVX-512,
//   8 with AVX2):
//   lane l of a vector is stream l, so a small layer keeps every lane busy
//   (kernels/recurrent_lanes.hpp), and each lane repeats its stream's arithmetic in the single
//   stream's order;
// - otherwise one after another over the block, each with the single stream's step.
// Either way a stream's outputs and state are the single stream's, bit for bit
// (tests/runtime/streams.cpp): what a user validated on one stream holds for every voice.
// Parameters are shared. After construction no call allocates, locks or throws; the object holds
// every stream's state inline (create it once, e.g. with std::make_unique, outside the real-time
// thread).
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include <hinge/activations/identity.hpp>
#include <hinge/core/layout.hpp>
#include <hinge/detail/contract.hpp>
#include <hinge/kernels/recurrent_lanes.hpp>
#include <hinge/layers/dense.hpp>
#include <hinge/layers/recurrent.hpp>
#include <hinge/runtime/stream.hpp>

namespace hinge {

namespace detail {

// Where stream s's frame n is: base[s] + n * stride (interleaved: base[s] = data + s * frame,
// stride S * frame; planar: base[s] = channel s, stride frame).
template <class P, std::size_t S>
struct stream_frames {
    std::array<P, S> base;
    std::size_t stride;
    P at(std::size_t s, std::size_t n) const noexcept { return base[s] + n * stride; }
};

// S streams one after another, each a stream<Net>.
template <class Net, std::size_t S, class T>
class streams_one_by_one {
public:
    using stream_type = stream<Net, T>;
    using state_type = typename stream_type::state_type;
    static constexpr std::size_t input_frame = stream_type::input_frame, output_frame = stream_type::output_frame;

    // Stream by stream over the block: one stream's state stays in registers and L1 for the
    // whole block.
    void run(const parameters<Net, T>& params, const stream_frames<const T*, S>& in, const stream_frames<T*, S>& out,
             std::size_t frames) noexcept {
        for (std::size_t s = 0; s < S; ++s)
            for (std::size_t n = 0; n < frames; ++n) {
                const std::span<const T, output_frame> y =
                    lanes_[s](params, std::span<const T, input_frame>(in.at(s, n), input_frame));
                T* to = out.at(s, n);
                for (std::size_t j = 0; j < output_frame; ++j) to[j] = y[j];
            }
    }
    void reset(std::size_t s) noexcept { lanes_[s].reset(); }
    const state_type& state(std::size_t s) const noexcept { return lanes_[s].state(); }
    void restore(std::size_t s, const state_type& saved) noexcept { lanes_[s].restore(saved); }
    std::uint64_t steps(std::size_t s) const noexcept { return lanes_[s].steps(); }
    std::uint64_t non_finite_inputs(std::size_t s) const noexcept { return lanes_[s].non_finite_inputs(); }

private:
    std::array<stream_type, S> lanes_{};
};

template <class L>
concept recurrent_cell_layer = requires {
    { L::gates } -> std::convertible_to<std::size_t>;
    { L::has_cell_state } -> std::convertible_to<bool>;
    { L::hidden } -> std::convertible_to<std::size_t>;
    { L::output } -> std::convertible_to<returns>;
};

template <class L>
inline constexpr bool is_dense_layer = false;
template <std::size_t Width, std::size_t In>
inline constexpr bool is_dense_layer<dense<Width, In>> = true;

// The largest recurrent layer run in lanes. Up to 16 units, lanes measured faster than one stream
// after another with both compilers (16 streams, AVX-512: GRU 8 2.3-2.7x, LSTM 8 2.0-2.4x, GRU 16
// 1.4-1.7x, LSTM 16 1.2x); at 32 and 64 units g++ 12 still gained 12-29 %, but clang 19 lost up
// to 1.6x.
inline constexpr std::size_t lanes_max_hidden = 16;

// Whether streams<Net, S, T> runs in lanes: a recurrent cell (all steps) of at most
// lanes_max_hidden units then a dense head, no activation after either, and S a multiple of the
// vector width.
template <class Net, std::size_t S, class T>
constexpr bool runs_in_lanes() {
    if constexpr (Net::stage_count != 2 || S % kernels::lane_count<T> != 0) {
        return false;
    } else {
        using cell = typename Net::template stage<0>;
        using head = typename Net::template stage<1>;
        if constexpr (!recurrent_cell_layer<typename cell::layer_type> || !is_dense_layer<typename head::layer_type>)
            return false;
        else
            return cell::layer_type::output == returns::all_steps && cell::layer_type::hidden <= lanes_max_hidden &&
                   std::is_same_v<typename cell::activation, identity> &&
                   std::is_same_v<typename head::activation, identity> && head::positions == cell::positions;
    }
}

// S streams of a recurrent cell with a dense head, lane_count<T> at a time in the lanes of one
// vector (kernels/recurrent_lanes.hpp). The state is kept transposed (unit j of every stream in
// one row) and converted to and from stream<Net>'s state_type on state() / restore().
template <class Net, std::size_t S, class T>
class streams_in_lanes {
    using cell = typename Net::template stage<0>::layer_type;
    using layout_type = layout<Net, T>;
    static constexpr std::size_t W = kernels::lane_count<T>, groups = S / W;
    static constexpr std::size_t hidden = cell::hidden, hp = round_up(hidden, panel_width<T>);
    static constexpr bool has_c = cell::has_cell_state;
    using head = typename Net::template stage<1>::layer_type;

public:
    using stream_type = stream<Net, T>;
    using state_type = typename stream_type::state_type;
    static constexpr std::size_t input_frame = stream_type::input_frame, output_frame = stream_type::output_frame;
    // stream<Net>'s state is the cell's h, then c (the head carries none).
    static_assert(state_type::size_per_sample == (has_c ? 2 : 1) * hp);

    void run(const parameters<Net, T>& params, const stream_frames<const T*, S>& in, const stream_frames<T*, S>& out,
             std::size_t frames) noexcept {
        const T* p = params.data();
        const T* w_ih = p + layout_type::template tensor_offset<0>(cell::weight_ih);
        const T* w_hh = p + layout_type::template tensor_offset<0>(cell::weight_hh);
        const T* b_ih = p + layout_type::template tensor_offset<0>(cell::bias_ih);
        const T* b_hh = p + layout_type::template tensor_offset<0>(cell::bias_hh);
        const T* w_out = p + layout_type::template tensor_offset<1>(head::weight);
        const T* b_out = p + layout_type::template tensor_offset<1>(head::bias);
        for (std::size_t n = 0; n < frames; ++n) {
            for (std::size_t g = 0; g < groups; ++g) {
                // The frames as they enter, as stream<Net> lets them in: non-finite values as 0.
                for (std::size_t l = 0; l < W; ++l) {
                    const T* frame = in.at(g * W + l, n);
                    unsigned replaced = 0;
                    for (std::size_t k = 0; k < input_frame; ++k) {
                        const bool finite = std::isfinite(frame[k]);
                        x_[k * W + l] = finite ? frame[k] : T(0);
                        replaced += !finite;
                    }
                    non_finite_[g * W + l] += replaced;
                }
                T* h = h_.data() + g * hidden * W;
                kernels::recurrent_lanes_step<cell, input_frame, hidden>(x_.data(), w_ih, b_ih, w_hh, b_hh, h,
                                                                         c_.data() + g * hidden * W);
                kernels::dense_lanes<hidden, output_frame>(h, w_out, b_out, y_.data());
                for (std::size_t l = 0; l < W; ++l) {
                    T* to = out.at(g * W + l, n);
                    for (std::size_t j = 0; j < output_frame; ++j) to[j] = y_[j * W + l];
                }
            }
        }
        for (std::uint64_t& count : steps_) count += frames;
    }

    void reset(std::size_t s) noexcept {
        for_each_unit(s, [](T& h, T& c) { h = c = T(0); });
        steps_[s] = 0;
        non_finite_[s] = 0;
    }
    // Valid until the next state(s) of the same stream.
    const state_type& state(std::size_t s) const noexcept {
        state_type& saved = saved_[s];
        saved.values.fill(T(0));  // the padded units' state, which is 0 in a single stream too
        for (std::size_t j = 0; j < hidden; ++j) {
            saved.values[j] = h_[unit_at(s, j)];
            if constexpr (has_c) saved.values[hp + j] = c_[unit_at(s, j)];
        }
        saved.passes = steps_[s];
        return saved;
    }
    void restore(std::size_t s, const state_type& saved) noexcept {
        for (std::size_t j = 0; j < hidden; ++j) {
            h_[unit_at(s, j)] = saved.values[j];
            if constexpr (has_c) c_[unit_at(s, j)] = saved.values[hp + j];
        }
        steps_[s] = saved.passes;
    }
    std::uint64_t steps(std::size_t s) const noexcept { return steps_[s]; }
    std::uint64_t non_finite_inputs(std::size_t s) const noexcept { return non_finite_[s]; }

private:
    // Unit j of stream s: group s / W, row j, lane s % W.
    static constexpr std::size_t unit_at(std::size_t s, std::size_t j) noexcept {
        return (s / W * hidden + j) * W + s % W;
    }
    template <class F>
    void for_each_unit(std::size_t s, F f) noexcept {
        for (std::size_t j = 0; j < hidden; ++j) f(h_[unit_at(s, j)], c_[unit_at(s, j)]);
    }

    alignas(storage_alignment) std::array<T, groups * hidden * W> h_{};
    alignas(storage_alignment) std::array<T, groups * hidden * W> c_{};  // lstm's c (unused by gru)
    alignas(storage_alignment) std::array<T, input_frame * W> x_{};
    alignas(storage_alignment) std::array<T, output_frame * W> y_{};
    std::array<std::uint64_t, S> steps_{};
    std::array<std::uint64_t, S> non_finite_{};
    mutable std::array<state_type, S> saved_{};
};

template <class Net, std::size_t S, class T>
using streams_implementation = std::conditional_t<runs_in_lanes<Net, S, T>(), streams_in_lanes<Net, S, T>,
                                                  streams_one_by_one<Net, S, T>>;

}  // namespace detail

template <class Net, std::size_t S, class T = float>
class streams {
    static_assert(S >= 1, "streams<Net, S>: S must be at least 1, because it is the number of signals run at once");
    using implementation = detail::streams_implementation<Net, S, T>;

public:
    using stream_type = stream<Net, T>;
    using state_type = typename stream_type::state_type;
    static constexpr std::size_t count = S;
    static constexpr std::size_t input_frame = stream_type::input_frame;    // values per step in, per stream
    static constexpr std::size_t output_frame = stream_type::output_frame;  // values per step out, per stream
    // Whether the streams run in the lanes of vectors (above) or one after another.
    static constexpr bool in_lanes = detail::runs_in_lanes<Net, S, T>();

    // One step of every stream. frame: S frames of input_frame values, interleaved (stream s's at
    // s * input_frame); the result: S output frames the same way, valid until the next call.
    std::span<const T, S * output_frame> operator()(const parameters<Net, T>& params,
                                                    std::span<const T, S * input_frame> frame) noexcept {
        impl_.run(params, interleaved(frame.data(), input_frame), interleaved(frame_out_.data(), output_frame), 1);
        return frame_out_;
    }

    // N steps of every stream, interleaved: in holds N frames of S * input_frame values (stream s's
    // step n at (n * S + s) * input_frame), out N frames of S * output_frame values the same way.
    // A mismatch is a contract violation (message and abort), checked before any step runs.
    void process(const parameters<Net, T>& params, std::span<const T> in, std::span<T> out) noexcept {
        constexpr std::size_t in_stride = S * input_frame, out_stride = S * output_frame;
        const std::size_t frames = in.size() / in_stride;
        if (in.size() % in_stride != 0)
            detail::contract_violation("streams::process: the interleaved input must hold whole frames of "
                                       "S * input_frame values",
                                       in.size(), in_stride);
        if (out.size() != frames * out_stride)
            detail::contract_violation("streams::process: the interleaved output must hold one frame of "
                                       "S * output_frame values per input frame",
                                       out.size(), frames * out_stride);
        impl_.run(params, interleaved(in.data(), input_frame), interleaved(out.data(), output_frame), frames);
    }

    // N steps of every stream, planar: in[s] holds stream s's N frames of input_frame values, out[s]
    // its N output frames of output_frame values (the float** of most audio APIs).
    void process(const parameters<Net, T>& params, std::span<const T* const, S> in, std::span<T* const, S> out,
                 std::size_t frames) noexcept {
        detail::stream_frames<const T*, S> from{{}, input_frame};
        detail::stream_frames<T*, S> to{{}, output_frame};
        for (std::size_t s = 0; s < S; ++s) {
            from.base[s] = in[s];
            to.base[s] = out[s];
        }
        impl_.run(params, from, to, frames);
    }

    // Every stream back to the start of a sequence, or stream s only.
    void reset() noexcept {
        for (std::size_t s = 0; s < S; ++s) impl_.reset(s);
    }
    void reset(std::size_t s) noexcept { impl_.reset(checked(s)); }
    // Stream s's state, as stream<Net>::state() holds it: save it, restore() it into stream s of
    // this or any streams<Net, ...>, or into a stream<Net>, and it resumes exactly there.
    const state_type& state(std::size_t s) const noexcept { return impl_.state(checked(s)); }
    void restore(std::size_t s, const state_type& saved) noexcept { impl_.restore(checked(s), saved); }
    std::uint64_t steps(std::size_t s) const noexcept { return impl_.steps(checked(s)); }
    std::uint64_t non_finite_inputs(std::size_t s) const noexcept { return impl_.non_finite_inputs(checked(s)); }

private:
    template <class P>
    static detail::stream_frames<P, S> interleaved(P data, std::size_t frame) noexcept {
        detail::stream_frames<P, S> f{{}, S * frame};
        for (std::size_t s = 0; s < S; ++s) f.base[s] = data + s * frame;
        return f;
    }
    static std::size_t checked(std::size_t s) noexcept {
        if (s >= S) [[unlikely]]
            detail::contract_violation("streams: the stream index must be below S", s, S);
        return s;
    }

    implementation impl_{};
    std::array<T, S * output_frame> frame_out_{};
};

}  // namespace hinge
