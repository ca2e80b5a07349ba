#pragma once
// safetensors (https://github.com/huggingface/safetensors), the format of PyTorch and Hugging
// Face: u64 little-endian header length N, N bytes of JSON, then the raw little-endian data.
// The JSON maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
// relative to the data section); an optional "__metadata__" maps strings to strings. Link
// hinge::io (nlohmann_json, from Debian's nlohmann-json3-dev).
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
// individual tensors where a model differs.
//
// A file is rejected, with a message that says what was expected and what was found, when the
// header length runs past the file, the JSON is malformed or not an object, a name repeats, an
// entry lacks or mistypes dtype/shape/data_offsets, a dtype is unknown, the offsets are reversed,
// run past the end or overlap another tensor's, the byte count differs from shape x dtype size,
// a tensor that Net needs is missing or has another shape or an unusable dtype, (unless
// allowed) the file holds tensors that Net does not use, or (unless disabled) its hinge.architecture
// metadata describes another network. Loading decodes into a temporary block
// and copies it over the caller's only at the end.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

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

    const safetensors_tensor& at(const std::string& name) const {
        const auto it = tensors.find(name);
        if (it == tensors.end()) throw file_error(source + ": no tensor named '" + name + "'" + listing());
        return it->second;
    }
    // The values of a floating-point tensor (F32 or F64) converted to E.
    template <class E>
    std::vector<E> values(const std::string& name) const;

    // " (the file has: a, b, c, ...)", for messages.
    std::string listing(std::size_t limit = 12) const {
        std::string s = " (the file has ";
        if (tensors.empty()) return s + "no tensors)";
        std::size_t n = 0;
        for (const auto& [key, value] : tensors) {
            if (n == limit) return s + ", ... " + std::to_string(tensors.size() - n) + " more)";
            s += (n++ ? ", '" : "'") + key + "'";
        }
        return s + ")";
    }
};

