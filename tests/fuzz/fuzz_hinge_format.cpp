// libFuzzer target: io::load_from_bytes (hinge's own format) on arbitrary bytes. Any input must
// either load or throw io::file_error, and a failed load must leave the parameters unchanged.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>

#include <hinge/io/save.hpp>

#include "fuzz_network.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using params_t = hinge::parameters<hinge_fuzz::net>;
    static const auto before = [] {
        auto p = std::make_unique<params_t>();
        for (std::size_t k = 0; k < params_t::storage_size; ++k) p->data()[k] = 0.25f * static_cast<float>(k % 7);
        return p;
    }();
    auto params = std::make_unique<params_t>(*before);
    try {
        hinge::io::load_from_bytes(*params, std::span<const unsigned char>(data, size), "fuzz");
    } catch (const hinge::io::file_error&) {
        if (std::memcmp(params->data(), before->data(), sizeof(float) * params_t::storage_size) != 0) std::abort();
        return 0;
    }
    // A successful load must round-trip exactly, in the version it was read from.
    const std::uint32_t version = hinge::io::detail::load_le<std::uint32_t>(data + 8);
    const auto again =
        version == 1 ? hinge::io::detail::hinge_format_bytes(
                           *params, hinge::io::detail::version_1_table(hinge::io::tensor_table<hinge_fuzz::net, float>()), 1)
                     : hinge::io::save_to_bytes(*params);
    if (again.size() != size || std::memcmp(again.data(), data, size) != 0) std::abort();
    return 0;
}
