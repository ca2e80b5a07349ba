#pragma once
// Reader for the IDX format of the MNIST family (MNIST, Fashion-MNIST, KMNIST, EMNIST), plain
// or gzip-compressed: zlib's gzread reads both, so `.gz` needs no special case. Link hinge::io
// (hinge::hinge plus ZLIB::ZLIB), or -lz by hand.
//
// Format: two zero bytes, a type code, the number of dimensions n, then n big-endian 32-bit
// sizes, then the values in row-major order, big-endian.
//
// I/O is outside the hot path, so errors are exceptions: hinge::io::idx_error (a
// std::runtime_error) whose message starts with the file name and says what was wrong.
//
//     auto train = hinge::io::read_labelled_images(dir + "/train-images-idx3-ubyte.gz",
//                                                  dir + "/train-labels-idx1-ubyte.gz");
//     // train.pixels: count x (rows * cols) floats in [0, 1]; train.labels: count labels
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include <zlib.h>

namespace hinge::io {

struct idx_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class idx_type : std::uint8_t {
    unsigned_byte = 0x08,
    signed_byte = 0x09,
    int16 = 0x0B,
    int32 = 0x0C,
    float32 = 0x0D,
    float64 = 0x0E,
};

inline const char* name(idx_type t) noexcept {
    switch (t) {
        case idx_type::unsigned_byte: return "unsigned byte";
        case idx_type::signed_byte: return "signed byte";
        case idx_type::int16: return "16-bit integer";
        case idx_type::int32: return "32-bit integer";
        case idx_type::float32: return "32-bit float";
        case idx_type::float64: return "64-bit float";
    }
    return "unknown";
}

// The IDX type code of a C++ element type.
template <class E>
inline constexpr idx_type idx_type_of = [] {
    if constexpr (std::is_same_v<E, std::uint8_t>) return idx_type::unsigned_byte;
    else if constexpr (std::is_same_v<E, std::int8_t>) return idx_type::signed_byte;
    else if constexpr (std::is_same_v<E, std::int16_t>) return idx_type::int16;
    else if constexpr (std::is_same_v<E, std::int32_t>) return idx_type::int32;
    else if constexpr (std::is_same_v<E, float>) return idx_type::float32;
    else {
        static_assert(std::is_same_v<E, double>,
                      "read_idx<E>: E must be uint8_t, int8_t, int16_t, int32_t, float or double, because those "
                      "are the element types the IDX format defines");
        return idx_type::float64;
    }
}();

// A whole IDX file: its dimensions and its values, converted to the host's byte order.
template <class E>
struct idx_array {
    std::vector<std::uint32_t> dimensions;
    std::vector<E> values;
};

namespace detail {

class gz_file {
public:
    explicit gz_file(const std::string& path) : path_(path) {
        errno = 0;
        file_ = gzopen(path.c_str(), "rb");
        if (file_ == nullptr) {
            const int e = errno;
            throw idx_error(path + ": cannot open" + (e ? ": " + std::generic_category().message(e) : std::string()));
        }
        gzbuffer(file_, 1u << 17);
    }
    gz_file(const gz_file&) = delete;
    gz_file& operator=(const gz_file&) = delete;
    ~gz_file() { gzclose(file_); }

    // Reads exactly n bytes; `what` names them in the error message. A chunk of a larger field
    // passes where it starts in the field (`before`) and the field's size (`total`), so that the
    // message counts bytes of the whole field.
    void read(void* into, std::size_t n, const char* what, std::size_t before = 0, std::size_t total = 0) {
        auto* bytes = static_cast<unsigned char*>(into);
        if (total == 0) total = n;
        std::size_t done = 0;
        while (done < n) {
            const std::size_t chunk = n - done < (1u << 30) ? n - done : (1u << 30);
            const int got = gzread(file_, bytes + done, static_cast<unsigned>(chunk));
            if (got < 0) {
                int code = 0;
                const char* message = gzerror(file_, &code);
                throw idx_error(path_ + ": truncated or corrupt while reading " + what + " (read " +
                                std::to_string(before + done) + " of " + std::to_string(total) + " bytes): " + message);
            }
            if (got == 0) {
                throw idx_error(path_ + ": truncated: the file ends after " + std::to_string(before + done) +
                                " of the " + std::to_string(total) + " bytes of " + what);
            }
            done += static_cast<std::size_t>(got);
        }
    }

    bool at_end() {
        unsigned char probe;
        return gzread(file_, &probe, 1) <= 0;
    }

