// safetensors (include/hinge/io/safetensors.hpp), compiled once: the only translation unit of hinge
// that parses or writes JSON (nlohmann_json), the names of the tensors in a file, and the checks of
// a file against the network that loads it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <hinge/io/safetensors.hpp>

#include "internal.hpp"

namespace hinge::io {
namespace detail {
namespace {

std::uint64_t dtype_size(std::string_view dtype) noexcept {
    if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
    if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
    if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
    if (dtype == "BOOL" || dtype == "U8" || dtype == "I8" || dtype == "F8_E4M3" || dtype == "F8_E5M2") return 1;
    return 0;
}

// The safetensors reference implementation refuses headers above 100 MB; so does this reader.
constexpr std::uint64_t max_safetensors_header = 100'000'000;

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

template <class T>
std::vector<unsigned char> write(std::span<const tensor_slot> table, std::string_view architecture,
                                 const safetensors_options& options, const T* block) {
    safetensors_writer writer;
    std::vector<T> values;
    for (const tensor_slot& t : table) {
        values.resize(t.count);
        for (std::size_t k = 0; k < t.count; ++k) values[k] = block[t.element(k)];
        writer.add<T>(options.names(t), std::vector<std::uint64_t>(t.shape.begin(), t.shape.begin() + t.rank), values);
        if (t.role == tensor_role::running_variance) {
            tensor_slot counter = t;
            counter.torch_name = std::to_string(t.module) + ".num_batches_tracked";
            writer.add_int64_scalar(options.names(counter), 0);
        }
    }
    writer.set_metadata("format", "pt");
    writer.set_metadata("hinge.architecture", std::string(architecture));
    return writer.bytes();
}

template <class T>
void read(const safetensors_file& file, std::span<const tensor_slot> table, std::string_view architecture,
          const safetensors_options& options, T* block) {
    const std::string& src = file.source;
    if (const auto meta = file.metadata.find("hinge.architecture");
        options.check_architecture && meta != file.metadata.end() && meta->second != architecture)
        throw file_error(src + ": different architecture: " + architecture_difference(architecture, meta->second) +
                         "; expected '" + std::string(architecture) + "', found '" + meta->second +
                         "' (the file's hinge.architecture metadata; set safetensors_options::check_architecture = "
                         "false to load it anyway)");
    std::vector<std::string> used;
    for (const tensor_slot& t : table) {
        const std::string name = options.names(t);
        const std::vector<std::uint64_t> expected(t.shape.begin(), t.shape.begin() + t.rank);
        const auto found = file.tensors.find(name);
        if (found == file.tensors.end())
            throw file_error(src + ": missing tensor '" + name + "' (hinge's " + t.name + ", shape " +
                             shape_text(expected) + ")" + file.listing());
        const safetensors_tensor& f = found->second;
        used.push_back(name);
        const bool shared_slope = t.role == tensor_role::slope && f.shape == std::vector<std::uint64_t>{1};
        if (f.shape != expected && !shared_slope)
            throw file_error(src + ": tensor '" + name + "' (hinge's " + t.name + "): expected shape " +
                             shape_text(expected) + ", found " + shape_text(f.shape) +
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
            block[t.element(k)] = f.dtype == "F32" ? static_cast<T>(load_le<float>(f.bytes.data() + 4 * from))
                                                   : static_cast<T>(load_le<double>(f.bytes.data() + 8 * from));
        }
    }
    if (!options.allow_unused_tensors) {
        for (const auto& [name, tensor] : file.tensors) {
            if (std::find(used.begin(), used.end(), name) != used.end()) continue;
            if (ends_with(name, "num_batches_tracked")) continue;
            throw file_error(src + ": tensor '" + name + "' " + shape_text(tensor.shape) +
                             " has no place in the network '" + std::string(architecture) +
                             "' (set safetensors_options::allow_unused_tensors to ignore it, or rename it)");
        }
    }
}

}  // namespace

std::vector<unsigned char> write_safetensors_tensors(std::span<const tensor_slot> table, std::string_view architecture,
                                                     const safetensors_options& options, const float* block) {
    return write(table, architecture, options, block);
}
std::vector<unsigned char> write_safetensors_tensors(std::span<const tensor_slot> table, std::string_view architecture,
                                                     const safetensors_options& options, const double* block) {
    return write(table, architecture, options, block);
}
void read_safetensors_tensors(const safetensors_file& file, std::span<const tensor_slot> table,
                              std::string_view architecture, const safetensors_options& options, float* block) {
    read(file, table, architecture, options, block);
}
void read_safetensors_tensors(const safetensors_file& file, std::span<const tensor_slot> table,
                              std::string_view architecture, const safetensors_options& options, double* block) {
    read(file, table, architecture, options, block);
}

safetensors_names multilayer_recurrent_names(std::span<const tensor_slot> table, std::size_t first,
                                             std::size_t layers, safetensors_names names) {
    std::size_t first_module = 0, last_module = 0;
    for (const tensor_slot& t : table) {
        if (t.stage == first) first_module = t.module;
        if (t.stage == first + layers - 1) last_module = t.module;
    }
    for (const tensor_slot& t : table) {
        const std::string_view local = std::string_view(t.torch_name).substr(std::to_string(t.module).size() + 1);
        std::string renamed;
        if (t.stage >= first && t.stage < first + layers) {
            // An error here means a stage of the stack is not recurrent: its names have no _l0.
            if (local.size() < 3 || local.substr(local.size() - 3) != "_l0")
                throw std::invalid_argument("multilayer_recurrent_names: stage " + std::to_string(t.stage) +
                                            " is not a recurrent layer ('" + t.torch_name + "')");
            renamed = std::to_string(first_module) + "." + std::string(local.substr(0, local.size() - 1)) +
                      std::to_string(t.stage - first);
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

}  // namespace detail

// ---- the file ---------------------------------------------------------------------------------

const safetensors_tensor& safetensors_file::at(const std::string& name) const {
    const auto it = tensors.find(name);
    if (it == tensors.end()) throw file_error(source + ": no tensor named '" + name + "'" + listing());
    return it->second;
}

std::string safetensors_file::listing(std::size_t limit) const {
    std::string s = " (the file has ";
    if (tensors.empty()) return s + "no tensors)";
    std::size_t n = 0;
    for (const auto& [key, value] : tensors) {
        if (n == limit) return s + ", ... " + std::to_string(tensors.size() - n) + " more)";
        s += (n++ ? ", '" : "'") + key + "'";
    }
    return s + ")";
}

std::string safetensors_names::operator()(const tensor_slot& t) const {
    const auto it = rename.find(t.torch_name);
    return prefix + (it == rename.end() ? t.torch_name : it->second);
}

safetensors_file parse_safetensors(std::span<const unsigned char> bytes, std::string_view source) {
    using nlohmann::json;
    using detail::shape_text;
    safetensors_file file;
    file.source = std::string(source);
    const std::string& src = file.source;
    if (bytes.size() < 8)
        throw file_error(src + ": truncated: a safetensors file starts with an 8-byte header length, the file has " +
                         std::to_string(bytes.size()) + " bytes");
    const auto header_size = detail::load_le<std::uint64_t>(bytes.data());
    if (header_size > detail::max_safetensors_header)
        throw file_error(src + ": the header length is " + std::to_string(header_size) + " bytes, more than the " +
                         std::to_string(detail::max_safetensors_header) +
                         " a safetensors header may have (not a safetensors file?)");
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
                throw file_error(what + "the shape " + shape_text(t.shape) + " overflows");
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
            throw file_error(what + "shape " + shape_text(t.shape) + " of " + t.dtype + " needs " +
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

safetensors_document read_safetensors(const std::string& path) {
    safetensors_document d{detail::read_whole_file(path), {}};
    d.file = parse_safetensors(d.bytes, path);
    return d;
}

// ---- the writer -------------------------------------------------------------------------------

void safetensors_writer::append(const std::string& name, std::vector<std::uint64_t> shape,
                                std::span<const float> values) {
    const std::uint64_t begin = data_.size();
    data_.resize(data_.size() + values.size() * sizeof(float));
    for (std::size_t k = 0; k < values.size(); ++k) detail::store_le(data_.data() + begin + k * sizeof(float), values[k]);
    entries_[name] = {"F32", std::move(shape), begin, static_cast<std::uint64_t>(data_.size())};
}

void safetensors_writer::append(const std::string& name, std::vector<std::uint64_t> shape,
                                std::span<const double> values) {
    const std::uint64_t begin = data_.size();
    data_.resize(data_.size() + values.size() * sizeof(double));
    for (std::size_t k = 0; k < values.size(); ++k) detail::store_le(data_.data() + begin + k * sizeof(double), values[k]);
    entries_[name] = {"F64", std::move(shape), begin, static_cast<std::uint64_t>(data_.size())};
}

void safetensors_writer::add_int64_scalar(const std::string& name, std::int64_t value) {
    const std::uint64_t begin = data_.size();
    data_.resize(data_.size() + 8);
    detail::store_le(data_.data() + begin, value);
    entries_[name] = {"I64", {}, begin, static_cast<std::uint64_t>(data_.size())};
}

void safetensors_writer::set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }

std::vector<unsigned char> safetensors_writer::bytes() const {
    // A JSON object keeps its keys sorted, so the header is the same whatever the order of the calls.
    nlohmann::json header;
    for (const auto& [name, e] : entries_)
        header[name] = {{"dtype", e.dtype},
                        {"shape", nlohmann::json(e.shape)},  // [] for a scalar
                        {"data_offsets", {e.begin, e.end}}};
    for (const auto& [key, value] : metadata_) header["__metadata__"][key] = value;
    std::string text = header.is_null() ? std::string("{}") : header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    std::vector<unsigned char> out(8 + text.size() + data_.size());
    detail::store_le(out.data(), static_cast<std::uint64_t>(text.size()));
    std::copy(text.begin(), text.end(), out.begin() + 8);
    std::copy(data_.begin(), data_.end(), out.begin() + 8 + static_cast<std::ptrdiff_t>(text.size()));
    return out;
}

void safetensors_writer::write(const std::string& path) const { detail::write_file_atomically(path, bytes()); }

}  // namespace hinge::io
