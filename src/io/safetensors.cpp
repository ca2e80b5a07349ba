// safetensors (include/hinge/io/safetensors.hpp), compiled once: the only translation unit of hinge
// that parses or writes JSON (nlohmann_json), the names of the tensors in a file, and the checks of
// a file against the network that loads it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
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

// A recurrent tensor's Sequential name ends in "_l0" (torch.nn.GRU / nn.LSTM with num_layers = 1).
bool is_recurrent(const tensor_slot& t) { return ends_with(t.torch_name, "_l0"); }

// The part of a Sequential name after "<module>.".
std::string_view local_name(const tensor_slot& t) {
    return std::string_view(t.torch_name).substr(std::to_string(t.module).size() + 1);
}

// Where each recurrent stack sits among the Sequential modules, for naming.
struct placed_stack {
    recurrent_stack stages;
    std::size_t first_module = 0, last_module = 0;
};

std::vector<placed_stack> place(std::span<const tensor_slot> table, const std::vector<recurrent_stack>& stacks) {
    std::vector<placed_stack> placed;
    for (const recurrent_stack& s : stacks) {
        placed_stack p{s, 0, 0};
        for (const tensor_slot& t : table) {
            if (t.stage == s.first) p.first_module = t.module;
            if (t.stage == s.first + s.layers - 1) p.last_module = t.module;
        }
        placed.push_back(p);
    }
    return placed;
}

// How far the modules of the stacks before `module` moved it down: each stack of n layers is one
// module instead of n.
std::size_t shift_before(const std::vector<placed_stack>& stacks, std::size_t module) {
    std::size_t shift = 0;
    for (const placed_stack& s : stacks)
        if (s.last_module < module) shift += s.last_module - s.first_module;
    return shift;
}

// The Sequential name of `t` once the stacks are one module each (before rename and prefix).
std::string stacked_name(const tensor_slot& t, const std::vector<placed_stack>& stacks) {
    const std::string_view local = local_name(t);
    for (const placed_stack& s : stacks)
        if (t.stage >= s.stages.first && t.stage < s.stages.first + s.stages.layers)
            return std::to_string(s.first_module - shift_before(stacks, s.first_module)) + "." +
                   std::string(local.substr(0, local.size() - 1)) + std::to_string(t.stage - s.stages.first);
    const std::size_t shift = shift_before(stacks, t.module);
    return shift == 0 ? t.torch_name : std::to_string(t.module - shift) + "." + std::string(local);
}

std::string renamed(const safetensors_names& names, const std::string& sequential_name, std::string stacked) {
    const auto it = names.rename.find(sequential_name);
    return names.prefix + (it == names.rename.end() ? std::move(stacked) : it->second);
}

// The batch-norm counter written beside a running variance: "<k>.num_batches_tracked".
std::string counter_name(const safetensors_names& names, const tensor_slot& running_variance,
                         const std::vector<placed_stack>& stacks) {
    const std::size_t module = running_variance.module - shift_before(stacks, running_variance.module);
    return renamed(names, std::to_string(running_variance.module) + ".num_batches_tracked",
                   std::to_string(module) + ".num_batches_tracked");
}

// Why {first, layers} cannot be a stack of `table`, or "" when it can.
std::string stack_problem(std::span<const tensor_slot> table, std::size_t first, std::size_t layers,
                          const std::vector<recurrent_stack>& existing) {
    std::size_t stages = 0;
    for (const tensor_slot& t : table) stages = std::max(stages, t.stage + 1);
    if (layers == 0) return "a stack of recurrent layers needs at least one layer";
    if (first + layers > stages)
        return "the stages " + std::to_string(first) + " .. " + std::to_string(first + layers - 1) +
               " do not exist (the network's stages with tensors end at " + std::to_string(stages) + ")";
    for (std::size_t stage = first; stage < first + layers; ++stage) {
        const auto it = std::find_if(table.begin(), table.end(), [&](const tensor_slot& t) { return t.stage == stage; });
        // An error here means a stage of the stack is not recurrent: its names have no _l0.
        if (it == table.end() || !is_recurrent(*it))
            return "stage " + std::to_string(stage) + " is not a recurrent layer" +
                   (it == table.end() ? std::string(" (it has no tensors)") : " ('" + it->torch_name + "')");
    }
    for (const recurrent_stack& s : existing)
        if (first < s.first + s.layers && s.first < first + layers)
            return "the stages " + std::to_string(first) + " .. " + std::to_string(first + layers - 1) +
                   " overlap the stack at " + std::to_string(s.first) + " .. " + std::to_string(s.first + s.layers - 1);
    return {};
}

