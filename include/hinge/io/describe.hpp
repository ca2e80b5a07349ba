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
// [--against TYPE]` (docs/interop.md).
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
    std::uint64_t value_count() const {
        std::uint64_t n = 0;
        for (const tensor_description& t : tensors) {
            std::uint64_t c = 1;
            for (std::uint64_t e : t.shape) c *= e;
            n += c;
        }
        return n;
    }

    // A listing for people: what the file is, its architecture and metadata, then one line per tensor.
    std::string text() const {
        std::string s = path + ": " + (format == "hinge" ? "hinge parameter file, format version " +
                                                               std::to_string(version) + ", "
                                                         : std::string("safetensors file, ")) +
                        std::to_string(tensors.size()) + " tensors (" + std::to_string(value_count()) + " values)\n";
        s += "  architecture: " +
             (architecture.empty() ? std::string("none (no hinge.architecture metadata)") : architecture) + "\n";
        if (format == "hinge") s += "  fingerprint:  " + detail::hex(fingerprint, 16) + "\n";
        for (const auto& [key, value] : metadata)
            if (key != "hinge.architecture") s += "  metadata:     " + key + " = " + value + "\n";
        std::size_t width = 6;
        for (const tensor_description& t : tensors) width = std::max(width, t.name.size());
        s += "  tensor" + std::string(width - 6, ' ') + "  dtype  shape\n";
        for (const tensor_description& t : tensors)
            s += "  " + t.name + std::string(width - t.name.size(), ' ') + "  " + t.dtype +
                 std::string(t.dtype.size() < 5 ? 5 - t.dtype.size() : 0, ' ') + "  " +
                 detail::safetensors_shape_text(t.shape) + "\n";
        return s;
    }
};

// Describes a parameter file held in memory; `source` names it in messages. Throws file_error
// for a damaged file.
inline file_description describe_bytes(std::span<const unsigned char> bytes, std::string_view source = "<memory>") {
    file_description d;
    d.path = std::string(source);
    if (bytes.size() >= 8 && std::equal(bytes.begin(), bytes.begin() + 8, hinge_format_magic.begin())) {
        const detail::hinge_file_header h = detail::read_hinge_header(bytes, d.path, "float32 or float64");
        d.format = "hinge";
        d.version = h.version;
        d.architecture = std::string(h.description);
        d.fingerprint = h.fingerprint;
        const std::string dtype = h.scalar == 1 ? "F32" : "F64";
        for (const detail::declared_tensor& t : h.tensors) d.tensors.push_back({t.name, dtype, t.shape});
        return d;
    }
    const safetensors_file file = parse_safetensors(bytes, source);
    d.format = "safetensors";
    d.metadata = file.metadata;
    if (const auto it = file.metadata.find("hinge.architecture"); it != file.metadata.end()) d.architecture = it->second;
    for (const auto& [name, t] : file.tensors) d.tensors.push_back({name, t.dtype, t.shape});
    return d;
}

inline file_description describe(const std::string& path) {
    const std::vector<unsigned char> bytes = detail::read_whole_file(path);
    return describe_bytes(bytes, path);
}

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
