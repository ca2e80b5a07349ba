#pragma once
// hinge's own parameter file format: save and load parameters<Net, T> exactly (bit for bit,
// NaN payloads included), refusing any file that does not fit Net. Link hinge::io (zlib, for
// the CRC-32).
//
//     hinge::io::save(*params, "model.hinge");
//     hinge::io::load(*params, "model.hinge");   // throws io::file_error; *params untouched then
//
// Layout (version 2; all integers little-endian, docs/file-formats.md has the table):
//   "HINGEPRM"                      8 bytes magic
//   u32 version                     2
//   u32 scalar type                 1 = float32, 2 = float64
//   u64 architecture fingerprint    io::architecture_fingerprint<Net>
//   u32 n, n bytes                  io::architecture_description<Net> (for error messages)
//   u32 tensor count
//   per tensor: u32 n, n bytes name ("stage0.weight"), u32 rank, rank x u64 extents
//   per tensor: its values, row-major in the logical shape, PyTorch's order (io::tensor_table:
//               a dense weight is [out, in], a conv2d weight [out, in channels, Kh, Kw])
//   u32 CRC-32 (zlib) of every byte before it
//
// Version 1 differed only for convolutional networks: it stored a convolution's weight as
// [out, Kh * Kw * C] and the weight columns of a dense layer after flatten (and the tensors of
// the batch_norm between them) in hinge's channels-last order. Version 1 files still load, read
// in that order; files are always written as version 2.
//
// Loading checks, in this order, so that each kind of damage gets its own message: the magic,
// the version, the scalar type code, the table's structure, the file size against the size the
// table declares (truncated / trailing bytes), the checksum, and only then whether the file fits
// Net: scalar type, architecture (naming the first stage that differs), tensor names and shapes.
// The values are decoded into a temporary block that is copied over the caller's at the very
// end, so on any error the caller's parameters are untouched.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <zlib.h>

#include <hinge/core/storage.hpp>
#include <hinge/io/architecture.hpp>
#include <hinge/io/file_error.hpp>

