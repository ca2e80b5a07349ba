#pragma once
// Shared by the parameter file formats (io/save.hpp, io/safetensors.hpp): the error type, whole-file
// reading and atomic writing, little-endian decoding.
//
// I/O is outside the hot path, so errors are exceptions. Every message starts with the file
// name (or "<memory>") and states what was expected and what was found.
//
// The functions declared here without a body are compiled once, in the hinge::io library
// (src/io/files.cpp): they need <filesystem> and <fstream>, which no user translation unit
// should have to parse for them.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace hinge::io {

// A parameter file could not be read or written, or does not fit the network that loads it.
struct file_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

namespace detail {

static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big,
              "hinge::io: mixed-endian hosts are not supported");

// "0x..." with at least `digits` hex digits.
std::string hex(std::uint64_t v, int digits = 0);

// The whole file; throws file_error naming the path (missing, not a regular file, read error).
std::vector<unsigned char> read_whole_file(const std::string& path);

// Writes to "<path>.tmp" and renames it over path, so that a crash or a full disk never leaves a
// half-written file under the final name.
void write_file_atomically(const std::string& path, std::span<const unsigned char> bytes);

// Little-endian scalars of any size; the values of both formats are little-endian.
template <class U>
void store_le(unsigned char* out, U value) noexcept {
    unsigned char b[sizeof(U)];
    std::memcpy(b, &value, sizeof(U));
    if constexpr (std::endian::native == std::endian::big)
        for (std::size_t i = 0; i < sizeof(U); ++i) out[i] = b[sizeof(U) - 1 - i];
    else
        std::memcpy(out, b, sizeof(U));
}
template <class U>
U load_le(const unsigned char* in) noexcept {
    unsigned char b[sizeof(U)];
    if constexpr (std::endian::native == std::endian::big)
        for (std::size_t i = 0; i < sizeof(U); ++i) b[i] = in[sizeof(U) - 1 - i];
    else
        std::memcpy(b, in, sizeof(U));
    U value;
    std::memcpy(&value, b, sizeof(U));
    return value;
}

}  // namespace detail
}  // namespace hinge::io
