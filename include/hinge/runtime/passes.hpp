#pragma once
// The forward and backward passes: the planned stages, executed in order by the kernels.
// No allocation, no virtual call, no exception; every shape, offset and stride is a constant.
//
//   forward        inference semantics: batch_norm uses running statistics, noise is off
//   train_forward  training semantics: batch statistics (and running-statistics updates),
//                  noise on, and every value the backward pass needs is kept
//   output_gradient / seed_output_gradient   dL/dy of the output -> dL/dz of the last stage
//   backward       every parameter gradient, and optionally the input gradient
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <hinge/core/storage.hpp>
#include <hinge/detail/contract.hpp>
#include <hinge/kernels/batch_norm.hpp>
#include <hinge/kernels/convolution.hpp>
#include <hinge/kernels/dense.hpp>
#include <hinge/kernels/elementwise_stages.hpp>
#include <hinge/kernels/pooling.hpp>
#include <hinge/kernels/recurrent.hpp>
#include <hinge/layers/recurrent.hpp>
#include <hinge/runtime/threads.hpp>

namespace hinge {

namespace detail::inline HINGE_ISA_NAMESPACE {

enum class pass_kind { inference, training };

// Runs f(work_share) on every member of `team`, or once with the whole work without one.
template <class F>
void on_team(thread_team* team, F&& f) noexcept {
    if (team && team->size() > 1)
        team->run(f);
    else
        f(work_share{});
}

// How a team splits a forward product of Rows x Out (decided at compile time from the shapes):
// over the output panels when there are enough of them (each member then reads only its part of
// the weights, and 8 units still balance 8 members), otherwise over the rows (the batch).
template <std::size_t Rows, std::size_t Out, class T>
constexpr product_split forward_split() {
    constexpr std::size_t panels = round_up(Out, panel_width<T>) / panel_width<T>;
    constexpr std::size_t units = (panels + kernels::micro_panels<T> - 1) / kernels::micro_panels<T>;
    constexpr std::size_t row_blocks = (Rows + kernels::unpacked_micro_rows<T> - 1) / kernels::unpacked_micro_rows<T>;
    return units >= 8 || units >= row_blocks ? product_split::panels : product_split::rows;
}

// The column sums (bias and slope gradients) of a stage whose gradient a team produces split
// over rows: each member sums into its own copy (the team's member scratch), and reduce() adds
// the copies to the real sums in member order afterwards, so the result is the same for a given
// team size. With one member, or no sums to take, the target is used as it is. When the copies
// would not fit the scratch, only member 0 works (serially, on the real sums).
template <class T>
class member_column_sums {
public:
    member_column_sums(thread_team* team, const kernels::activation_gradient_target<T>& target,
                       std::size_t width) noexcept
        : team_(team), target_(target), width_(width) {
        const bool parallel = team && team->size() > 1;
        const bool sums = target.bias_gradient || target.slope_gradient;
        split_ = parallel && sums && 2 * width * sizeof(T) <= thread_team::member_scratch_bytes;
        serial_ = parallel && sums && !split_;
    }

