#pragma once
// Storage owned by the caller: parameters, gradients and workspaces. Each is one aligned,
// fixed-size, trivially copyable object. The library never allocates: a caller who wants a large
// model off the stack writes `auto p = std::make_unique<hinge::parameters<Net>>();` once, outside
// the hot path (operator new honours the 64-byte alignment).
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include <hinge/core/layout.hpp>

namespace hinge {

template <class T>
concept scalar_type = std::is_same_v<T, float> || std::is_same_v<T, double>;

// The logical view of one dense stage inside a parameter (or gradient) block:
// weight(o, i) for output o and input i, bias(o).
template <class T, std::size_t In, std::size_t Out>
class dense_view {
public:
    static constexpr std::size_t input_width = In;
    static constexpr std::size_t output_width = Out;
    static constexpr std::size_t panel = panel_width<std::remove_const_t<T>>;
    static constexpr std::size_t padded_output = round_up(Out, panel);

    constexpr dense_view(T* weights, T* bias, T* slope = nullptr) noexcept
        : weights_(weights), bias_(bias), slope_(slope) {}

    constexpr T& weight(std::size_t output, std::size_t input) const noexcept {
        return weights_[output / panel * (In * panel) + input * panel + output % panel];
    }
    constexpr T& bias(std::size_t output) const noexcept { return bias_[output]; }

    // Raw panel storage (In x padded_output values), for kernels and file formats.
    constexpr std::span<T, In * padded_output> weight_storage() const noexcept {
        return std::span<T, In * padded_output>(weights_, In * padded_output);
    }
    constexpr std::span<T, Out> biases() const noexcept { return std::span<T, Out>(bias_, Out); }

    // The learned slope of the activation (prelu); only for stages that have one.
    constexpr T& slope(std::size_t output) const noexcept { return slope_[output]; }
    constexpr bool has_slope() const noexcept { return slope_ != nullptr; }

private:
    T* weights_;
    T* bias_;
    T* slope_;
};

// The view of a batch_norm stage: scale (gamma), shift (beta), the running statistics, and the
// learned slope of its activation if it has one.
template <class T, std::size_t Width>
class batch_norm_view {
public:
    static constexpr std::size_t input_width = Width;
    static constexpr std::size_t output_width = Width;

    constexpr batch_norm_view(T* scale, T* shift, T* running_mean, T* running_variance, T* slope) noexcept
        : scale_(scale), shift_(shift), mean_(running_mean), variance_(running_variance), slope_(slope) {}

    constexpr T& scale(std::size_t unit) const noexcept { return scale_[unit]; }
    constexpr T& shift(std::size_t unit) const noexcept { return shift_[unit]; }
    constexpr T& running_mean(std::size_t unit) const noexcept { return mean_[unit]; }
    constexpr T& running_variance(std::size_t unit) const noexcept { return variance_[unit]; }
    constexpr T& slope(std::size_t unit) const noexcept { return slope_[unit]; }
    constexpr bool has_slope() const noexcept { return slope_ != nullptr; }

private:
    T* scale_;
    T* shift_;
    T* mean_;
    T* variance_;
    T* slope_;
};

// The view of a stage without parameters of its own (pooling, flatten, dropout, residual_add):
// only the learned slope of its activation, if it has one.
template <class T, std::size_t Width>
class slope_only_view {
public:
    static constexpr std::size_t output_width = Width;

    constexpr explicit slope_only_view(T* slope) noexcept : slope_(slope) {}

    constexpr T& slope(std::size_t unit) const noexcept { return slope_[unit]; }
    constexpr bool has_slope() const noexcept { return slope_ != nullptr; }

private:
    T* slope_;
};

// The view of a recurrent stage (gru, lstm): PyTorch's four tensors, indexed as PyTorch indexes
// them. Row o of W_ih [Gates * Hidden, In] / W_hh [Gates * Hidden, Hidden] and element o of the
// biases belong to gate o / Hidden, unit o % Hidden (gru: r, z, n; lstm: i, f, g, o).
template <class T, std::size_t In, std::size_t Hidden, std::size_t Gates>
class recurrent_view {
public:
    static constexpr std::size_t input_width = In;
    static constexpr std::size_t output_width = Hidden;
    static constexpr std::size_t gates = Gates;
    static constexpr std::size_t gate_rows = Gates * Hidden;  // rows of PyTorch's weight_ih / weight_hh
    static constexpr std::size_t panel = panel_width<std::remove_const_t<T>>;
    static constexpr std::size_t padded_output = round_up(Hidden, panel);
    static constexpr std::size_t gate_width = Gates * padded_output;

    constexpr recurrent_view(T* weight_ih, T* weight_hh, T* bias_ih, T* bias_hh) noexcept
        : weight_ih_(weight_ih), weight_hh_(weight_hh), bias_ih_(bias_ih), bias_hh_(bias_hh) {}

