#pragma once
// Helpers of the file-format tests (tests/io/hinge_format.cpp, tests/io/safetensors.cpp).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include <hinge/io/architecture.hpp>
#include <hinge/io/file_error.hpp>

namespace hinge_test {

using bytes = std::vector<unsigned char>;

// A fresh directory under the system's temporary directory, removed at the end of the test.
struct temporary_directory {
    std::filesystem::path path;
    temporary_directory() {
        path = std::filesystem::temp_directory_path() /
               ("hinge_io_test_" + std::to_string(reinterpret_cast<std::uintptr_t>(this)) + "_" +
                std::to_string(std::rand()));
        std::filesystem::create_directories(path);
    }
    ~temporary_directory() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

// Every logical value distinct and non-zero (running variances positive); padding stays zero.
template <class Block>
void fill_distinct(Block& block) {
    using T = typename Block::value_type;
    T* base = block.data();
    std::size_t n = 0;
    for (const hinge::io::tensor_slot& t : hinge::io::tensor_table<typename Block::network_type, T>())
        for (std::size_t k = 0; k < t.count; ++k, ++n) {
            const T v = static_cast<T>(std::sin(0.37 * static_cast<double>(n) + 0.1)) * T(1.5);
            base[t.element(k)] = t.role == hinge::io::tensor_role::running_variance ? T(0.5) + v * v : v;
        }
}

// `load(copy)` must throw io::file_error whose message contains every one of `phrases`, and
// must leave the copy of `block` byte-for-byte as it was.
template <class Block, class Load>
void expect_rejected(const Block& block, Load&& load, std::initializer_list<std::string> phrases) {
    auto target = std::make_unique<Block>(block);
    std::string message;
    try {
        load(*target);
    } catch (const hinge::io::file_error& e) {
        message = e.what();
    }
    BOOST_TEST_REQUIRE(!message.empty(), "the load did not throw io::file_error");
    for (const std::string& phrase : phrases)
        BOOST_TEST(message.find(phrase) != std::string::npos, "message '" << message << "' lacks '" << phrase << "'");
    BOOST_TEST(std::memcmp(target->data(), block.data(), sizeof(typename Block::value_type) * Block::storage_size) == 0,
               "the parameters changed although the load failed: " << message);
}

}  // namespace hinge_test