    // The share a member works on (false: this member has nothing to do), and its target.
    bool take(work_share& share) const noexcept {
        if (!serial_) return true;
        if (share.part != 0) return false;
        share = {};
        return true;
    }
    kernels::activation_gradient_target<T> target(work_share share) const noexcept {
        if (!split_) return target_;
        kernels::activation_gradient_target<T> own = target_;
        T* scratch = static_cast<T*>(team_->member_scratch(share.part));
        for (std::size_t j = 0; j < 2 * width_; ++j) scratch[j] = T(0);
        if (own.bias_gradient) own.bias_gradient = scratch;
        if (own.slope_gradient) own.slope_gradient = scratch + width_;
        return own;
    }
    void reduce() const noexcept {
        if (!split_) return;
        for (std::size_t part = 0; part < team_->size(); ++part) {
            const T* scratch = static_cast<const T*>(team_->member_scratch(part));
            if (target_.bias_gradient)
                for (std::size_t j = 0; j < width_; ++j) target_.bias_gradient[j] += scratch[j];
            if (target_.slope_gradient)
                for (std::size_t j = 0; j < width_; ++j) target_.slope_gradient[j] += scratch[width_ + j];
        }
    }

private:
    thread_team* team_;
    kernels::activation_gradient_target<T> target_;
    std::size_t width_;
    bool split_ = false;
    bool serial_ = false;
};

// The output of stage I - 1 (I = 0: the network input) and the distance between two of its
// positions: the padded channel count of a stored output, the channel count of the input.
template <class Net, std::size_t I, class T, class Workspace>
struct stage_input {
    const T* rows;
    std::size_t stride;
    stage_input(const Workspace& ws, const T* x) noexcept {
        if constexpr (I == 0) {
            rows = x;
            stride = Net::input_shape::channels;
        } else {
            rows = ws.template activation<I - 1>();
            stride = layout<Net, T>::stages[I - 1].padded_output;
        }
    }
};

template <class Stage>
constexpr window_geometry geometry_of() {
    return Stage::layer_type::template geometry<typename Stage::input_shape>();
}

template <class T>
const T* offset_or_null(const T* base, std::size_t offset) noexcept {
    return offset == no_offset ? nullptr : base + offset;
}
template <class T>
T* offset_or_null(T* base, std::size_t offset) noexcept {
    return offset == no_offset ? nullptr : base + offset;
}

// Where recurrent stage I keeps its rows in a workspace (kernels/recurrent.hpp).
template <class Net, std::size_t I, std::size_t Batch, class T, bool ForTraining>
kernels::recurrent_rows<T> recurrent_rows_of(workspace<Net, Batch, T, ForTraining>& ws) noexcept {
    constexpr stage_layout s = layout<Net, T>::stages[I];
    T* rows = ws.sequence_rows();
    return {rows + Batch * s.gate_offset, rows + Batch * s.extra_offset, rows + Batch * s.previous_state_offset,
            ws.template activation<I>(), ws.recurrent_step_scratch()};
}

// The state a pass of stage I starts from when the workspace carries it (null: a fresh start).
template <class Net, std::size_t I, std::size_t Batch, class T, bool ForTraining>
T* carried_state(workspace<Net, Batch, T, ForTraining>& ws) noexcept {
    constexpr stage_layout s = layout<Net, T>::stages[I];
    if constexpr (s.state_offset == no_offset) return nullptr;
    else return ws.carries_state() ? ws.state().sample(0) + s.state_offset : nullptr;
}

// The ring of a causal conv1d (stage I) that continues a sequence, or nothing.
template <class Net, std::size_t I, std::size_t Batch, class T, bool ForTraining>
kernels::causal_context<T> causal_context_of(workspace<Net, Batch, T, ForTraining>& ws) noexcept {
    constexpr stage_layout s = layout<Net, T>::stages[I];
    T* ring = s.context_rows > 0 ? carried_state<Net, I>(ws) : nullptr;
    return {ring, layout<Net, T>::state_size, s.context_row_width,
            ws.state().passes * Net::template stage<I>::input_positions};
}

// With a team, the products (dense, convolution) and the pooling and flatten passes are split
// over its members; the other stages (batch_norm, dropout, residual additions, recurrent
// stages) run on the calling thread.
template <pass_kind Kind, class Net, std::size_t Batch, class T, bool ForTraining, class Params>
void run_forward(Params& params, workspace<Net, Batch, T, ForTraining>& ws, const T* x, std::size_t rows,
                 std::uint64_t noise_seed, thread_team* team = nullptr) noexcept {
    constexpr bool training = Kind == pass_kind::training;
    if constexpr (training) ws.set_training_noise_seed(noise_seed);  // dropout's backward redraws its mask
    for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        using S = typename Net::template stage<i>;
        using L = typename S::layer_type;
        using A = typename S::activation;
        constexpr stage_layout s = layout<Net, T>::stages[i];
        const stage_input<Net, input_source_of<L, i>, T, workspace<Net, Batch, T, ForTraining>> in(ws, x);
        const T* p = params.data();
        const kernels::activation_inputs<T> activation{offset_or_null(p, s.slope_offset), training,
                                                       kernels::noise_source{noise_seed + 0x1000003ull * i}};
        T* z = nullptr;
        if constexpr (training && keeps_pre_activation<A>) z = ws.template pre_activation<i>();

        T* y = ws.template activation<i>();
        constexpr std::size_t Cp = s.padded_output;
        const std::size_t samples = rows;
        const std::size_t value_rows = rows * s.positions;  // one row per position

        if constexpr (dense_layer<L> && !training && Batch == 1 && S::input_shape::rank == 2 && s.positions == 1 &&
                      S::input_width * S::output_width <= 4096) {
            // One step of one sequence (a stream's per-step dense layer): the row product in registers.
            kernels::dense_forward_row<A, S::input_width, S::output_width>(in.rows, p + s.weight_offset,
                                                                           p + s.bias_offset, y, activation);
        } else if constexpr (dense_layer<L>) {
            // On a sequence, one row per (sample, step): the same product with more rows.
            on_team(team, [&](work_share share) {
                kernels::dense_forward<A, S::input_width, S::output_width>(
                    value_rows, in.rows, in.stride, p + s.weight_offset, p + s.bias_offset, y, activation, z, share,
                    forward_split<Batch * s.positions, S::output_width, T>());
            });
        } else if constexpr (convolution_layer<L>) {
            const kernels::causal_context<T> context = causal_context_of<Net, i>(ws);
            if constexpr (!training && Batch == 1 && s.context_rows > 0 && S::positions == 1) {
                // One step of one sequence (a stream): taps read in place, no window gathered.
                kernels::causal_convolution_step<A, geometry_of<S>(), S::output_width>(
                    in.rows, context, p + s.weight_offset, p + s.bias_offset, y, activation);
            } else {
                on_team(team, [&](work_share share) {
                    kernels::convolution_forward<A, geometry_of<S>(), S::output_width>(
                        samples, in.rows, in.stride, p + s.weight_offset, p + s.bias_offset, y, activation, z,
                        ws.window_scratch(), context.ring ? &context : nullptr, share);
                });
            }
        } else if constexpr (recurrent_layer<L>) {
            if constexpr (!training && Batch == 1 && s.steps == 1) {
                // One step of one sequence (a stream): the fused step, nothing kept for backward.
                // The cell state goes where recurrent_final_state looks for it (the extra row).
                kernels::recurrent_step<L, S::input_width, S::output_width>(
                    in.rows, p + s.weight_offset, p + s.bias_offset, p + s.recurrent_weight_offset,
                    p + s.recurrent_bias_offset, carried_state<Net, i>(ws), y, ws.sequence_rows() + s.extra_offset);
            } else {
                kernels::recurrent_forward<L, S::input_width, S::output_width, s.steps, L::output == returns::all_steps>(
                    samples, in.rows, in.stride, p + s.weight_offset, p + s.bias_offset, p + s.recurrent_weight_offset,
                    p + s.recurrent_bias_offset, carried_state<Net, i>(ws), layout<Net, T>::state_size,
                    recurrent_rows_of<Net, i>(ws));
            }
        } else if constexpr (normalization_layer<L>) {
            const kernels::batch_norm_parameters<T> bn{p + s.scale_offset, p + s.bias_offset, p + s.running_mean_offset,
                                                       p + s.running_variance_offset, static_cast<T>(L::momentum),
                                                       static_cast<T>(L::epsilon)};
            if constexpr (training) {
                kernels::batch_norm_forward_training<A>(value_rows, Cp, in.rows, bn, activation,
                                                        params.data() + s.running_mean_offset,
                                                        params.data() + s.running_variance_offset,
                                                        ws.template normalized<i>(), ws.template statistics<i>(), z, y);
            } else {
                kernels::batch_norm_forward_inference<A>(value_rows, Cp, in.rows, bn, activation, y);
            }
        } else if constexpr (L::kind == stage_kind::pooling) {
            on_team(team, [&](work_share share) {
                kernels::pooling_forward<A, L::reduction, geometry_of<S>(), Cp>(samples, in.rows, y, activation, z,
                                                                                share);
            });
        } else if constexpr (L::kind == stage_kind::flatten) {
            static_assert(std::is_same_v<A, identity>,
                          "flatten: an activation after flatten is not supported (flatten is a copy); put it "
                          "before flatten, where it is fused into the layer that produces the values");
            // i == 0: network<> has rejected a flatten there (core/network.hpp); no second error here.
            constexpr std::size_t previous = i == 0 ? 0 : i - 1;
            on_team(team, [&](work_share share) {
                kernels::flatten_forward<S::input_positions, S::input_shape::channels,
                                         layout<Net, T>::stages[previous].padded_output, Cp>(samples, in.rows, y, share);
            });
        } else if constexpr (L::kind == stage_kind::dropout) {
            kernels::dropout_forward<A, Cp>(value_rows, in.rows, y, static_cast<double>(L::rate), training, activation, z);
        } else {
            static_assert(L::kind == stage_kind::residual_add);
            // The block's output: the previous stage, or the one before the projection.
            const stage_input<Net, L::projected ? i - 1 : i, T, workspace<Net, Batch, T, ForTraining>> block(ws, x);
            const stage_input<Net, L::source_plus_one, T, workspace<Net, Batch, T, ForTraining>> shortcut(ws, x);
            kernels::residual_add_forward<A, S::output_width, Cp>(value_rows, block.rows, shortcut.rows,
                                                                 shortcut.stride, y, activation, z);
        }
    });
}

