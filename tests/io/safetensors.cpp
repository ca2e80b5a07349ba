// safetensors (io/safetensors.hpp): torch.nn.Sequential naming, exact round trips, the user's
// name mapping, and one crafted file per way a header can be wrong, each rejected with a message
// that states expected and found, with the caller's parameters left byte-for-byte as they were.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include <hinge/activations/leaky_relu.hpp>
#include <hinge/activations/prelu.hpp>
#include <hinge/core/network.hpp>
#include <hinge/core/sequential.hpp>
#include <hinge/core/storage.hpp>
#include <hinge/layers/batch_norm.hpp>
#include <hinge/layers/dense.hpp>
#include <hinge/io/safetensors.hpp>

#include "../support/io_test_support.hpp"

namespace {

namespace hn = hinge;
namespace io = hinge::io;
using hinge_test::bytes;
using hinge_test::expect_rejected;
using hinge_test::fill_distinct;

// Sequential modules: 0 Linear, 1 PReLU, 2 Linear, 3 BatchNorm1d, 4 LeakyReLU, 5 Linear.
using net = hn::network<hn::input<5>, hn::dense<18>, hn::prelu, hn::dense<7>, hn::batch_norm, hn::leaky_relu<0.2f>,
                        hn::dense<3>>;
using small = hn::network<hn::input<2>, hn::dense<3>>;

// A safetensors file from a header text and `data_size` bytes of data (values 0, 1, 2, ...).
bytes crafted(const std::string& header, std::size_t data_size) {
    // Indexed writes into a sized vector: g++ 12 -O3 warns falsely (-Warray-bounds) on insert().
    bytes b(8 + header.size() + data_size);
    io::detail::store_le(b.data(), static_cast<std::uint64_t>(header.size()));
    for (std::size_t i = 0; i < header.size(); ++i) b[8 + i] = static_cast<unsigned char>(header[i]);
    for (std::size_t i = 0; i < data_size; ++i) b[8 + header.size() + i] = static_cast<unsigned char>(i);
    return b;
}

// A valid header of `small` with one entry replaced by `entry` (name: value).
std::string small_header(const std::string& weight = R"("0.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]})",
                         const std::string& bias = R"("0.bias":{"dtype":"F32","shape":[3],"data_offsets":[24,36]})") {
    return "{" + weight + "," + bias + "}";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(io_safetensors)

BOOST_AUTO_TEST_CASE(names_follow_torch_sequential_numbering_with_out_in_weights) {
    auto p = std::make_unique<hn::parameters<net>>();
    fill_distinct(*p);
    const bytes file = io::save_safetensors_to_bytes(*p);
    const io::safetensors_file f = io::parse_safetensors(file);
    std::vector<std::string> names;
    for (const auto& [name, t] : f.tensors) names.push_back(name);
    const std::vector<std::string> expected{"0.bias",         "0.weight",       "1.weight",
                                            "2.bias",         "2.weight",       "3.bias",
                                            "3.num_batches_tracked", "3.running_mean", "3.running_var",
                                            "3.weight",       "5.bias",         "5.weight"};
    BOOST_TEST(names == expected, boost::test_tools::per_element());
    BOOST_TEST(f.at("0.weight").shape == (std::vector<std::uint64_t>{18, 5}), boost::test_tools::per_element());
    const std::vector<float> w = f.values<float>("2.weight");  // [7, 18], row-major = (out, in)
    for (std::size_t o = 0; o < 7; ++o)
        for (std::size_t i = 0; i < 18; ++i) BOOST_TEST_REQUIRE(w[o * 18 + i] == p->layer<1>().weight(o, i));
    BOOST_TEST(f.values<float>("1.weight")[4] == p->layer<0>().slope(4));
    BOOST_TEST(f.values<float>("3.running_var")[6] == p->layer<2>().running_variance(6));
    BOOST_TEST(f.at("3.num_batches_tracked").dtype == "I64");
    BOOST_TEST(f.metadata.at("format") == "pt");
    BOOST_TEST(f.metadata.at("hinge.architecture") == std::string(io::architecture_description<net>));
    BOOST_TEST((8 + io::detail::load_le<std::uint64_t>(file.data())) % 8 == 0, "the data section is 8-byte aligned");
}

BOOST_AUTO_TEST_CASE(round_trip_is_bit_exact_through_bytes_and_files) {
    auto p = std::make_unique<hn::parameters<net>>();
    fill_distinct(*p);
    auto q = std::make_unique<hn::parameters<net>>();
    io::load_safetensors_from_bytes(*q, io::save_safetensors_to_bytes(*p));
    BOOST_TEST((*p == *q));

    hinge_test::temporary_directory dir;
    auto d = std::make_unique<hn::parameters<net, double>>();
    fill_distinct(*d);
    io::save_safetensors(*d, dir.file("m.safetensors"));
    auto e = std::make_unique<hn::parameters<net, double>>();
    io::load_safetensors(*e, dir.file("m.safetensors"));
    BOOST_TEST((*d == *e));
    const io::safetensors_document doc = io::read_safetensors(dir.file("m.safetensors"));
    BOOST_TEST(doc.file.at("0.weight").dtype == "F64");
}

BOOST_AUTO_TEST_CASE(float32_files_widen_exactly_into_double_parameters) {
    auto p = std::make_unique<hn::parameters<net>>();
    fill_distinct(*p);
    auto d = std::make_unique<hn::parameters<net, double>>();
    io::load_safetensors_from_bytes(*d, io::save_safetensors_to_bytes(*p));
    // The layouts differ (panels of 16 floats, 8 doubles): compare logical values.
    const auto f = io::tensor_table<net, float>();
    const auto g = io::tensor_table<net, double>();
    for (std::size_t t = 0; t < f.size(); ++t)
        for (std::size_t k = 0; k < f[t].count; ++k)
            BOOST_TEST_REQUIRE(d->data()[g[t].element(k)] == double(p->data()[f[t].element(k)]));
}

BOOST_AUTO_TEST_CASE(prefix_and_rename_map_other_module_names) {
    auto p = std::make_unique<hn::parameters<small>>();
    fill_distinct(*p);
    io::safetensors_options options;
    options.names.prefix = "model.";
    options.names.rename = {{"0.weight", "head.proj.weight"}};
    const bytes file = io::save_safetensors_to_bytes(*p, options);
    const io::safetensors_file f = io::parse_safetensors(file);
    BOOST_TEST(f.tensors.count("model.head.proj.weight") == 1u);
    BOOST_TEST(f.tensors.count("model.0.bias") == 1u);
    auto q = std::make_unique<hn::parameters<small>>();
    io::load_safetensors(*q, f, options);
    BOOST_TEST((*p == *q));
    expect_rejected(*q, [&](auto& r) { io::load_safetensors(r, f); },
                    {"missing tensor '0.weight' (hinge's stage0.weight, shape [3, 2])", "'model.0.bias'"});
}

BOOST_AUTO_TEST_CASE(a_single_shared_prelu_slope_is_broadcast) {
    using one = hn::network<hn::input<2>, hn::dense<3>, hn::prelu>;
    io::safetensors_writer w;
    const std::vector<float> weight{1, 2, 3, 4, 5, 6}, bias{7, 8, 9}, slope{0.125f};
    w.add<float>("0.weight", {3, 2}, weight);
    w.add<float>("0.bias", {3}, bias);
    w.add<float>("1.weight", {1}, slope);
    auto p = std::make_unique<hn::parameters<one>>();
    io::load_safetensors_from_bytes(*p, w.bytes());
    for (std::size_t o = 0; o < 3; ++o) BOOST_TEST(p->layer<0>().slope(o) == 0.125f);
    BOOST_TEST(p->layer<0>().weight(1, 0) == 3.0f);
}

BOOST_AUTO_TEST_CASE(file_level_damage_is_named) {
    auto p = std::make_unique<hn::parameters<small>>();
    fill_distinct(*p);
    const auto load = [](const bytes& b) { return [b](auto& q) { io::load_safetensors_from_bytes(q, b, {}, "f"); }; };
    const bytes good = crafted(small_header(), 36);
    auto q = std::make_unique<hn::parameters<small>>();
    io::load_safetensors_from_bytes(*q, good);  // the crafted baseline is valid

    expect_rejected(*p, load(bytes{1, 2, 3}), {"f: truncated: a safetensors file starts with an 8-byte header length"});
    bytes long_header = good;
    io::detail::store_le(long_header.data(), std::uint64_t{5000});
    expect_rejected(*p, load(long_header), {"truncated: the header length is 5000 bytes, but only"});
    bytes absurd = good;
    io::detail::store_le(absurd.data(), std::uint64_t{1} << 62);
    expect_rejected(*p, load(absurd), {"more than the 100000000 a safetensors header may have"});
    expect_rejected(*p, load(crafted("{\"0.weight\": [", 0)), {"the header is not valid JSON"});
    expect_rejected(*p, load(crafted("[1, 2]", 0)), {"the header must be a JSON object, found a JSON array"});
    // Trailing spaces pad the header to 8 bytes in files written by the reference implementation.
    BOOST_CHECK_NO_THROW(io::load_safetensors_from_bytes(*q, crafted(small_header() + "  ", 36)));
    const std::string twice = R"({"0.bias":{"dtype":"F32","shape":[3],"data_offsets":[24,36]},)"
                              R"("0.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]},)"
                              R"("0.bias":{"dtype":"F32","shape":[3],"data_offsets":[24,36]}})";
    expect_rejected(*p, load(crafted(twice, 36)), {"the header names the tensor '0.bias' twice"});
    expect_rejected(*p, load(crafted(R"({"__metadata__":{"a":1}})", 0)), {"__metadata__['a'] must be a string"});
}