    constexpr T& weight_ih(std::size_t row, std::size_t input) const noexcept {
        return at(weight_ih_, In, column(row), input);
    }
    constexpr T& weight_hh(std::size_t row, std::size_t hidden) const noexcept {
        return at(weight_hh_, Hidden, column(row), hidden);
    }
    constexpr T& bias_ih(std::size_t row) const noexcept { return bias_ih_[column(row)]; }
    constexpr T& bias_hh(std::size_t row) const noexcept { return bias_hh_[column(row)]; }
    constexpr bool has_slope() const noexcept { return false; }

    // Where PyTorch's row lives among the stage's gate_width columns.
    static constexpr std::size_t column(std::size_t row) noexcept {
        return row / Hidden * padded_output + row % Hidden;
    }

private:
    static constexpr T& at(T* w, std::size_t fan_in, std::size_t column, std::size_t input) noexcept {
        return w[column / panel * (fan_in * panel) + input * panel + column % panel];
    }
    T* weight_ih_;
    T* weight_hh_;
    T* bias_ih_;
    T* bias_hh_;
};

namespace detail {
struct parameters_role {};
struct gradients_role {};
}  // namespace detail

// One block of values laid out by layout<Net, T>. parameters<> and gradients<> are two roles of
// the same layout, kept as distinct types so that one cannot be passed where the other belongs.
template <class Net, class T, class Role>
class parameter_block {
    static_assert(scalar_type<T>, "parameters<Net, T>: T must be float or double");

public:
    using network_type = Net;
    using value_type = T;
    using layout_type = layout<Net, T>;
    static constexpr std::size_t storage_size = layout_type::parameter_size;
    // The prefix of storage() that optimizers update; the rest are buffers (running statistics).
    static constexpr std::size_t trainable_size = layout_type::trainable_size;

    constexpr T* data() noexcept { return values_.data(); }
    constexpr const T* data() const noexcept { return values_.data(); }
    // All values including the zero padding (storage_size >= Net::parameter_count).
    constexpr std::span<T, storage_size> storage() noexcept { return values_; }
    constexpr std::span<const T, storage_size> storage() const noexcept { return values_; }

    template <std::size_t I>
    constexpr auto layer() noexcept {
        return view<T, I>(values_.data());
    }
    template <std::size_t I>
    constexpr auto layer() const noexcept {
        return view<const T, I>(values_.data());
    }

    constexpr void fill_zero() noexcept { values_.fill(T(0)); }

    friend constexpr bool operator==(const parameter_block&, const parameter_block&) = default;

private:
    template <class U, std::size_t I>
    static constexpr auto view(U* base) noexcept {
        static_assert(I < Net::stage_count, "parameters<Net>::layer<I>: I must be less than Net::stage_count");
        constexpr stage_layout s = layout_type::stages[I];
        U* slope = s.slope_offset == no_offset ? nullptr : base + s.slope_offset;
        if constexpr (s.recurrent_weight_offset != no_offset)
            return recurrent_view<U, s.input_width, s.output_width, s.gate_width / s.padded_output>(
                base + s.weight_offset, base + s.recurrent_weight_offset, base + s.bias_offset,
                base + s.recurrent_bias_offset);
        else if constexpr (s.weight_offset != no_offset)
            return dense_view<U, s.input_width, s.output_width>(base + s.weight_offset, base + s.bias_offset, slope);
        else if constexpr (s.scale_offset == no_offset)
            return slope_only_view<U, s.output_width>(slope);
        else
            return batch_norm_view<U, s.output_width>(base + s.scale_offset, base + s.bias_offset,
                                                      base + s.running_mean_offset,
                                                      base + s.running_variance_offset, slope);
    }

    alignas(storage_alignment) std::array<T, storage_size> values_{};
};

template <class Net, class T = float>
using parameters = parameter_block<Net, T, detail::parameters_role>;

template <class Net, class T = float>
using gradients = parameter_block<Net, T, detail::gradients_role>;

// What the stateful stages of a network carry from one pass to the next, for Batch independent
// sequences: the hidden state h (and lstm's c) of every recurrent stage, and the last
// (K - 1) * dilation inputs of every causal conv1d (a ring: `passes` counts the passes since the
// start, so a stage whose input has L positions per pass finds the newest row of its ring at
// passes * L without moving any). Trivially copyable: saving a stream's state is a copy of this
// object. All zeros = the start of a sequence.
template <class Net, std::size_t Batch, class T = float>
struct sequence_state {
    static constexpr std::size_t size_per_sample = layout<Net, T>::state_size;
    // Every stage's state, and every sample's, starts on a 64-byte boundary (kernels load it aligned).
    static_assert(size_per_sample % panel_width<T> == 0);
    alignas(storage_alignment) std::array<T, Batch * size_per_sample> values{};
    std::uint64_t passes = 0;

