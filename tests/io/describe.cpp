// io::describe and io::mismatch (io/describe.hpp): what a file holds is what the writer put in it
// (both formats), and whether it fits a network is the loader's own verdict, the first mismatch named.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include <hinge/activations/relu.hpp>
#include <hinge/activations/tanh.hpp>
#include <hinge/core/network.hpp>
#include <hinge/core/storage.hpp>
#include <hinge/io/describe.hpp>
#include <hinge/layers/batch_norm.hpp>
#include <hinge/layers/convolution.hpp>
#include <hinge/layers/dense.hpp>
#include <hinge/layers/flatten.hpp>

#include "../support/io_test_support.hpp"

namespace {

namespace hn = hinge;
namespace io = hinge::io;
using hinge_test::bytes;
using hinge_test::fill_distinct;

using net = hn::network<hn::input<4>, hn::dense<6>, hn::batch_norm, hn::relu, hn::dense<3>>;
using other_activation = hn::network<hn::input<4>, hn::dense<6>, hn::batch_norm, hn::tanh, hn::dense<3>>;
using narrower = hn::network<hn::input<4>, hn::dense<5>, hn::batch_norm, hn::relu, hn::dense<3>>;
using cnn = hn::network<hn::input<5, 5, 2>, hn::conv2d<3, 3>, hn::relu, hn::flatten, hn::dense<2>>;

// The tensor table as describe() must list it: (name, shape), in the writer's order.
template <class Net>
std::vector<std::pair<std::string, std::vector<std::uint64_t>>> expected_tensors(bool torch_names) {
    std::vector<std::pair<std::string, std::vector<std::uint64_t>>> out;
    for (const io::tensor_slot& t : io::tensor_table<Net, float>())
        out.emplace_back(torch_names ? t.torch_name : t.name,
                         std::vector<std::uint64_t>(t.shape.begin(), t.shape.begin() + t.rank));
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(io_describe)

BOOST_AUTO_TEST_CASE(a_hinge_file_is_described_as_save_wrote_it) {
    auto params = std::make_unique<hn::parameters<cnn>>();
    fill_distinct(*params);
    const bytes file = io::save_to_bytes(*params);
    const io::file_description d = io::describe_bytes(file, "cnn.hinge");
    BOOST_TEST(d.format == "hinge");
    BOOST_TEST(d.version == io::hinge_format_version);
    BOOST_TEST(d.architecture == io::architecture_description<cnn>);
    BOOST_TEST(d.fingerprint == io::architecture_fingerprint<cnn>);
    const auto expected = expected_tensors<cnn>(false);
    BOOST_TEST_REQUIRE(d.tensors.size() == expected.size());
    for (std::size_t k = 0; k < expected.size(); ++k) {
        BOOST_TEST(d.tensors[k].name == expected[k].first);
        BOOST_TEST(d.tensors[k].shape == expected[k].second);
        BOOST_TEST(d.tensors[k].dtype == "F32");
    }
    BOOST_TEST(d.value_count() == cnn::parameter_count);
    const std::string text = d.text();
    BOOST_TEST(text.find("cnn.hinge: hinge parameter file, format version 2, 4 tensors (") == 0u, text);
    BOOST_TEST(text.find("stage0.weight  F32    [3, 2, 3, 3]") != std::string::npos, text);
}

BOOST_AUTO_TEST_CASE(a_safetensors_file_is_described_with_its_metadata) {
    auto params = std::make_unique<hn::parameters<net, double>>();
    fill_distinct(*params);
    const bytes file = io::save_safetensors_to_bytes(*params);
    const io::file_description d = io::describe_bytes(file, "net.safetensors");
    BOOST_TEST(d.format == "safetensors");
    BOOST_TEST(d.architecture == io::architecture_description<net>);
    BOOST_TEST(d.metadata.at("format") == "pt");
    // Every table tensor, plus BatchNorm1d's num_batches_tracked, listed by name.
    auto expected = expected_tensors<net>(true);
    BOOST_TEST_REQUIRE(d.tensors.size() == expected.size() + 1);
    for (const auto& [name, shape] : expected) {
        const auto it = std::find_if(d.tensors.begin(), d.tensors.end(), [&](const auto& t) { return t.name == name; });
        BOOST_TEST_REQUIRE((it != d.tensors.end()), name);
        BOOST_TEST(it->shape == shape);
        BOOST_TEST(it->dtype == "F64");
    }
    BOOST_TEST(d.text().find("1.num_batches_tracked  I64    []") != std::string::npos, d.text());
}

BOOST_AUTO_TEST_CASE(a_file_without_hinge_metadata_has_no_architecture) {
    io::safetensors_writer w;
    const std::vector<float> v(12, 0.5f);
    w.add<float>("0.weight", {3, 4}, v);
    const bytes file = w.bytes();
    const io::file_description d = io::describe_bytes(file);
    BOOST_TEST(d.architecture.empty());
    BOOST_TEST(d.text().find("architecture: none") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(mismatch_is_empty_exactly_when_the_file_loads) {
    auto params = std::make_unique<hn::parameters<net>>();
    fill_distinct(*params);
    const bytes hinge_file = io::save_to_bytes(*params);
    const bytes safetensors_file = io::save_safetensors_to_bytes(*params);
    BOOST_TEST(io::mismatch_bytes<net>(hinge_file).empty());
    BOOST_TEST(io::mismatch_bytes<net>(safetensors_file).empty());
    // Double parameters accept F32 safetensors (widened) but not a float32 hinge file.
    const std::string widened = io::mismatch_bytes<net, double>(safetensors_file);
    const std::string narrowed = io::mismatch_bytes<net, double>(hinge_file);
    BOOST_TEST(widened.empty(), widened);
    BOOST_TEST(narrowed.find("wrong scalar type: expected float64") != std::string::npos, narrowed);
}

BOOST_AUTO_TEST_CASE(mismatch_names_the_first_difference) {
    auto params = std::make_unique<hn::parameters<net>>();
    fill_distinct(*params);
    for (const bytes& file : {io::save_to_bytes(*params), io::save_safetensors_to_bytes(*params)}) {
        const std::string activation = io::mismatch_bytes<other_activation>(file, "f");
        BOOST_TEST(activation.find("stage 1 differs: expected 'batch_norm(momentum 0x3dcccccd, epsilon 0x3727c5ac) "
                                   "6->6 tanh', found 'batch_norm(momentum 0x3dcccccd, epsilon 0x3727c5ac) 6->6 relu'") !=
                       std::string::npos,
                   activation);
        const std::string width = io::mismatch_bytes<narrower>(file, "f");
        BOOST_TEST(width.find("stage 0 differs: expected 'dense 4->5 identity', found 'dense 4->6 identity'") !=
                       std::string::npos,
                   width);
    }
    // Without the architecture metadata (a PyTorch file) the tensors decide: the first one that differs.
    const bytes plain = [&] {
        io::safetensors_writer w;
        for (const io::tensor_slot& t : io::tensor_table<net, float>()) {
            std::vector<float> v(t.count, 0.25f);
            std::vector<std::uint64_t> shape(t.shape.begin(), t.shape.begin() + t.rank);
            w.add<float>(t.torch_name, shape, v);
        }
        return w.bytes();
    }();
    BOOST_TEST(io::mismatch_bytes<net>(plain).empty());
    const std::string narrow = io::mismatch_bytes<narrower>(plain, "plain.safetensors");
    BOOST_TEST(narrow.find("plain.safetensors: tensor '0.weight' (hinge's stage0.weight): expected shape [5, 4], found "
                           "[6, 4]") != std::string::npos,
               narrow);
}

BOOST_AUTO_TEST_CASE(a_damaged_file_is_an_error_naming_the_damage) {
    auto params = std::make_unique<hn::parameters<net>>();
    fill_distinct(*params);
    bytes file = io::save_to_bytes(*params);
    file[file.size() / 2] ^= 0x40;
    std::string message;
    try {
        io::describe_bytes(file, "damaged.hinge");
    } catch (const io::file_error& e) {
        message = e.what();
    }
    BOOST_TEST(message.find("damaged.hinge: checksum mismatch") == 0u, message);
    BOOST_TEST(io::mismatch_bytes<net>(file, "damaged.hinge").find("checksum mismatch") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(describe_reads_files_by_path) {
    hinge_test::temporary_directory dir;
    auto params = std::make_unique<hn::parameters<net>>();
    fill_distinct(*params);
    io::save(*params, dir.file("net.hinge"));
    io::save_safetensors(*params, dir.file("net.safetensors"));
    BOOST_TEST(io::describe(dir.file("net.hinge")).format == "hinge");
    BOOST_TEST(io::describe(dir.file("net.safetensors")).format == "safetensors");
    BOOST_TEST(io::mismatch<net>(dir.file("net.hinge")).empty());
    BOOST_TEST(!io::mismatch<narrower>(dir.file("net.safetensors")).empty());
}

BOOST_AUTO_TEST_SUITE_END()
