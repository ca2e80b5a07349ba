#pragma once
// What a stage's forward and backward receive: the stage context. It owns the coupling between
// neighbours, so that no stage reads another stage's internals:
//
//   input<K>()          the K-th value the stage reads (rows and their stride): the output of the
//                       stage before, or of any earlier stage, or the network input
//   output(), pre_activation()   where its output y (and z, when its activation needs z) go
//   parameter(k), gradient(k)    its tensor k, as its layer declares them, and that tensor's gradient
//   buffer(k)           its workspace buffer k
//   state()             what it carries from the last pass (null when this pass starts afresh)
//   activation_inputs() the learned slope and the noise its fused activation needs
//   dz()                (backward) the gradient of its pre-activation, its activation already applied
//   input_gradient<K>() (backward) where the gradient of input K goes: the producer's
//                       pre-activation gradient with the producer's activation derivative to fuse,
//                       a skip gradient to write or add to, or the network input's gradient
//
// Contexts are types of the instruction-set namespace, so a layer's forward<Context>() is a
// different function for every arch it is compiled for (detail/isa_namespace.hpp).
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <hinge/core/storage.hpp>
#include <hinge/kernels/activation.hpp>
#include <hinge/kernels/simd.hpp>
#include <hinge/runtime/threads.hpp>

namespace hinge {

enum class input_gradient : bool { skip = false, compute = true };

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

// A value a stage reads: rows of `stride` values (the padded channels of a stored output, the
// channels of the network input), `positions` rows per sample.
template <class T>
struct value_rows {
    const T* rows;
    std::size_t stride;
};

// Where the gradient of one of a stage's inputs goes (see input_gradient() below). `activation`
// is the derivative to fuse (the producer's activation, or identity); `target` is what that
// derivative needs (the producer's stored values, slope, column sums to accumulate, the skip
// gradient to add); `rows` is null when nobody wants this gradient (the network input, unless
// asked). `accumulate`: add to rows instead of writing them (a skip gradient another reader has
// written first). `network_input`: rows are the network input's gradient, one row of
// padded_input values per sample.
template <class Activation, class T, bool Accumulate = false, bool NetworkInput = false>
struct gradient_sink {
    using activation = Activation;
    static constexpr bool accumulate = Accumulate;
    static constexpr bool network_input = NetworkInput;
    kernels::activation_gradient_target<T> target{nullptr, 0, nullptr, nullptr, nullptr, nullptr};
    T* rows = nullptr;
    std::size_t stride = 0;
    explicit operator bool() const noexcept { return rows != nullptr; }
};

// The column sums (bias and slope gradients) of a sink whose gradient a team produces split over
// rows: each member sums into its own copy (the team's member scratch), and reduce() adds the
// copies to the real sums in member order afterwards, so the result is the same for a given team
// size. With one member, or no sums to take, the target is used as it is. When the copies would
// not fit the scratch, only member 0 works (serially, on the real sums).
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

// The index of the tensor whose gradient is the column sum of a stage's output gradient (a bias
// added to every output position), which whoever produces that gradient accumulates in the same
// pass; no_offset when there is none (a recurrent layer's biases are not: its backward computes
// them).
template <class L>
inline constexpr std::size_t output_bias_tensor = [] {
    if constexpr (requires { L::output_bias_tensor; }) return static_cast<std::size_t>(L::output_bias_tensor);
    else return no_offset;
}();

// What the producer of stage J's pre-activation gradient needs to apply J's activation
// derivative and take J's column sums. parameter_data may be null when J's activation has no
// learned slope.
template <class Net, std::size_t J, std::size_t Batch, class T>
kernels::activation_gradient_target<T> gradient_target(const T* parameter_data, workspace<Net, Batch, T, true>& ws,
                                                       T* gradient_data) noexcept {
    using LT = layout<Net, T>;
    using A = typename Net::template stage<J>::activation;
    constexpr stage_layout s = LT::stages[J];
    constexpr std::size_t bias = output_bias_tensor<typename Net::template stage<J>::layer_type>;
    const T* u = nullptr;
    if constexpr (keeps_pre_activation<A>) u = ws.template pre_activation<J>();
    else u = ws.template activation<J>();
    const T* addend = nullptr;
    if constexpr (s.skip_gradient_offset != no_offset) addend = ws.template skip_gradient<J>();
    T* bias_gradient = nullptr;
    if constexpr (bias != no_offset) bias_gradient = gradient_data + LT::template tensor_offset<J>(bias);
    T* slope_gradient = nullptr;
    const T* slope = nullptr;
    if constexpr (s.slope_offset != no_offset) {
        slope_gradient = gradient_data + s.slope_offset;
        if (parameter_data) slope = parameter_data + s.slope_offset;
    }
    return {u, s.padded_output, slope, bias_gradient, slope_gradient, addend};
}

// The producer of a stage's pre-activation gradient accumulates that stage's column sums, so
// they start at zero.
template <class Net, std::size_t J, class T>
void zero_column_sums(T* gradient_data) noexcept {
    using LT = layout<Net, T>;
    constexpr stage_layout s = LT::stages[J];
    constexpr std::size_t bias = output_bias_tensor<typename Net::template stage<J>::layer_type>;
    if constexpr (bias != no_offset)
        for (std::size_t j = 0; j < s.padded_output; ++j) gradient_data[LT::template tensor_offset<J>(bias) + j] = T(0);
    if constexpr (s.slope_offset != no_offset)
        for (std::size_t j = 0; j < s.padded_output; ++j) gradient_data[s.slope_offset + j] = T(0);
}

// What forward and backward contexts share: the stage, its inputs, output, parameters, buffers
// and state.
template <class Net, std::size_t I, std::size_t Batch, class T, bool ForTraining, class Parameter>
class stage_context_base {
public:
    using network = Net;
    using stage = typename Net::template placed<I>;
    using layer = typename stage::layer_type;
    using activation = typename stage::activation;
    using value_type = T;
    using layout_type = layout<Net, T>;
    using workspace_type = workspace<Net, Batch, T, ForTraining>;
    static constexpr std::size_t index = I;
    static constexpr std::size_t batch = Batch;
    static constexpr stage_layout stage_storage = layout_type::stages[I];