    T* sample(std::size_t row) noexcept { return values.data() + row * size_per_sample; }
    const T* sample(std::size_t row) const noexcept { return values.data() + row * size_per_sample; }
    void reset() noexcept {
        values.fill(T(0));
        passes = 0;
    }
    friend bool operator==(const sequence_state&, const sequence_state&) = default;
};

// Buffers for a forward pass over up to Batch samples, and, when ForTraining, for the backward
// pass: the gradient of each stage's pre-activation (two buffers, reused alternately, since only
// neighbouring stages are live at once), the input gradient, and kernel scratch (transposed
// weights, packed inputs).
template <class Net, std::size_t Batch, class T = float, bool ForTraining = true>
class workspace {
    static_assert(scalar_type<T>, "workspace<Net, Batch, T>: T must be float or double");
    static_assert(Batch > 0, "workspace<Net, Batch, T>: Batch must be at least 1");
    using layout_type = layout<Net, T>;

public:
    using network_type = Net;
    using value_type = T;
    static constexpr std::size_t batch_size = Batch;
    static constexpr bool for_training = ForTraining;

    // Post-activation output of stage I: Batch x positions rows of the padded channel count
    // (row stride activation_stride<I>); sample r starts at row r x positions.
    template <std::size_t I>
    T* activation() noexcept {
        return activations_.data() + Batch * layout_type::stages[I].activation_offset;
    }
    template <std::size_t I>
    const T* activation() const noexcept {
        return activations_.data() + Batch * layout_type::stages[I].activation_offset;
    }
    template <std::size_t I>
    static constexpr std::size_t activation_stride = layout_type::stages[I].padded_output;

    // Output of sample `row` of the last forward pass.
    std::span<const T, Net::output_size> output(std::size_t row = 0) const noexcept {
        constexpr std::size_t last = Net::stage_count - 1;
        static_assert(layout_type::stages[last].positions == 1 || layout_type::stages[last].output_width ==
                                                                      layout_type::stages[last].padded_output,
                      "workspace::output(): the network's output is an image or a sequence whose channels "
                      "are padded in storage; read ws.activation<stage_count - 1>() with activation_stride");
        return std::span<const T, Net::output_size>(activation<last>() + row * layout_type::stages[last].row_size,
                                                    Net::output_size);
    }

    // Output of step `position` of sample `row`, for a network whose output is a sequence <L, C>
    // (rows of padded channels in storage).
    std::span<const T, Net::output_channels> output(std::size_t row, std::size_t position) const noexcept {
        constexpr std::size_t last = Net::stage_count - 1;
        return std::span<const T, Net::output_channels>(
            activation<last>() + (row * Net::output_positions + position) * layout_type::stages[last].padded_output,
            Net::output_channels);
    }

    // Gradient of the loss with respect to stage I's pre-activation (valid during backward), row
    // stride gradient_stride<I>.
    template <std::size_t I>
    T* pre_activation_gradient() noexcept
        requires ForTraining
    {
        return I % 2 == 0 ? gradient_even_.data() : gradient_odd_.data();
    }
    template <std::size_t I>
    static constexpr std::size_t gradient_stride = layout_type::stages[I].gradient_stride;

    // The gradient arriving through the shortcut of the residual blocks that start after stage
    // I (rows like activation<I>), or, for I = stage_count, at the network input.
    template <std::size_t I>
    T* skip_gradient() noexcept
        requires ForTraining
    {
        constexpr std::size_t offset =
            I == Net::stage_count ? layout_type::input_skip_offset : layout_type::stages[I].skip_gradient_offset;
        static_assert(offset != no_offset, "workspace::skip_gradient<I>: no residual block starts there");
        return skip_gradients_.data() + Batch * offset;
    }

    // Gradient of the loss with respect to the network's input, when backward was asked for it.
    std::span<const T> input_gradient(std::size_t row = 0) const noexcept
        requires ForTraining
    {
        return std::span<const T>(input_gradient_.data() + row * layout_type::padded_input, Net::input_size);
    }
    T* input_gradient_data() noexcept
        requires ForTraining
    {
        return input_gradient_.data();
    }
    static constexpr std::size_t input_gradient_stride = layout_type::padded_input;

    T* transposed_weights() noexcept
        requires ForTraining
    {
        return transposed_weights_.data();
    }
    T* packed_inputs() noexcept
        requires ForTraining
    {
        return packed_inputs_.data();
    }
    // Convolution scratch (see layout::window_scratch_size); the first is needed by inference too.
    T* window_scratch() noexcept { return window_scratch_.data(); }
    T* gradient_window_scratch() noexcept
        requires ForTraining
    {
        return gradient_window_scratch_.data();
    }

