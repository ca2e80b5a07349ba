#pragma once
// The forward and backward passes: a fold over the planned stages, each stage's layer running
// on the context of its stage (runtime/stage_context.hpp). No allocation, no virtual call, no
// exception; every shape, offset and stride is a constant. Nothing here knows a layer kind.
//
//   forward        inference semantics: batch_norm uses running statistics, noise is off
//   train_forward  training semantics: batch statistics (and running-statistics updates),
//                  noise on, and every value the backward pass needs is kept
//   backward       every parameter gradient, and optionally the input gradient
//   advance_state  the sequence state after a pass, for the next one
#include <cstddef>
#include <cstdint>

#include <hinge/core/storage.hpp>
#include <hinge/detail/contract.hpp>
#include <hinge/runtime/output_gradient.hpp>
#include <hinge/runtime/stage_context.hpp>
#include <hinge/runtime/threads.hpp>

namespace hinge {

namespace detail::inline HINGE_ISA_NAMESPACE {

// Whether stage I takes part in the passes: a stage reading the network input whose layer cannot
// has been rejected by network<> (core/network.hpp), and the passes add no error to that one.
template <class Net, std::size_t I>
inline constexpr bool runs = !Net::template placed<I>::reads_network_input ||
                             stage_property::reads_network_input<typename Net::template stage<I>::layer_type>;

// Every stage's forward on `rows` samples of x. `parameters` is the parameter block of Net's layout
// (a stream passes its network's block to the one-step network, whose layout is the same).
template <pass_kind Kind, class Net, std::size_t Batch, class T, bool ForTraining, class P>
void run_forward(P* parameters, workspace<Net, Batch, T, ForTraining>& ws, const T* x, std::size_t rows,
                 std::uint64_t noise_seed, thread_team* team = nullptr) noexcept {
    if constexpr (Kind == pass_kind::training) ws.set_training_noise_seed(noise_seed);  // dropout's backward redraws its mask
    for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        if constexpr (runs<Net, i>) {
            const forward_context<Kind, Net, i, Batch, T, ForTraining> context(ws, parameters, x, rows, noise_seed, team);
            Net::template stage<i>::layer_type::forward(context);
        }
    });
}

}  // namespace detail::inline HINGE_ISA_NAMESPACE

inline namespace HINGE_ISA_NAMESPACE {

// The sequence state after the last pass over x (`rows` samples), stored for the next pass: what
// every stateful stage carries (a recurrent layer's last h and c, a causal convolution's last
// inputs). forward() calls it when ws carries state; trainer::step after its update (backward
// needs the state the pass started from). Rows past `rows` keep their state but fall out of step
// with the others: carry state with full batches.
template <class Net, std::size_t Batch, class T, bool ForTraining>
void advance_state(workspace<Net, Batch, T, ForTraining>& ws, const T* x, std::size_t rows) noexcept {
    for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        if constexpr (layout<Net, T>::stages[i].state_size > 0) {
            const detail::forward_context<detail::pass_kind::inference, Net, i, Batch, T, ForTraining> context(
                ws, static_cast<const T*>(nullptr), x, rows, 0, nullptr);
            Net::template stage<i>::layer_type::advance_state(context);
        }
    });
    ++ws.state().passes;
}

// Every function here that takes `rows` checks 1 <= rows <= Batch first (detail::expect_rows: a
// contract violation prints the value and aborts), so a bad count never reaches a kernel.
//
// Runs every stage on `rows` samples (1 <= rows <= Batch) of x (rows x Net::input_size, contiguous),
// with inference semantics. Afterwards ws.activation<I>() holds every stage's output and
// ws.output(r) the network's.
// When ws carries a sequence state (ws.carry_state(true)), the pass starts from it and leaves the
// state after the pass in it (advance_state), so consecutive calls continue the sequences.
template <class Net, std::size_t Batch, class T, bool ForTraining>
void forward(const parameters<Net, T>& params, workspace<Net, Batch, T, ForTraining>& ws, const T* x,
             std::size_t rows = Batch) noexcept {
    detail::expect_rows<Batch>(rows, "forward: rows must be in 1..batch size");
    detail::run_forward<detail::pass_kind::inference>(params.data(), ws, x, rows, 0);
    if constexpr (layout<Net, T>::has_state)
        if (ws.carries_state()) advance_state(ws, x, rows);
}

