#pragma once
// What the compiled parts of hinge::io (src/io/*.cpp) share and no user sees: bounds-checked byte
// reading and writing, the text of shapes and architecture differences, and the header of hinge's
// own format (read by the loader and by io::describe).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <hinge/io/file_error.hpp>

namespace hinge::io::detail {

// Bytes shown in an error message: printable ASCII as is, the rest as \xNN, at most `limit`.
std::string printable(std::span<const unsigned char> bytes, std::size_t limit = 16);

// "[a, b, c]".
std::string shape_text(std::span<const std::uint64_t> shape);

// How two architecture descriptions differ, in words, for both file formats' "different
// architecture" errors: the stage counts when they differ ("the file has 3 stages, the network
// has 2; "), then the first part that differs ("stage 1 differs: expected '...', found '...'").
std::string architecture_difference(std::string_view expected, std::string_view found);

// a * b, or false when it overflows.
inline bool checked_multiply(std::uint64_t a, std::uint64_t b, std::uint64_t& product) noexcept {
    return !__builtin_mul_overflow(a, b, &product);
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

// ---- hinge's own format ----------------------------------------------------------------------

struct declared_tensor {
    std::string name;
    std::vector<std::uint64_t> shape;
    std::uint64_t count;
};

// What a hinge parameter file declares, read and checked for damage without knowing the network
// (steps 1 to 3 of loading: the magic, the version, the scalar type code, the table's structure,
// the size, the checksum). io::describe shows it; the loader goes on to check it against Net.
struct hinge_file_header {
    std::uint32_t version = 0;
    std::uint32_t scalar = 0;  // scalar_code: 1 float32, 2 float64
    std::uint64_t fingerprint = 0;
    std::string_view description;  // into the bytes
    std::vector<declared_tensor> tensors;
    std::size_t data_offset = 0;  // where the values start
};

// `expected_scalar` names what the caller wanted, for the message about a corrupt scalar code.
hinge_file_header read_hinge_header(std::span<const unsigned char> bytes, const std::string& src,
                                    std::string_view expected_scalar);

}  // namespace hinge::io::detail