// Where the backward pass finds stage I's stored values and puts its column sums.
// parameter_data may be null when stage I's activation has no learned slope.
template <class Net, std::size_t I, std::size_t Batch, class T>
kernels::activation_gradient_target<T> gradient_target(const T* parameter_data, workspace<Net, Batch, T, true>& ws,
                                                       gradients<Net, T>& grads) noexcept {
    using A = typename Net::template stage<I>::activation;
    constexpr stage_layout s = layout<Net, T>::stages[I];
    const T* u = nullptr;
    if constexpr (keeps_pre_activation<A>) u = ws.template pre_activation<I>();
    else u = ws.template activation<I>();
    const T* addend = nullptr;
    if constexpr (s.skip_gradient_offset != no_offset) addend = ws.template skip_gradient<I>();
    // A recurrent stage's biases are not the column sums of its output gradient (its backward
    // computes them), so whoever produces that gradient does not sum it.
    T* bias_gradient = s.kind == stage_kind::recurrent ? nullptr : offset_or_null(grads.data(), s.bias_offset);
    return {u, s.padded_output, parameter_data ? offset_or_null(parameter_data, s.slope_offset) : nullptr,
            bias_gradient, offset_or_null(grads.data(), s.slope_offset), addend};
}

// The producer of a stage's pre-activation gradient accumulates that stage's column sums, so
// they start at zero.
template <class Net, std::size_t I, class T>
void zero_column_sums(gradients<Net, T>& grads) noexcept {
    constexpr stage_layout s = layout<Net, T>::stages[I];
    T* g = grads.data();
    if constexpr (s.bias_offset != no_offset && s.kind != stage_kind::recurrent)
        for (std::size_t j = 0; j < s.padded_output; ++j) g[s.bias_offset + j] = T(0);
    if constexpr (s.slope_offset != no_offset)
        for (std::size_t j = 0; j < s.padded_output; ++j) g[s.slope_offset + j] = T(0);
}

}  // namespace detail::inline HINGE_ISA_NAMESPACE

