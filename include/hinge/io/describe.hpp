#pragma once
// What a parameter file holds, and whether it fits a network type. Link hinge::io (zlib and
// nlohmann_json: it reads both formats).
//
//     const hinge::io::file_description d = hinge::io::describe("model.safetensors");
//     std::puts(d.text().c_str());        // format, architecture, metadata, every tensor's dtype and shape
//     const std::string why = hinge::io::mismatch<mlp>("model.safetensors");   // "" when it loads
//
// describe() reads either format (told apart by hinge's magic) without a network type. A file that
// is damaged (truncated, a bad checksum, malformed JSON) is a file_error, with the message the
// loaders give. mismatch<Net, T>() runs the loader itself (io::load or io::load_safetensors) into
// a scratch block on the heap, so its answer is the loader's: the first check that fails, in the
// loaders' order (architecture, then tensors by name and shape, then dtype, then tensors the
// network has no place for). The command-line twin is `python3 -m hinge_export describe FILE
// [--against TYPE]` (docs/interop.md). describe() and the text are compiled in hinge::io
// (src/io/describe.cpp); mismatch() is a template over the network.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <hinge/io/safetensors.hpp>
#include <hinge/io/save.hpp>

namespace hinge::io {

struct tensor_description {
    std::string name;
    std::string dtype;                 // safetensors' names: "F32", "F64", "I64", ...
    std::vector<std::uint64_t> shape;  // [] for a scalar
};

struct file_description {
    std::string path;
    std::string format;                // "safetensors" or "hinge"
    std::uint32_t version = 0;         // hinge's format version (safetensors: 0)
    std::string architecture;          // architecture_description of the network that wrote it; empty
                                       // for a safetensors file without hinge's metadata (PyTorch's)
    std::uint64_t fingerprint = 0;     // hinge's format: architecture_fingerprint
    std::map<std::string, std::string> metadata;  // safetensors' __metadata__
    std::vector<tensor_description> tensors;      // in the file's order (safetensors: by name)

    // Values in all tensors.
    std::uint64_t value_count() const;

    // A listing for people: what the file is, its architecture and metadata, then one line per tensor.
    std::string text() const;
};

// Describes a parameter file held in memory; `source` names it in messages. Throws file_error
// for a damaged file.
file_description describe_bytes(std::span<const unsigned char> bytes, std::string_view source = "<memory>");

file_description describe(const std::string& path);

// Why the file in `bytes` does not load into parameters<Net, T>: the loader's message (io::load for
// hinge's format, io::load_safetensors with `options` otherwise); empty when it loads.
template <class Net, class T = float>
std::string mismatch_bytes(std::span<const unsigned char> bytes, std::string_view source = "<memory>",
                           const safetensors_options& options = {}) {
    auto scratch = std::make_unique<parameters<Net, T>>();
    try {
        if (bytes.size() >= 8 && std::equal(bytes.begin(), bytes.begin() + 8, hinge_format_magic.begin()))
            load_from_bytes(*scratch, bytes, source);
        else
            load_safetensors(*scratch, parse_safetensors(bytes, source), options);
    } catch (const file_error& e) {
        return e.what();
    }
    return {};
}

template <class Net, class T = float>
std::string mismatch(const std::string& path, const safetensors_options& options = {}) {
    const std::vector<unsigned char> bytes = detail::read_whole_file(path);
    return mismatch_bytes<Net, T>(bytes, path, options);
}

}  // namespace hinge::io
