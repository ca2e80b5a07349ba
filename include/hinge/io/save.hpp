#pragma once
// hinge's own parameter file format: save and load parameters<Net, T> exactly (bit for bit,
// NaN payloads included), refusing any file that does not fit Net. Link hinge::io (the compiled
// reader and writer, src/io/hinge_format.cpp, with zlib for the CRC-32).
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
//
// Only what depends on Net is a template here: the tensor table (io::tensor_table), the
// architecture and the block. The format itself is read and written once, in the library, by
// detail::read_hinge_format and detail::write_hinge_format, which take them as plain arguments.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

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

// "float32", "float64", or "unknown scalar type code N".
std::string scalar_code_name(std::uint32_t code);

namespace detail {

// CRC-32 (zlib's) of `bytes`.
std::uint32_t crc32_of(std::span<const unsigned char> bytes) noexcept;

// The tensor table as format version 1 had it: hinge's channels-last order everywhere, and a
// convolution's weight as the 2-D [out, fan-in] of its storage.
std::vector<tensor_slot> version_1_table(std::vector<tensor_slot> table);

// The non-template core of the format, compiled once (src/io/hinge_format.cpp). The network is
// what its table, description and fingerprint say; `block` is its parameter storage, laid out as
// the table's tensor_slot::element says.
//
// A file of `version` holding the tensors of `table` from `block`.
std::vector<unsigned char> write_hinge_format(std::span<const tensor_slot> table, std::string_view description,
                                              std::uint64_t fingerprint, std::uint32_t version, const float* block);
std::vector<unsigned char> write_hinge_format(std::span<const tensor_slot> table, std::string_view description,
                                              std::uint64_t fingerprint, std::uint32_t version, const double* block);
// Checks `bytes` (damage first, then whether it fits the network) and decodes its values into
// `block` (a version 1 file in version 1's order). Throws file_error; `block` may then be partly
// written, so callers pass a scratch block.
void read_hinge_format(std::span<const unsigned char> bytes, std::string_view source,
                       std::span<const tensor_slot> table, std::string_view description,
                       std::uint64_t fingerprint, float* block);
void read_hinge_format(std::span<const unsigned char> bytes, std::string_view source,
                       std::span<const tensor_slot> table, std::string_view description,
                       std::uint64_t fingerprint, double* block);

// A file of `version` with `table`'s names, shapes and order (tests write version 1 files with it).
template <class Net, class T, class Role>
std::vector<unsigned char> hinge_format_bytes(const parameter_block<Net, T, Role>& params,
                                              const std::vector<tensor_slot>& table, std::uint32_t version) {
    return write_hinge_format(table, architecture_description<Net>, architecture_fingerprint<Net>, version,
                              params.data());
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
    detail::write_file_atomically(path, save_to_bytes(params));
}

// Loads a hinge parameter file held in memory; `source` names it in error messages.
// Throws file_error; on error `params` is unchanged.
template <class Net, class T, class Role>
void load_from_bytes(parameter_block<Net, T, Role>& params, std::span<const unsigned char> bytes,
                     std::string_view source = "<memory>") {
    auto staged = std::make_unique<parameter_block<Net, T, Role>>();
    detail::read_hinge_format(bytes, source, tensor_table<Net, T>(), architecture_description<Net>,
                              architecture_fingerprint<Net>, staged->data());
    params = *staged;
}

// Loads `path` into `params`. Throws file_error; on error `params` is unchanged.
template <class Net, class T, class Role>
void load(parameter_block<Net, T, Role>& params, const std::string& path) {
    const std::vector<unsigned char> bytes = detail::read_whole_file(path);
    load_from_bytes(params, bytes, path);
}

}  // namespace hinge::io
