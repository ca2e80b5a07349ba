// Writes the seed corpora of the fuzzers (committed under tests/fuzz/corpus/; rerun only when a
// format changes): tests/fuzz/run.sh --seeds.
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <zlib.h>

#include <hinge/io/safetensors.hpp>
#include <hinge/io/save.hpp>

#include "fuzz_network.hpp"

namespace {
void write(const std::string& path, const std::vector<unsigned char>& bytes) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                static_cast<std::streamsize>(bytes.size()));
}
void write_gz(const std::string& path, const std::vector<unsigned char>& bytes) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    const std::string dir = argv[1];
    auto p = std::make_unique<hinge::parameters<hinge_fuzz::net>>();
    for (std::size_t k = 0; k < p->storage_size; ++k) p->data()[k] = 0.125f * static_cast<float>(k % 11) - 0.5f;
    write(dir + "/hinge_format/valid.hinge", hinge::io::save_to_bytes(*p));
    auto d = std::make_unique<hinge::parameters<hinge_fuzz::net, double>>();
    write(dir + "/hinge_format/double.hinge", hinge::io::save_to_bytes(*d));
    write(dir + "/safetensors/valid.safetensors", hinge::io::save_safetensors_to_bytes(*p));
    hinge::io::safetensors_options renamed;
    renamed.names.prefix = "model.";
    write(dir + "/safetensors/prefixed.safetensors", hinge::io::save_safetensors_to_bytes(*p, renamed));
    const std::vector<unsigned char> images{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8};
    const std::vector<unsigned char> labels{0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 9};
    const std::vector<unsigned char> floats{0, 0, 0x0D, 1, 0, 0, 0, 2, 0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0};
    write(dir + "/idx/images.idx", images);
    write(dir + "/idx/labels.idx", labels);
    write(dir + "/idx/floats.idx", floats);
    write_gz(dir + "/idx/images.idx.gz", images);
    std::printf("seeds written under %s\n", dir.c_str());
}