    // The shape of input K, and the distance between two of its rows (positions).
    template <std::size_t K = 0>
    static constexpr std::size_t input_source = layout_type::template input<I>(K).source;
    template <std::size_t K = 0>
    using input_shape = std::conditional_t<input_source<K> == 0, typename Net::input_shape,
                                           typename Net::template stage<(input_source<K> == 0 ? 0 : input_source<K> - 1)>::output_shape>;
    template <std::size_t K = 0>
    static constexpr std::size_t input_stride =
        input_source<K> == 0 ? Net::input_shape::channels
                             : layout_type::stages[input_source<K> == 0 ? 0 : input_source<K> - 1].padded_output;
    static constexpr std::size_t output_stride = stage_storage.padded_output;

    stage_context_base(Parameter* parameters, workspace_type& ws, const T* x, std::size_t samples,
                       thread_team* team) noexcept
        : parameters_(parameters), ws_(ws), x_(x), samples_(samples), team_(team) {}

    template <std::size_t K = 0>
    value_rows<T> input() const noexcept {
        if constexpr (input_source<K> == 0) return {x_, input_stride<K>};
        else return {ws_.template activation<input_source<K> - 1>(), input_stride<K>};
    }

    // Samples in this pass (1 .. Batch), and rows of the output (samples x positions).
    std::size_t samples() const noexcept { return samples_; }
    std::size_t rows() const noexcept { return samples_ * stage::positions; }

    T* output() const noexcept { return ws_.template activation<I>(); }
    Parameter* parameter(std::size_t k) const noexcept {
        return parameters_ + layout_type::template tensor_offset<I>(k);
    }
    const T* slope() const noexcept {
        if constexpr (stage_storage.slope_offset != no_offset) return parameters_ + stage_storage.slope_offset;
        else return nullptr;
    }
    T* buffer(std::size_t k) const noexcept { return ws_.template buffer<I>(k); }

    // What the stage carries from the last pass, for sample 0 (sample n: + n * state_stride),
    // when this pass continues a sequence; null when it starts afresh.
    T* state() const noexcept {
        if constexpr (stage_storage.state_offset == no_offset) return nullptr;
        else return ws_.carries_state() ? ws_.state().sample(0) + stage_storage.state_offset : nullptr;
    }
    // The same block whether or not this pass continues a sequence (advance_state writes it).
    T* stored_state() const noexcept {
        if constexpr (stage_storage.state_offset == no_offset) return nullptr;
        else return ws_.state().sample(0) + stage_storage.state_offset;
    }
    static constexpr std::size_t state_stride = layout_type::state_size;
    // Passes run since the start of the carried sequence.
    std::uint64_t passes() const noexcept { return ws_.state().passes; }

