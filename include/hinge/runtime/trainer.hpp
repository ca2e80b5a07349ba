#pragma once
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>
#include <type_traits>

#include <hinge/activations/identity.hpp>
#include <hinge/core/diagnostic.hpp>
#include <hinge/loss/logits.hpp>
#include <hinge/runtime/passes.hpp>

namespace hinge {

template <std::size_t Size>
struct batch {
    static_assert(Size > 0, "batch<N>: N must be at least 1");
    static constexpr std::size_t size = Size;
};

namespace detail {

// The optimizer's state type, or an empty one for an optimizer written before state existed
// (a struct with only update(params, grads)).
struct stateless {};

template <class Optimizer, class Net, class T>
struct optimizer_state {
    using type = stateless;
};
template <class Optimizer, class Net, class T>
    requires requires { typename Optimizer::template state<Net, T>; }
struct optimizer_state<Optimizer, Net, T> {
    using type = typename Optimizer::template state<Net, T>;
};

}  // namespace detail

namespace detail::inline HINGE_ISA_NAMESPACE {

// The optimizer's update. An optimizer that can update a slice of the trainable values
// (update_slice(params, grads, state, begin, end), element by element, then finish_step(state)
// once) is run over a team, each member on its own slice of whole panels: the result is the
// serial update bit for bit. Any other optimizer updates the block on the calling thread.
template <class Net, class T, class Optimizer, class OptimizerState>
void update_parameters(parameters<Net, T>& params, const gradients<Net, T>& grads, Optimizer& optimizer,
                       OptimizerState& state, thread_team* team) noexcept {
    constexpr bool sliced = requires(std::size_t b) { optimizer.update_slice(params, grads, state, b, b); };
    if constexpr (sliced) {
        if (team && team->size() > 1) {
            constexpr std::size_t panel = panel_width<T>;
            constexpr std::size_t panels = parameters<Net, T>::trainable_size / panel;
            team->run([&](work_share share) {
                optimizer.update_slice(params, grads, state, share.begin(panels) * panel, share.end(panels) * panel);
            });
            if constexpr (requires { optimizer.finish_step(state); }) optimizer.finish_step(state);
            return;
        }
    }
    if constexpr (std::is_same_v<OptimizerState, stateless>)
        optimizer.update(params, grads);
    else
        optimizer.update(params, grads, state);
}

// One training step (trainer::step's body): forward, loss, backward, update. A free function in
// the instruction-set namespace (kernels/simd.hpp) because its machine code is the kernels':
// runtime/dispatch.hpp instantiates it once per arch. Training semantics: batch statistics for
// batch_norm, fresh noise for stochastic activations (`step_number` seeds it, so a run is
// reproducible). The loss writes dL/dy straight into output_gradient, which applies the output
// activation's derivative and accumulates the last stage's bias gradient as it goes.
// With a team, the passes split their products over its members (runtime/passes.hpp) and the
// update splits the parameter block when the optimizer can update a slice (update_slice); the
// loss, its gradient and any regularisation run on the calling thread.
template <class Net, std::size_t Batch, class T, class Loss, class Optimizer, class OptimizerState>
T training_step(parameters<Net, T>& params, workspace<Net, Batch, T, true>& ws, gradients<Net, T>& grads,
                Optimizer& optimizer, OptimizerState& state, Loss& loss_function, const T* inputs,
                const typename Loss::template target_type<T>* targets, std::size_t rows,
                std::uint64_t step_number, thread_team* team = nullptr) noexcept {
    train_forward(params, ws, inputs, rows, step_number, team);
    constexpr std::size_t last = Net::stage_count - 1;
    const output_gradient<Net, Batch, T> sink(params, ws, grads, rows);
    // One loss row per output row: per sample, or per (sample, step) of a sequence output.
    T loss = Loss::evaluate(rows * Net::output_positions, Net::output_channels, ws.template activation<last>(),
                            ws.template activation_stride<last>, targets, sink);
    backward(params, ws, inputs, grads, rows, input_gradient::skip, team);
    // Truncated BPTT: the next window starts where this one ended (backward needed the start).
    if constexpr (layout<Net, T>::has_state)
        if (ws.carries_state()) advance_state(ws, inputs, rows);
    if constexpr (requires { loss_function.regularize(params, grads); })
        loss += loss_function.regularize(params, grads);
    update_parameters(params, grads, optimizer, state, team);
    return loss;
}

}  // namespace detail::inline HINGE_ISA_NAMESPACE

template <class Arch, class Trainer>
struct dispatched_training_step_entry;  // runtime/dispatch.hpp

// A loss that applies its own softmax or sigmoid (loss::expects_logits) must get the last stage's
// raw outputs: an element-wise activation there would be applied twice, legal but almost always
// a mistake. after_activation<Loss> says it is meant.
namespace detail {
template <class Net, class Loss>
constexpr bool check_loss_takes_logits() {
    using last = typename Net::template stage<Net::stage_count - 1>;
    if constexpr (::hinge::loss::expects_logits<Loss> && !std::is_same_v<typename last::activation, identity>) {
        using namespace diagnostic;
        HINGE_REJECT("trainer<Net, Loss>: Loss applies its own softmax or sigmoid to raw logits, so an element-wise "
                     "activation on the last stage squashes the outputs twice and weakens the gradient; remove the "
                     "activation after the last layer, or write loss::after_activation<Loss> if it is intended",
                     stage_index<Net::stage_count - 1>, typename last::layer_type,
                     activation<typename last::activation>, loss_type<Loss>);
    }
    return true;
}
}  // namespace detail

// A loss that can count correct decisions (argmax = label, or sign = target) has an accuracy.
template <class Loss, class T>
concept loss_with_accuracy = requires(const T* y, const typename Loss::template target_type<T>* t) {
    { Loss::count_correct(std::size_t{}, std::size_t{}, y, std::size_t{}, t) } -> std::same_as<std::size_t>;
};

// Loss and correct-decision count of one forward pass over `rows` samples.
template <class T>
struct batch_evaluation {
    T loss;               // mean over the rows (the data term only: no regularisation penalty)
    std::size_t correct;  // correct decisions, out of rows * decisions per sample (0 without accuracy)
};

// trainer<Net, Loss, Optimizer, batch<B>, T>: one object that owns the gradients, the workspace
// and the optimizer state (blocks of the parameters' shape, e.g. Adam's two moments), and refers
// to the caller's parameters. step() is forward, loss, backward and update, with no allocation.
// It is large (a gradient block, the optimizer state and B rows of every activation): construct
// it once, on the heap if the model is big.
template <class Net, class Loss, class Optimizer, class Batch = batch<1>, class T = float>
class trainer {
public:
    using network_type = Net;
    using loss_type = Loss;
    using optimizer_type = Optimizer;
    using value_type = T;
    using optimizer_state_type = typename detail::optimizer_state<Optimizer, Net, T>::type;
    static constexpr std::size_t batch_size = Batch::size;
    using target_type = typename Loss::template target_type<T>;
    // A sequence output <L, C> takes the targets of every step: L x (the loss's targets for C).
    static constexpr std::size_t targets_per_sample =
        Loss::template targets_per_sample<Net::output_channels> * Net::output_positions;
    static constexpr bool has_accuracy = loss_with_accuracy<Loss, T>;
    static_assert(detail::check_loss_takes_logits<Net, Loss>());

