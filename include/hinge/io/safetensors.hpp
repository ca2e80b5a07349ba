#pragma once
// safetensors (https://github.com/huggingface/safetensors), the format of PyTorch and Hugging
// Face: u64 little-endian header length N, N bytes of JSON, then the raw little-endian data.
// The JSON maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
// relative to the data section); an optional "__metadata__" maps strings to strings. Link
// hinge::io: the JSON is parsed and written there (src/io/safetensors.cpp, with nlohmann_json),
// so a translation unit that loads or saves a model does not parse a JSON library.
//
//     hinge::io::load_safetensors(*params, "model.safetensors");   // from torch.nn.Sequential
//     hinge::io::save_safetensors(*params, "out.safetensors");     // torch.load_state_dict-able
//
// Names follow torch.nn.Sequential's state_dict (io::tensor_table, docs/file-formats.md): modules are
// numbered in order, a dense stage is a Linear ("<k>.weight" [out, in], "<k>.bias" [out]), a
// conv2d a Conv2d ("<k>.weight" [F, C, Kh, Kw], "<k>.bias" [F]; conv1d: Conv1d, [F, C, K]), a
// batch_norm stage a BatchNorm1d or BatchNorm2d ("<k>.weight", "<k>.bias", "<k>.running_mean",
// "<k>.running_var"), pooling, flatten and dropout take a number each (global_avg_pool two:
// AdaptiveAvgPool + Flatten), every activation except identity takes the next number, and a
// prelu's slopes are its "<k+1>.weight" ([out] or [channels]; a single shared slope [1] is
// accepted and broadcast). PyTorch flattens an NCHW image in the order (c * H + h) * W + w and
// hinge a channels-last one in (h * W + w) * C + c, so the columns of the weight of a dense layer
// after flatten (and batch_norm/prelu tensors between them) are permuted on load and on save; a
// file's tensors are always in PyTorch's order. safetensors_names adds a prefix and renames
// individual tensors where a model differs, and names the stages that were one multi-layer
// nn.GRU / nn.LSTM (multilayer_recurrent_names); a file whose "hinge.multilayer_recurrent"
// metadata says that (the exporter's and hinge's own files do) is named so without being told.
//
// A file is rejected, with a message that says what was expected and what was found, when the
// header length runs past the file, the JSON is malformed or not an object, a name repeats, an
// entry lacks or mistypes dtype/shape/data_offsets, a dtype is unknown, the offsets are reversed,
// run past the end or overlap another tensor's, the byte count differs from shape x dtype size,
// a tensor that Net needs is missing or has another shape or an unusable dtype, (unless
// allowed) the file holds tensors that Net does not use, or (unless disabled) its hinge.architecture
// metadata describes another network. Loading decodes into a temporary block
// and copies it over the caller's only at the end.
//
// Only what depends on Net is a template here: the tensor table, the architecture description
// and the block. They reach the compiled reader and writer (detail::read_safetensors_tensors,
// detail::write_safetensors_tensors) as a span of tensor_slot, a string and a float* or double*.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <hinge/core/storage.hpp>
#include <hinge/io/architecture.hpp>
#include <hinge/io/file_error.hpp>

namespace hinge::io {

// ---- the file itself ----------------------------------------------------------------------

struct safetensors_tensor {
    std::string dtype;                 // "F32", "F64", "I64", ...
    std::vector<std::uint64_t> shape;  // [] for a scalar
    std::uint64_t begin = 0, end = 0;  // byte range inside the data section
    std::span<const unsigned char> bytes;
    std::uint64_t count() const noexcept {
        std::uint64_t n = 1;
        for (std::uint64_t e : shape) n *= e;  // validated not to overflow
        return n;
    }
};

// A parsed, validated safetensors file. It refers to the bytes it was parsed from.
struct safetensors_file {
    std::string source;
    std::map<std::string, safetensors_tensor> tensors;
    std::map<std::string, std::string> metadata;

