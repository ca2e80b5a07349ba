// Whole-file reading, atomic writing and the byte text of error messages (include/hinge/io/file_error.hpp),
// compiled once: <filesystem> and <fstream> stay out of the user's translation units.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include <hinge/io/file_error.hpp>

#include "internal.hpp"

namespace hinge::io::detail {

std::string hex(std::uint64_t v, int digits) {
    char text[24];
    std::snprintf(text, sizeof text, "0x%0*llx", digits, static_cast<unsigned long long>(v));
    return text;
}

std::string printable(std::span<const unsigned char> bytes, std::size_t limit) {
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

std::vector<unsigned char> read_whole_file(const std::string& path) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status)) throw file_error(path + ": cannot open: no such file");
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

void write_file_atomically(const std::string& path, std::span<const unsigned char> bytes) {
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

}  // namespace hinge::io::detail