BOOST_AUTO_TEST_CASE(entry_level_damage_is_named) {
    auto p = std::make_unique<hn::parameters<small>>();
    fill_distinct(*p);
    const auto rejected = [&](const std::string& weight, std::initializer_list<std::string> phrases,
                              std::size_t data = 36) {
        const bytes b = crafted(small_header(weight), data);
        expect_rejected(*p, [&](auto& q) { io::load_safetensors_from_bytes(q, b); }, phrases);
    };
    rejected(R"("0.weight":[1])", {"tensor '0.weight': expected an object, found a JSON array"});
    rejected(R"("0.weight":{"shape":[3,2],"data_offsets":[0,24]})", {"missing or non-string 'dtype'"});
    rejected(R"("0.weight":{"dtype":"F32","data_offsets":[0,24]})", {"missing or non-array 'shape'"});
    rejected(R"("0.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0]})", {"'data_offsets' must be an array"});
    rejected(R"("0.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24],"x":1})", {"unexpected field 'x'"});
    rejected(R"("0.weight":{"dtype":"Q7","shape":[3,2],"data_offsets":[0,24]})", {"unknown dtype 'Q7'"});
    rejected(R"("0.weight":{"dtype":"F32","shape":[3,-2],"data_offsets":[0,24]})",
             {"shape entries must be non-negative integers, found -2"});
    rejected(R"("0.weight":{"dtype":"F32","shape":[3,2.5],"data_offsets":[0,24]})",
             {"shape entries must be non-negative integers, found 2.5"});
    rejected(R"("0.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[24,0]})", {"data_offsets [24, 0] are reversed"});
    rejected(R"("0.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]})",
             {"tensor '0.bias': data_offsets [24, 36] run past the end of the data, which has 30 bytes"}, 30);
    rejected(R"("0.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,20]})",
             {"shape [3, 2] of F32 needs 24 bytes, but data_offsets [0, 20] hold 20"});
    rejected(R"("0.weight":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,24]})",
             {"the shape [4294967296, 4294967296] overflows"});
    rejected(R"("0.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[12,36]})",
             {"tensors '0.weight' [12, 36) and '0.bias' [24, 36) overlap"});
}