namespace detail {

inline std::uint64_t dtype_size(std::string_view dtype) noexcept {
    if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
    if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
    if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
    if (dtype == "BOOL" || dtype == "U8" || dtype == "I8" || dtype == "F8_E4M3" || dtype == "F8_E5M2") return 1;
    return 0;
}

inline std::string safetensors_shape_text(const std::vector<std::uint64_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

// The safetensors reference implementation refuses headers above 100 MB; so does this reader.
inline constexpr std::uint64_t max_safetensors_header = 100'000'000;

}  // namespace detail

// Parses and validates a safetensors file held in memory (the returned file refers to `bytes`).
inline safetensors_file parse_safetensors(std::span<const unsigned char> bytes, std::string_view source = "<memory>") {
    using nlohmann::json;
    safetensors_file file;
    file.source = std::string(source);
    const std::string& src = file.source;
    if (bytes.size() < 8)
        throw file_error(src + ": truncated: a safetensors file starts with an 8-byte header length, the file has " +
                         std::to_string(bytes.size()) + " bytes");
    const auto header_size = detail::load_le<std::uint64_t>(bytes.data());
    if (header_size > detail::max_safetensors_header)
        throw file_error(src + ": the header length is " + std::to_string(header_size) + " bytes, more than the " +
                         std::to_string(detail::max_safetensors_header) + " a safetensors header may have (not a safetensors file?)");
    if (header_size > bytes.size() - 8)
        throw file_error(src + ": truncated: the header length is " + std::to_string(header_size) +
                         " bytes, but only " + std::to_string(bytes.size() - 8) + " bytes follow it");
    const auto header = bytes.subspan(8, static_cast<std::size_t>(header_size));
    const auto data = bytes.subspan(8 + static_cast<std::size_t>(header_size));

    // Repeated names at the top level would silently shadow each other in a JSON object.
    std::string repeated;
    const json::parser_callback_t reject_repeats = [&, seen = std::vector<std::string>()](
                                                        int depth, json::parse_event_t event, json& parsed) mutable {
        if (depth == 1 && event == json::parse_event_t::key && repeated.empty()) {
            const std::string key = parsed.get<std::string>();
            if (std::find(seen.begin(), seen.end(), key) != seen.end()) repeated = key;
            seen.push_back(key);
        }
        return true;
    };
    json root;
    try {
        root = json::parse(header.begin(), header.end(), reject_repeats);
    } catch (const json::exception& e) {
        throw file_error(src + ": the header is not valid JSON: " + e.what());
    }
    if (!repeated.empty()) throw file_error(src + ": the header names the tensor '" + repeated + "' twice");
    if (!root.is_object())
        throw file_error(src + ": the header must be a JSON object, found a JSON " + std::string(root.type_name()));

    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;  // (begin, end) for the overlap check
    std::vector<const std::string*> range_names;
    for (const auto& [name, entry] : root.items()) {
        if (name == "__metadata__") {
            if (!entry.is_object())
                throw file_error(src + ": __metadata__ must be an object of strings, found a JSON " +
                                 std::string(entry.type_name()));
            for (const auto& [key, value] : entry.items()) {
                if (!value.is_string())
                    throw file_error(src + ": __metadata__['" + key + "'] must be a string, found a JSON " +
                                     std::string(value.type_name()));
                file.metadata[key] = value.get<std::string>();
            }
            continue;
        }
        const std::string what = src + ": tensor '" + name + "': ";
        if (!entry.is_object()) throw file_error(what + "expected an object, found a JSON " + std::string(entry.type_name()));
        for (const auto& [key, value] : entry.items())
            if (key != "dtype" && key != "shape" && key != "data_offsets")
                throw file_error(what + "unexpected field '" + key + "' (expected dtype, shape, data_offsets)");
        const auto dtype = entry.find("dtype");
        const auto shape = entry.find("shape");
        const auto offsets = entry.find("data_offsets");
        if (dtype == entry.end() || !dtype->is_string()) throw file_error(what + "missing or non-string 'dtype'");
        if (shape == entry.end() || !shape->is_array()) throw file_error(what + "missing or non-array 'shape'");
        if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2)
            throw file_error(what + "'data_offsets' must be an array [begin, end]");
        safetensors_tensor t;
        t.dtype = dtype->get<std::string>();
        const std::uint64_t element_size = detail::dtype_size(t.dtype);
        if (element_size == 0) throw file_error(what + "unknown dtype '" + t.dtype + "'");
        std::uint64_t count = 1;
        for (const json& extent : *shape) {
            if (!extent.is_number_unsigned())
                throw file_error(what + "shape entries must be non-negative integers, found " + extent.dump());
            t.shape.push_back(extent.get<std::uint64_t>());
            if (!detail::checked_multiply(count, t.shape.back(), count))
                throw file_error(what + "the shape " + detail::safetensors_shape_text(t.shape) + " overflows");
        }
        for (const json& offset : *offsets)
            if (!offset.is_number_unsigned())
                throw file_error(what + "data_offsets must be non-negative integers, found " + offsets->dump());
        t.begin = (*offsets)[0].get<std::uint64_t>();
        t.end = (*offsets)[1].get<std::uint64_t>();
        if (t.begin > t.end)
            throw file_error(what + "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                             "] are reversed");
        if (t.end > data.size())
            throw file_error(what + "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                             "] run past the end of the data, which has " + std::to_string(data.size()) + " bytes");
        std::uint64_t expected_bytes = 0;
        if (!detail::checked_multiply(count, element_size, expected_bytes) || expected_bytes != t.end - t.begin)
            throw file_error(what + "shape " + detail::safetensors_shape_text(t.shape) + " of " + t.dtype + " needs " +
                             (expected_bytes || count == 0 ? std::to_string(expected_bytes) : std::string("too many")) +
                             " bytes, but data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                             "] hold " + std::to_string(t.end - t.begin));
        t.bytes = data.subspan(static_cast<std::size_t>(t.begin), static_cast<std::size_t>(t.end - t.begin));
        const auto inserted = file.tensors.emplace(name, std::move(t)).first;
        ranges.emplace_back(inserted->second.begin, inserted->second.end);
        range_names.push_back(&inserted->first);
    }
    // Overlaps: sort the ranges by start; each non-empty range must start at or after the end of
    // the previous non-empty one.
    std::vector<std::size_t> order(ranges.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return ranges[a] < ranges[b]; });
    const std::size_t none = static_cast<std::size_t>(-1);
    std::size_t previous = none;
    for (std::size_t i : order) {
        if (ranges[i].first == ranges[i].second) continue;
        if (previous != none && ranges[i].first < ranges[previous].second)
            throw file_error(src + ": tensors '" + *range_names[previous] + "' [" +
                             std::to_string(ranges[previous].first) + ", " + std::to_string(ranges[previous].second) +
                             ") and '" + *range_names[i] + "' [" + std::to_string(ranges[i].first) + ", " +
                             std::to_string(ranges[i].second) + ") overlap");
        previous = i;
    }
    return file;
}

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
        const std::uint64_t begin = data_.size();
        data_.resize(data_.size() + values.size() * sizeof(E));
        for (std::size_t k = 0; k < values.size(); ++k) detail::store_le(data_.data() + begin + k * sizeof(E), values[k]);
        header_[name] = {{"dtype", sizeof(E) == 4 ? "F32" : "F64"},
                         {"shape", std::move(shape)},
                         {"data_offsets", {begin, static_cast<std::uint64_t>(data_.size())}}};
    }
    // A 64-bit integer scalar (BatchNorm1d's num_batches_tracked).
    void add_int64_scalar(const std::string& name, std::int64_t value) {
        const std::uint64_t begin = data_.size();
        data_.resize(data_.size() + 8);
        detail::store_le(data_.data() + begin, value);
        header_[name] = {{"dtype", "I64"},
                         {"shape", nlohmann::json::array()},
                         {"data_offsets", {begin, static_cast<std::uint64_t>(data_.size())}}};
    }
    void set_metadata(const std::string& key, const std::string& value) { header_["__metadata__"][key] = value; }

    std::vector<unsigned char> bytes() const {
        std::string header = header_.is_null() ? std::string("{}") : header_.dump();
        header.append((8 - header.size() % 8) % 8, ' ');
        std::vector<unsigned char> out(8 + header.size() + data_.size());
        detail::store_le(out.data(), static_cast<std::uint64_t>(header.size()));
        std::copy(header.begin(), header.end(), out.begin() + 8);
        std::copy(data_.begin(), data_.end(), out.begin() + 8 + static_cast<std::ptrdiff_t>(header.size()));
        return out;
    }
    void write(const std::string& path) const { detail::write_file_atomically(path, bytes()); }

