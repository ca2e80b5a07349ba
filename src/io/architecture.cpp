// The text of "different architecture" errors (both formats), compiled once.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "internal.hpp"

namespace hinge::io::detail {
namespace {

// "a | b | c" -> the i-th " | "-separated part (part 0 is the input, part i + 1 is stage i).
std::vector<std::string_view> split_stages(std::string_view d) {
    std::vector<std::string_view> parts;
    for (;;) {
        const std::size_t bar = d.find(" | ");
        parts.push_back(d.substr(0, bar));
        if (bar == std::string_view::npos) break;
        d.remove_prefix(bar + 3);
    }
    return parts;
}

}  // namespace

std::string architecture_difference(std::string_view expected, std::string_view found) {
    const auto e = split_stages(expected), f = split_stages(found);
    const auto stages = [](std::size_t n) { return std::to_string(n) + (n == 1 ? " stage" : " stages"); };
    std::string counts;
    if (e.size() != f.size())
        counts = "the file has " + stages(f.size() - 1) + ", the network has " + std::to_string(e.size() - 1) + "; ";
    for (std::size_t i = 0; i < e.size() || i < f.size(); ++i) {
        const std::string where = i == 0 ? std::string("the input") : "stage " + std::to_string(i - 1);
        if (i >= f.size()) return counts + "the file ends before " + where + " (expected '" + std::string(e[i]) + "')";
        if (i >= e.size()) return counts + "the file has an extra " + where + " ('" + std::string(f[i]) + "')";
        if (e[i] != f[i])
            return counts + where + " differs: expected '" + std::string(e[i]) + "', found '" + std::string(f[i]) + "'";
    }
    return "the descriptions are equal but the fingerprints differ";
}

}  // namespace hinge::io::detail
