#pragma once
// The stage protocol: what a layer kind declares so that the rest of hinge can plan, store,
// initialise, save, load, run, train and stream it without knowing which layer it is.
//
// A *stage layer* is a struct with `static constexpr bool opens_stage = true;` and:
//
//   output_shape<Arriving, Stage>()     the shape rule, with its HINGE_REJECT errors (core/plan.hpp)
//   forward(context), backward(context) the computation, on what a stage context hands it
//                                       (runtime/stage_context.hpp): inputs, output, parameters,
//                                       buffers, scratch, carried state, gradients
//
// and, optionally (each has a default below):
//
//   tensors<S>()              its parameters: name, role, shape, trainable or buffer, PyTorch
//                             name, initial values (tensor_spec); the layout computes every
//                             offset from them, and the io table, the views and the initialisers
//                             read them
//   buffers<S, T, Batch, Training>()   workspace needs (buffer_spec): values kept for backward,
//                             scratch shared with other stages
//   state_size<S, T>()        values per sample carried from one pass to the next (a recurrent
//                             h, a causal convolution's past inputs); with advance_state(context)
//   streams<S>()              whether one step at a time gives the whole-sequence result
//   describe<S>(out)          its part of the architecture description that files are checked
//                             against; by default its `name`
//   initialize(view, draw)    its own initialisation, when a per-tensor law is not enough
//   properties: reads_network_input, accepts_activation, channel_order, torch_modules,
//               normalizes, affine (see stage_property below)
//
// S is the placed stage (placed_stage<Net, I>): the planned stage's shapes and widths, its index
// and its sources. Nothing outside a layer's own header looks at which layer it is: a layer in
// the user's code is planned, trained, streamed, saved and loaded like hinge's own.
// docs/design.md, "Writing a layer", walks through one.
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include <hinge/activations/concepts.hpp>
#include <hinge/core/panel.hpp>

namespace hinge {

// ---- tensors ---------------------------------------------------------------------------------

// What a tensor is for. Files and descriptions use the names; the layout gives each role's first
// tensor a named offset (core/layout.hpp), which generated model headers check.
enum class tensor_role : std::uint8_t { weight, bias, slope, scale, shift, running_mean, running_variance };

constexpr std::string_view name(tensor_role r) noexcept {
    switch (r) {
        case tensor_role::weight: return "weight";
        case tensor_role::bias: return "bias";
        case tensor_role::slope: return "slope";
        case tensor_role::scale: return "scale";
        case tensor_role::shift: return "shift";
        case tensor_role::running_mean: return "running_mean";
        case tensor_role::running_variance: return "running_variance";
    }
    return "?";
}

// How a tensor starts (hinge::init): zero, a constant (tensor_spec::value), or, for weights,
// drawn with the variance the chosen scheme (He, Glorot, LeCun, automatic) gives the stage.
enum class initial_values : std::uint8_t { zero, constant, fan_scaled };

// How PyTorch orders the rows (the inputs) of a weight matrix, relative to hinge:
//   plain     the same order;
//   window    a window of `window_positions` positions x `window_channels` channels (0: the
//             arriving channels), which PyTorch orders (channel, position) and hinge (position,
//             channel): a convolution's weight (a grouped one's window holds the C / G channels
//             of one group);
//   arriving  the order of the value arriving at the stage (a dense layer after flatten sees
//             PyTorch's (c, h, w) flatten order).
enum class input_order : std::uint8_t { plain, window, arriving };

// One tensor of a stage. A matrix (fan_in > 0) has fan_in rows and `blocks` blocks of `units`
// columns; it is stored input-major in panels (for output panel j, the fan_in x P block is
// contiguous), each block padded to whole panels: the B operand of the kernels as it is. A vector
// (fan_in = 0) has one value per column, blocks padded the same way. PyTorch's row o of a blocked
// tensor is block o / units, column o % units.
struct tensor_spec {
    std::string_view name;        // hinge's name; files call it "stage<I>.<name>"
    tensor_role role = tensor_role::weight;
    std::string_view torch_name;  // the attribute of the stage's PyTorch module ("weight", "weight_ih_l0")
    std::size_t fan_in = 0;       // rows of a matrix; 0: a vector
    std::size_t units = 0;        // columns per block
    std::size_t blocks = 1;       // column blocks, each padded to whole panels
    bool trainable = true;        // false: a buffer, stored after every trainable tensor
    initial_values initial = initial_values::zero;
    double value = 0;             // the constant of initial_values::constant
    std::size_t fan_out = 0;      // Glorot's fan-out of a fan_scaled weight
    // PyTorch's shape: [blocks * units] for a vector; for a matrix [blocks * units, dims...] whose
    // trailing dims multiply to fan_in (a conv2d weight [F, C, Kh, Kw]).
    std::size_t torch_rank = 1;
    std::array<std::size_t, 4> torch_shape{};
    input_order order = input_order::plain;
    std::size_t window_positions = 1;
    std::size_t window_channels = 0;  // 0: the channels of the arriving value
    // The tensor belongs to the module after the stage's (an activation's learned slope: PyTorch's
    // nn.PReLU that follows the layer).
    bool in_next_module = false;