    thread_team* team() const noexcept { return team_; }
    template <class F>
    void on_team(F&& f) const noexcept {
        detail::on_team(team_, f);
    }

protected:
    Parameter* parameters_;
    workspace_type& ws_;
    const T* x_;
    std::size_t samples_;
    thread_team* team_;
};

// The context of a forward pass. Training passes may change parameters (batch_norm's running
// statistics) and keep what backward needs; inference passes read them only.
template <pass_kind Kind, class Net, std::size_t I, std::size_t Batch, class T, bool ForTraining>
class forward_context
    : public stage_context_base<Net, I, Batch, T, ForTraining, std::conditional_t<Kind == pass_kind::training, T, const T>> {
    using base = stage_context_base<Net, I, Batch, T, ForTraining, std::conditional_t<Kind == pass_kind::training, T, const T>>;

public:
    using typename base::stage;
    static constexpr bool training = Kind == pass_kind::training;
    // One step of one sequence, for inference (a stream's step): the layer may take its one-step
    // path, which keeps nothing for backward.
    static constexpr bool single_step =
        !training && Batch == 1 && stage::input_shape::rank == 2 && stage::input_positions == 1;

    forward_context(typename base::workspace_type& ws, std::conditional_t<training, T, const T>* parameters,
                    const T* x, std::size_t samples, std::uint64_t noise_seed, thread_team* team) noexcept
        : base(parameters, ws, x, samples, team), noise_seed_(noise_seed) {}

    // z of a training pass, when the activation's derivative needs it; null otherwise.
    T* pre_activation() const noexcept {
        if constexpr (training && keeps_pre_activation<typename base::activation>)
            return this->ws_.template pre_activation<I>();
        else
            return nullptr;
    }
    // The noise of this stage in this pass (stochastic activations, dropout).
    kernels::noise_source noise() const noexcept { return {noise_seed_ + 0x1000003ull * I}; }
    kernels::activation_inputs<T> activation_inputs() const noexcept {
        return {this->slope(), training, noise()};
    }

    // For a layer written without SIMD: y = Act(z) for every row and unit, with z = z_of(row,
    // unit) for the stage's units, and z = 0 in the padding (as every stage stores there); z is
    // kept too when the activation's derivative needs it.
    template <class F>
    void write_output(F&& z_of) const noexcept {
        using A = typename base::activation;
        constexpr std::size_t width = stage::output_width, padded = base::output_stride;
        T* y = this->output();
        T* z = pre_activation();
        const T* slopes = this->slope();
        for (std::size_t r = 0; r < this->rows(); ++r) {
            for (std::size_t j = 0; j < padded; ++j) {
                const T u = j < width ? static_cast<T>(z_of(r, j)) : T(0);
                if (z) z[r * padded + j] = u;
                T out;
                if constexpr (learned_slope_activation<A>) out = A::forward(u, slopes[j]);
                else if constexpr (stochastic_activation<A>)
                    out = training ? A::forward_with_noise(u, static_cast<T>(noise().normal(r, j))) : A::forward(u);
                else out = A::forward(u);
                y[r * padded + j] = out;
            }
        }
    }

private:
    std::uint64_t noise_seed_;
};

// The context of a backward pass.
template <class Net, std::size_t I, std::size_t Batch, class T>
class backward_context : public stage_context_base<Net, I, Batch, T, true, const T> {
    using base = stage_context_base<Net, I, Batch, T, true, const T>;
    using LT = layout<Net, T>;

public:
    using typename base::stage;
    static constexpr bool training = true;
    static constexpr std::size_t dz_stride = LT::stages[I].gradient_stride;

    backward_context(typename base::workspace_type& ws, const T* parameters, const T* x, T* gradients,
                     std::size_t samples, ::hinge::input_gradient wanted, thread_team* team) noexcept
        : base(parameters, ws, x, samples, team), gradients_(gradients), wanted_(wanted) {}

    // dL/dz of this stage (rows like the output, stride dz_stride).
    const T* dz() const noexcept { return this->ws_.template pre_activation_gradient<I>(); }
    // The gradient of tensor k (overwritten by backward, except column sums that the producer
    // of dz has accumulated: the output bias and the activation's slope).
    T* gradient(std::size_t k) const noexcept { return gradients_ + LT::template tensor_offset<I>(k); }
    // The pre-activation z of a training pass, when this stage kept it; the output otherwise.
    const T* pre_activation() const noexcept {
        if constexpr (keeps_pre_activation<typename base::activation>) return this->ws_.template pre_activation<I>();
        else return this->ws_.template activation<I>();
    }
    // The noise the forward pass drew for this stage.
    kernels::noise_source noise() const noexcept { return {this->ws_.training_noise_seed() + 0x1000003ull * I}; }