private:
    nlohmann::json header_;
    std::vector<unsigned char> data_;
};

// ---- parameters <-> safetensors -------------------------------------------------------------

// How hinge's tensors are named in a file: torch.nn.Sequential names (tensor_slot::torch_name),
// each possibly replaced via `rename` (keyed by the Sequential name, e.g. {"0.weight",
// "encoder.fc1.weight"}), then prefixed with `prefix` (e.g. "model." for a Sequential held in
// an attribute `model`; a renamed tensor gets the prefix too).
struct safetensors_names {
    std::string prefix;
    std::map<std::string, std::string> rename;

    std::string operator()(const tensor_slot& t) const {
        const auto it = rename.find(t.torch_name);
        return prefix + (it == rename.end() ? t.torch_name : it->second);
    }
};

// The names of a torch.nn.GRU / nn.LSTM with num_layers = Layers for the Layers recurrent stages
// that start at stage First (hinge stacks them as separate stages, each "<k>.weight_ih_l0" by
// default): they all take the first one's module number with suffixes _l0 .. _l<Layers-1>, and
// the modules after them move down, as in nn.Sequential(nn.GRU(C, H, num_layers=2), nn.Linear(H, 1)):
//
//   using net = hn::network<hn::input<L, C>, hn::gru<H>, hn::gru<H>, hn::dense<1>>;
//   hn::io::load_safetensors(params, "model.safetensors", {hn::io::multilayer_recurrent_names<net, 0, 2>()});
//
// `names` supplies a prefix and further renames (keyed, as always, by the default names).
template <class Net, std::size_t First, std::size_t Layers, class T = float>
safetensors_names multilayer_recurrent_names(safetensors_names names = {}) {
    static_assert(Layers >= 1 && First + Layers <= Net::stage_count,
                  "multilayer_recurrent_names<Net, First, Layers>: the stages First .. First + Layers - 1 must exist");
    const std::vector<tensor_slot> table = tensor_table<Net, T>();
    std::size_t first_module = 0, last_module = 0;
    for (const tensor_slot& t : table) {
        if (t.stage == First) first_module = t.module;
        if (t.stage == First + Layers - 1) last_module = t.module;
    }
    for (const tensor_slot& t : table) {
        const std::string_view local = std::string_view(t.torch_name).substr(std::to_string(t.module).size() + 1);
        std::string renamed;
        if (t.stage >= First && t.stage < First + Layers) {
            // An error here means a stage of the stack is not recurrent: its names have no _l0.
            if (local.size() < 3 || local.substr(local.size() - 3) != "_l0")
                throw std::invalid_argument("multilayer_recurrent_names: stage " + std::to_string(t.stage) +
                                            " is not a recurrent layer ('" + t.torch_name + "')");
            renamed = std::to_string(first_module) + "." + std::string(local.substr(0, local.size() - 1)) +
                      std::to_string(t.stage - First);
        } else if (t.module > last_module) {
            const std::string module = std::to_string(t.module - (last_module - first_module));
            renamed = module + "." + std::string(local);
            if (t.role == tensor_role::running_variance)  // the batch-norm counter written beside it
                names.rename.emplace(std::to_string(t.module) + ".num_batches_tracked", module + ".num_batches_tracked");
        } else {
            continue;
        }
        names.rename.emplace(t.torch_name, std::move(renamed));
    }
    return names;
}

