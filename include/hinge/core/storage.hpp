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

// The pointers to a stage's tensors inside a parameter (or gradient) block, in the order its
// layer declares them, then its activation's learned slope if it has one: what a layer's
// parameter_view() receives.
template <class T, std::size_t N>
using tensor_pointers = std::array<T*, N>;

// The view of a stage whose layer declares no view of its own: tensor(k) is its tensor k (in the
// order the layer declares them) as stored, with the slope of its activation if it has one.
template <class T, std::size_t N, std::size_t Width>
class tensor_view {
public:
    static constexpr std::size_t output_width = Width;
    static constexpr std::size_t tensor_count = N;

    constexpr tensor_view(const tensor_pointers<T, N>& tensors, T* slope) noexcept : tensors_(tensors), slope_(slope) {}

    constexpr T* tensor(std::size_t k) const noexcept { return tensors_[k]; }
    constexpr T& slope(std::size_t unit) const noexcept { return slope_[unit]; }
    constexpr bool has_slope() const noexcept { return slope_ != nullptr; }

private:
    tensor_pointers<T, N> tensors_;
    T* slope_;
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
        using P = typename Net::template placed<I>;
        using L = typename P::layer_type;
        constexpr stage_layout s = layout_type::stages[I];
        constexpr bool slope = has_learned_slope<typename P::activation>;
        constexpr std::size_t declared = s.tensor_count - (slope ? 1 : 0);
        tensor_pointers<U, declared> tensors{};
        for (std::size_t k = 0; k < declared; ++k) tensors[k] = base + layout_type::template tensor_offset<I>(k);
        U* slope_values = slope ? base + s.slope_offset : nullptr;
        if constexpr (requires { L::template parameter_view<P>(tensors, slope_values); })
            return L::template parameter_view<P>(tensors, slope_values);
        else
            return tensor_view<U, declared, P::output_width>(tensors, slope_values);
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
// pass: every stage's stored output, the buffers its layer asks for (core/stage.hpp: values kept
// for backward, scratch shared by all stages), the gradient of each stage's pre-activation (a few
// buffers that stages share when their gradients are not live at once: two, alternately, in a
// chain; core/layout.hpp), the skip gradients of values with several readers, the input gradient
// and the carried sequence state.
template <class Net, std::size_t Batch, class T = float, bool ForTraining = true>
class workspace {
    static_assert(scalar_type<T>, "workspace<Net, Batch, T>: T must be float or double");
    static_assert(Batch > 0, "workspace<Net, Batch, T>: Batch must be at least 1");
    using layout_type = layout<Net, T>;
    using buffer_layout = workspace_layout<Net, T, Batch, ForTraining>;

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

    // Output of sample `row` of the last forward pass, for a network whose output is flat (or
    // whose channels fill whole panels, so that the positions are contiguous).
    std::span<const T, Net::output_size> output(std::size_t row = 0) const noexcept {
        constexpr std::size_t last = Net::stage_count - 1;
        static_assert(layout_type::stages[last].positions == 1 || layout_type::stages[last].output_width ==
                                                                      layout_type::stages[last].padded_output,
                      "workspace::output(row): the network's output is a sequence or an image whose channels are "
                      "padded in storage, so its positions are not contiguous; read one position with "
                      "output(row, position), or copy the whole output with inference<Net>");
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
        return gradients_.data() + layout_type::stages[I].gradient_buffer * Batch * layout_type::gradient_row_size;
    }
    template <std::size_t I>
    static constexpr std::size_t gradient_stride = layout_type::stages[I].gradient_stride;

    // The gradient that stage I's output receives from its other readers (a residual block's
    // shortcut, rows like activation<I>), or, for I = stage_count, the network input's.
    template <std::size_t I>
    T* skip_gradient() noexcept
        requires ForTraining
    {
        constexpr std::size_t offset =
            I == Net::stage_count ? layout_type::input_skip_offset : layout_type::stages[I].skip_gradient_offset;
        static_assert(offset != no_offset, "workspace::skip_gradient<I>: no other stage reads that value");
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

    // Stage I's pre-activation z, when its activation's derivative needs it: Batch rows of the
    // stage's padded width.
    template <std::size_t I>
    T* pre_activation() noexcept
        requires ForTraining
    {
        static_assert(layout_type::stages[I].pre_activation_offset != no_offset,
                      "workspace::pre_activation<I>: stage I does not keep its pre-activation");
        return training_rows_.data() + Batch * layout_type::stages[I].pre_activation_offset;
    }

    // Buffer k of stage I, in the order its layer declares them (core/stage.hpp).
    template <std::size_t I>
    T* buffer(std::size_t k) noexcept {
        return (buffer_layout::template is_scratch<I>(k) ? scratch_.data() : kept_.data()) +
               buffer_layout::template offset<I>(k);
    }
    template <std::size_t I>
    const T* buffer(std::size_t k) const noexcept {
        return (buffer_layout::template is_scratch<I>(k) ? scratch_.data() : kept_.data()) +
               buffer_layout::template offset<I>(k);
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

    // The noise seed of the last training pass, from which backward recomputes dropout masks.
    std::uint64_t training_noise_seed() const noexcept { return noise_seed_; }
    void set_training_noise_seed(std::uint64_t seed) noexcept { noise_seed_ = seed; }

private:
    static constexpr std::size_t if_training(std::size_t n) { return ForTraining ? n : 0; }

    alignas(storage_alignment) std::array<T, Batch * layout_type::activation_row_size> activations_{};
    alignas(storage_alignment) std::array<T, if_training(layout_type::gradient_buffers * Batch *
                                                         layout_type::gradient_row_size)> gradients_{};
    alignas(storage_alignment) std::array<T, if_training(Batch * layout_type::skip_row_size)> skip_gradients_{};
    alignas(storage_alignment) std::array<T, if_training(Batch * layout_type::padded_input)> input_gradient_{};
    alignas(storage_alignment) std::array<T, if_training(Batch * layout_type::training_row_size)> training_rows_{};
    alignas(storage_alignment) std::array<T, buffer_layout::kept_size> kept_{};
    alignas(storage_alignment) std::array<T, buffer_layout::scratch_size> scratch_{};
    sequence_state<Net, Batch, T> state_{};
    std::uint64_t noise_seed_ = 0;
    bool carry_ = false;
};

}  // namespace hinge
