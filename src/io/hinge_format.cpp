// hinge's own parameter format (include/hinge/io/save.hpp), compiled once: the header reader, the
// checks against the loading network, the decoder and the writer.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <zlib.h>

#include <hinge/io/save.hpp>

#include "internal.hpp"

namespace hinge::io {

std::string scalar_code_name(std::uint32_t code) {
    switch (code) {
        case 1: return "float32";
        case 2: return "float64";
    }
    return "unknown scalar type code " + std::to_string(code);
}

namespace detail {
namespace {

// Caps that keep a hostile header from making the loader allocate or loop much: no real
// description, name or table comes near them.
constexpr std::uint32_t max_description = 1u << 20;
constexpr std::uint32_t max_name = 4096;
constexpr std::uint32_t max_rank = 8;

template <class T>
std::vector<unsigned char> write(std::span<const tensor_slot> table, std::string_view description,
                                 std::uint64_t fingerprint, std::uint32_t version, const T* block) {
    byte_writer w;
    w.put_bytes(hinge_format_magic);
    w.put(version);
    w.put(static_cast<std::uint32_t>(scalar_code_of<T>));
    w.put(fingerprint);
    w.put(static_cast<std::uint32_t>(description.size()));
    w.put_bytes(description);
    w.put(static_cast<std::uint32_t>(table.size()));
    for (const tensor_slot& t : table) {
        w.put(static_cast<std::uint32_t>(t.name.size()));
        w.put_bytes(t.name);
        w.put(static_cast<std::uint32_t>(t.rank));
        for (std::size_t d = 0; d < t.rank; ++d) w.put(static_cast<std::uint64_t>(t.shape[d]));
    }
    for (const tensor_slot& t : table)
        for (std::size_t k = 0; k < t.count; ++k) w.put(block[t.element(k)]);
    w.put(crc32_of(w.bytes()));
    return std::move(w.bytes());
}

template <class T>
void read(std::span<const unsigned char> bytes, std::string_view source, std::span<const tensor_slot> current_table,
          std::string_view expected_description, std::uint64_t expected_fingerprint, T* block) {
    const std::string src(source);
    const hinge_file_header header = read_hinge_header(bytes, src, scalar_code_name(std::uint32_t(scalar_code_of<T>)));

    // 4. Does it fit the network.
    if (header.scalar != std::uint32_t(scalar_code_of<T>))
        throw file_error(src + ": wrong scalar type: expected " + scalar_code_name(std::uint32_t(scalar_code_of<T>)) +
                         " (parameters<Net, " + (sizeof(T) == 4 ? "float" : "double") + ">), found " +
                         scalar_code_name(header.scalar));
    if (header.fingerprint != expected_fingerprint || header.description != expected_description)
        throw file_error(src + ": different architecture: " +
                         architecture_difference(expected_description, header.description) + "; expected '" +
                         std::string(expected_description) + "' (fingerprint " + hex(expected_fingerprint, 16) +
                         "), found '" + std::string(header.description) + "' (fingerprint " +
                         hex(header.fingerprint, 16) + ")");
    const std::vector<tensor_slot> table =
        header.version == 1 ? version_1_table({current_table.begin(), current_table.end()})
                            : std::vector<tensor_slot>(current_table.begin(), current_table.end());
    const std::vector<declared_tensor>& declared = header.tensors;
    if (declared.size() != table.size())
        throw file_error(src + ": expected " + std::to_string(table.size()) + " tensors, found " +
                         std::to_string(declared.size()));
    for (std::size_t t = 0; t < table.size(); ++t) {
        const std::vector<std::uint64_t> shape(table[t].shape.begin(), table[t].shape.begin() + table[t].rank);
        if (declared[t].name != table[t].name || declared[t].shape != shape)
            throw file_error(src + ": tensor " + std::to_string(t) + ": expected '" + table[t].name + "' " +
                             shape_text(shape) + ", found '" + declared[t].name + "' " +
                             shape_text(declared[t].shape));
    }

    // 5. Decode (into the caller's scratch block, which it commits).
    const unsigned char* p = bytes.data() + header.data_offset;
    for (const tensor_slot& t : table)
        for (std::size_t k = 0; k < t.count; ++k, p += sizeof(T)) block[t.element(k)] = load_le<T>(p);
}

}  // namespace

std::uint32_t crc32_of(std::span<const unsigned char> bytes) noexcept {
    uLong crc = crc32(0L, Z_NULL, 0);
    std::size_t done = 0;
    while (done < bytes.size()) {  // zlib takes uInt lengths
        const std::size_t chunk = std::min<std::size_t>(bytes.size() - done, 1u << 30);
        crc = crc32(crc, bytes.data() + done, static_cast<uInt>(chunk));
        done += chunk;
    }
    return static_cast<std::uint32_t>(crc);
}

std::string shape_text(std::span<const std::uint64_t> shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

std::vector<tensor_slot> version_1_table(std::vector<tensor_slot> table) {
    for (tensor_slot& t : table) {
        t.order = {};
        if (t.rank > 2) t.rank = 2, t.shape = {t.shape[0], t.fan_in, 1, 1};
    }
    return table;
}

std::vector<unsigned char> write_hinge_format(std::span<const tensor_slot> table, std::string_view description,
                                              std::uint64_t fingerprint, std::uint32_t version, const float* block) {
    return write(table, description, fingerprint, version, block);
}
std::vector<unsigned char> write_hinge_format(std::span<const tensor_slot> table, std::string_view description,
                                              std::uint64_t fingerprint, std::uint32_t version, const double* block) {
    return write(table, description, fingerprint, version, block);
}
void read_hinge_format(std::span<const unsigned char> bytes, std::string_view source,
                       std::span<const tensor_slot> table, std::string_view description, std::uint64_t fingerprint,
                       float* block) {
    read(bytes, source, table, description, fingerprint, block);
}
void read_hinge_format(std::span<const unsigned char> bytes, std::string_view source,
                       std::span<const tensor_slot> table, std::string_view description, std::uint64_t fingerprint,
                       double* block) {
    read(bytes, source, table, description, fingerprint, block);
}

hinge_file_header read_hinge_header(std::span<const unsigned char> bytes, const std::string& src,
                                    std::string_view expected_scalar) {
    byte_reader r(bytes, src);
    hinge_file_header h;

    // 1. What kind of file is this.
    const std::span<const unsigned char> magic = r.get_bytes(std::min<std::size_t>(bytes.size(), 8), "the magic");
    if (magic.size() < 8 || !std::equal(magic.begin(), magic.end(), hinge_format_magic.begin()))
        throw file_error(src + ": not a hinge parameter file: expected the magic 'HINGEPRM', found '" +
                         printable(magic) + "'" + (magic.size() < 8 ? " (the file is shorter than the magic)" : ""));
    h.version = r.get<std::uint32_t>("the version");
    if (h.version < oldest_hinge_format_version || h.version > hinge_format_version)
        throw file_error(src + ": unsupported format version: expected " + std::to_string(oldest_hinge_format_version) +
                         " to " + std::to_string(hinge_format_version) + ", found " + std::to_string(h.version));
    h.scalar = r.get<std::uint32_t>("the scalar type");
    if (h.scalar != 1 && h.scalar != 2)
        throw file_error(src + ": wrong scalar type: expected " + std::string(expected_scalar) + ", found " +
                         scalar_code_name(h.scalar) + " (the header is corrupt)");
    const std::uint64_t scalar_size = h.scalar == 1 ? 4 : 8;

    // 2. The table, as the file declares it.
    h.fingerprint = r.get<std::uint64_t>("the architecture fingerprint");
    const auto description_size = r.get<std::uint32_t>("the architecture description's length");
    if (description_size > max_description)
        throw file_error(src + ": corrupt header: the architecture description claims " +
                         std::to_string(description_size) + " bytes (at most " + std::to_string(max_description) +
                         " expected)");
    const auto description_bytes = r.get_bytes(description_size, "the architecture description");
    h.description = std::string_view(reinterpret_cast<const char*>(description_bytes.data()), description_bytes.size());
    const auto tensor_count = r.get<std::uint32_t>("the tensor count");
    std::uint64_t data_size = 0;
    for (std::uint32_t t = 0; t < tensor_count; ++t) {
        // Each entry takes at least 8 bytes, so a count beyond the file's size fails here fast,
        // having reserved nothing.
        const auto name_size = r.get<std::uint32_t>("a tensor name's length");
        if (name_size > max_name)
            throw file_error(src + ": corrupt header: tensor " + std::to_string(t) + "'s name claims " +
                             std::to_string(name_size) + " bytes (at most " + std::to_string(max_name) + ")");
        const auto name_bytes = r.get_bytes(name_size, "a tensor name");
        declared_tensor d{std::string(name_bytes.begin(), name_bytes.end()), {}, 1};
        const auto rank = r.get<std::uint32_t>("a tensor's rank");
        if (rank > max_rank)
            throw file_error(src + ": corrupt header: tensor '" + d.name + "' has rank " + std::to_string(rank) +
                             " (at most " + std::to_string(max_rank) + ")");
        for (std::uint32_t k = 0; k < rank; ++k) {
            d.shape.push_back(r.get<std::uint64_t>("a tensor's extent"));
            if (!checked_multiply(d.count, d.shape.back(), d.count))
                throw file_error(src + ": corrupt header: tensor '" + d.name + "' has the impossible shape " +
                                 shape_text(d.shape));
        }
        std::uint64_t tensor_bytes = 0;
        if (!checked_multiply(d.count, scalar_size, tensor_bytes) || data_size + tensor_bytes < data_size)
            throw file_error(src + ": corrupt header: tensor '" + d.name + "' with shape " + shape_text(d.shape) +
                             " overflows the size of a file");
        data_size += tensor_bytes;
        h.tensors.push_back(std::move(d));
    }

    // 3. Size and checksum: is this the file that was written.
    const std::uint64_t header_size = r.position();
    const std::uint64_t expected_size = header_size + data_size + 4;
    if (expected_size < header_size || bytes.size() < expected_size)
        throw file_error(src + ": truncated: the header declares " + std::to_string(expected_size) +
                         " bytes, the file has " + std::to_string(bytes.size()));
    if (bytes.size() > expected_size)
        throw file_error(src + ": " + std::to_string(bytes.size() - expected_size) +
                         " trailing bytes: the header declares " + std::to_string(expected_size) +
                         " bytes, the file has " + std::to_string(bytes.size()));
    const std::uint32_t computed = crc32_of(bytes.first(bytes.size() - 4));
    const std::uint32_t stored = load_le<std::uint32_t>(bytes.data() + bytes.size() - 4);
    if (computed != stored)
        throw file_error(src + ": checksum mismatch: the file stores CRC-32 " + hex(stored, 8) + ", its contents give " +
                         hex(computed, 8) + ": the file is corrupt");
    h.data_offset = static_cast<std::size_t>(header_size);
    return h;
}

}  // namespace detail
}  // namespace hinge::io
