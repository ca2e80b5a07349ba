// libFuzzer target: io::parse_safetensors and io::load_safetensors on arbitrary bytes. Any input
// must either load or throw io::file_error (a validated file's tensors must lie inside it), and a
// failed load must leave the parameters unchanged.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>

#include <hinge/io/safetensors.hpp>

#include "fuzz_network.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using params_t = hinge::parameters<hinge_fuzz::net>;
    static const auto before = [] {
        auto p = std::make_unique<params_t>();
        for (std::size_t k = 0; k < params_t::storage_size; ++k) p->data()[k] = 0.25f * static_cast<float>(k % 7);
        return p;
    }();
    const std::span<const unsigned char> bytes(data, size);
    try {
        const hinge::io::safetensors_file file = hinge::io::parse_safetensors(bytes, "fuzz");
        for (const auto& [name, t] : file.tensors) {
            // ASan checks that these spans are inside the input.
            volatile unsigned char sink = 0;
            for (unsigned char b : t.bytes) sink = sink ^ b;
            (void)sink;
        }
        auto params = std::make_unique<params_t>(*before);
        try {
            hinge::io::load_safetensors(*params, file);
        } catch (const hinge::io::file_error&) {
            if (std::memcmp(params->data(), before->data(), sizeof(float) * params_t::storage_size) != 0) std::abort();
        }
    } catch (const hinge::io::file_error&) {
    }
    return 0;
}