    // Where PyTorch's element (row o, input i) is stored, from the tensor's offset: row o is
    // column (o / units) * pad(units) + o % units (blocks padded to panels); a matrix is stored
    // input-major in panels (i is in hinge's order: see input_order). A vector: element(o, 0).
    template <class T>
    constexpr std::size_t element(std::size_t o, std::size_t i) const noexcept {
        constexpr std::size_t P = panel_width<T>;
        const std::size_t column = o / units * round_up(units, P) + o % units;
        if (fan_in == 0) return column;
        return column / P * (fan_in * P) + i * P + column % P;
    }

    // Values stored for value type T, padding included.
    template <class T>
    constexpr std::size_t storage_size() const noexcept {
        return (fan_in == 0 ? 1 : fan_in) * blocks * round_up(units, panel_width<T>);
    }
    constexpr std::size_t count() const noexcept { return (fan_in == 0 ? 1 : fan_in) * blocks * units; }
};

// A weight of fan_in x units, drawn with the scheme's variance (PyTorch shape [units, fan_in]).
constexpr tensor_spec weight_matrix(std::string_view name, std::string_view torch_name, std::size_t fan_in,
                                    std::size_t units, std::size_t fan_out, input_order order = input_order::plain) {
    tensor_spec t{name, tensor_role::weight, torch_name, fan_in, units};
    t.initial = initial_values::fan_scaled;
    t.fan_out = fan_out;
    t.torch_rank = 2;
    t.torch_shape = {units, fan_in, 1, 1};
    t.order = order;
    return t;
}

// A vector of one value per unit, starting at `value`.
constexpr tensor_spec unit_vector(std::string_view name, tensor_role role, std::string_view torch_name,
                                  std::size_t units, double value = 0, bool trainable = true) {
    tensor_spec t{name, role, torch_name, 0, units};
    t.trainable = trainable;
    t.initial = value == 0 ? initial_values::zero : initial_values::constant;
    t.value = value;
    t.torch_shape = {units, 1, 1, 1};
    return t;
}

// ---- workspace needs ---------------------------------------------------------------------------

// One buffer a stage asks of a workspace, in values (the layout rounds each to whole panels, so
// every buffer starts on a cache line). `scratch`: used only inside the stage's own forward or
// backward call, so it shares its memory with every other stage's scratch; otherwise the buffer is
// the stage's own for the workspace's lifetime (values kept from forward for backward).
// `training_only`: absent from inference workspaces.
struct buffer_spec {
    std::size_t size = 0;
    bool scratch = false;
    bool training_only = false;
};

// ---- properties --------------------------------------------------------------------------------

// What the values of a stage's output are, in PyTorch's order, relative to its input (io/).
enum class channel_order_rule : std::uint8_t {
    resets,    // a product: its output units are in order
    keeps,     // element-wise: unit j of the output is unit j of the input
    flattens,  // positions x channels to one vector: PyTorch orders it (channel, position)
};

// A stage layer: opens a stage and has a shape rule. (The planner calls output_shape<In, Stage>()
// or, for a layer written without the stage index, output_shape<In>().)
template <class L>
concept stage_layer = requires {
    requires L::opens_stage;
};

template <class L>
concept layer = stage_layer<L> || elementwise_activation<L>;

// Optional properties with their defaults. Each is a static constexpr member of the layer.
//   reads_network_input  it may be the first stage (it reads the raw, unpadded input): dense,
//                        convolutions, recurrent layers
//   accepts_activation   false: an activation after it is an error (a recurrent layer's output is
//                        the state its next step reads)
//   channel_order        see channel_order_rule
//   torch_modules        modules it is in torch.nn.Sequential's numbering (global_avg_pool: 2)
//   normalizes           a normalising stage: the layer before it is initialised for the
//                        activation after it (dense, batch_norm, relu: He)
//   couples_samples      its training pass mixes the samples of a batch (batch_norm's statistics)
//   affine               y = x W + b, with W a fan_scaled weight and b a bias (dense,
//                        convolutions): what the analysis of piecewise-linear networks reads
namespace stage_property {
template <class L>
inline constexpr bool reads_network_input = [] {
    if constexpr (requires { L::reads_network_input; }) return static_cast<bool>(L::reads_network_input);
    else return false;
}();
template <class L>
inline constexpr bool accepts_activation = [] {
    if constexpr (requires { L::accepts_activation; }) return static_cast<bool>(L::accepts_activation);
    else return true;
}();
template <class L>
inline constexpr channel_order_rule channel_order = [] {
    if constexpr (requires { L::channel_order; }) return static_cast<channel_order_rule>(L::channel_order);
    else return channel_order_rule::resets;
}();
template <class L>
inline constexpr std::size_t torch_modules = [] {
    if constexpr (requires { L::torch_modules; }) return static_cast<std::size_t>(L::torch_modules);
    else return std::size_t{1};
}();
template <class L>
inline constexpr bool normalizes = [] {
    if constexpr (requires { L::normalizes; }) return static_cast<bool>(L::normalizes);
    else return false;
}();
template <class L>
inline constexpr bool couples_samples = [] {
    if constexpr (requires { L::couples_samples; }) return static_cast<bool>(L::couples_samples);
    else return false;
}();
template <class L>
inline constexpr bool affine = [] {
    if constexpr (requires { L::affine; }) return static_cast<bool>(L::affine);
    else return false;
}();
}  // namespace stage_property

// A stage whose layer is affine (see stage_property::affine).
template <class L>
concept affine_layer = stage_layer<L> && stage_property::affine<L>;

// ---- the declarations, with their defaults -----------------------------------------------------

namespace detail {
template <class L, class S>
constexpr auto declared_tensors() {
    if constexpr (requires { L::template tensors<S>(); }) return L::template tensors<S>();
    else return std::array<tensor_spec, 0>{};
}
template <class L, class S, class T, std::size_t Batch, bool Training>
constexpr auto declared_buffers() {
    if constexpr (requires { L::template buffers<S, T, Batch, Training>(); })
        return L::template buffers<S, T, Batch, Training>();
    else
        return std::array<buffer_spec, 0>{};
}
template <class L, class S, class T>
constexpr std::size_t declared_state_size() {
    if constexpr (requires { L::template state_size<S, T>(); }) return L::template state_size<S, T>();
    else return 0;
}
template <class L, class S>
constexpr bool declared_streams() {
    if constexpr (requires { L::template streams<S>(); }) return L::template streams<S>();
    else return false;
}
}  // namespace detail

}  // namespace hinge
