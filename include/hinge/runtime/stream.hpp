#pragma once
// stream<Net>: a sequence model run one step (one frame of C values) per call, as an audio
// callback or a control loop runs it. It keeps every piece of state inside itself: each recurrent
// layer's h (and c), and each causal conv1d's last (K - 1) * dilation inputs in a ring, so a step
// costs O(1) whatever the receptive field, and the outputs are those of a forward pass over the
// whole sequence, to rounding (the products sum in another order for one row than for many;
// tests/runtime/stream.cpp compares them).
//
//   using model = hn::network<hn::input<256, 1>, hn::gru<16>, hn::dense<1>>;   // trained on windows of 256
//   hn::stream<model> effect;                                                  // any length from here on
//   float y = effect(params, std::span<const float, 1>(&x, 1))[0];             // one sample
//   effect.process(params, block_in, block_out);                               // a callback's block
//
// After construction no call allocates, locks or throws. Parameters are the caller's (shared by
// any number of streams); one stream per signal (and per thread). A network streams when every
// stage works per step: dense on a sequence, conv1d with padding::causal, gru / lstm with
// returns::all_steps, batch_norm, dropout (inference: the identity), residual blocks of those, the
// graph stages (add, multiply, concat, gated, film, slice: per step) and activations. Others are a
// compile error naming the stage.
//
// A non-finite input value (NaN, +-Inf: a dropped-out sensor, a division by zero upstream) would
// stay in a recurrent state or a convolution's ring for ever, and every later output would be NaN.
// The stream replaces it with 0 before it enters, and counts it (non_finite_inputs()): the output of
// that step and those that remember it are those of a 0 there, and the stream recovers as it forgets
// it. The check is a compare and a blend per input value (the step's cost did not change measurably;
// docs/sequence.md). It is compiled away under -ffinite-math-only (-ffast-math), which promises the
// compiler that no NaN or Inf arrives.
//
// For S signals through one network at once (stereo, voices), see streams<Net, S>
// (runtime/streams.hpp).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

#include <hinge/core/diagnostic.hpp>
#include <hinge/core/stage.hpp>
#include <hinge/detail/contract.hpp>
#include <hinge/runtime/passes.hpp>

namespace hinge {

namespace detail {

// Whether stage I runs one step at a time with the same result as over the whole sequence: its
// layer says so (streams<S>(), core/stage.hpp), for a sequence in and out.
template <class Net, std::size_t I>
constexpr bool works_per_step() {
    using P = typename Net::template placed<I>;
    if constexpr (P::input_shape::rank != 2 || P::output_shape::rank != 2) return false;
    else return declared_streams<typename P::layer_type, P>();
}

template <class Net>
constexpr bool check_streamable() {
    using namespace diagnostic;
    if constexpr (Net::input_shape::rank != 2) {
        HINGE_REJECT("stream<Net>: Net must take a sequence input<L, C>, because a stream consumes one step of C "
                     "values per call; use inference<Net> for other inputs",
                     arriving_shape<typename Net::input_shape>);
        return false;
    } else {
        bool ok = true;  // the errors are the HINGE_REJECTs; the value only documents the outcome
        for_each_index<Net::stage_count>([&](auto index) {
            using S = typename Net::template stage<decltype(index)::value>;
            if constexpr (!works_per_step<Net, decltype(index)::value>()) {
                HINGE_REJECT("stream<Net>: this stage cannot run one step at a time, because its output at a step "
                                 "depends on later steps or it changes the length; use conv1d with padding::causal (or "
                                 "a kernel of 1) and stride 1, gru / lstm with returns::all_steps, dense per step, "
                                 "batch_norm, dropout or residual blocks of those",
                                 stage_index<decltype(index)::value>, typename S::layer_type,
                                 arriving_shape<typename S::input_shape>);
                ok = false;
            }
        });
        return ok;
    }
}

// Whether two networks store their parameters alike (the same tensors at the same offsets).
template <class A, class B, class T>
constexpr bool same_parameter_layout() {
    using LA = layout<A, T>;
    using LB = layout<B, T>;
    if (LA::parameter_size != LB::parameter_size || LA::trainable_size != LB::trainable_size ||
        LA::tensor_total != LB::tensor_total)
        return false;
    for (std::size_t k = 0; k < LA::tensor_total; ++k)
        if (LA::tensor_offsets[k] != LB::tensor_offsets[k]) return false;
    return true;
}

}  // namespace detail

template <class Net, class T = float>
class stream {
    // A network that cannot stream is one error per stage that cannot, naming it (the HINGE_REJECT
    // inside; `|| true` so that this line adds none).
    static_assert(detail::check_streamable<Net>() || true);

public:
    // The network the stream runs: Net on sequences of one step.
    using step_network = with_sequence_length<Net, 1>;
    using state_type = sequence_state<step_network, 1, T>;
    static constexpr std::size_t input_frame = Net::input_shape::channels;  // values per step in
    static constexpr std::size_t output_frame = Net::output_channels;       // values per step out
    static_assert(detail::same_parameter_layout<Net, step_network, T>(),
                  "stream<Net>: the one-step network must share Net's parameter layout (a layer whose "
                  "parameters depend on the sequence length cannot stream)");