// The same, with the products split over the members of `team` (runtime/threads.hpp). The
// outputs are the serial pass's bit for bit: every output value is computed by one member, with
// the serial order of its sums.
template <class Net, std::size_t Batch, class T, bool ForTraining>
void forward(const parameters<Net, T>& params, workspace<Net, Batch, T, ForTraining>& ws, const T* x,
             std::size_t rows, thread_team& team) noexcept {
    detail::expect_rows<Batch>(rows, "forward: rows must be in 1..batch size");
    detail::run_forward<detail::pass_kind::inference>(params.data(), ws, x, rows, 0, &team);
    if constexpr (layout<Net, T>::has_state)
        if (ws.carries_state()) advance_state(ws, x, rows);
}

// The same with training semantics, keeping what backward needs. batch_norm stages use batch
// statistics and update their running statistics in params; stochastic activations draw their
// noise from noise_seed (use a new seed per step).
template <class Net, std::size_t Batch, class T>
void train_forward(parameters<Net, T>& params, workspace<Net, Batch, T, true>& ws, const T* x,
                   std::size_t rows = Batch, std::uint64_t noise_seed = 0, thread_team* team = nullptr) noexcept {
    detail::expect_rows<Batch>(rows, "train_forward: rows must be in 1..batch size");
    detail::run_forward<detail::pass_kind::training>(params.data(), ws, x, rows, noise_seed, team);
}

// The backward pass after the output gradient is seeded (following train_forward): fills every
// parameter gradient (overwriting it) and, if asked, ws.input_gradient(). The activation
// derivative of a stage is applied where the stage that reads it produces its gradient (a gemm
// epilogue, or the pass of a stage without a product), so no pass over memory exists for it.
// With a team (runtime/threads.hpp), the products are split over its members. Every weight
// gradient and every activation gradient is the serial pass's bit for bit; a bias (or slope)
// gradient produced by a pass that splits rows (a convolution's input gradient, pooling,
// flatten) is summed per member and the sums added in member order: the same for a given team
// size, and within rounding of the serial sum (docs/performance.md, "Threads").
template <class Net, std::size_t Batch, class T>
void backward(const parameters<Net, T>& params, workspace<Net, Batch, T, true>& ws, const T* x,
              gradients<Net, T>& grads, std::size_t rows = Batch,
              input_gradient want_input_gradient = input_gradient::skip, thread_team* team = nullptr) noexcept {
    detail::expect_rows<Batch>(rows, "backward: rows must be in 1..batch size");
    for_each_index_reversed<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        if constexpr (detail::runs<Net, i>) {
            const detail::backward_context<Net, i, Batch, T> context(ws, params.data(), x, grads.data(), rows,
                                                                     want_input_gradient, team);
            Net::template stage<i>::layer_type::backward(context);
        }
    });
    // A value that other stages read besides the first one (a residual block that starts at the
    // network input) sends their part of the input gradient through its skip gradient.
    using LT = layout<Net, T>;
    if constexpr (LT::input_skip_offset != no_offset) {
        if (want_input_gradient == input_gradient::compute) {
            constexpr std::size_t positions = Net::input_shape::positions, C = Net::input_shape::channels;
            const T* shortcut = ws.template skip_gradient<Net::stage_count>();
            T* input = ws.input_gradient_data();
            for (std::size_t n = 0; n < rows; ++n)
                for (std::size_t p = 0; p < positions; ++p)
                    for (std::size_t c = 0; c < C; ++c)
                        input[n * LT::padded_input + p * C + c] +=
                            shortcut[(n * positions + p) * LT::input_skip_stride + c];
        }
    }
}

}  // inline namespace HINGE_ISA_NAMESPACE
}  // namespace hinge