namespace hinge::io {

inline constexpr std::string_view hinge_format_magic = "HINGEPRM";
inline constexpr std::uint32_t hinge_format_version = 2;
inline constexpr std::uint32_t oldest_hinge_format_version = 1;

enum class scalar_code : std::uint32_t { float32 = 1, float64 = 2 };

template <class T>
inline constexpr scalar_code scalar_code_of = sizeof(T) == 4 ? scalar_code::float32 : scalar_code::float64;

inline std::string scalar_code_name(std::uint32_t code) {
    switch (code) {
        case 1: return "float32";
        case 2: return "float64";
    }
    return "unknown scalar type code " + std::to_string(code);
}

namespace detail {

inline std::uint32_t crc32_of(std::span<const unsigned char> bytes) noexcept {
    uLong crc = crc32(0L, Z_NULL, 0);
    std::size_t done = 0;
    while (done < bytes.size()) {  // zlib takes uInt lengths
        const std::size_t chunk = std::min<std::size_t>(bytes.size() - done, 1u << 30);
        crc = crc32(crc, bytes.data() + done, static_cast<uInt>(chunk));
        done += chunk;
    }
    return static_cast<std::uint32_t>(crc);
}

inline std::string shape_text(std::span<const std::uint64_t> shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

struct declared_tensor {
    std::string name;
    std::vector<std::uint64_t> shape;
    std::uint64_t count;
};

// Caps that keep a hostile header from making the loader allocate or loop much: no real
// description, name or table comes near them.
inline constexpr std::uint32_t max_description = 1u << 20;
inline constexpr std::uint32_t max_name = 4096;
inline constexpr std::uint32_t max_rank = 8;

// The tensor table as format version 1 had it: hinge's channels-last order everywhere, and a
// convolution's weight as the 2-D [out, fan-in] of its storage.
inline std::vector<tensor_slot> version_1_table(std::vector<tensor_slot> table) {
    for (tensor_slot& t : table) {
        t.order = {};
        if (t.rank > 2) t.rank = 2, t.shape = {t.shape[0], t.fan_in, 1, 1};
    }
    return table;
}

// A file of `version` with `table`'s names, shapes and order (tests write version 1 files with it).
template <class Net, class T, class Role>
std::vector<unsigned char> hinge_format_bytes(const parameter_block<Net, T, Role>& params,
                                              const std::vector<tensor_slot>& table, std::uint32_t version) {
    detail::byte_writer w;
    w.put_bytes(hinge_format_magic);
    w.put(version);
    w.put(static_cast<std::uint32_t>(scalar_code_of<T>));
    w.put(architecture_fingerprint<Net>);
    w.put(static_cast<std::uint32_t>(architecture_description<Net>.size()));
    w.put_bytes(architecture_description<Net>);
    w.put(static_cast<std::uint32_t>(table.size()));
    for (const tensor_slot& t : table) {
        w.put(static_cast<std::uint32_t>(t.name.size()));
        w.put_bytes(t.name);
        w.put(static_cast<std::uint32_t>(t.rank));
        for (std::size_t d = 0; d < t.rank; ++d) w.put(static_cast<std::uint64_t>(t.shape[d]));
    }
    const T* block = params.data();
    for (const tensor_slot& t : table)
        for (std::size_t k = 0; k < t.count; ++k) w.put(block[t.element(k)]);
    w.put(detail::crc32_of(w.bytes()));
    return std::move(w.bytes());
}
}  // namespace detail

// The bytes of a hinge parameter file for `params`.
template <class Net, class T, class Role>
std::vector<unsigned char> save_to_bytes(const parameter_block<Net, T, Role>& params) {
    return detail::hinge_format_bytes(params, tensor_table<Net, T>(), hinge_format_version);
}

// Writes `params` to `path` (through a temporary file renamed into place).
template <class Net, class T, class Role>
void save(const parameter_block<Net, T, Role>& params, const std::string& path) {
    const std::vector<unsigned char> bytes = save_to_bytes(params);
    detail::write_file_atomically(path, bytes);
}

namespace detail {

// What a hinge parameter file declares, read and checked for damage without knowing the network
// (steps 1 to 3 of loading: the magic, the version, the scalar type code, the table's structure,
// the size, the checksum). io::describe shows it; load_from_bytes goes on to check it against Net.
struct hinge_file_header {
    std::uint32_t version = 0;
    std::uint32_t scalar = 0;  // scalar_code: 1 float32, 2 float64
    std::uint64_t fingerprint = 0;
    std::string_view description;  // into the bytes
    std::vector<declared_tensor> tensors;
    std::size_t data_offset = 0;  // where the values start
};

// `expected_scalar` names what the caller wanted, for the message about a corrupt scalar code.
inline hinge_file_header read_hinge_header(std::span<const unsigned char> bytes, const std::string& src,
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

// Loads a hinge parameter file held in memory; `source` names it in error messages.
// Throws file_error; on error `params` is unchanged.
template <class Net, class T, class Role>
void load_from_bytes(parameter_block<Net, T, Role>& params, std::span<const unsigned char> bytes,
                     std::string_view source = "<memory>") {
    const std::string src(source);
    const detail::hinge_file_header header =
        detail::read_hinge_header(bytes, src, scalar_code_name(std::uint32_t(scalar_code_of<T>)));
    const std::uint32_t version = header.version, scalar = header.scalar;
    const std::uint64_t fingerprint = header.fingerprint;
    const std::string_view description = header.description;
    const std::vector<detail::declared_tensor>& declared = header.tensors;
    const std::size_t header_size = header.data_offset;

    // 4. Does it fit Net.
    if (scalar != std::uint32_t(scalar_code_of<T>))
        throw file_error(src + ": wrong scalar type: expected " + scalar_code_name(std::uint32_t(scalar_code_of<T>)) +
                         " (parameters<Net, " + (sizeof(T) == 4 ? "float" : "double") + ">), found " +
                         scalar_code_name(scalar));
    constexpr std::string_view expected_description = architecture_description<Net>;
    if (fingerprint != architecture_fingerprint<Net> || description != expected_description)
        throw file_error(src + ": different architecture: " + detail::architecture_difference(expected_description, description) +
                         "; expected '" + std::string(expected_description) + "' (fingerprint " +
                         detail::hex(architecture_fingerprint<Net>, 16) + "), found '" + std::string(description) +
                         "' (fingerprint " + detail::hex(fingerprint, 16) + ")");
    const std::vector<tensor_slot> table =
        version == 1 ? detail::version_1_table(tensor_table<Net, T>()) : tensor_table<Net, T>();
    if (declared.size() != table.size())
        throw file_error(src + ": expected " + std::to_string(table.size()) + " tensors, found " +
                         std::to_string(declared.size()));
    for (std::size_t t = 0; t < table.size(); ++t) {
        const std::vector<std::uint64_t> shape(table[t].shape.begin(), table[t].shape.begin() + table[t].rank);
        if (declared[t].name != table[t].name || declared[t].shape != shape)
            throw file_error(src + ": tensor " + std::to_string(t) + ": expected '" + table[t].name + "' " +
                             detail::shape_text(shape) + ", found '" + declared[t].name + "' " +
                             detail::shape_text(declared[t].shape));
    }

    // 5. Decode into a temporary, then commit.
    auto staged = std::make_unique<parameter_block<Net, T, Role>>();
    T* block = staged->data();
    const unsigned char* p = bytes.data() + header_size;
    for (const tensor_slot& t : table)
        for (std::size_t k = 0; k < t.count; ++k, p += sizeof(T)) block[t.element(k)] = detail::load_le<T>(p);
    params = *staged;
}

// Loads `path` into `params`. Throws file_error; on error `params` is unchanged.
template <class Net, class T, class Role>
void load(parameter_block<Net, T, Role>& params, const std::string& path) {
    const std::vector<unsigned char> bytes = detail::read_whole_file(path);
    load_from_bytes(params, bytes, path);
}

}  // namespace hinge::io