struct safetensors_options {
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

// The bytes of a safetensors file with every tensor of `params` (F32 for float, F64 for double),
// plus "<k>.num_batches_tracked" = 0 for each batch_norm stage so that a strict
// torch load_state_dict accepts it, and metadata {"format": "pt", "hinge.architecture": ...}.
template <class Net, class T, class Role>
std::vector<unsigned char> save_safetensors_to_bytes(const parameter_block<Net, T, Role>& params,
                                                     const safetensors_options& options = {}) {
    safetensors_writer writer;
    const T* block = params.data();
    std::vector<T> values;
    for (const tensor_slot& t : tensor_table<Net, T>()) {
        values.resize(t.count);
        for (std::size_t k = 0; k < t.count; ++k) values[k] = block[t.element(k)];
        std::vector<std::uint64_t> shape(t.shape.begin(), t.shape.begin() + t.rank);
        writer.add<T>(options.names(t), std::move(shape), values);
        if (t.role == tensor_role::running_variance) {
            tensor_slot counter = t;
            counter.torch_name = std::to_string(t.module) + ".num_batches_tracked";
            writer.add_int64_scalar(options.names(counter), 0);
        }
    }
    writer.set_metadata("format", "pt");
    writer.set_metadata("hinge.architecture", std::string(architecture_description<Net>));
    return writer.bytes();
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
    const std::string& src = file.source;
    if (const auto meta = file.metadata.find("hinge.architecture");
        options.check_architecture && meta != file.metadata.end() && meta->second != architecture_description<Net>)
        throw file_error(src + ": different architecture: " +
                         detail::architecture_difference(architecture_description<Net>, meta->second) +
                         "; expected '" + std::string(architecture_description<Net>) + "', found '" + meta->second +
                         "' (the file's hinge.architecture metadata; set safetensors_options::check_architecture = "
                         "false to load it anyway)");
    const std::vector<tensor_slot> table = tensor_table<Net, T>();
    auto staged = std::make_unique<parameter_block<Net, T, Role>>();
    T* block = staged->data();
    std::vector<std::string> used;
    for (const tensor_slot& t : table) {
        const std::string name = options.names(t);
        const auto found = file.tensors.find(name);
        if (found == file.tensors.end())
            throw file_error(src + ": missing tensor '" + name + "' (hinge's " + t.name + ", shape " +
                             detail::safetensors_shape_text({t.shape.begin(), t.shape.begin() + t.rank}) + ")" +
                             file.listing());
        const safetensors_tensor& f = found->second;
        used.push_back(name);
        const std::vector<std::uint64_t> expected(t.shape.begin(), t.shape.begin() + t.rank);
        const bool shared_slope = t.role == tensor_role::slope && f.shape == std::vector<std::uint64_t>{1};
        if (f.shape != expected && !shared_slope)
            throw file_error(src + ": tensor '" + name + "' (hinge's " + t.name + "): expected shape " +
                             detail::safetensors_shape_text(expected) + ", found " +
                             detail::safetensors_shape_text(f.shape) +
                             (t.rank == 2 && f.shape.size() == 2 && f.shape[0] == expected[1] && f.shape[1] == expected[0]
                                  ? " (transposed? safetensors weights are [out, in], as torch.nn.Linear's)"
                              : t.rank > 2 && f.shape.size() == t.rank && f.shape.back() == t.shape[1]
                                  ? " (channels last? convolution weights are [out, in channels, kernel...], as torch.nn.Conv2d's)"
                                  : ""));
        const bool exact = (f.dtype == "F32" && sizeof(T) == 4) || (f.dtype == "F64" && sizeof(T) == 8);
        const bool widening = f.dtype == "F32" && sizeof(T) == 8;
        if (!exact && !widening)
            throw file_error(src + ": tensor '" + name + "': expected dtype " + (sizeof(T) == 4 ? "F32" : "F64 or F32") +
                             " for parameters<Net, " + (sizeof(T) == 4 ? "float" : "double") + ">, found " + f.dtype +
                             (f.dtype == "F64" ? " (convert the model to float32 first, e.g. model.float())" : ""));
        for (std::size_t k = 0; k < t.count; ++k) {
            const std::size_t from = shared_slope ? 0 : k;
            block[t.element(k)] = f.dtype == "F32" ? static_cast<T>(detail::load_le<float>(f.bytes.data() + 4 * from))
                                                   : static_cast<T>(detail::load_le<double>(f.bytes.data() + 8 * from));
        }
    }
    if (!options.allow_unused_tensors) {
        for (const auto& [name, tensor] : file.tensors) {
            if (std::find(used.begin(), used.end(), name) != used.end()) continue;
            const std::string_view n = name;
            constexpr std::string_view counter = "num_batches_tracked";
            if (n.size() >= counter.size() && n.substr(n.size() - counter.size()) == counter) continue;
            throw file_error(src + ": tensor '" + name + "' " + detail::safetensors_shape_text(tensor.shape) +
                             " has no place in the network '" + std::string(architecture_description<Net>) +
                             "' (set safetensors_options::allow_unused_tensors to ignore it, or rename it)");
        }
    }
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

// Reads and validates a whole safetensors file; `bytes` keeps its contents alive.
struct safetensors_document {
    std::vector<unsigned char> bytes;
    safetensors_file file;
};
inline safetensors_document read_safetensors(const std::string& path) {
    safetensors_document d{detail::read_whole_file(path), {}};
    d.file = parse_safetensors(d.bytes, path);
    return d;
}

}  // namespace hinge::io