    const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
    gzFile file_ = nullptr;
};

inline std::uint32_t big_endian_32(const unsigned char* b) noexcept {
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | std::uint32_t{b[3]};
}

template <class E>
void to_host_order(std::vector<E>& values) noexcept {
    if constexpr (sizeof(E) > 1) {
        for (E& v : values) {
            unsigned char b[sizeof(E)];
            std::memcpy(b, &v, sizeof(E));
            for (std::size_t i = 0; i < sizeof(E) / 2; ++i) {
                const unsigned char t = b[i];
                b[i] = b[sizeof(E) - 1 - i];
                b[sizeof(E) - 1 - i] = t;
            }
            std::memcpy(&v, b, sizeof(E));
        }
    }
}

inline bool host_is_little_endian() noexcept {
    const std::uint16_t one = 1;
    unsigned char first;
    std::memcpy(&first, &one, 1);
    return first == 1;
}

}  // namespace detail

// Reads a whole IDX file whose element type is E. Throws idx_error for a missing file, a bad
// magic number, another element type than E, a truncated file or trailing bytes.
template <class E>
idx_array<E> read_idx(const std::string& path) {
    detail::gz_file file(path);
    unsigned char magic[4];
    file.read(magic, 4, "the header");
    if (magic[0] != 0 || magic[1] != 0)
        throw idx_error(path + ": not an IDX file: the magic number must start with two zero bytes, found 0x" +
                        [&] {
                            char hex[16];
                            std::snprintf(hex, sizeof hex, "%02x%02x%02x%02x", magic[0], magic[1], magic[2],
                                          magic[3]);
                            return std::string(hex);
                        }());
    const auto type = static_cast<idx_type>(magic[2]);
    if (type != idx_type_of<E>) {
        char code[8];
        std::snprintf(code, sizeof code, "0x%02X", magic[2]);
        char wanted[8];
        std::snprintf(wanted, sizeof wanted, "0x%02X", static_cast<unsigned>(idx_type_of<E>));
        throw idx_error(path + ": wrong element type: expected " + name(idx_type_of<E>) + " (" + wanted +
                        "), the file has type code " + code + " (" + name(type) + ")");
    }
    const std::size_t rank = magic[3];
    if (rank == 0) throw idx_error(path + ": the file declares 0 dimensions");

    idx_array<E> result;
    result.dimensions.resize(rank);
    std::vector<unsigned char> sizes(4 * rank);
    file.read(sizes.data(), sizes.size(), "the dimension sizes");
    std::size_t count = 1;
    for (std::size_t d = 0; d < rank; ++d) {
        result.dimensions[d] = detail::big_endian_32(sizes.data() + 4 * d);
        const std::size_t extent = result.dimensions[d];
        if (extent != 0 && count > (std::size_t{1} << 40) / sizeof(E) / extent)
            throw idx_error(path + ": the dimensions describe more than 1 TiB of data; the header is corrupt");
        count *= extent;
    }
    // The vector grows as the values arrive, in chunks of 16 MiB, instead of being sized from the
    // header at once: a 16-byte file may declare a terabyte (found by tests/fuzz/fuzz_idx.cpp).
    constexpr std::size_t chunk = (std::size_t{1} << 24) / sizeof(E);
    for (std::size_t done = 0; done < count;) {
        const std::size_t n = count - done < chunk ? count - done : chunk;
        result.values.resize(done + n);
        file.read(result.values.data() + done, n * sizeof(E), "the values", done * sizeof(E), count * sizeof(E));
        done += n;
    }
    if (!file.at_end())
        throw idx_error(path + ": " + std::to_string(count * sizeof(E)) +
                        " bytes of values expected, but the file is longer");
    if (detail::host_is_little_endian()) detail::to_host_order(result.values);
    return result;
}

// Images of an IDX3 file (count x rows x cols unsigned bytes), as floats scaled to [0, 1].
struct images {
    std::size_t count = 0, rows = 0, cols = 0;
    std::vector<float> pixels;  // count x (rows * cols)
    std::size_t pixels_per_image() const noexcept { return rows * cols; }
};

inline images read_images(const std::string& path) {
    idx_array<std::uint8_t> raw = read_idx<std::uint8_t>(path);
    if (raw.dimensions.size() != 3)
        throw idx_error(path + ": expected images (3 dimensions: count, rows, columns), the file has " +
                        std::to_string(raw.dimensions.size()));
    images result;
    result.count = raw.dimensions[0];
    result.rows = raw.dimensions[1];
    result.cols = raw.dimensions[2];
    result.pixels.resize(raw.values.size());
    for (std::size_t i = 0; i < raw.values.size(); ++i) result.pixels[i] = static_cast<float>(raw.values[i]) / 255.f;
    return result;
}

// Labels of an IDX1 file (count unsigned bytes), widened to the uint32 that
// loss::softmax_cross_entropy takes.
inline std::vector<std::uint32_t> read_labels(const std::string& path) {
    idx_array<std::uint8_t> raw = read_idx<std::uint8_t>(path);
    if (raw.dimensions.size() != 1)
        throw idx_error(path + ": expected labels (1 dimension), the file has " +
                        std::to_string(raw.dimensions.size()));
    return std::vector<std::uint32_t>(raw.values.begin(), raw.values.end());
}

struct labelled_images {
    images inputs;
    std::vector<std::uint32_t> labels;
    std::size_t size() const noexcept { return labels.size(); }
};

// Images and their labels; throws if the counts differ or a label is not below `classes`.
inline labelled_images read_labelled_images(const std::string& images_path, const std::string& labels_path,
                                            std::uint32_t classes = 10) {
    labelled_images result{read_images(images_path), read_labels(labels_path)};
    if (result.inputs.count != result.labels.size())
        throw idx_error(images_path + " has " + std::to_string(result.inputs.count) + " images but " + labels_path +
                        " has " + std::to_string(result.labels.size()) + " labels");
    for (std::size_t i = 0; i < result.labels.size(); ++i)
        if (result.labels[i] >= classes)
            throw idx_error(labels_path + ": label " + std::to_string(result.labels[i]) + " of sample " +
                            std::to_string(i) + " is not below the " + std::to_string(classes) + " classes");
    return result;
}

}  // namespace hinge::io