    // Stage I's pre-activation z (when its activation's derivative needs it) and, for batch_norm
    // stages, the normalised input; both Batch rows of the stage's padded width.
    template <std::size_t I>
    T* pre_activation() noexcept
        requires ForTraining
    {
        static_assert(layout_type::stages[I].pre_activation_offset != no_offset,
                      "workspace::pre_activation<I>: stage I does not keep its pre-activation");
        return training_rows_.data() + Batch * layout_type::stages[I].pre_activation_offset;
    }
    template <std::size_t I>
    T* normalized() noexcept
        requires ForTraining
    {
        static_assert(layout_type::stages[I].normalized_offset != no_offset,
                      "workspace::normalized<I>: stage I is not a batch_norm stage");
        return training_rows_.data() + Batch * layout_type::stages[I].normalized_offset;
    }
    // Per-unit statistics of the last training pass (batch_norm: 1 / std of the batch).
    template <std::size_t I>
    T* statistics() noexcept
        requires ForTraining
    {
        return statistics_.data() + layout_type::stages[I].statistics_offset;
    }

    // Sequence state (networks with recurrent layers or causal convolutions). By default every
    // pass starts each sample's sequence afresh (zero state; the stored state is neither read
    // nor changed). With carry_state(true), a pass starts from the stored state and the pass
    // owner advances it to the state after the pass (trainer::step after its update, forward at
    // the end): consecutive windows of a long signal then give exactly the outputs of one pass
    // over the whole signal (truncated BPTT: gradients stop at the window's start).
    void carry_state(bool carry) noexcept { carry_ = carry; }
    bool carries_state() const noexcept { return carry_; }
    void reset_state() noexcept { state_.reset(); }
    sequence_state<Net, Batch, T>& state() noexcept { return state_; }
    const sequence_state<Net, Batch, T>& state() const noexcept { return state_; }

    // Recurrent stage I's sequence rows (see layout: gates, extra, previous state), per sample.
    T* sequence_rows() noexcept { return sequence_rows_.data(); }
    const T* sequence_rows() const noexcept { return sequence_rows_.data(); }
    T* recurrent_step_scratch() noexcept { return recurrent_step_.data(); }
    T* recurrent_gradient_scratch() noexcept
        requires ForTraining
    {
        return recurrent_gradient_.data();
    }
    T* padded_input_gradient() noexcept
        requires ForTraining
    {
        return padded_input_gradient_.data();
    }

    // The noise seed of the last training pass, from which backward recomputes dropout masks.
    std::uint64_t training_noise_seed() const noexcept { return noise_seed_; }
    void set_training_noise_seed(std::uint64_t seed) noexcept { noise_seed_ = seed; }

private:
    static constexpr std::size_t if_training(std::size_t n) { return ForTraining ? n : 0; }

    alignas(storage_alignment) std::array<T, Batch * layout_type::activation_row_size> activations_{};
    alignas(storage_alignment) std::array<T, if_training(Batch * layout_type::gradient_row_size)> gradient_even_{};
    alignas(storage_alignment) std::array<T, if_training(Batch * layout_type::gradient_row_size)> gradient_odd_{};
    alignas(storage_alignment) std::array<T, if_training(Batch * layout_type::skip_row_size)> skip_gradients_{};
    alignas(storage_alignment) std::array<T, layout_type::window_scratch_size> window_scratch_{};
    alignas(storage_alignment) std::array<T, if_training(layout_type::gradient_window_scratch_size)> gradient_window_scratch_{};
    alignas(storage_alignment) std::array<T, if_training(Batch * layout_type::padded_input)> input_gradient_{};
    alignas(storage_alignment) std::array<T, if_training(layout_type::transposed_weight_size)> transposed_weights_{};
    alignas(storage_alignment) std::array<T, if_training(layout_type::packed_input_size(Batch))> packed_inputs_{};
    alignas(storage_alignment) std::array<T, if_training(Batch * layout_type::training_row_size)> training_rows_{};
    alignas(storage_alignment) std::array<T, if_training(layout_type::statistics_size)> statistics_{};
    alignas(storage_alignment) std::array<T, Batch * layout_type::sequence_row_size> sequence_rows_{};
    alignas(storage_alignment) std::array<T, Batch * layout_type::recurrent_step_size> recurrent_step_{};
    alignas(storage_alignment) std::array<T, if_training(Batch * layout_type::recurrent_gradient_size)> recurrent_gradient_{};
    alignas(storage_alignment) std::array<T, if_training(Batch * layout_type::padded_input_gradient_size)> padded_input_gradient_{};
    sequence_state<Net, Batch, T> state_{};
    std::uint64_t noise_seed_ = 0;
    bool carry_ = false;
};

}  // namespace hinge
