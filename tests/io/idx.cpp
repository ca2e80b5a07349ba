// The IDX reader on files the test writes itself, plain and gzip-compressed, well-formed and
// broken in each way the reader must name: missing, bad magic, wrong element type, truncated
// (header, dimensions, values, and a cut gzip stream), trailing bytes, count mismatch.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <zlib.h>

#include <hinge/io/idx.hpp>

namespace io = hinge::io;
namespace fs = std::filesystem;
namespace tt = boost::test_tools;

namespace {

using bytes = std::vector<unsigned char>;

// A fresh directory under the system's temporary directory, removed at the end of the test.
struct temporary_directory {
    fs::path path;
    temporary_directory() {
        path = fs::temp_directory_path() / ("hinge_idx_test_" + std::to_string(reinterpret_cast<std::uintptr_t>(this)) +
                                            "_" + std::to_string(std::rand()));
        fs::create_directories(path);
    }
    ~temporary_directory() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

void append_u32(bytes& b, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<unsigned char>(v >> shift));
}

bytes idx_header(unsigned char type, std::vector<std::uint32_t> dims) {
    bytes b{0, 0, type, static_cast<unsigned char>(dims.size())};
    for (std::uint32_t d : dims) append_u32(b, d);
    return b;
}

// count images of rows x cols: pixel value (i * 7 + p) mod 256.
bytes image_file(std::uint32_t count, std::uint32_t rows, std::uint32_t cols) {
    bytes b = idx_header(0x08, {count, rows, cols});
    for (std::uint32_t i = 0; i < count; ++i)
        for (std::uint32_t p = 0; p < rows * cols; ++p) b.push_back(static_cast<unsigned char>((i * 7 + p) % 256));
    return b;
}

bytes label_file(std::uint32_t count, std::uint32_t classes = 10) {
    bytes b = idx_header(0x08, {count});
    for (std::uint32_t i = 0; i < count; ++i) b.push_back(static_cast<unsigned char>(i % classes));
    return b;
}

void write_raw(const std::string& path, const bytes& b) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    BOOST_REQUIRE(f);
    BOOST_REQUIRE(std::fwrite(b.data(), 1, b.size(), f) == b.size());
    std::fclose(f);
}

void write_gz(const std::string& path, const bytes& b) {
    gzFile f = gzopen(path.c_str(), "wb");
    BOOST_REQUIRE(f);
    BOOST_REQUIRE(gzwrite(f, b.data(), static_cast<unsigned>(b.size())) == static_cast<int>(b.size()));
    gzclose(f);
}

bytes read_raw(const std::string& path) {
    bytes b(fs::file_size(path));
    std::FILE* f = std::fopen(path.c_str(), "rb");
    BOOST_REQUIRE(f);
    BOOST_REQUIRE(std::fread(b.data(), 1, b.size(), f) == b.size());
    std::fclose(f);
    return b;
}

