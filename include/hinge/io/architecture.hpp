#pragma once
// What a parameter file must agree on with the network type that loads it, computed from the
// planned stages at compile time, and the table of named tensors that the file formats
// (io/save.hpp, io/safetensors.hpp) write and read.
//
//   architecture_description<Net>  "input 4 | dense 4->16 relu | batch_norm(...) 16->16 prelu | ..."
//   architecture_fingerprint<Net>  64-bit FNV-1a of the description
//   tensor_table<Net, T>()         every tensor: hinge name, PyTorch name, shape, where it lives
//
// The description names each stage's kind, widths and activation, with the activation's
// constants (leaky_relu's slope, elu's alpha, ...) and batch_norm's momentum and epsilon as the
// hex bits of their float value, so it is the same string for every compiler and instruction
// set (the storage layout does not depend on them either, see docs/design.md). An activation
// that is not hinge's own names itself with `static constexpr const char* name = "...";` (or a
// specialisation of io::activation_name<A>); otherwise the error below says so.
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <hinge/core/description.hpp>
#include <hinge/core/storage.hpp>
#include <hinge/io/activation_names.hpp>

namespace hinge::io {

namespace detail {

// Two passes over the same writer: one counts, one fills an array of exactly that size.
struct text_counter {
    std::size_t size = 0;
    constexpr void put(char) { ++size; }
};
template <std::size_t N>
struct text_buffer {
    std::array<char, N> chars{};
    std::size_t size = 0;
    constexpr void put(char c) { chars[size++] = c; }
};

using description::put;
using description::put_float_bits;
using description::put_number;

// A flat shape is its width (so descriptions of MLPs read "dense 784->256"), others <H,W,C>.
template <class Out, class Shape>
constexpr void put_shape(Out& out) {
    if constexpr (Shape::rank == 1) {
        put_number(out, Shape::size);
        return;
    }
    out.put('<');
    for (std::size_t d = 0; d < Shape::rank; ++d) {
        if (d > 0) out.put(',');
        put_number(out, Shape::dimension(d));
    }
    out.put('>');
}

// Every stage: what its layer says distinguishes it (core/description.hpp, put_layer), and both
// shapes, so that two architectures with the same parameter count but different arithmetic
// differ here.
template <class Net, class Out>
constexpr void describe(Out& out) {
    put(out, "input ");
    put_shape<Out, typename Net::input_shape>(out);
    for_each_index<Net::stage_count>([&](auto index) {
        using S = typename Net::template stage<decltype(index)::value>;
        using L = typename S::layer_type;
        put(out, " | ");
        description::put_layer<L, typename Net::template placed<decltype(index)::value>>(out);
        // A stage whose values the planner chose (a graph: from<"x">, named inputs) says which;
        // chains and residual blocks keep the descriptions they always had.
        if constexpr (!std::is_void_v<typename S::reads>) {
            put(out, "reads");
            for (std::size_t source : S::reads::values) {
                out.put(' ');
                put_number(out, source);
            }
            out.put(' ');
        }
        put_shape<Out, typename S::input_shape>(out);
        put(out, "->");
        put_shape<Out, typename S::output_shape>(out);
        out.put(' ');
        put_activation<Out, typename S::activation>(out);
    });
}

template <class Net>
inline constexpr std::size_t description_size = [] {
    text_counter counter;
    describe<Net>(counter);
    return counter.size;
}();

template <class Net>
inline constexpr text_buffer<description_size<Net>> description_text = [] {
    text_buffer<description_size<Net>> buffer;
    describe<Net>(buffer);
    return buffer;
}();

constexpr std::uint64_t fnv1a_64(std::string_view s) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ull;
    }
    return h;
}

}  // namespace detail

// A readable, compiler-independent description of Net's stages, e.g.
// "input 4 | dense 4->16 relu | dense 16->3 identity".
template <class Net>
inline constexpr std::string_view architecture_description{detail::description_text<Net>.chars.data(),
                                                           detail::description_size<Net>};

// 64-bit FNV-1a hash of architecture_description<Net>: equal for networks whose parameter files
// are interchangeable.
template <class Net>
inline constexpr std::uint64_t architecture_fingerprint = detail::fnv1a_64(architecture_description<Net>);

// ---- the tensor table ----------------------------------------------------------------------

using hinge::name;
using hinge::tensor_role;

// PyTorch and hinge order the (channel, position) pairs of a flattened index differently:
// PyTorch (NCHW) as c * positions + p, hinge (channels last) as p * channels + c. Two tensors
// need the reordering: a convolution's weight row ([C, Kh, Kw] in PyTorch, (kh * Kw + kw) * C + c
// in hinge: positions = Kh * Kw) and the weight columns of a dense layer after flatten, with the
// per-unit tensors of the stages between them (batch_norm, prelu; positions = H * W of the
// flattened image). positions = 1 is the identity.
struct channel_order {
    std::size_t positions = 1, channels = 1;
    constexpr std::size_t hinge_index(std::size_t torch_index) const noexcept {
        return torch_index % positions * channels + torch_index / positions;
    }
};