    // The tensor `name`; file_error (listing the file's tensors) when there is none.
    const safetensors_tensor& at(const std::string& name) const;
    // The values of a floating-point tensor (F32 or F64) converted to E.
    template <class E>
    std::vector<E> values(const std::string& name) const;
    // " (the file has 'a', 'b', 'c', ...)", for messages.
    std::string listing(std::size_t limit = 12) const;
};

// Parses and validates a safetensors file held in memory (the returned file refers to `bytes`).
safetensors_file parse_safetensors(std::span<const unsigned char> bytes, std::string_view source = "<memory>");

// The returned file refers to the bytes it was parsed from, so a temporary buffer would leave it
// dangling (the ASan build caught a test doing that): keep the bytes in a variable.
safetensors_file parse_safetensors(std::vector<unsigned char>&& bytes, std::string_view source = "<memory>") = delete;

template <class E>
std::vector<E> safetensors_file::values(const std::string& name) const {
    const safetensors_tensor& t = at(name);
    std::vector<E> out(static_cast<std::size_t>(t.count()));
    if (t.dtype == "F32")
        for (std::size_t k = 0; k < out.size(); ++k) out[k] = static_cast<E>(detail::load_le<float>(t.bytes.data() + 4 * k));
    else if (t.dtype == "F64")
        for (std::size_t k = 0; k < out.size(); ++k) out[k] = static_cast<E>(detail::load_le<double>(t.bytes.data() + 8 * k));
    else
        throw file_error(source + ": tensor '" + name + "': expected dtype F32 or F64, found " + t.dtype);
    return out;
}

// Builds a safetensors file tensor by tensor (F32 or F64 values); the JSON header is padded with
// spaces to a multiple of 8 bytes, as the reference implementation does, so the data is aligned.
class safetensors_writer {
public:
    template <class E>
    void add(const std::string& name, std::vector<std::uint64_t> shape, std::span<const E> values) {
        static_assert(std::is_same_v<E, float> || std::is_same_v<E, double>,
                      "safetensors_writer::add: values must be float (F32) or double (F64)");
        append(name, std::move(shape), values);
    }
    // A 64-bit integer scalar (BatchNorm1d's num_batches_tracked).
    void add_int64_scalar(const std::string& name, std::int64_t value);
    void set_metadata(const std::string& key, const std::string& value);

    std::vector<unsigned char> bytes() const;
    void write(const std::string& path) const;

private:
    struct entry {
        std::string dtype;
        std::vector<std::uint64_t> shape;
        std::uint64_t begin = 0, end = 0;
    };
    void append(const std::string& name, std::vector<std::uint64_t> shape, std::span<const float> values);
    void append(const std::string& name, std::vector<std::uint64_t> shape, std::span<const double> values);

    std::map<std::string, entry> entries_;
    std::map<std::string, std::string> metadata_;
    std::vector<unsigned char> data_;
};

// Reads and validates a whole safetensors file; `bytes` keeps its contents alive.
struct safetensors_document {
    std::vector<unsigned char> bytes;
    safetensors_file file;
};
safetensors_document read_safetensors(const std::string& path);

// ---- parameters <-> safetensors -------------------------------------------------------------

// Stages first .. first + layers - 1, which are the layers of one multi-layer torch.nn.GRU or
// nn.LSTM in the file.
struct recurrent_stack {
    std::size_t first = 0, layers = 0;
    friend bool operator==(const recurrent_stack&, const recurrent_stack&) = default;
};

// How hinge's tensors are named in a file: torch.nn.Sequential names (tensor_slot::torch_name),
// with the stages of each recurrent stack named as one multi-layer module's layers (see
// multilayer_recurrent_names), each possibly replaced via `rename` (keyed by the Sequential name,
// e.g. {"0.weight", "encoder.fc1.weight"}), then prefixed with `prefix` (e.g. "model." for a
// Sequential held in an attribute `model`; a renamed tensor gets the prefix too).
struct safetensors_names {
    std::string prefix;
    std::map<std::string, std::string> rename;
    std::vector<recurrent_stack> recurrent_stacks;