    explicit trainer(parameters<Net, T>& params, Optimizer optimizer = {}, Loss loss = {}) noexcept
        : params_(params), optimizer_(optimizer), loss_(loss) {}

    // One training step on a full batch; returns the mean loss before the update.
    T step(std::span<const T, batch_size * Net::input_size> inputs,
           std::span<const target_type, batch_size * targets_per_sample> targets) noexcept {
        return step(inputs.data(), targets.data(), batch_size);
    }

    // Targets or inputs of another type or count: a hinge error instead of an overload failure
    // (the loss may say what it takes, e.g. softmax_cross_entropy: labels, not one-hot floats).
    template <class X, class Y>
        requires(!std::is_convertible_v<const X&, std::span<const T, batch_size * Net::input_size>> ||
                 !std::is_convertible_v<const Y&, std::span<const target_type, batch_size * targets_per_sample>>)
    T step(const X& inputs, const Y& targets) noexcept {
        using namespace diagnostic;
        using given = std::remove_cvref_t<decltype(*std::data(targets))>;
        constexpr std::size_t given_count = static_count<std::remove_cvref_t<Y>>();
        if constexpr (!std::is_same_v<given, target_type> &&
                      requires { Loss::template reject_targets<given, given_count, batch_size * targets_per_sample>(); })
            Loss::template reject_targets<given, given_count, batch_size * targets_per_sample>();
        else
            HINGE_REJECT("trainer::step(inputs, targets): inputs must be a span of B * Net::input_size values and "
                         "targets a span of B * targets_per_sample values of Loss::target_type; pass spans of "
                         "expected_size",
                         given_size<static_count<std::remove_cvref_t<X>>()>, expected_size<batch_size * Net::input_size>,
                         given_type<given>, given_size<given_count>, expected_size<batch_size * targets_per_sample>);
        (void)inputs;
        return T(0);
    }

