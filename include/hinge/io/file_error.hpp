#pragma once
// Shared by the parameter file formats (io/save.hpp, io/safetensors.hpp): the error type, whole-file
// reading and atomic writing, bounds-checked little-endian decoding.
//
// I/O is outside the hot path, so errors are exceptions. Every message starts with the file
// name (or "<memory>") and states what was expected and what was found.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace hinge::io {

// A parameter file could not be read or written, or does not fit the network that loads it.
struct file_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

namespace detail {

static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big,
              "hinge::io: mixed-endian hosts are not supported");

inline std::string hex(std::uint64_t v, int digits = 0) {
    char text[24];
    std::snprintf(text, sizeof text, "0x%0*llx", digits, static_cast<unsigned long long>(v));
    return text;
}

// Bytes shown in an error message: printable ASCII as is, the rest as \xNN, at most `limit`.
inline std::string printable(std::span<const unsigned char> bytes, std::size_t limit = 16) {
    std::string s;
    for (std::size_t i = 0; i < bytes.size() && i < limit; ++i) {
        const unsigned char c = bytes[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            s += static_cast<char>(c);
        } else {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\x%02x", c);
            s += esc;
        }
    }
    if (bytes.size() > limit) s += "...";
    return s;
}

inline std::vector<unsigned char> read_whole_file(const std::string& path) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status))
        throw file_error(path + ": cannot open: no such file");
    if (!std::filesystem::is_regular_file(status)) throw file_error(path + ": cannot open: not a regular file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw file_error(path + ": cannot open for reading");
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    if (size < 0) throw file_error(path + ": cannot determine the file size");
    in.seekg(0, std::ios::beg);
    std::vector<unsigned char> bytes(static_cast<std::size_t>(size));
    if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
        throw file_error(path + ": read error after " + std::to_string(in.gcount()) + " of " + std::to_string(size) +
                         " bytes");
    return bytes;
}

// Writes to "<path>.tmp" and renames it over path, so that a crash or a full disk never leaves a
// half-written file under the final name.
inline void write_file_atomically(const std::string& path, std::span<const unsigned char> bytes) {
    const std::string temporary = path + ".tmp";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) throw file_error(path + ": cannot open " + temporary + " for writing");
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        out.flush();
        if (!out) {
            out.close();
            std::remove(temporary.c_str());
            throw file_error(path + ": write error (disk full?) while writing " + std::to_string(bytes.size()) +
                             " bytes to " + temporary);
        }
    }
    std::error_code ec;
    std::filesystem::rename(temporary, path, ec);
    if (ec) {
        std::remove(temporary.c_str());
        throw file_error(path + ": cannot rename " + temporary + " to it: " + ec.message());
    }
}

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

class byte_writer {
public:
    // Through a local array and insert, not resize and a store into the vector: with a description
    // of constant length g++ 12 -O3 tracked the vector's size and gave a false -Warray-bounds on the
    // resize (seen in tests/exporter/exporter_check.cpp, which saves a generated model).
    template <class U>
    void put(U value) {
        unsigned char b[sizeof(U)];
        store_le(b, value);
        bytes_.insert(bytes_.end(), b, b + sizeof(U));
    }
    void put_bytes(std::string_view s) { bytes_.insert(bytes_.end(), s.begin(), s.end()); }
    std::vector<unsigned char>& bytes() noexcept { return bytes_; }

private:
    std::vector<unsigned char> bytes_;
};

// Bounds-checked reading: running past the end throws "truncated", naming the field.
class byte_reader {
public:
    byte_reader(std::span<const unsigned char> bytes, std::string_view source) : bytes_(bytes), source_(source) {}

    template <class U>
    U get(const char* what) {
        need(sizeof(U), what);
        const U value = load_le<U>(bytes_.data() + position_);
        position_ += sizeof(U);
        return value;
    }
    std::span<const unsigned char> get_bytes(std::size_t n, const char* what) {
        need(n, what);
        const std::span<const unsigned char> s = bytes_.subspan(position_, n);
        position_ += n;
        return s;
    }
    std::size_t position() const noexcept { return position_; }
    std::size_t size() const noexcept { return bytes_.size(); }

private:
    void need(std::size_t n, const char* what) const {
        if (n > bytes_.size() - position_)
            throw file_error(std::string(source_) + ": truncated: " + what + " needs " + std::to_string(n) +
                             " bytes at offset " + std::to_string(position_) + ", but the file has " +
                             std::to_string(bytes_.size()) + " bytes");
    }

    std::span<const unsigned char> bytes_;
    std::string_view source_;
    std::size_t position_ = 0;
};

// a * b, or false when it overflows.
inline bool checked_multiply(std::uint64_t a, std::uint64_t b, std::uint64_t& product) noexcept {
    return !__builtin_mul_overflow(a, b, &product);
}

}  // namespace detail
}  // namespace hinge::io