// "first,layers;first,layers" (the metadata the exporter and hinge write), or an empty list and
// false when the text is not that.
bool parse_stacks(std::string_view text, std::vector<recurrent_stack>& stacks) {
    while (!text.empty()) {
        const std::size_t end = std::min(text.find(';'), text.size());
        const std::string_view part = text.substr(0, end);
        text.remove_prefix(std::min(end + 1, text.size()));
        if (part.empty()) continue;
        const std::size_t comma = part.find(',');
        if (comma == std::string_view::npos) return false;
        std::size_t values[2] = {0, 0};
        const std::string_view fields[2] = {part.substr(0, comma), part.substr(comma + 1)};
        for (int k = 0; k < 2; ++k) {
            if (fields[k].empty() || fields[k].size() > 9) return false;
            for (char c : fields[k]) {
                if (c < '0' || c > '9') return false;
                values[k] = values[k] * 10 + static_cast<std::size_t>(c - '0');
            }
        }
        stacks.push_back({values[0], values[1]});
    }
    return true;
}

constexpr std::string_view multilayer_key = "hinge.multilayer_recurrent";

// The names to load `file` with: the caller's, and the recurrent stacks of the file's metadata when
// the caller named none.
safetensors_names names_for(const safetensors_file& file, std::span<const tensor_slot> table,
                            const safetensors_options& options) {
    safetensors_names names = options.names;
    const auto meta = file.metadata.find(std::string(multilayer_key));
    if (!names.recurrent_stacks.empty() || meta == file.metadata.end()) return names;
    std::vector<recurrent_stack> stacks;
    if (!parse_stacks(meta->second, stacks))
        throw file_error(file.source + ": the metadata " + std::string(multilayer_key) + " = '" + meta->second +
                         "' is not 'first,layers;...'");
    for (const recurrent_stack& s : stacks) {
        const std::string problem = stack_problem(table, s.first, s.layers, names.recurrent_stacks);
        if (!problem.empty())
            throw file_error(file.source + ": the metadata " + std::string(multilayer_key) + " = '" + meta->second +
                             "' names stages of one multi-layer nn.GRU / nn.LSTM that this network cannot have: " +
                             problem);
        names.recurrent_stacks.push_back(s);
    }
    return names;
}