// Runs f, which must throw io::idx_error whose message contains every given fragment.
template <class F>
void expect_error(F&& f, std::vector<std::string> fragments) {
    std::string message;
    try {
        f();
    } catch (const io::idx_error& e) {
        message = e.what();
    }
    BOOST_TEST_CONTEXT("message: " << message) {
        BOOST_TEST(!message.empty());
        for (const std::string& fragment : fragments) BOOST_TEST(message.find(fragment) != std::string::npos, fragment);
    }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(idx)

BOOST_AUTO_TEST_CASE(reads_images_and_labels_plain_and_gzipped_identically) {
    temporary_directory dir;
    write_raw(dir.file("images"), image_file(5, 3, 4));
    write_raw(dir.file("labels"), label_file(5));
    write_gz(dir.file("images.gz"), image_file(5, 3, 4));
    write_gz(dir.file("labels.gz"), label_file(5));

    for (const std::string suffix : {"", ".gz"}) {
        BOOST_TEST_CONTEXT("suffix '" << suffix << "'") {
            const io::labelled_images data = io::read_labelled_images(dir.file("images" + suffix), dir.file("labels" + suffix));
            BOOST_TEST(data.size() == 5u);
            BOOST_TEST(data.inputs.count == 5u);
            BOOST_TEST(data.inputs.rows == 3u);
            BOOST_TEST(data.inputs.cols == 4u);
            BOOST_TEST(data.inputs.pixels.size() == 5u * 12u);
            // pixel p of image i is ((7 i + p) mod 256) / 255
            BOOST_TEST(data.inputs.pixels[2 * 12 + 5] == static_cast<float>(19) / 255.f);
            BOOST_TEST(data.labels[3] == 3u);
        }
    }
}

BOOST_AUTO_TEST_CASE(reads_wider_types_in_host_byte_order) {
    temporary_directory dir;
    bytes b = idx_header(0x0C, {2, 2});
    for (std::uint32_t v : {1u, 0x01020304u, 0xFFFFFFFFu, 256u}) append_u32(b, v);
    write_gz(dir.file("ints.gz"), b);
    const io::idx_array<std::int32_t> a = io::read_idx<std::int32_t>(dir.file("ints.gz"));
    BOOST_TEST(a.dimensions == (std::vector<std::uint32_t>{2, 2}), tt::per_element());
    BOOST_TEST(a.values == (std::vector<std::int32_t>{1, 0x01020304, -1, 256}), tt::per_element());

    bytes f = idx_header(0x0D, {1});
    append_u32(f, 0x3FC00000u);  // 1.5f
    write_raw(dir.file("float"), f);
    BOOST_TEST(io::read_idx<float>(dir.file("float")).values[0] == 1.5f);
}

BOOST_AUTO_TEST_CASE(a_missing_file_is_named) {
    temporary_directory dir;
    expect_error([&] { io::read_images(dir.file("nothing-here.gz")); },
                 {"nothing-here.gz", "cannot open", "No such file or directory"});
}

BOOST_AUTO_TEST_CASE(a_bad_magic_number_is_reported) {
    temporary_directory dir;
    bytes b = image_file(2, 2, 2);
    b[0] = 0x1f;  // e.g. a text or other binary file
    b[1] = 0x42;
    write_raw(dir.file("bad"), b);
    expect_error([&] { io::read_images(dir.file("bad")); }, {"bad", "not an IDX file", "1f420803"});
}

BOOST_AUTO_TEST_CASE(a_wrong_element_type_is_reported_with_both_types) {
    temporary_directory dir;
    bytes b = idx_header(0x0D, {2, 1, 1});  // floats where images of bytes are expected
    for (int i = 0; i < 2; ++i) append_u32(b, 0);
    write_gz(dir.file("floats.gz"), b);
    expect_error([&] { io::read_images(dir.file("floats.gz")); },
                 {"floats.gz", "wrong element type", "expected unsigned byte (0x08)", "0x0D (32-bit float)"});
}

BOOST_AUTO_TEST_CASE(images_with_the_wrong_number_of_dimensions_are_refused) {
    temporary_directory dir;
    write_raw(dir.file("labels"), label_file(4));
    expect_error([&] { io::read_images(dir.file("labels")); }, {"expected images (3 dimensions", "has 1"});
}

BOOST_AUTO_TEST_CASE(truncation_is_reported_in_the_header_the_sizes_and_the_values) {
    temporary_directory dir;
    const bytes whole = image_file(3, 4, 4);  // 16 header bytes + 48 values

    write_raw(dir.file("cut_header"), bytes(whole.begin(), whole.begin() + 2));
    expect_error([&] { io::read_images(dir.file("cut_header")); }, {"cut_header", "truncated", "the header"});

    write_raw(dir.file("cut_sizes"), bytes(whole.begin(), whole.begin() + 9));
    expect_error([&] { io::read_images(dir.file("cut_sizes")); }, {"truncated", "the dimension sizes"});

    write_raw(dir.file("cut_values"), bytes(whole.begin(), whole.end() - 5));
    expect_error([&] { io::read_images(dir.file("cut_values")); }, {"truncated", "43 of the 48 bytes of the values"});

    write_gz(dir.file("cut_values.gz"), bytes(whole.begin(), whole.end() - 5));
    expect_error([&] { io::read_images(dir.file("cut_values.gz")); }, {"truncated", "43 of the 48 bytes"});
}

BOOST_AUTO_TEST_CASE(a_cut_gzip_stream_is_reported_not_read_as_data) {
    temporary_directory dir;
    write_gz(dir.file("whole.gz"), image_file(50, 8, 8));
    const bytes compressed = read_raw(dir.file("whole.gz"));
    write_raw(dir.file("cut.gz"), bytes(compressed.begin(), compressed.begin() + compressed.size() / 2));
    expect_error([&] { io::read_images(dir.file("cut.gz")); }, {"cut.gz", "truncated"});
}

BOOST_AUTO_TEST_CASE(trailing_bytes_are_reported) {
    temporary_directory dir;
    bytes b = label_file(4);
    b.push_back(7);
    write_raw(dir.file("long"), b);
    expect_error([&] { io::read_labels(dir.file("long")); }, {"long", "4 bytes of values expected", "longer"});
}

BOOST_AUTO_TEST_CASE(image_and_label_counts_must_match) {
    temporary_directory dir;
    write_gz(dir.file("images.gz"), image_file(6, 2, 2));
    write_gz(dir.file("labels.gz"), label_file(5));
    expect_error([&] { io::read_labelled_images(dir.file("images.gz"), dir.file("labels.gz")); },
                 {"has 6 images but", "labels.gz has 5 labels"});
}

BOOST_AUTO_TEST_CASE(labels_must_be_below_the_class_count) {
    temporary_directory dir;
    write_gz(dir.file("images.gz"), image_file(12, 2, 2));
    write_gz(dir.file("labels.gz"), label_file(12, 12));
    expect_error([&] { io::read_labelled_images(dir.file("images.gz"), dir.file("labels.gz"), 10); },
                 {"label 10 of sample 10 is not below the 10 classes"});
    BOOST_TEST(io::read_labelled_images(dir.file("images.gz"), dir.file("labels.gz"), 12).size() == 12u);
}

// Found by tests/fuzz/fuzz_idx.cpp: the values vector used to be sized from the header at once.
BOOST_AUTO_TEST_CASE(a_header_declaring_a_terabyte_fails_as_truncated_without_allocating_it) {
    temporary_directory dir;
    write_raw(dir.file("huge"), idx_header(0x0D, {0x04000000, 0x00000100, 0x00000001}));  // 2^34 floats = 64 GiB
    expect_error([&] { io::read_idx<float>(dir.file("huge")); },
                 {"huge: truncated: the file ends after 0 of the 68719476736 bytes of the values"});
}

BOOST_AUTO_TEST_SUITE_END()