// One named tensor of a parameter block. Values are addressed in PyTorch's order: element k of
// the row-major shape (a dense weight is [out, in], a conv2d weight [out, in channels, Kh, Kw])
// lives at block[element(k)].
struct tensor_slot {
    std::string name;        // hinge's name: "stage<I>.<role>", e.g. "stage0.weight"
    std::string torch_name;  // torch.nn.Sequential's state_dict name, e.g. "0.weight" (see docs/file-formats.md)
    tensor_role role;
    std::size_t stage;
    std::size_t module;      // index of the owning module in the equivalent torch.nn.Sequential
    std::size_t rank;        // 1 (vectors), 2 (dense weights), 3 (conv1d weights) or 4 (conv2d weights)
    std::array<std::size_t, 4> shape;
    std::size_t count;       // the product of the rank extents of shape
    bool trainable;          // false for batch_norm's running statistics (buffers)
    // Where the values live: a vector is contiguous from `offset`; a weight (fan_in != 0) is stored
    // input-major in panels of `panel` outputs (core/layout.hpp). `order` maps PyTorch's index
    // inside a weight row (inside the vector) to hinge's.
    std::size_t offset;
    std::size_t fan_in;
    std::size_t panel;
    channel_order order;
    // Recurrent tensors: PyTorch's row o (gate o / gate_rows, unit o % gate_rows) is column
    // o / gate_rows * gate_stride + o % gate_rows here (each gate padded to panels); 0: o itself.
    std::size_t gate_rows = 0;
    std::size_t gate_stride = 0;

    constexpr std::size_t column(std::size_t o) const noexcept {
        return gate_rows == 0 ? o : o / gate_rows * gate_stride + o % gate_rows;
    }
    // Weight element (o, j): panel column(o) / P, row order(j), column(o) % P
    // (tests/io/hinge_format.cpp checks it against dense_view::weight).
    constexpr std::size_t element(std::size_t k) const noexcept {
        if (fan_in == 0) return offset + (gate_rows == 0 ? order.hinge_index(k) : column(k));
        const std::size_t o = column(k / fan_in), i = order.hinge_index(k % fan_in);
        return offset + o / panel * (fan_in * panel) + i * panel + o % panel;
    }
};

// Every tensor of parameters<Net, T>, in stage order (weight/scale, bias/shift, slope, then the
// running statistics). Torch names follow torch.nn.Sequential numbering (docs/file-formats.md): each
// stage layer is one module (Linear, Conv1d/Conv2d, BatchNorm1d/2d, MaxPool/AvgPool, Flatten,
// Dropout), except global_avg_pool, which is two (AdaptiveAvgPool2d(1) or AdaptiveAvgPool1d(1),
// then Flatten), and each activation other than identity is the next module (a prelu's slope is
// that module's "weight"). A convolution's weight is [F, C, Kh, Kw] (conv1d: [F, C, K]); the
// weight of a dense layer after flatten has its columns in PyTorch's flatten order
// (c * H + h) * W + w, which hinge's (h * W + w) * C + c reaches through `order`.
template <class Net, class T>
std::vector<tensor_slot> tensor_table() {
    using LT = layout<Net, T>;
    std::vector<tensor_slot> table;
    std::size_t module = 0;
    // The order of each stage's output relative to PyTorch's (non-identity only after flatten).
    std::array<channel_order, Net::stage_count + 1> output_order{};  // [0]: the network input
    for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        using P = typename Net::template placed<i>;
        using L = typename P::layer_type;
        using In = typename P::input_shape;
        constexpr stage_layout s = LT::stages[i];
        const std::string stage = "stage" + std::to_string(i) + ".";
        const channel_order arriving = output_order[P::sources::values[0]];
        channel_order& leaving = output_order[i + 1];
        constexpr channel_order_rule rule = stage_property::channel_order<L>;
        if constexpr (rule == channel_order_rule::flattens)
            leaving = In::rank > 1 ? channel_order{In::positions, In::channels} : arriving;
        else if constexpr (rule == channel_order_rule::keeps)
            leaving = arriving;  // element-wise: the units keep their order
        std::vector<tensor_slot> buffers;
        for (std::size_t k = 0; k < s.tensor_count; ++k) {
            const tensor_spec& spec = LT::tensors[s.first_tensor + k];
            const std::size_t rows = spec.blocks * spec.units;
            tensor_slot t{stage + std::string(spec.name),
                          std::to_string(module + (spec.in_next_module ? 1 : 0)) + "." + std::string(spec.torch_name),
                          spec.role,
                          i,
                          module,
                          spec.torch_rank,
                          spec.torch_shape,
                          spec.count(),
                          spec.trainable,
                          LT::tensor_offsets[s.first_tensor + k],
                          spec.fan_in,
                          spec.fan_in == 0 ? 1 : LT::panel,
                          spec.fan_in == 0 ? (spec.blocks > 1 ? channel_order{} : leaving)
                          : spec.order == input_order::window
                              ? channel_order{spec.window_positions,
                                              spec.window_channels == 0 ? In::channels : spec.window_channels}
                          : spec.order == input_order::arriving ? arriving
                                                                : channel_order{}};
            if (spec.blocks > 1) {
                t.gate_rows = spec.units;
                t.gate_stride = round_up(spec.units, LT::panel);
            }
            (void)rows;
            // Trainable tensors first, then the stage's buffers (running statistics), as PyTorch
            // lists a module's parameters before its buffers.
            (spec.trainable ? table : buffers).push_back(std::move(t));
        }
        for (tensor_slot& b : buffers) table.push_back(std::move(b));
        module += stage_property::torch_modules<L> + (std::is_same_v<typename P::activation, identity> ? 0 : 1);
    });
    return table;
}

}  // namespace hinge::io
