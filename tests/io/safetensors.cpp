// safetensors (io/safetensors.hpp): torch.nn.Sequential naming, exact round trips, the user's
// name mapping, and one crafted file per way a header can be wrong, each rejected with a message
// that states expected and found, with the caller's parameters left byte-for-byte as they were.
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include <hinge/activations/leaky_relu.hpp>
#include <hinge/activations/prelu.hpp>
#include <hinge/core/network.hpp>
#include <hinge/core/sequential.hpp>
#include <hinge/core/storage.hpp>
#include <hinge/activations/relu.hpp>
#include <hinge/activations/tanh.hpp>
#include <hinge/layers/batch_norm.hpp>
#include <hinge/layers/convolution.hpp>
#include <hinge/layers/dense.hpp>
#include <hinge/layers/dropout.hpp>
#include <hinge/layers/flatten.hpp>
#include <hinge/layers/gru.hpp>
#include <hinge/layers/lstm.hpp>
#include <hinge/layers/pooling.hpp>
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
// Sequential modules: 0 Conv2d(2, 4, 3), 1 BatchNorm2d, 2 ReLU, 3 MaxPool2d(2), 4 Conv2d(4, 3, 3),
// 5 PReLU(3), 6 Flatten, 7 Dropout, 8 Linear(6, 5). Images 7x9x2 -> 7x9x4 -> 3x4x4 -> 1x2x3.
using cnn = hn::network<hn::input<7, 9, 2>, hn::conv2d<4, 3>, hn::batch_norm, hn::relu, hn::max_pool2d<2>,
                        hn::conv2d<3, 3, 1, hn::padding::valid>, hn::prelu, hn::flatten, hn::dropout<0.5f>,
                        hn::dense<5>>;
// 0 Conv1d(3, 5, 3), 1 ReLU, 2 AdaptiveAvgPool1d(1), 3 Flatten, 4 Linear(5, 2).
using cnn1d = hn::network<hn::input<11, 3>, hn::conv1d<5, 3>, hn::relu, hn::global_avg_pool, hn::dense<2>>;

// The file `f` rewritten with tensor `name` given `shape` (same number of values, same order).
bytes reshaped(const io::safetensors_file& f, const std::string& name, std::vector<std::uint64_t> shape) {
    io::safetensors_writer w;
    for (const auto& [key, t] : f.tensors) {
        if (t.dtype != "F32") continue;  // num_batches_tracked: not needed for these loads
        const std::vector<float> v = f.values<float>(key);
        w.add<float>(key, key == name ? shape : t.shape, v);
    }
    return w.bytes();
}

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

BOOST_AUTO_TEST_CASE(convolutional_networks_use_conv_shapes_and_number_every_module) {
    auto p = std::make_unique<hn::parameters<cnn>>();
    fill_distinct(*p);
    const std::vector<unsigned char> bytes = io::save_safetensors_to_bytes(*p);
    const io::safetensors_file f = io::parse_safetensors(bytes);
    std::vector<std::string> names;
    for (const auto& [name, t] : f.tensors) names.push_back(name);
    const std::vector<std::string> expected{"0.bias",         "0.weight",      "1.bias",   "1.num_batches_tracked",
                                            "1.running_mean", "1.running_var", "1.weight", "4.bias",
                                            "4.weight",       "5.weight",      "8.bias",   "8.weight"};
    BOOST_TEST(names == expected, boost::test_tools::per_element());
    BOOST_TEST(f.at("0.weight").shape == (std::vector<std::uint64_t>{4, 2, 3, 3}), boost::test_tools::per_element());
    BOOST_TEST(f.at("4.weight").shape == (std::vector<std::uint64_t>{3, 4, 3, 3}), boost::test_tools::per_element());
    BOOST_TEST(f.at("5.weight").shape == (std::vector<std::uint64_t>{3}), boost::test_tools::per_element());
    BOOST_TEST(f.at("8.weight").shape == (std::vector<std::uint64_t>{5, 6}), boost::test_tools::per_element());
    // conv.weight[f, c, kh, kw] = weight(f, (kh * 3 + kw) * C + c); Linear column (c * H + h) * W + w
    // (H = 1, W = 2, C = 3) = hinge column (h * W + w) * C + c.
    BOOST_TEST(f.values<float>("4.weight")[((2 * 4 + 3) * 3 + 1) * 3 + 0] == p->layer<3>().weight(2, (1 * 3 + 0) * 4 + 3));
    BOOST_TEST(f.values<float>("8.weight")[4 * 6 + (1 * 1 + 0) * 2 + 1] == p->layer<6>().weight(4, (0 * 2 + 1) * 3 + 1));
    auto q = std::make_unique<hn::parameters<cnn>>();
    io::load_safetensors_from_bytes(*q, io::save_safetensors_to_bytes(*p));
    BOOST_TEST((*p == *q));

    auto r = std::make_unique<hn::parameters<cnn1d>>();
    fill_distinct(*r);
    const std::vector<unsigned char> bytes_1d = io::save_safetensors_to_bytes(*r);
    const io::safetensors_file g = io::parse_safetensors(bytes_1d);
    BOOST_TEST(g.at("0.weight").shape == (std::vector<std::uint64_t>{5, 3, 3}), boost::test_tools::per_element());
    BOOST_TEST(g.values<float>("0.weight")[(4 * 3 + 1) * 3 + 2] == r->layer<0>().weight(4, 2 * 3 + 1));
    BOOST_TEST(g.tensors.count("4.weight") == 1u, "global_avg_pool is two modules: AdaptiveAvgPool1d(1), Flatten");
}