BOOST_AUTO_TEST_CASE(mismatches_with_the_network_are_named) {
    auto p = std::make_unique<hn::parameters<small>>();
    fill_distinct(*p);
    const auto rejected = [&](const bytes& b, std::initializer_list<std::string> phrases) {
        expect_rejected(*p, [&](auto& q) { io::load_safetensors_from_bytes(q, b); }, phrases);
    };
    rejected(crafted(small_header(R"("0.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]})"), 36),
             {"tensor '0.weight' (hinge's stage0.weight): expected shape [3, 2], found [2, 3] (transposed?"});
    rejected(crafted(small_header(R"("0.weight":{"dtype":"F32","shape":[6],"data_offsets":[0,24]})"), 36),
             {"expected shape [3, 2], found [6]"});
    rejected(crafted(small_header(R"("0.weight":{"dtype":"I32","shape":[3,2],"data_offsets":[0,24]})"), 36),
             {"tensor '0.weight': expected dtype F32 for parameters<Net, float>, found I32"});
    rejected(crafted(small_header(R"("0.weight":{"dtype":"F64","shape":[3,2],"data_offsets":[0,48]})",
                                  R"("0.bias":{"dtype":"F32","shape":[3],"data_offsets":[48,60]})"),
                     60),
             {"expected dtype F32 for parameters<Net, float>, found F64 (convert the model to float32 first"});
    rejected(crafted(small_header(R"("0.wieght":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]})"), 36),
             {"missing tensor '0.weight'", "the file has '0.bias', '0.wieght'"});
    rejected(crafted(small_header() .substr(0, small_header().size() - 1) +
                         R"(,"2.weight":{"dtype":"F32","shape":[1],"data_offsets":[36,40]}})",
                     40),
             {"tensor '2.weight' [1] has no place in the network 'input 2 | dense 2->3 identity'"});
    io::safetensors_options lenient;
    lenient.allow_unused_tensors = true;
    auto q = std::make_unique<hn::parameters<small>>();
    BOOST_CHECK_NO_THROW(io::load_safetensors_from_bytes(
        *q,
        crafted(small_header().substr(0, small_header().size() - 1) +
                    R"(,"2.weight":{"dtype":"F32","shape":[1],"data_offsets":[36,40]}})",
                40),
        lenient));
}

BOOST_AUTO_TEST_CASE(missing_files_are_named) {
    auto p = std::make_unique<hn::parameters<small>>();
    fill_distinct(*p);
    expect_rejected(*p, [](auto& q) { io::load_safetensors(q, std::string("/nonexistent/x.safetensors")); },
                    {"/nonexistent/x.safetensors: cannot open: no such file"});
}

BOOST_AUTO_TEST_SUITE_END()