    // The name in the file of every tensor of `table` (io::tensor_table), in the table's order.
    std::vector<std::string> of(std::span<const tensor_slot> table) const;
};

namespace detail {
// Appends the stack {first, layers} to names.recurrent_stacks after checking it against `table`:
// std::invalid_argument if a stage of it is not recurrent or it overlaps a stack already there.
void add_recurrent_stack(std::span<const tensor_slot> table, std::size_t first, std::size_t layers,
                         safetensors_names& names);
}  // namespace detail

// The names of a torch.nn.GRU / nn.LSTM with num_layers = Layers for the Layers recurrent stages
// that start at stage First (hinge stacks them as separate stages, each "<k>.weight_ih_l0" by
// default): they all take the first one's module number with suffixes _l0 .. _l<Layers-1>, and
// the modules after them move down, as in nn.Sequential(nn.GRU(C, H, num_layers=2), nn.Linear(H, 1)):
//
//   using net = hn::network<hn::input<L, C>, hn::gru<H>, hn::gru<H>, hn::dense<1>>;
//   hn::io::load_safetensors(params, "model.safetensors", {hn::io::multilayer_recurrent_names<net, 0, 2>()});
//
// A file that hinge or the exporter wrote says so in its "hinge.multilayer_recurrent" metadata
// ("0,2"), which the plain load_safetensors applies; a file saved with these names gets that
// metadata. `names` supplies a prefix and renames (keyed, as always, by the default names), which
// take precedence.
template <class Net, std::size_t First, std::size_t Layers, class T = float>
safetensors_names multilayer_recurrent_names(safetensors_names names = {}) {
    static_assert(Layers >= 1 && First + Layers <= Net::stage_count,
                  "multilayer_recurrent_names<Net, First, Layers>: the stages First .. First + Layers - 1 must exist");
    detail::add_recurrent_stack(tensor_table<Net, T>(), First, Layers, names);
    return names;
}

struct safetensors_options {
    // The names of the tensors in the file. When it names no recurrent stack and the file's
    // "hinge.multilayer_recurrent" metadata does ("first,layers;..."), loading takes the file's.
    safetensors_names names;
    // Loading: tensors in the file that Net has no place for are an error unless this is set
    // (BatchNorm1d's "num_batches_tracked" is always accepted and ignored).
    bool allow_unused_tensors = false;
    // Loading: a file that carries hinge's "hinge.architecture" metadata (every file hinge writes
    // does) must describe Net, or the load is a file_error naming both architectures and the first
    // stage that differs: tensor names and shapes alone let a relu network's file load into a
    // tanh network. Files without that metadata (PyTorch's, other tools') are never checked. Set
    // this to false to load a file whose metadata is stale, e.g. edited by another tool.
    bool check_architecture = true;
};

namespace detail {
// The non-template core, compiled once (src/io/safetensors.cpp). The network is what `table`
// (io::tensor_table<Net, T>()) and `architecture` (io::architecture_description<Net>) say; `block`
// is its parameter storage, laid out as tensor_slot::element says.
//
// The file's bytes: every tensor of `table`, "<k>.num_batches_tracked" for each batch_norm stage,
// and the metadata "format", "hinge.architecture" (and "hinge.multilayer_recurrent").
std::vector<unsigned char> write_safetensors_tensors(std::span<const tensor_slot> table, std::string_view architecture,
                                                     const safetensors_options& options, const float* block);
std::vector<unsigned char> write_safetensors_tensors(std::span<const tensor_slot> table, std::string_view architecture,
                                                     const safetensors_options& options, const double* block);
// Checks `file` against the network and decodes its tensors into `block`. Throws file_error;
// `block` may then be partly written, so callers pass a scratch block.
void read_safetensors_tensors(const safetensors_file& file, std::span<const tensor_slot> table,
                              std::string_view architecture, const safetensors_options& options, float* block);
void read_safetensors_tensors(const safetensors_file& file, std::span<const tensor_slot> table,
                              std::string_view architecture, const safetensors_options& options, double* block);
}  // namespace detail

// The bytes of a safetensors file with every tensor of `params` (F32 for float, F64 for double),
// plus "<k>.num_batches_tracked" = 0 for each batch_norm stage so that a strict
// torch load_state_dict accepts it, and metadata {"format": "pt", "hinge.architecture": ...}
// (and "hinge.multilayer_recurrent" when options.names has recurrent stacks).
template <class Net, class T, class Role>
std::vector<unsigned char> save_safetensors_to_bytes(const parameter_block<Net, T, Role>& params,
                                                     const safetensors_options& options = {}) {
    return detail::write_safetensors_tensors(tensor_table<Net, T>(), architecture_description<Net>, options,
                                             params.data());
}

template <class Net, class T, class Role>
void save_safetensors(const parameter_block<Net, T, Role>& params, const std::string& path,
                      const safetensors_options& options = {}) {
    detail::write_file_atomically(path, save_safetensors_to_bytes(params, options));
}

// Fills `params` from a parsed safetensors file. F32 and F64 tensors are accepted for
// double parameters (F32 widens exactly); float parameters need F32, because narrowing F64 would
// silently change the values. Throws file_error; on error `params` is unchanged.
template <class Net, class T, class Role>
void load_safetensors(parameter_block<Net, T, Role>& params, const safetensors_file& file,
                      const safetensors_options& options = {}) {
    auto staged = std::make_unique<parameter_block<Net, T, Role>>();
    detail::read_safetensors_tensors(file, tensor_table<Net, T>(), architecture_description<Net>, options,
                                     staged->data());
    params = *staged;
}

template <class Net, class T, class Role>
void load_safetensors_from_bytes(parameter_block<Net, T, Role>& params, std::span<const unsigned char> bytes,
                                 const safetensors_options& options = {}, std::string_view source = "<memory>") {
    load_safetensors(params, parse_safetensors(bytes, source), options);
}

template <class Net, class T, class Role>
void load_safetensors(parameter_block<Net, T, Role>& params, const std::string& path,
                      const safetensors_options& options = {}) {
    const std::vector<unsigned char> bytes = detail::read_whole_file(path);
    load_safetensors(params, parse_safetensors(bytes, path), options);
}

}  // namespace hinge::io