// For a missing recurrent tensor: if the file names the layers of a multi-layer module
// ("<m>.weight_ih_l1"), which multilayer_recurrent_names<Net, First, Layers> would load it with.
std::string multilayer_hint(const safetensors_file& file, std::span<const tensor_slot> table,
                            const tensor_slot& missing, const safetensors_names& names) {
    if (!is_recurrent(missing) || !names.recurrent_stacks.empty()) return {};
    std::map<std::size_t, std::size_t> top_layer;  // module -> highest _l<j> in the file
    std::string example;
    for (const auto& [full, tensor] : file.tensors) {
        std::string_view name = full;
        if (!name.starts_with(names.prefix)) continue;
        name.remove_prefix(names.prefix.size());
        const std::size_t dot = name.find('.'), l = name.rfind("_l");
        if (dot == 0 || dot == std::string_view::npos || l == std::string_view::npos || l + 2 >= name.size() ||
            !(name.substr(dot + 1).starts_with("weight_") || name.substr(dot + 1).starts_with("bias_")))
            continue;
        const std::string_view module = name.substr(0, dot), layer = name.substr(l + 2);
        if (module.size() > 9 || layer.size() > 9 ||
            !std::all_of(module.begin(), module.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
            !std::all_of(layer.begin(), layer.end(), [](char c) { return c >= '0' && c <= '9'; }))
            continue;
        const std::size_t m = std::stoul(std::string(module)), j = std::stoul(std::string(layer));
        if (j == 0) continue;
        std::size_t& top = top_layer[m];
        if (j > top) top = j;
        if (example.empty() || (name.find("weight_ih") != std::string_view::npos &&
                                example.find("weight_ih") == std::string::npos))
            example = full;  // a weight_ih tensor if there is one: the one a reader looks for
    }
    if (top_layer.empty()) return {};
    // The stack that holds the missing tensor's stage starts at the recurrent stage of module m
    // (the Sequential number of its first layer, unchanged by the stack itself).
    for (const auto& [module, top] : top_layer) {
        const auto first = std::find_if(table.begin(), table.end(),
                                        [&](const tensor_slot& t) { return t.module == module && is_recurrent(t); });
        if (first == table.end()) continue;
        const std::size_t layers = top + 1;
        if (missing.stage < first->stage || missing.stage >= first->stage + layers) continue;
        if (!stack_problem(table, first->stage, layers, {}).empty()) continue;
        return "; the file names the layers of one multi-layer nn.GRU / nn.LSTM ('" + example +
               "'), so its stages " + std::to_string(first->stage) + " .. " + std::to_string(first->stage + layers - 1) +
               " are named as one module's: load it with {io::multilayer_recurrent_names<Net, " +
               std::to_string(first->stage) + ", " + std::to_string(layers) + ">()} as the options, or write \"" +
               std::string(multilayer_key) + "\": \"" + std::to_string(first->stage) + "," + std::to_string(layers) +
               "\" into its metadata (docs/interop.md)";
    }
    return "; the file names the layers of a multi-layer nn.GRU / nn.LSTM ('" + example +
           "'): name the stages that were one module with io::multilayer_recurrent_names<Net, First, Layers>() "
           "(docs/interop.md)";
}

template <class T>
std::vector<unsigned char> write(std::span<const tensor_slot> table, std::string_view architecture,
                                 const safetensors_options& options, const T* block) {
    const std::vector<std::string> file_names = options.names.of(table);
    const std::vector<placed_stack> stacks = place(table, options.names.recurrent_stacks);
    safetensors_writer writer;
    std::vector<T> values;
    for (std::size_t i = 0; i < table.size(); ++i) {
        const tensor_slot& t = table[i];
        values.resize(t.count);
        for (std::size_t k = 0; k < t.count; ++k) values[k] = block[t.element(k)];
        writer.add<T>(file_names[i], std::vector<std::uint64_t>(t.shape.begin(), t.shape.begin() + t.rank), values);
        if (t.role == tensor_role::running_variance)
            writer.add_int64_scalar(counter_name(options.names, t, stacks), 0);
    }
    writer.set_metadata("format", "pt");
    writer.set_metadata("hinge.architecture", std::string(architecture));
    std::string stack_text;
    for (const recurrent_stack& s : options.names.recurrent_stacks)
        if (s.layers >= 2)  // one layer is a module of its own: nothing to say
            stack_text += (stack_text.empty() ? "" : ";") + std::to_string(s.first) + "," + std::to_string(s.layers);
    if (!stack_text.empty()) writer.set_metadata(std::string(multilayer_key), stack_text);
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
    const safetensors_names names = names_for(file, table, options);
    const std::vector<std::string> file_names = names.of(table);
    std::vector<std::string> used;
    for (std::size_t i = 0; i < table.size(); ++i) {
        const tensor_slot& t = table[i];
        const std::string& name = file_names[i];
        const std::vector<std::uint64_t> expected(t.shape.begin(), t.shape.begin() + t.rank);
        const auto found = file.tensors.find(name);
        if (found == file.tensors.end())
            throw file_error(src + ": missing tensor '" + name + "' (hinge's " + t.name + ", shape " +
                             shape_text(expected) + ")" + file.listing() + multilayer_hint(file, table, t, names));
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

void add_recurrent_stack(std::span<const tensor_slot> table, std::size_t first, std::size_t layers,
                         safetensors_names& names) {
    const std::string problem = stack_problem(table, first, layers, names.recurrent_stacks);
    if (!problem.empty()) throw std::invalid_argument("multilayer_recurrent_names: " + problem);
    names.recurrent_stacks.push_back({first, layers});
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

std::vector<std::string> safetensors_names::of(std::span<const tensor_slot> table) const {
    const std::vector<detail::placed_stack> stacks = detail::place(table, recurrent_stacks);
    std::vector<std::string> names;
    names.reserve(table.size());
    for (const tensor_slot& t : table) names.push_back(detail::renamed(*this, t.torch_name, detail::stacked_name(t, stacks)));
    return names;
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