BOOST_AUTO_TEST_CASE(convolution_weights_of_another_shape_are_named_and_change_nothing) {
    auto p = std::make_unique<hn::parameters<cnn>>();
    fill_distinct(*p);
    const bytes good = io::save_safetensors_to_bytes(*p);
    const io::safetensors_file f = io::parse_safetensors(good);
    const auto rejected = [&](const bytes& b, std::initializer_list<std::string> phrases) {
        expect_rejected(*p, [&](auto& q) { io::load_safetensors_from_bytes(q, b); }, phrases);
    };
    rejected(reshaped(f, "0.weight", {4, 18}),
             {"tensor '0.weight' (hinge's stage0.weight): expected shape [4, 2, 3, 3], found [4, 18]"});
    rejected(reshaped(f, "4.weight", {3, 3, 3, 4}),
             {"tensor '4.weight' (hinge's stage3.weight): expected shape [3, 4, 3, 3], found [3, 3, 3, 4] "
              "(channels last? convolution weights are [out, in channels, kernel...]"});
    rejected(reshaped(f, "0.weight", {4, 2, 9}), {"expected shape [4, 2, 3, 3], found [4, 2, 9]"});
    rejected(reshaped(f, "8.weight", {6, 5}), {"expected shape [5, 6], found [6, 5] (transposed?"});
    rejected(reshaped(f, "5.weight", {1, 3}), {"tensor '5.weight' (hinge's stage3.slope): expected shape [3], found [1, 3]"});

    auto r = std::make_unique<hn::parameters<cnn1d>>();
    fill_distinct(*r);
    const std::vector<unsigned char> bytes_1d = io::save_safetensors_to_bytes(*r);
    const io::safetensors_file g = io::parse_safetensors(bytes_1d);
    expect_rejected(*r, [&](auto& q) { io::load_safetensors_from_bytes(q, reshaped(g, "0.weight", {5, 3, 3, 1})); },
                    {"expected shape [5, 3, 3], found [5, 3, 3, 1]"});
    // A Conv2d file for a conv1d network, and a file numbered without the Flatten after the pooling.
    expect_rejected(*r, [&](auto& q) { io::load_safetensors_from_bytes(q, reshaped(g, "0.weight", {5, 3, 1, 3})); },
                    {"expected shape [5, 3, 3], found [5, 3, 1, 3]"});
    io::safetensors_options without_flatten;
    without_flatten.names.rename = {{"4.weight", "3.weight"}, {"4.bias", "3.bias"}};
    const bytes renumbered = io::save_safetensors_to_bytes(*r, without_flatten);
    expect_rejected(*r, [&](auto& q) { io::load_safetensors_from_bytes(q, renumbered); },
                    {"missing tensor '4.weight' (hinge's stage2.weight, shape [2, 5])", "'3.weight'"});
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

// Tensor names and shapes alone do not tell a relu network from a tanh one: hinge's metadata does.
BOOST_AUTO_TEST_CASE(a_file_of_another_architecture_is_rejected_by_its_hinge_metadata) {
    using relu_net = hn::network<hn::input<4>, hn::dense<8>, hn::relu, hn::dense<3>>;
    using tanh_net = hn::network<hn::input<4>, hn::dense<8>, hn::tanh, hn::dense<3>>;
    using leaky_net = hn::network<hn::input<4>, hn::dense<8>, hn::leaky_relu<0.1f>, hn::dense<3>>;
    using leakier_net = hn::network<hn::input<4>, hn::dense<8>, hn::leaky_relu<0.2f>, hn::dense<3>>;
    using bn_net = hn::network<hn::input<4>, hn::dense<8>, hn::relu, hn::dense<3>, hn::batch_norm>;
    auto r = std::make_unique<hn::parameters<relu_net>>();
    fill_distinct(*r);
    auto t = std::make_unique<hn::parameters<tanh_net>>();
    fill_distinct(*t);
    for (auto& v : std::span(t->data(), hn::parameters<tanh_net>::storage_size)) v = -v;  // differs from r
    const bytes from_relu = io::save_safetensors_to_bytes(*r);

    // An activation: named, both architectures, parameters untouched (byte for byte).
    expect_rejected(*t, [&](auto& q) { io::load_safetensors_from_bytes(q, from_relu, {}, "relu.safetensors"); },
                    {"relu.safetensors: different architecture: stage 0 differs: expected 'dense 4->8 tanh', found "
                     "'dense 4->8 relu'",
                     "expected 'input 4 | dense 4->8 tanh | dense 8->3 identity', found 'input 4 | dense 4->8 relu | "
                     "dense 8->3 identity'",
                     "set safetensors_options::check_architecture = false"});
    // An activation's parameter.
    auto k = std::make_unique<hn::parameters<leaky_net>>();
    fill_distinct(*k);
    auto k2 = std::make_unique<hn::parameters<leakier_net>>();
    expect_rejected(*k2, [&](auto& q) { io::load_safetensors_from_bytes(q, io::save_safetensors_to_bytes(*k)); },
                    {"stage 0 differs", "leaky_relu(slope 0x3dcccccd)", "leaky_relu(slope 0x3e4ccccd)"});
    // A layer kind more: the stage counts are named.
    auto b = std::make_unique<hn::parameters<bn_net>>();
    expect_rejected(*b, [&](auto& q) { io::load_safetensors_from_bytes(q, from_relu); },
                    {"the file has 2 stages, the network has 3; the file ends before stage 2"});

    // The documented way out: check_architecture = false loads the tensors by name and shape.
    io::safetensors_options unchecked;
    unchecked.check_architecture = false;
    io::load_safetensors_from_bytes(*t, from_relu, unchecked);
    BOOST_TEST(std::memcmp(t->data(), r->data(), sizeof(float) * hn::parameters<relu_net>::storage_size) == 0);

    // A file without hinge's metadata (PyTorch's) is not checked.
    const io::safetensors_file parsed = io::parse_safetensors(from_relu);
    io::safetensors_writer plain;
    for (const auto& [key, tensor] : parsed.tensors) plain.add<float>(key, tensor.shape, parsed.values<float>(key));
    auto u = std::make_unique<hn::parameters<tanh_net>>();
    io::load_safetensors_from_bytes(*u, plain.bytes());
    BOOST_TEST(std::memcmp(u->data(), r->data(), sizeof(float) * hn::parameters<relu_net>::storage_size) == 0);
}

// A multi-layer nn.LSTM(4, 5, num_layers=3) between a per-step nn.Linear and a head: PyTorch names
// its layers "2.weight_ih_l0" .. "2.weight_ih_l2", and the head is module 3, not 5.
// Sequential modules: 0 Linear(2, 4), 1 Tanh, 2 LSTM (stages 1-3), 3 Linear(5, 2).
using stacked = hn::network<hn::input<6, 2>, hn::dense<4>, hn::tanh, hn::lstm<5>, hn::lstm<5>,
                            hn::lstm<5, hn::returns::last_step>, hn::dense<2>>;

BOOST_AUTO_TEST_CASE(a_multilayer_recurrent_file_that_says_so_loads_with_the_plain_call) {
    auto p = std::make_unique<hn::parameters<stacked>>();
    fill_distinct(*p);
    io::safetensors_options as_one_module;
    as_one_module.names = io::multilayer_recurrent_names<stacked, 1, 3>();
    const bytes named = io::save_safetensors_to_bytes(*p, as_one_module);
    const io::safetensors_file f = io::parse_safetensors(named);
    BOOST_TEST(f.tensors.count("2.weight_ih_l2") == 1u);
    BOOST_TEST(f.tensors.count("3.weight") == 1u, "the head moves down to module 3");

    // A file as hinge_export writes it: these tensors, and metadata that says how they are named.
    // It loads with the plain call of docs/interop.md.
    io::safetensors_writer exported;
    for (const auto& [key, tensor] : f.tensors)
        if (tensor.dtype == "F32") exported.add<float>(key, tensor.shape, f.values<float>(key));
    exported.set_metadata("format", "pt");
    exported.set_metadata("hinge.architecture", std::string(io::architecture_description<stacked>));
    exported.set_metadata("hinge.multilayer_recurrent", "1,3");
    hinge_test::temporary_directory dir;
    exported.write(dir.file("lstm.safetensors"));
    auto q = std::make_unique<hn::parameters<stacked>>();
    io::load_safetensors(*q, dir.file("lstm.safetensors"));
    BOOST_TEST((*p == *q));
    // Explicit names still win, and still load it.
    auto r = std::make_unique<hn::parameters<stacked>>();
    io::load_safetensors(*r, dir.file("lstm.safetensors"), as_one_module);
    BOOST_TEST((*p == *r));

    // hinge's own file says it too, so it comes back with the plain call.
    BOOST_TEST(f.metadata.count("hinge.multilayer_recurrent") == 1u, "hinge says how it named them");
    auto s = std::make_unique<hn::parameters<stacked>>();
    io::load_safetensors_from_bytes(*s, named);
    BOOST_TEST((*p == *s));
}

BOOST_AUTO_TEST_CASE(a_multilayer_recurrent_file_that_does_not_say_so_gets_the_call_that_loads_it) {
    auto p = std::make_unique<hn::parameters<stacked>>();
    fill_distinct(*p);
    io::safetensors_options as_one_module;
    as_one_module.names = io::multilayer_recurrent_names<stacked, 1, 3>();
    const bytes saved = io::save_safetensors_to_bytes(*p, as_one_module);
    const io::safetensors_file f = io::parse_safetensors(saved);
    // PyTorch's save_file(model.state_dict()): the same tensors, no metadata.
    io::safetensors_writer torch;
    for (const auto& [key, tensor] : f.tensors)
        if (tensor.dtype == "F32") torch.add<float>(key, tensor.shape, f.values<float>(key));
    const bytes plain = torch.bytes();
    expect_rejected(*p, [&](auto& q) { io::load_safetensors_from_bytes(q, plain); },
                    {"missing tensor '3.weight_ih_l0' (hinge's stage2.weight_ih", "'2.weight_ih_l1'",
                     "io::multilayer_recurrent_names<Net, 1, 3>()"});
    auto q = std::make_unique<hn::parameters<stacked>>();
    io::load_safetensors_from_bytes(*q, plain, as_one_module);  // the call the message names
    BOOST_TEST((*p == *q));

    // Metadata that does not fit the network is named, and changes nothing.
    io::safetensors_writer stale;
    for (const auto& [key, tensor] : f.tensors)
        if (tensor.dtype == "F32") stale.add<float>(key, tensor.shape, f.values<float>(key));
    stale.set_metadata("hinge.multilayer_recurrent", "0,3");
    expect_rejected(*p, [&](auto& r) { io::load_safetensors_from_bytes(r, stale.bytes()); },
                    {"hinge.multilayer_recurrent = '0,3'", "stage 0 is not a recurrent layer ('0.weight')"});
    stale.set_metadata("hinge.multilayer_recurrent", "1;3");
    expect_rejected(*p, [&](auto& r) { io::load_safetensors_from_bytes(r, stale.bytes()); },
                    {"hinge.multilayer_recurrent = '1;3' is not 'first,layers;...'"});
}

BOOST_AUTO_TEST_CASE(missing_files_are_named) {
    auto p = std::make_unique<hn::parameters<small>>();
    fill_distinct(*p);
    expect_rejected(*p, [](auto& q) { io::load_safetensors(q, std::string("/nonexistent/x.safetensors")); },
                    {"/nonexistent/x.safetensors: cannot open: no such file"});
}

BOOST_AUTO_TEST_SUITE_END()
