// Neural Amp Modeler files (include/hinge/nam/file.hpp), compiled once: the JSON of a .nam file
// read into plain values, every missing key, wrong type and unknown config key refused by name.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <hinge/nam/file.hpp>

#include "internal.hpp"

namespace hinge::nam {
namespace {

// ordered_json: the metadata object keeps its keys in the file's order, read and written back.
using json = nlohmann::ordered_json;

[[noreturn]] void fail(std::string_view source, const std::string& what) {
    throw io::file_error(std::string(source) + ": " + what);
}

// A value as JSON text for a message; invalid UTF-8 in a string is replaced, not thrown about.
std::string text_of(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

const json& member(const json& object, std::string_view key, std::string_view where, std::string_view source) {
    const auto it = object.find(key);
    if (it == object.end()) fail(source, std::string(where) + " has no key \"" + std::string(key) + "\"");
    return *it;
}

std::size_t count(const json& object, std::string_view key, std::string_view where, std::string_view source) {
    const json& v = member(object, key, where, source);
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() == 0)
        fail(source, std::string(where) + "." + std::string(key) + " must be a positive integer, found " + text_of(v));
    return v.get<std::size_t>();
}

bool flag(const json& object, std::string_view key, std::string_view where, std::string_view source) {
    const json& v = member(object, key, where, source);
    if (!v.is_boolean())
        fail(source, std::string(where) + "." + std::string(key) + " must be true or false, found " + text_of(v));
    return v.get<bool>();
}

// A key this reader does not know changes the model in a way it would ignore: refuse it, naming
// the key and its value, rather than run another model than the file describes.
void only_known_keys(const json& object, std::initializer_list<std::string_view> known, std::string_view where,
                     std::string_view source) {
    for (auto it = object.begin(); it != object.end(); ++it) {
        bool found = false;
        for (std::string_view k : known) found = found || k == it.key();
        if (!found)
            fail(source, std::string(where) + " has the key \"" + it.key() + "\" (value " + text_of(it.value()) +
                             "), which this reader does not support");
    }
}

wavenet_config read_wavenet(const json& config, std::string_view source) {
    only_known_keys(config, {"layers", "head", "head_scale"}, "config", source);
    const json& head = member(config, "head", "config", source);
    if (!head.is_null())
        fail(source,
             "config.head is " + text_of(head) + "; only NAM's A1 WaveNet without a post-head (null) is supported");
    const json& scale = member(config, "head_scale", "config", source);
    if (!scale.is_number()) fail(source, "config.head_scale must be a number, found " + text_of(scale));
    const json& layers = member(config, "layers", "config", source);
    if (!layers.is_array() || layers.empty())
        fail(source, "config.layers must be a non-empty list of layer arrays, found " + text_of(layers));
    wavenet_config w;
    w.head_scale = scale.get<float>();
    for (std::size_t k = 0; k < layers.size(); ++k) {
        const json& a = layers[k];
        const std::string where = "config.layers[" + std::to_string(k) + "]";
        if (!a.is_object()) fail(source, where + " must be an object, found " + text_of(a));
        only_known_keys(a, {"input_size", "condition_size", "head_size", "channels", "kernel_size", "dilations",
                            "activation", "gated", "head_bias"},
                        where, source);
        layer_array_config c;
        c.input_size = count(a, "input_size", where, source);
        c.condition_size = count(a, "condition_size", where, source);
        c.head_size = count(a, "head_size", where, source);
        c.channels = count(a, "channels", where, source);
        c.kernel_size = count(a, "kernel_size", where, source);
        const json& d = member(a, "dilations", where, source);
        if (!d.is_array() || d.empty())
            fail(source, where + ".dilations must be a non-empty list, found " + text_of(d));
        for (const json& v : d) {
            if (!v.is_number_unsigned() || v.get<std::uint64_t>() == 0)
                fail(source, where + ".dilations must hold positive integers, found " + text_of(d));
            c.dilations.push_back(v.get<std::size_t>());
        }
        const json& act = member(a, "activation", where, source);
        if (!act.is_string()) fail(source, where + ".activation must be a name, found " + text_of(act));
        c.activation = act.get<std::string>();
        c.gated = flag(a, "gated", where, source);
        c.head_bias = flag(a, "head_bias", where, source);
        w.layer_arrays.push_back(std::move(c));
    }
    return w;
}

lstm_config read_lstm(const json& config, std::string_view source) {
    only_known_keys(config, {"input_size", "hidden_size", "num_layers"}, "config", source);
    return {count(config, "input_size", "config", source), count(config, "hidden_size", "config", source),
            count(config, "num_layers", "config", source)};
}

}  // namespace

model_file parse_model_file(std::string_view json_text, std::string_view source) {
    json j;
    try {
        j = json::parse(json_text);
    } catch (const json::exception& e) {
        fail(source, std::string("not a .nam file (invalid JSON): ") + e.what());
    }
    if (!j.is_object()) fail(source, "not a .nam file: the top level is not a JSON object");
    model_file f;
    f.source = source;
    const json& version = member(j, "version", "the file", source);
    if (!version.is_string()) fail(source, "version must be a string, found " + text_of(version));
    f.version = version.get<std::string>();
    const json& architecture = member(j, "architecture", "the file", source);
    if (!architecture.is_string()) fail(source, "architecture must be a string, found " + text_of(architecture));
    f.architecture = architecture.get<std::string>();
    const json& config = member(j, "config", "the file", source);
    if (!config.is_object()) fail(source, "config must be an object, found " + text_of(config));
    f.config_json = text_of(config);
    if (f.architecture == "WaveNet") f.wavenet = read_wavenet(config, source);
    else if (f.architecture == "LSTM") f.lstm = read_lstm(config, source);
    else fail(source, "architecture \"" + f.architecture + "\" is not supported (supported: WaveNet, LSTM)");

    const json& weights = member(j, "weights", "the file", source);
    if (!weights.is_array()) fail(source, "weights must be a list of numbers");
    f.weights.reserve(weights.size());
    for (std::size_t k = 0; k < weights.size(); ++k) {
        if (!weights[k].is_number())
            fail(source, "weights[" + std::to_string(k) + "] is not a number: " + text_of(weights[k]));
        // NAM stores float32 values printed as doubles: the conversion back is exact. A value
        // beyond float's range is no float32 weight (and converting it is undefined behaviour).
        const double w = weights[k].get<double>();
        if (!(std::fabs(w) <= double(std::numeric_limits<float>::max())))
            fail(source, "weights[" + std::to_string(k) + "] is " + text_of(weights[k]) + ", beyond float's range");
        f.weights.push_back(static_cast<float>(w));
    }
    if (const auto it = j.find("sample_rate"); it != j.end() && !it->is_null()) {
        if (!it->is_number()) fail(source, "sample_rate must be a number, found " + text_of(*it));
        f.sample_rate = it->get<double>();
    }
    const auto metadata = j.find("metadata");
    f.metadata_json = metadata == j.end() ? "null" : text_of(*metadata);
    return f;
}

model_file read_model_file(const std::string& path) {
    const std::vector<unsigned char> bytes = io::detail::read_whole_file(path);
    return parse_model_file(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
}

namespace {

json wavenet_config_json(const wavenet_config& w) {
    json layers = json::array();
    for (const layer_array_config& c : w.layer_arrays)
        layers.push_back({{"input_size", c.input_size},
                          {"condition_size", c.condition_size},
                          {"head_size", c.head_size},
                          {"channels", c.channels},
                          {"kernel_size", c.kernel_size},
                          {"dilations", c.dilations},
                          {"activation", c.activation},
                          {"gated", c.gated},
                          {"head_bias", c.head_bias}});
    return {{"layers", std::move(layers)}, {"head", nullptr}, {"head_scale", w.head_scale}};
}

}  // namespace

std::string format_model_file(const model_file& f) {
    const std::string source = f.source.empty() ? std::string("<memory>") : f.source;
    json j;
    j["version"] = f.version.empty() ? std::string("0.5.4") : f.version;
    j["architecture"] = f.architecture;
    if (f.architecture == "WaveNet" && f.wavenet) j["config"] = wavenet_config_json(*f.wavenet);
    else if (f.architecture == "LSTM" && f.lstm)
        j["config"] = {{"input_size", f.lstm->input_size},
                       {"hidden_size", f.lstm->hidden_size},
                       {"num_layers", f.lstm->num_layers}};
    else fail(source, "cannot write architecture \"" + f.architecture + "\" without its config (WaveNet, LSTM)");
    json weights = json::array();
    for (std::size_t k = 0; k < f.weights.size(); ++k) {
        if (!std::isfinite(f.weights[k]))
            fail(source, "cannot write weights[" + std::to_string(k) + "]: it is not finite");
        // As a double: every float32 value prints and reads back exactly (nlohmann prints the
        // shortest text that round-trips a double).
        weights.push_back(static_cast<double>(f.weights[k]));
    }
    j["weights"] = std::move(weights);
    // Absent rather than null when unknown: NAM Core reads the key as a number whenever it is there.
    if (f.sample_rate) j["sample_rate"] = *f.sample_rate;
    try {
        j["metadata"] = json::parse(f.metadata_json.empty() ? std::string_view("null") : f.metadata_json);
    } catch (const json::exception& e) {
        fail(source, std::string("metadata_json is not JSON: ") + e.what());
    }
    return j.dump();
}

void write_model_file(const std::string& path, const model_file& f) {
    const std::string text = format_model_file(f);
    io::detail::write_file_atomically(
        path, std::span<const unsigned char>(reinterpret_cast<const unsigned char*>(text.data()), text.size()));
}

}  // namespace hinge::nam