inline namespace HINGE_ISA_NAMESPACE {
// The sequence state after the last pass over x (`rows` samples), stored for the next pass: each
// recurrent stage's last h (and c), each causal convolution's last (K - 1) * dilation inputs.
// forward() calls it when ws carries state; trainer::step after its update (backward needs the
// state the pass started from). Rows past `rows` keep their state but fall out of step with the
// others: carry state with full batches.
template <class Net, std::size_t Batch, class T, bool ForTraining>
void advance_state(workspace<Net, Batch, T, ForTraining>& ws, const T* x, std::size_t rows) noexcept {
    using LT = layout<Net, T>;
    for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        using S = typename Net::template stage<i>;
        using L = typename S::layer_type;
        constexpr stage_layout s = LT::stages[i];
        if constexpr (recurrent_layer<L>) {
            kernels::recurrent_final_state<L, S::output_width, s.steps, L::output == returns::all_steps>(
                rows, detail::recurrent_rows_of<Net, i>(ws), ws.state().sample(0) + s.state_offset, LT::state_size);
        } else if constexpr (s.context_rows > 0) {
            const detail::stage_input<Net, input_source_of<L, i>, T, workspace<Net, Batch, T, ForTraining>> in(ws, x);
            const kernels::causal_context<T> context = detail::causal_context_of<Net, i>(ws);
            for (std::size_t n = 0; n < rows; ++n)
                kernels::push_causal_context<s.context_rows, s.context_row_width>(
                    S::input_positions, in.rows + n * S::input_positions * in.stride, in.stride,
                    ws.state().sample(n) + s.state_offset, context);
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
    detail::run_forward<detail::pass_kind::inference>(params, ws, x, rows, 0);
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
    detail::run_forward<detail::pass_kind::inference>(params, ws, x, rows, 0, &team);
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
    detail::run_forward<detail::pass_kind::training>(params, ws, x, rows, noise_seed, team);
}

// The start of the backward pass: a loss calls it with g = dL/dy(r, j) for every output row
// r < rows x output positions and output channel j, once each; it writes dL/dz of the last
// stage, the output activation's derivative applied on the way, and accumulates that stage's
// bias (and slope) gradients. A flat output has one row per sample (j < Net::output_size); a
// sequence output <L, C> one per (sample, step), row r = sample * L + step, j < C.
template <class Net, std::size_t Batch, class T>
class output_gradient {
    static constexpr std::size_t last = Net::stage_count - 1;
    using Act = typename Net::template stage<last>::activation;
    static constexpr stage_layout s = layout<Net, T>::stages[last];

public:
    output_gradient(const parameters<Net, T>& params, workspace<Net, Batch, T, true>& ws, gradients<Net, T>& grads,
                    std::size_t rows) noexcept
        : output_gradient(params.data(), ws, grads, rows) {}

    // parameter_data may be null when the output activation has no learned slope.
    output_gradient(const T* parameter_data, workspace<Net, Batch, T, true>& ws, gradients<Net, T>& grads,
                    std::size_t rows) noexcept
        : target_(detail::gradient_target<Net, last>(parameter_data, ws, grads)),
          dz_(ws.template pre_activation_gradient<last>()) {
        detail::expect_rows<Batch>(rows, "output_gradient: rows must be in 1..batch size");
        detail::zero_column_sums<Net, last>(grads);
        for (std::size_t r = 0; r < rows * s.positions; ++r)
            for (std::size_t j = s.output_width; j < s.padded_output; ++j) dz_[r * stride + j] = T(0);
    }

    void operator()(std::size_t r, std::size_t j, T g) const noexcept {
        T slope_sum = 0;
        const T u = target_.u[r * target_.u_stride + j];
        const T slope = target_.slope ? target_.slope[j] : T(0);
        const T dz = kernels::activation_gradient<Act>(g, u, slope, slope_sum);
        dz_[r * stride + j] = dz;
        if (target_.bias_gradient) target_.bias_gradient[j] += dz;
        if (target_.slope_gradient) target_.slope_gradient[j] += slope_sum;
    }

private:
    static constexpr std::size_t stride = s.gradient_stride;
    kernels::activation_gradient_target<T> target_;
    T* dz_;
};

// seed_output_gradient(params, ws, grads, rows, fn): output_gradient fed with fn(r, j) = dL/dy.
}  // inline namespace HINGE_ISA_NAMESPACE

namespace detail::inline HINGE_ISA_NAMESPACE {
template <class Net, std::size_t Batch, class T, class LossGradient>
void seed_output_gradient(const T* parameter_data, workspace<Net, Batch, T, true>& ws, gradients<Net, T>& grads,
                          std::size_t rows, LossGradient& loss_gradient) noexcept {
    detail::expect_rows<Batch>(rows, "seed_output_gradient: rows must be in 1..batch size");
    const output_gradient<Net, Batch, T> sink(parameter_data, ws, grads, rows);
    for (std::size_t r = 0; r < rows * Net::output_positions; ++r)
        for (std::size_t j = 0; j < Net::output_channels; ++j) sink(r, j, static_cast<T>(loss_gradient(r, j)));
}
}  // namespace detail::inline HINGE_ISA_NAMESPACE

inline namespace HINGE_ISA_NAMESPACE {
template <class Net, std::size_t Batch, class T, class LossGradient>
void seed_output_gradient(const parameters<Net, T>& params, workspace<Net, Batch, T, true>& ws,
                          gradients<Net, T>& grads, std::size_t rows, LossGradient&& loss_gradient) noexcept {
    detail::seed_output_gradient(params.data(), ws, grads, rows, loss_gradient);
}

// The form without parameters, for networks whose output activation has no learned slope.
template <class Net, std::size_t Batch, class T, class LossGradient>
void seed_output_gradient(workspace<Net, Batch, T, true>& ws, gradients<Net, T>& grads, std::size_t rows,
                          LossGradient&& loss_gradient) noexcept {
    static_assert(!has_learned_slope<typename Net::template stage<Net::stage_count - 1>::activation>,
                  "seed_output_gradient(ws, grads, ...): a learned output slope needs the parameters; "
                  "use seed_output_gradient(params, ws, grads, ...)");
    detail::seed_output_gradient(static_cast<const T*>(nullptr), ws, grads, rows, loss_gradient);
}

}  // inline namespace HINGE_ISA_NAMESPACE

enum class input_gradient : bool { skip = false, compute = true };

namespace detail::inline HINGE_ISA_NAMESPACE {

// The gradient of the network input when stage 0 is a convolution: its product writes positions
// of pad(C) values, the input gradient has C per position; this copies them over.
template <std::size_t Positions, std::size_t C, std::size_t Cp, std::size_t OutStride, class T>
void unpad_input_gradient(std::size_t samples, const T* padded, T* input_gradient) noexcept {
    for (std::size_t n = 0; n < samples; ++n)
        for (std::size_t p = 0; p < Positions; ++p)
            for (std::size_t c = 0; c < C; ++c)
                input_gradient[n * OutStride + p * C + c] = padded[(n * Positions + p) * Cp + c];
}

// Stage I's backward: its parameter gradients, and the pre-activation gradient of stage I - 1
// (applying that stage's activation derivative, adding any shortcut gradient that reached its
// output, accumulating its column sums), or for I = 0 the input gradient when asked.
// With a team, the products of dense and convolution stages and the pooling and flatten passes
// are split over its members (each stage's weight gradient and input gradient in one hand-off);
// batch_norm, dropout, residual additions and recurrent stages run on the calling thread.
template <class Net, std::size_t I, std::size_t Batch, class T>
void stage_backward(const parameters<Net, T>& params, workspace<Net, Batch, T, true>& ws, const T* x,
                    gradients<Net, T>& grads, std::size_t rows, input_gradient want_input_gradient,
                    thread_team* team = nullptr) noexcept {
    using S = typename Net::template stage<I>;
    using L = typename S::layer_type;
    using LT = layout<Net, T>;
    constexpr stage_layout s = LT::stages[I];
    constexpr std::size_t stride = s.gradient_stride;
    const T* dz = ws.template pre_activation_gradient<I>();
    const T* p = params.data();
    T* g = grads.data();
    const stage_input<Net, input_source_of<L, I>, T, workspace<Net, Batch, T, true>> in(ws, x);
    const std::size_t samples = rows;
    const std::size_t value_rows = rows * s.positions;

    // A projection (residual_with) reads the block's input: its input gradient goes, without a
    // derivative, to that stage's shortcut buffer, and the stage before it is not its input.
    constexpr bool is_projection = requires { L::input_source_plus_one; };
    T* shortcut_target = nullptr;
    std::size_t shortcut_stride = 0;
    if constexpr (is_projection) {
        constexpr std::size_t source = input_source_of<L, I> - 1;
        static_assert(!s.residual_accumulates,
                      "hinge::residual_with: the input of a projection shortcut is also the input of a later "
                      "residual block; nest them the other way round (not supported yet)");
        shortcut_target = ws.template skip_gradient<source>();
        shortcut_stride = LT::stages[source].padded_output;
    }

    // Where the gradient of this stage's input goes, and with which derivative.
    constexpr bool has_previous = I > 0 && !is_projection;
    using PrevAct = typename Net::template stage<(I > 0 ? I - 1 : 0)>::activation;
    constexpr std::size_t prev_stride = has_previous ? LT::stages[I > 0 ? I - 1 : 0].gradient_stride : 0;
    T* dz_prev = nullptr;
    kernels::activation_gradient_target<T> previous{nullptr, 0, nullptr, nullptr, nullptr, nullptr};
    if constexpr (has_previous) {
        zero_column_sums<Net, I - 1>(grads);
        previous = gradient_target<Net, I - 1>(p, ws, grads);
        dz_prev = ws.template pre_activation_gradient<I - 1>();
    }

    // The input gradient of a network whose first stage works per step of a sequence (dense on a
    // sequence, recurrent): the product writes rows of whole panels, so it goes to a padded
    // scratch first and is unpadded into the input gradient.
    constexpr bool per_step_input = LT::padded_input_gradient_size > 0 && I == 0;
    T* const input_gradient_target = per_step_input ? ws.padded_input_gradient() : ws.input_gradient_data();
    const std::size_t input_gradient_stride =
        per_step_input ? round_up(Net::input_shape::channels, LT::panel) : ws.input_gradient_stride;
    const auto unpad_network_input_gradient = [&] {
        if constexpr (per_step_input) {
            constexpr std::size_t C = Net::input_shape::channels;
            unpad_input_gradient<Net::input_shape::positions, C, round_up(C, LT::panel), LT::padded_input>(
                samples, ws.padded_input_gradient(), ws.input_gradient_data());
        }
    };

    if constexpr (I == 0 && !opens_network<L>) {
        // network<> has rejected this network (core/network.hpp): nothing to add to that error.
    } else if constexpr (dense_layer<L>) {
        // On a sequence, one row per (sample, step), as in the forward pass. The weight gradient
        // and the input gradient read the same dz and write different blocks: one hand-off.
        const auto input_product = [&](work_share share) {
            if constexpr (has_previous) {
                kernels::dense_input_gradient<PrevAct, S::input_width, S::output_width>(
                    value_rows, dz, stride, p + s.weight_offset, ws.transposed_weights(), previous, dz_prev,
                    prev_stride, share);
            } else if constexpr (is_projection) {
                kernels::dense_input_gradient<identity, S::input_width, S::output_width>(
                    value_rows, dz, stride, p + s.weight_offset, ws.transposed_weights(), previous, shortcut_target,
                    shortcut_stride, share);
            } else if (want_input_gradient == input_gradient::compute) {
                kernels::dense_input_gradient<identity, S::input_width, S::output_width>(
                    value_rows, dz, stride, p + s.weight_offset, ws.transposed_weights(), previous,
                    input_gradient_target, input_gradient_stride, share);
            }
        };
        on_team(team, [&](work_share share) {
            kernels::dense_weight_gradient<S::input_width, S::output_width>(
                value_rows, in.rows, in.stride, dz, stride, g + s.weight_offset, ws.packed_inputs(), share);
            input_product(share);
        });
        if constexpr (!has_previous && !is_projection) {
            if (want_input_gradient == input_gradient::compute) unpad_network_input_gradient();
        }
    } else if constexpr (recurrent_layer<L>) {
        constexpr bool all_steps = L::output == returns::all_steps;
        constexpr std::size_t gw = s.gate_width;
        const kernels::recurrent_gradient_rows<T> gradient = kernels::split_recurrent_gradient_scratch(
            ws.recurrent_gradient_scratch(), rows, s.steps, gw, s.padded_output, L::same_pre_activation_gradients);
        kernels::recurrent_backward<L, S::output_width, s.steps, all_steps>(
            rows, dz, stride, recurrent_rows_of<Net, I>(ws), p + s.recurrent_weight_offset, ws.transposed_weights(),
            gradient, g + s.recurrent_weight_offset, g + s.bias_offset, g + s.recurrent_bias_offset,
            ws.packed_inputs());
        // The input projection, over every step at once: dW_ih = X^T dA, dX = dA W_ih^T.
        const std::size_t step_rows = rows * s.steps;
        kernels::dense_weight_gradient<S::input_width, gw>(step_rows, in.rows, in.stride, gradient.da, gw,
                                                           g + s.weight_offset, ws.packed_inputs());
        if constexpr (has_previous) {
            kernels::dense_input_gradient<PrevAct, S::input_width, gw>(step_rows, gradient.da, gw, p + s.weight_offset,
                                                                       ws.transposed_weights(), previous, dz_prev,
                                                                       prev_stride);
        } else if constexpr (is_projection) {
            static_assert(!is_projection, "hinge::residual_with: a recurrent layer cannot be a projection shortcut");
        } else if (want_input_gradient == input_gradient::compute) {
            kernels::dense_input_gradient<identity, S::input_width, gw>(step_rows, gradient.da, gw, p + s.weight_offset,
                                                                        ws.transposed_weights(), previous,
                                                                        input_gradient_target, input_gradient_stride);
            unpad_network_input_gradient();
        }
    } else if constexpr (convolution_layer<L>) {
        constexpr window_geometry G = geometry_of<S>();
        const kernels::causal_context<T> context = causal_context_of<Net, I>(ws);
        constexpr bool input_product = has_previous || is_projection;
        if constexpr (input_product) kernels::transpose_convolution_weights<G, S::output_width>(p + s.weight_offset,
                                                                                                ws.transposed_weights());
        // The input-gradient product splits rows, so its column sums are per member.
        const member_column_sums<T> sums(team, previous, LT::stages[I > 0 ? I - 1 : 0].padded_output);
        on_team(team, [&](work_share share) {
            kernels::convolution_weight_gradient<G, S::output_width>(samples, in.rows, in.stride, dz, stride,
                                                                     g + s.weight_offset, ws.window_scratch(),
                                                                     ws.packed_inputs(),
                                                                     context.ring ? &context : nullptr, share);
            if constexpr (input_product) {
                if (!sums.take(share)) return;
                kernels::convolution_input_gradient_product<std::conditional_t<has_previous, PrevAct, identity>, G,
                                                            S::output_width>(
                    samples, dz, stride, ws.transposed_weights(), sums.target(share),
                    has_previous ? dz_prev : shortcut_target, has_previous ? prev_stride : shortcut_stride,
                    ws.gradient_window_scratch(), share);
            }
        });
        sums.reduce();
        if constexpr (!input_product) {
            if (want_input_gradient == input_gradient::compute) {
                // Padded rows first (the product writes whole panels), in the scratch after the windows.
                constexpr std::size_t Cp = round_up(G.channels, LT::panel);
                T* padded = ws.gradient_window_scratch() +
                            round_up(G.input_positions() * G.window_size() * S::output_width, LT::panel);
                for (std::size_t n = 0; n < samples; ++n) {
                    kernels::convolution_input_gradient<identity, G, S::output_width>(
                        1, dz + n * s.positions * stride, stride, p + s.weight_offset, ws.transposed_weights(),
                        previous, padded, Cp, ws.gradient_window_scratch());
                    unpad_input_gradient<G.input_positions(), G.channels, Cp, LT::padded_input>(
                        1, padded, ws.input_gradient_data() + n * LT::padded_input);
                }
            }
        }
    } else if constexpr (normalization_layer<L>) {
        static_assert(has_previous, "batch_norm cannot open a network");  // network<> rejects it earlier
        kernels::batch_norm_backward<PrevAct>(value_rows, s.padded_output, dz, stride, ws.template normalized<I>(),
                                              ws.template statistics<I>(), p + s.scale_offset, g + s.bias_offset,
                                              g + s.scale_offset, previous, dz_prev, prev_stride);
    } else if constexpr (L::kind == stage_kind::pooling) {
        static_assert(has_previous, "pooling cannot open a network");
        const member_column_sums<T> sums(team, previous, LT::stages[I - 1].padded_output);
        on_team(team, [&](work_share share) {
            if (!sums.take(share)) return;
            kernels::pooling_backward<PrevAct, L::reduction, geometry_of<S>(), LT::stages[I - 1].padded_output>(
                samples, in.rows, dz, stride, sums.target(share), dz_prev, prev_stride, share);
        });
        sums.reduce();
    } else if constexpr (L::kind == stage_kind::flatten) {
        static_assert(has_previous, "flatten cannot open a network");
        const member_column_sums<T> sums(team, previous, LT::stages[I - 1].padded_output);
        on_team(team, [&](work_share share) {
            if (!sums.take(share)) return;
            kernels::flatten_backward<PrevAct, S::input_positions, S::input_shape::channels,
                                      LT::stages[I - 1].padded_output>(samples, dz, stride, sums.target(share),
                                                                       dz_prev, prev_stride, share);
        });
        sums.reduce();
    } else if constexpr (L::kind == stage_kind::dropout) {
        static_assert(has_previous, "dropout cannot open a network");
        kernels::dropout_backward<PrevAct, s.padded_output>(value_rows, dz, stride, kernels::noise_source{ws.training_noise_seed() + 0x1000003ull * I},
                                                            static_cast<double>(L::rate), previous, dz_prev,
                                                            prev_stride);
    } else {
        static_assert(L::kind == stage_kind::residual_add);
        static_assert(has_previous, "a residual block contains at least one stage");
        if constexpr (L::projected) {
            // Previous = the projection (identity activation); the block's output is stage I - 2,
            // whose gradient buffer is this stage's own (same parity), updated in place.
            constexpr std::size_t block = I >= 2 ? I - 2 : 0;
            using BlockAct = typename Net::template stage<block>::activation;
            zero_column_sums<Net, block>(grads);
            kernels::residual_add_backward_projected<PrevAct, BlockAct, s.padded_output>(
                value_rows, dz, stride, previous, dz_prev, prev_stride, gradient_target<Net, block>(p, ws, grads),
                ws.template pre_activation_gradient<block>(), LT::stages[block].gradient_stride);
        } else {
            constexpr std::size_t source = s.residual_source;
            constexpr std::size_t shortcut_stride =
                source == 0 ? Net::input_shape::channels : LT::stages[source == 0 ? 0 : source - 1].padded_output;
            kernels::residual_add_backward<PrevAct, S::output_width, s.padded_output>(
                value_rows, dz, stride, previous, dz_prev, prev_stride,
                ws.template skip_gradient<source == 0 ? Net::stage_count : source - 1>(), shortcut_stride,
                s.residual_accumulates);
        }
    }
}

}  // namespace detail::inline HINGE_ISA_NAMESPACE

inline namespace HINGE_ISA_NAMESPACE {
// The backward pass after the output gradient is seeded (following train_forward): fills every
// parameter gradient (overwriting it) and, if asked, ws.input_gradient(). The activation
// derivative of stage l-1 is applied where stage l produces dL/dz_{l-1} (a gemm epilogue, or the
// pass of a stage without a product), so no pass over memory exists for it.
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
        detail::stage_backward<Net, decltype(index)::value>(params, ws, x, grads, rows, want_input_gradient, team);
    });
    // A residual block that starts at the network input sends part of the input gradient
    // through its shortcut.
    using LT = layout<Net, T>;
    if constexpr (LT::input_skip_offset != no_offset) {
        if (want_input_gradient == input_gradient::compute) {
            const T* shortcut = ws.template skip_gradient<Net::stage_count>();
            T* input = ws.input_gradient_data();
            for (std::size_t n = 0; n < rows; ++n)
                for (std::size_t k = 0; k < Net::input_size; ++k)
                    input[n * LT::padded_input + k] += shortcut[n * Net::input_size + k];
        }
    }
}

}  // inline namespace HINGE_ISA_NAMESPACE
}  // namespace hinge