    stream() noexcept { workspace_.carry_state(true); }

    // One step: the output frame, valid until the next call.
    std::span<const T, output_frame> operator()(const parameters<Net, T>& params,
                                                std::span<const T, input_frame> frame) noexcept {
        step(params, frame.data());
        return workspace_.output(0, 0);
    }

    // N steps, e.g. an audio callback's block: in holds N frames of input_frame values, out N
    // frames of output_frame values (N = in.size() / input_frame; a mismatch is a contract
    // violation: message and abort, checked before any step runs).
    void process(const parameters<Net, T>& params, std::span<const T> in, std::span<T> out) noexcept {
        const std::size_t frames = in.size() / input_frame;
        if (in.size() % input_frame != 0)
            detail::contract_violation("stream::process: the input must hold whole frames of input_frame values",
                                       in.size(), input_frame);
        if (out.size() != frames * output_frame)
            detail::contract_violation("stream::process: the output must hold one frame of output_frame values per "
                                       "input frame",
                                       out.size(), frames * output_frame);
        for (std::size_t f = 0; f < frames; ++f) {
            step(params, in.data() + f * input_frame);
            const std::span<const T, output_frame> y = workspace_.output(0, 0);
            for (std::size_t j = 0; j < output_frame; ++j) out[f * output_frame + j] = y[j];
        }
    }

    // Back to the start of a sequence (zero state, no non-finite input counted), e.g. between two files.
    void reset() noexcept {
        workspace_.reset_state();
        non_finite_ = 0;
    }
    // Everything the next step depends on besides the parameters: copy it to save, restore() it
    // to resume exactly there (also into another stream of the same network).
    const state_type& state() const noexcept { return workspace_.state(); }
    void restore(const state_type& saved) noexcept { workspace_.state() = saved; }
    // Steps processed since construction or the last reset().
    std::uint64_t steps() const noexcept { return workspace_.state().passes; }
    // Input values that were NaN or infinite and entered as 0, since construction or the last reset().
    std::uint64_t non_finite_inputs() const noexcept { return non_finite_; }

private:
    // Net's parameters, read through the one-step network's layout (the same: checked above).
    // flatten: a step is a few hundred instructions, and a call per stage and per gate function
    // costs as much (g++ 12 stopped inlining the step's kernels once each layer had a forward of its
    // own: gru<8> went from 42 to 50 ns per sample).
    [[gnu::flatten]] void step(const parameters<Net, T>& params, const T* frame) noexcept {
        // The frame as it enters: non-finite values replaced with 0 (a blend, no branch to mispredict).
        T entering[input_frame];
        unsigned replaced = 0;
        for (std::size_t j = 0; j < input_frame; ++j) {
            const bool finite = std::isfinite(frame[j]);
            entering[j] = finite ? frame[j] : T(0);
            replaced += !finite;
        }
        non_finite_ += replaced;
        detail::run_forward<detail::pass_kind::inference>(params.data(), workspace_, entering, 1, 0);
        advance_state(workspace_, entering, 1);
    }

    workspace<step_network, 1, T, false> workspace_{};
    std::uint64_t non_finite_ = 0;
};

}  // namespace hinge
