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
// The streams run one after another over the block, each with the single stream's step, so that
// every lane's arithmetic is the single stream's, in the same order: what a user validated on one
// stream holds for every voice. Parameters are shared (read once per block from L1 for the small
// models this is for). After construction no call allocates, locks or throws; the object holds S
// streams inline (create it once, e.g. with std::make_unique, outside the real-time thread).
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include <hinge/detail/contract.hpp>
#include <hinge/runtime/stream.hpp>

namespace hinge {

template <class Net, std::size_t S, class T = float>
class streams {
    static_assert(S >= 1, "streams<Net, S>: S must be at least 1, because it is the number of signals run at once");

public:
    using stream_type = stream<Net, T>;
    using state_type = typename stream_type::state_type;
    static constexpr std::size_t count = S;
    static constexpr std::size_t input_frame = stream_type::input_frame;    // values per step in, per stream
    static constexpr std::size_t output_frame = stream_type::output_frame;  // values per step out, per stream

    // One step of every stream. frame: S frames of input_frame values, interleaved (stream s's at
    // s * input_frame); the result: S output frames the same way, valid until the next call.
    std::span<const T, S * output_frame> operator()(const parameters<Net, T>& params,
                                                    std::span<const T, S * input_frame> frame) noexcept {
        for (std::size_t s = 0; s < S; ++s)
            copy_out(lanes_[s](params, std::span<const T, input_frame>(frame.data() + s * input_frame, input_frame)),
                     frame_out_.data() + s * output_frame);
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
        // Stream by stream over the block: one stream's state stays in registers and L1 for the
        // whole block.
        for (std::size_t s = 0; s < S; ++s)
            run(params, lanes_[s], in.data() + s * input_frame, in_stride, out.data() + s * output_frame, out_stride,
                frames);
    }

    // N steps of every stream, planar: in[s] holds stream s's N frames of input_frame values, out[s]
    // its N output frames of output_frame values (the float** of most audio APIs).
    void process(const parameters<Net, T>& params, std::span<const T* const, S> in, std::span<T* const, S> out,
                 std::size_t frames) noexcept {
        for (std::size_t s = 0; s < S; ++s)
            run(params, lanes_[s], in[s], input_frame, out[s], output_frame, frames);
    }

    // Every stream back to the start of a sequence, or stream s only.
    void reset() noexcept {
        for (stream_type& lane : lanes_) lane.reset();
    }
    void reset(std::size_t s) noexcept { lane(s).reset(); }
    // Stream s's state (what stream<Net>::state() holds): save it, restore() it into stream s of
    // this or any streams<Net, ...>, or into a stream<Net>, and it resumes exactly there.
    const state_type& state(std::size_t s) const noexcept { return lane(s).state(); }
    void restore(std::size_t s, const state_type& saved) noexcept { lane(s).restore(saved); }
    std::uint64_t steps(std::size_t s) const noexcept { return lane(s).steps(); }
    std::uint64_t non_finite_inputs(std::size_t s) const noexcept { return lane(s).non_finite_inputs(); }

private:
    static void copy_out(std::span<const T, output_frame> y, T* to) noexcept {
        for (std::size_t j = 0; j < output_frame; ++j) to[j] = y[j];
    }

    static void run(const parameters<Net, T>& params, stream_type& lane, const T* in, std::size_t in_stride, T* out,
                    std::size_t out_stride, std::size_t frames) noexcept {
        for (std::size_t n = 0; n < frames; ++n)
            copy_out(lane(params, std::span<const T, input_frame>(in + n * in_stride, input_frame)),
                     out + n * out_stride);
    }

    stream_type& lane(std::size_t s) noexcept {
        check(s);
        return lanes_[s];
    }
    const stream_type& lane(std::size_t s) const noexcept {
        check(s);
        return lanes_[s];
    }
    static void check(std::size_t s) noexcept {
        if (s >= S) [[unlikely]]
            detail::contract_violation("streams: the stream index must be below S", s, S);
    }

    std::array<stream_type, S> lanes_{};
    std::array<T, S * output_frame> frame_out_{};
};

}  // namespace hinge