    // Where the gradient of input K goes. Call it once per backward (it zeroes the column sums
    // that the sink accumulates).
    template <std::size_t K = 0>
    auto input_gradient() const noexcept {
        constexpr stage_input link = LT::template input<I>(K);
        if constexpr (link.source == 0 && link.fusing) {
            gradient_sink<identity, T, false, true> sink;
            sink.rows = wanted_ == ::hinge::input_gradient::compute ? this->ws_.input_gradient_data() : nullptr;
            sink.stride = LT::padded_input;
            return sink;
        } else if constexpr (link.fusing) {
            constexpr std::size_t J = link.source - 1;
            zero_column_sums<Net, J>(gradients_);
            gradient_sink<typename Net::template stage<J>::activation, T> sink;
            sink.target = gradient_target<Net, J>(this->parameters_, this->ws_, gradients_);
            sink.rows = this->ws_.template pre_activation_gradient<J>();
            sink.stride = LT::stages[J].gradient_stride;
            return sink;
        } else {
            gradient_sink<identity, T, link.accumulates> sink;
            if constexpr (link.source == 0) {
                sink.rows = this->ws_.template skip_gradient<Net::stage_count>();
                sink.stride = LT::input_skip_stride;
            } else {
                sink.rows = this->ws_.template skip_gradient<link.source - 1>();
                sink.stride = base::template input_stride<K>;
            }
            return sink;
        }
    }
    // For a layer written without SIMD: the gradient of input K, g_of(row, channel) = dL/dx for
    // every row of the input and each of its channels, through that input's sink (the producer's
    // activation derivative applied, its skip gradient added, its column sums accumulated), zero
    // in the padding. Nothing is written when nobody wants the gradient (the network input).
    template <std::size_t K = 0, class F>
    void write_input_gradient(F&& g_of) const noexcept {
        using In = typename base::template input_shape<K>;
        constexpr std::size_t C = In::channels, positions = In::positions;
        const auto sink = input_gradient<K>();
        using sink_type = decltype(sink);
        using A = typename sink_type::activation;
        if (!sink) return;
        const std::size_t rows = this->samples() * positions;
        if constexpr (sink_type::network_input) {
            for (std::size_t n = 0; n < this->samples(); ++n) {
                T* out = sink.rows + n * LT::padded_input;
                for (std::size_t k = 0; k < LT::padded_input; ++k) out[k] = T(0);
                for (std::size_t p = 0; p < positions; ++p)
                    for (std::size_t c = 0; c < C; ++c) out[p * C + c] = static_cast<T>(g_of(n * positions + p, c));
            }
        } else {
            constexpr std::size_t width = base::template input_stride<K>;
            const kernels::activation_gradient_target<T>& t = sink.target;
            for (std::size_t r = 0; r < rows; ++r) {
                for (std::size_t j = 0; j < width; ++j) {
                    T g = j < C ? static_cast<T>(g_of(r, j)) : T(0);
                    T& out = sink.rows[r * sink.stride + j];
                    if constexpr (sink_type::accumulate) {
                        out += g;
                    } else if (!t.u) {
                        out = g;  // a skip gradient, written first
                    } else {
                        if (t.addend) g += t.addend[r * t.u_stride + j];
                        T slope_sum = 0;
                        const T dz = kernels::activation_gradient<A>(g, t.u[r * t.u_stride + j], t.slope ? t.slope[j] : T(0),
                                                                     slope_sum);
                        out = dz;
                        if (t.bias_gradient) t.bias_gradient[j] += dz;
                        if (t.slope_gradient) t.slope_gradient[j] += slope_sum;
                    }
                }
            }
        }
    }

    // The network input gradient of `samples` samples from rows of positions x padded channels
    // (a per-step product writes whole panels), stride `padded_stride`, into the input gradient.
    void unpad_network_input_gradient(std::size_t first_sample, std::size_t samples, const T* padded,
                                      std::size_t padded_stride) const noexcept {
        constexpr std::size_t positions = Net::input_shape::positions, C = Net::input_shape::channels;
        T* out = this->ws_.input_gradient_data();
        for (std::size_t n = first_sample; n < first_sample + samples; ++n)
            for (std::size_t p = 0; p < positions; ++p)
                for (std::size_t c = 0; c < C; ++c)
                    out[n * LT::padded_input + p * C + c] = padded[((n - first_sample) * positions + p) * padded_stride + c];
    }

private:
    T* gradients_;
    ::hinge::input_gradient wanted_;
};

}  // namespace detail::inline HINGE_ISA_NAMESPACE
}  // namespace hinge