    // One step on the first `rows` samples (1 <= rows <= B), for a last partial batch: the loss
    // and its gradient are means over those rows, so a partial batch is a smaller batch.
    // rows outside 1..B is a contract violation (message and abort), checked before anything runs.
    T step(const T* inputs, const target_type* targets, std::size_t rows) noexcept {
        detail::expect_rows<batch_size>(rows, "trainer::step: rows must be in 1..batch size");
        return detail::training_step(params_, workspace_, gradients_, optimizer_, state_, loss_, inputs, targets,
                                     rows, ++steps_, team_);
    }

    // Run steps and evaluations on a thread team (runtime/threads.hpp), which must outlive its use
    // here; use(nullptr) or a team of size 1 goes back to the calling thread alone. The same seed
    // and team size give the same parameters bit for bit; docs/performance.md ("Threads") says
    // which values can differ from a single thread's, and by how much.
    void use(thread_team& team) noexcept { team_ = &team; }
    void use(std::nullptr_t) noexcept { team_ = nullptr; }
    thread_team* team() const noexcept { return team_; }

    // Forward pass and loss only (no gradient, no update) on `rows` <= B samples: for validation
    // and test sets. Uses the training workspace, so it overwrites last_workspace().
    batch_evaluation<T> evaluate(const T* inputs, const target_type* targets, std::size_t rows) noexcept {
        detail::expect_rows<batch_size>(rows, "trainer::evaluate: rows must be in 1..batch size");
        if (team_)
            forward(params_, workspace_, inputs, rows, *team_);
        else
            forward(params_, workspace_, inputs, rows);
        constexpr std::size_t last = Net::stage_count - 1;
        const T loss = Loss::evaluate(rows * Net::output_positions, Net::output_channels,
                                      workspace_.template activation<last>(),
                                      workspace_.template activation_stride<last>, targets,
                                      [](std::size_t, std::size_t, T) {});
        return {loss, count_correct(targets, rows)};
    }

    // Correct decisions of the last forward pass (step or evaluate) against `targets`; 0 when the
    // loss has no notion of accuracy (mean squared error).
    std::size_t count_correct(const target_type* targets, std::size_t rows) const noexcept {
        detail::expect_rows<batch_size>(rows, "trainer::count_correct: rows must be in 1..batch size");
        if constexpr (has_accuracy) {
            constexpr std::size_t last = Net::stage_count - 1;
            return Loss::count_correct(rows * Net::output_positions, Net::output_channels,
                                       workspace_.template activation<last>(),
                                       workspace_.template activation_stride<last>, targets);
        } else {
            (void)targets;
            (void)rows;
            return 0;
        }
    }
    // Decisions per sample that count_correct judges (1 for classification, Out for multi-label).
    static constexpr std::size_t decisions_per_sample = Net::output_positions * [] {
        if constexpr (requires { Loss::template decisions_per_sample<Net::output_channels>; })
            return Loss::template decisions_per_sample<Net::output_channels>;
        else
            return std::size_t{1};
    }();

    // Truncated backpropagation through time (networks with recurrent layers or causal
    // convolutions): with carry_state(true), each step starts every sample's sequence where the
    // previous step left it, and gradients stop at the window's start. Feed consecutive windows
    // of B long signals (row n of every batch continues row n of the one before), and call
    // reset_state() where the signals start. evaluate() then also continues them.
    void carry_state(bool carry) noexcept { workspace_.carry_state(carry); }
    void reset_state() noexcept { workspace_.reset_state(); }

    parameters<Net, T>& params() noexcept { return params_; }
    const parameters<Net, T>& params() const noexcept { return params_; }
    const gradients<Net, T>& last_gradients() const noexcept { return gradients_; }
    const workspace<Net, batch_size, T, true>& last_workspace() const noexcept { return workspace_; }
    Optimizer& optimizer() noexcept { return optimizer_; }
    optimizer_state_type& optimizer_state() noexcept { return state_; }
    Loss& loss() noexcept { return loss_; }

private:
    // runtime/dispatch.hpp runs the same step through a per-instruction-set entry point.
    template <class Arch, class Trainer>
    friend struct dispatched_training_step_entry;

    parameters<Net, T>& params_;
    Optimizer optimizer_;
    [[no_unique_address]] Loss loss_;
    gradients<Net, T> gradients_{};
    optimizer_state_type state_{};
    workspace<Net, batch_size, T, true> workspace_{};
    std::uint64_t steps_ = 0;
    thread_team* team_ = nullptr;
};

}  // namespace hinge
