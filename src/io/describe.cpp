// io::describe (include/hinge/io/describe.hpp), compiled once: what a parameter file of either
// format holds, without a network type.
#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <hinge/io/describe.hpp>

#include "internal.hpp"

namespace hinge::io {

std::uint64_t file_description::value_count() const {
    std::uint64_t n = 0;
    for (const tensor_description& t : tensors) {
        std::uint64_t c = 1;
        for (std::uint64_t e : t.shape) c *= e;
        n += c;
    }
    return n;
}

std::string file_description::text() const {
    std::string s = path + ": " +
                    (format == "hinge" ? "hinge parameter file, format version " + std::to_string(version) + ", "
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
             std::string(t.dtype.size() < 5 ? 5 - t.dtype.size() : 0, ' ') + "  " + detail::shape_text(t.shape) + "\n";
    return s;
}

file_description describe_bytes(std::span<const unsigned char> bytes, std::string_view source) {
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

file_description describe(const std::string& path) {
    const std::vector<unsigned char> bytes = detail::read_whole_file(path);
    return describe_bytes(bytes, path);
}

}  // namespace hinge::io
