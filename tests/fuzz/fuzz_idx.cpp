// libFuzzer target: io::read_idx (plain and gzip IDX) on arbitrary bytes, which it reads from a
// memory file (/proc/self/fd/N of a memfd) because the reader takes a path. Any input must either
// load or throw io::idx_error.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include <hinge/io/idx.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const int fd = memfd_create("idx", 0);
    if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) std::abort();
    static const std::string path = "/proc/self/fd/" + std::to_string(fd);
    try {
        const auto bytes = hinge::io::read_idx<std::uint8_t>(path);
        (void)bytes;
    } catch (const hinge::io::idx_error&) {
    }
    try {
        const auto floats = hinge::io::read_idx<float>(path);
        (void)floats;
    } catch (const hinge::io::idx_error&) {
    }
    return 0;
}
