#pragma once
// A Neural Amp Modeler model file (.nam), read into plain values and written back: the JSON object with `version`,
// `architecture`, `config`, the flat `weights` list, `sample_rate` and `metadata`.
//
//   const hinge::nam::model_file f = hinge::nam::read_model_file("amp.nam");
//   f.architecture;        // "WaveNet" or "LSTM" (others are refused, naming them)
//   f.sample_rate;         // 48000 (std::nullopt when the file has none, as NAM's older files)
//   f.metadata_json;       // the metadata object as JSON text ("null" when absent), kept as is
//   f.wavenet / f.lstm;    // the parsed config of that architecture
//   f.weights;             // NAM's flat weight list, in NAM's order
//
// Putting the weights into a hinge network is the job of the architecture's header
// (nam/wavenet.hpp, nam/lstm.hpp), which checks the config against the compiled type first.
//
// Compiled once in hinge::io (src/io/nam.cpp, with nlohmann_json), so that a translation unit
// that loads a model parses no JSON library. I/O is outside the hot path: errors are
// io::file_error exceptions whose message starts with the file name and names the key.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <hinge/io/file_error.hpp>

namespace hinge::nam {

// One entry of a WaveNet's config.layers: a layer array.
struct layer_array_config {
    std::size_t input_size = 0;      // channels arriving (1 for the first array, the channels before it after)
    std::size_t condition_size = 0;  // channels of the condition mixed into every layer (the raw input: 1)
    std::size_t head_size = 0;       // channels of the array's head output
    std::size_t channels = 0;
    std::size_t kernel_size = 0;
    std::vector<std::size_t> dilations;
    std::string activation;          // NAM's name: "Tanh", "ReLU", ...
    bool gated = false;
    bool head_bias = false;

    friend bool operator==(const layer_array_config&, const layer_array_config&) = default;
};

// NAM's "A1" WaveNet: layer arrays one after another, no post-head (config.head is null).
struct wavenet_config {
    std::vector<layer_array_config> layer_arrays;
    float head_scale = 1;
};

struct lstm_config {
    std::size_t input_size = 0;
    std::size_t hidden_size = 0;
    std::size_t num_layers = 0;

    friend bool operator==(const lstm_config&, const lstm_config&) = default;
};

struct model_file {
    std::string source;  // the path, or "<memory>": the start of every error message about it
    std::string version;
    std::string architecture;
    std::optional<double> sample_rate;
    std::string config_json;
    std::string metadata_json;
    std::optional<wavenet_config> wavenet;  // set when architecture == "WaveNet"
    std::optional<lstm_config> lstm;        // set when architecture == "LSTM"
    std::vector<float> weights;
};

// Throws io::file_error: the file cannot be read, is not JSON, misses a key or has one of the
// wrong type, or has an architecture or config key this reader does not know (named, with its
// value).
model_file read_model_file(const std::string& path);
model_file parse_model_file(std::string_view json_text, std::string_view source = "<memory>");

// The file as NAM writes it: version, architecture, config (written from f.wavenet or f.lstm, in
// NAM's keys), weights (float32 values, printed so that they read back exactly), sample_rate
// (only when set: NAM Core refuses a null one) and metadata (f.metadata_json, which must be JSON: "null" or an object). Every NAM
// player reads it; read_model_file reads back the same values. Throws io::file_error when f is
// not a model this reader would read (no config of its architecture, a non-finite weight,
// metadata that is not JSON) or when the file cannot be written (written to a temporary file and
// renamed: an existing file is replaced whole or not at all).
std::string format_model_file(const model_file& f);
void write_model_file(const std::string& path, const model_file& f);

// The refusals of the models' loaders (nam/wavenet.hpp, nam/lstm.hpp): "<source>: <what>".
[[noreturn]] inline void refuse(const model_file& f, const std::string& what) {
    throw io::file_error(f.source + ": " + what);
}
inline void expect_config(const model_file& f, const std::string& key, std::size_t in_file, std::size_t in_type) {
    if (in_file != in_type)
        refuse(f, key + " is " + std::to_string(in_file) + ", the compiled type has " + std::to_string(in_type));
}

}  // namespace hinge::nam
