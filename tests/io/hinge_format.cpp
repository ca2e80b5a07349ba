// hinge's own parameter format (io/save.hpp) and the architecture description behind it
// (io/architecture.hpp): exact round trips, and for every kind of bad file a message that says
// what was expected and what was found, with the caller's parameters left byte-for-byte as
// they were.
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
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
#include <hinge/layers/flatten.hpp>
#include <hinge/layers/gru.hpp>
#include <hinge/layers/lstm.hpp>
#include <hinge/layers/pooling.hpp>
#include <hinge/layers/residual.hpp>
#include <hinge/io/save.hpp>

#include "../support/io_test_support.hpp"

namespace {

namespace hn = hinge;
namespace io = hinge::io;
using hinge_test::bytes;
using hinge_test::expect_rejected;
using hinge_test::fill_distinct;

// Every kind of tensor: dense weight and bias, a learned slope, batch_norm scale, shift and
// running statistics, and a parameterised activation.
using net = hn::network<hn::input<5>, hn::dense<18>, hn::prelu, hn::dense<7>, hn::batch_norm, hn::leaky_relu<0.2f>,
                        hn::dense<3>>;
using wider = hn::network<hn::input<5>, hn::dense<18>, hn::prelu, hn::dense<8>, hn::batch_norm, hn::leaky_relu<0.2f>,
                          hn::dense<3>>;
using other_slope = hn::network<hn::input<5>, hn::dense<18>, hn::prelu, hn::dense<7>, hn::batch_norm,
                                hn::leaky_relu<0.1f>, hn::dense<3>>;
// Stages: 0 conv 7x9x2 -> 7x9x4, 1 pool -> 3x4x4, 2 conv valid -> 1x2x3, 3 flatten -> 6,
// 4 batch_norm, 5 dense. The flattened image has 2 positions of 3 channels, so PyTorch's order
// of the 6 units differs from hinge's.
using cnn = hn::network<hn::input<7, 9, 2>, hn::conv2d<4, 3>, hn::relu, hn::max_pool2d<2>,
                        hn::conv2d<3, 3, 1, hn::padding::valid>, hn::flatten, hn::batch_norm, hn::dense<5>>;

// Little-endian u32 at byte `at`.
void poke_u32(bytes& b, std::size_t at, std::uint32_t v) {
    for (std::size_t k = 0; k < 4; ++k) b.at(at + k) = static_cast<unsigned char>(v >> (8 * k));
}
void fix_checksum(bytes& b) { poke_u32(b, b.size() - 4, io::detail::crc32_of(std::span(b).first(b.size() - 4))); }

}  // namespace

BOOST_AUTO_TEST_SUITE(io_hinge_format)

BOOST_AUTO_TEST_CASE(description_names_every_stage_kind_width_and_activation_constant) {
    BOOST_TEST(io::architecture_description<net> ==
               "input 5 | dense 5->18 prelu | dense 18->7 identity | batch_norm(momentum 0x3dcccccd, epsilon "
               "0x3727c5ac) 7->7 leaky_relu(slope 0x3e4ccccd) | dense 7->3 identity");
    static_assert(io::architecture_fingerprint<net> != io::architecture_fingerprint<wider>);
    static_assert(io::architecture_fingerprint<net> != io::architecture_fingerprint<other_slope>);
    static_assert(io::architecture_fingerprint<net> ==
                  io::architecture_fingerprint<hn::network<hn::input<5>, hn::sequential<hn::dense<18>, hn::prelu>,
                                                           hn::dense<7>, hn::batch_norm, hn::leaky_relu<0.2f>,
                                                           hn::dense<3>>>,
                  "a sequential<> block is flattened away: the same stages give the same fingerprint");
}

BOOST_AUTO_TEST_CASE(tensor_table_addresses_the_logical_views) {
    auto p = std::make_unique<hn::parameters<net>>();
    fill_distinct(*p);
    const float* base = p->data();
    for (const io::tensor_slot& t : io::tensor_table<net, float>()) {
        for (std::size_t k = 0; k < t.count; ++k) {
            const float* expected = nullptr;
            const std::size_t o = t.rank == 2 ? k / t.shape[1] : k;
            const std::size_t i = t.rank == 2 ? k % t.shape[1] : 0;
            if (t.stage == 0) {
                auto v = p->layer<0>();
                expected = t.role == io::tensor_role::weight ? &v.weight(o, i)
                           : t.role == io::tensor_role::bias ? &v.bias(o)
                                                             : &v.slope(o);
            } else if (t.stage == 1) {
                auto v = p->layer<1>();
                expected = t.role == io::tensor_role::weight ? &v.weight(o, i) : &v.bias(o);
            } else if (t.stage == 2) {
                auto v = p->layer<2>();
                expected = t.role == io::tensor_role::scale           ? &v.scale(o)
                           : t.role == io::tensor_role::shift         ? &v.shift(o)
                           : t.role == io::tensor_role::running_mean  ? &v.running_mean(o)
                                                                      : &v.running_variance(o);
            } else {
                auto v = p->layer<3>();
                expected = t.role == io::tensor_role::weight ? &v.weight(o, i) : &v.bias(o);
            }
            BOOST_TEST_REQUIRE(base + t.element(k) == expected, t.name << " element " << k);
        }
    }
}

// The PyTorch order of io::tensor_table: conv weight [F, C, Kh, Kw] element (f, c, kh, kw) is
// weight(f, (kh * Kw + kw) * C + c); after flatten, PyTorch's unit (c * H + h) * W + w is hinge's
// (h * W + w) * C + c, in the next dense weight's columns and in the batch_norm between them.
BOOST_AUTO_TEST_CASE(tensor_table_of_a_cnn_addresses_weights_in_pytorch_order) {
    auto p = std::make_unique<hn::parameters<cnn>>();
    fill_distinct(*p);
    const float* base = p->data();
    const auto table = io::tensor_table<cnn, float>();
    const auto slot = [&](const std::string& torch_name) -> const io::tensor_slot& {
        for (const io::tensor_slot& t : table)
            if (t.torch_name == torch_name) return t;
        BOOST_FAIL("no tensor " << torch_name);
        return table.front();
    };
    const auto check_conv = [&](const io::tensor_slot& t, auto view, std::size_t f_count, std::size_t c_count) {
        BOOST_TEST_REQUIRE(t.rank == 4u);
        BOOST_TEST((t.shape == std::array<std::size_t, 4>{f_count, c_count, 3, 3}), t.torch_name);
        for (std::size_t f = 0; f < f_count; ++f)
            for (std::size_t c = 0; c < c_count; ++c)
                for (std::size_t kh = 0; kh < 3; ++kh)
                    for (std::size_t kw = 0; kw < 3; ++kw)
                        BOOST_TEST_REQUIRE(base + t.element(((f * c_count + c) * 3 + kh) * 3 + kw) ==
                                               &view.weight(f, (kh * 3 + kw) * c_count + c),
                                           t.torch_name << " (" << f << ", " << c << ", " << kh << ", " << kw << ")");
    };
    check_conv(slot("0.weight"), p->layer<0>(), 4, 2);
    check_conv(slot("3.weight"), p->layer<2>(), 3, 4);
    const std::size_t height = 1, width = 2, channels = 3;
    for (std::size_t c = 0; c < channels; ++c)
        for (std::size_t h = 0; h < height; ++h)
            for (std::size_t w = 0; w < width; ++w) {
                const std::size_t torch_unit = (c * height + h) * width + w, unit = (h * width + w) * channels + c;
                BOOST_TEST_REQUIRE(base + slot("5.weight").element(torch_unit) == &p->layer<4>().scale(unit));
                BOOST_TEST_REQUIRE(base + slot("5.running_var").element(torch_unit) ==
                                   &p->layer<4>().running_variance(unit));
                for (std::size_t o = 0; o < 5; ++o)
                    BOOST_TEST_REQUIRE(base + slot("6.weight").element(o * 6 + torch_unit) == &p->layer<5>().weight(o, unit));
            }
    BOOST_TEST(base + slot("6.bias").element(4) == &p->layer<5>().bias(4), "after a dense layer, the identity again");
}

BOOST_AUTO_TEST_CASE(version_1_files_of_a_cnn_load_in_their_channels_last_order) {
    auto p = std::make_unique<hn::parameters<cnn>>();
    fill_distinct(*p);
    // Version 1 wrote conv weights as [out, fan-in] and every tensor in hinge's order.
    const bytes old = io::detail::hinge_format_bytes(*p, io::detail::version_1_table(io::tensor_table<cnn, float>()), 1);
    const bytes current = io::save_to_bytes(*p);
    BOOST_TEST((old != current), "the two versions store the CNN differently");
    auto q = std::make_unique<hn::parameters<cnn>>();
    io::load_from_bytes(*q, old);
    BOOST_TEST((*p == *q));
    io::load_from_bytes(*q, current);
    BOOST_TEST((*p == *q));
    bytes relabelled = old;  // a version 1 table under a version 2 label: the shapes give it away
    poke_u32(relabelled, 8, 2);
    fix_checksum(relabelled);
    expect_rejected(*p, [&](auto& r) { io::load_from_bytes(r, relabelled); },
                    {"tensor 0: expected 'stage0.weight' [4, 2, 3, 3], found 'stage0.weight' [4, 18]"});
}

BOOST_AUTO_TEST_CASE(round_trip_is_bit_exact_including_nan_payloads_and_infinities) {
    auto p = std::make_unique<hn::parameters<net>>();
    fill_distinct(*p);
    p->layer<0>().weight(3, 2) = std::numeric_limits<float>::quiet_NaN();
    p->layer<1>().bias(6) = -std::numeric_limits<float>::infinity();
    p->layer<2>().running_variance(0) = std::numeric_limits<float>::denorm_min();
    const bytes file = io::save_to_bytes(*p);
    auto q = std::make_unique<hn::parameters<net>>();
    io::load_from_bytes(*q, file);
    BOOST_TEST(std::memcmp(p->data(), q->data(), sizeof(float) * p->storage_size) == 0);
}

BOOST_AUTO_TEST_CASE(round_trip_through_a_file_in_double_and_for_gradients) {
    hinge_test::temporary_directory dir;
    auto p = std::make_unique<hn::parameters<net, double>>();
    fill_distinct(*p);
    io::save(*p, dir.file("model.hinge"));
    BOOST_TEST(!std::filesystem::exists(dir.file("model.hinge.tmp")));
    auto q = std::make_unique<hn::parameters<net, double>>();
    io::load(*q, dir.file("model.hinge"));
    BOOST_TEST((*p == *q));

    auto g = std::make_unique<hn::gradients<net>>();
    fill_distinct(*g);
    io::save(*g, dir.file("grads.hinge"));
    auto h = std::make_unique<hn::gradients<net>>();
    io::load(*h, dir.file("grads.hinge"));
    BOOST_TEST((*g == *h));
}

// Convolutional networks: the description carries shapes and window geometry, so a stride or a
// padding change is a different architecture even with the same parameter count.
using cnn = hn::network<hn::input<8, 8, 2>, hn::conv2d<4, 3>, hn::relu, hn::max_pool2d<2>, hn::conv2d<6, 3>,
                        hn::batch_norm, hn::prelu, hn::residual<hn::conv2d<6, 1>>, hn::flatten, hn::dense<3>>;
using cnn_strided = hn::network<hn::input<8, 8, 2>, hn::conv2d<4, 3, 2>, hn::relu, hn::max_pool2d<2>, hn::conv2d<6, 3>,
                                hn::batch_norm, hn::prelu, hn::residual<hn::conv2d<6, 1>>, hn::flatten, hn::dense<3>>;

BOOST_AUTO_TEST_CASE(convolutional_networks_round_trip_and_differ_by_geometry) {
    static_assert(io::architecture_fingerprint<cnn> != io::architecture_fingerprint<cnn_strided>);
    BOOST_TEST(io::architecture_description<cnn>.starts_with(
        "input <8,8,2> | convolution(kernel 3x3 stride 1x1 dilation 1x1 pad 1x1) <8,8,2>-><8,8,4> relu | max_pool"));
    auto p = std::make_unique<hn::parameters<cnn>>();
    fill_distinct(*p);
    auto q = std::make_unique<hn::parameters<cnn>>();
    io::load_from_bytes(*q, io::save_to_bytes(*p));
    BOOST_TEST(std::memcmp(p->data(), q->data(), sizeof(float) * p->storage_size) == 0);
    auto r = std::make_unique<hn::parameters<cnn_strided>>();
    expect_rejected(*r, [&](auto& t) { io::load_from_bytes(t, io::save_to_bytes(*p)); },
                    {"different architecture: stage 0 differs"});
}

// Sequence models: the recurrent tensors round trip bit for bit, and a GRU's file is refused by an
// LSTM of the same widths and by the same GRU returning the last step only (same tensors, another
// network), naming the stage.
BOOST_AUTO_TEST_CASE(recurrent_networks_round_trip_and_differ_by_cell_and_output) {
    using gru_net = hn::network<hn::input<6, 2>, hn::conv1d<3, 2, 1, hn::padding::causal, 2>, hn::tanh, hn::gru<5>,
                                hn::dense<1>>;
    using gru_last = hn::network<hn::input<6, 2>, hn::conv1d<3, 2, 1, hn::padding::causal, 2>, hn::tanh,
                                 hn::gru<5, hn::returns::last_step>, hn::dense<1>>;
    using lstm_net = hn::network<hn::input<6, 2>, hn::conv1d<3, 2, 1, hn::padding::causal, 2>, hn::tanh, hn::lstm<5>,
                                 hn::dense<1>>;
    BOOST_TEST(io::architecture_description<gru_net>.find("| gru(all steps) <6,3>-><6,5> identity |") !=
               std::string_view::npos);
    auto p = std::make_unique<hn::parameters<gru_net>>();
    fill_distinct(*p);
    auto q = std::make_unique<hn::parameters<gru_net>>();
    io::load_from_bytes(*q, io::save_to_bytes(*p));
    BOOST_TEST(std::memcmp(p->data(), q->data(), sizeof(float) * p->storage_size) == 0);
    auto last = std::make_unique<hn::parameters<gru_last>>();
    expect_rejected(*last, [&](auto& t) { io::load_from_bytes(t, io::save_to_bytes(*p)); },
                    {"different architecture: stage 1 differs"});
    auto other = std::make_unique<hn::parameters<lstm_net>>();
    expect_rejected(*other, [&](auto& t) { io::load_from_bytes(t, io::save_to_bytes(*p)); },
                    {"different architecture: stage 1 differs"});
}

BOOST_AUTO_TEST_CASE(missing_empty_and_foreign_files_are_named_as_such) {
    hinge_test::temporary_directory dir;
    auto p = std::make_unique<hn::parameters<net>>();
    fill_distinct(*p);
    expect_rejected(*p, [&](auto& q) { io::load(q, dir.file("absent.hinge")); }, {"absent.hinge", "no such file"});
    expect_rejected(*p, [&](auto& q) { io::load(q, dir.path.string()); }, {"not a regular file"});
    expect_rejected(*p, [&](auto& q) { io::load_from_bytes(q, bytes{}, "empty"); },
                    {"empty: not a hinge parameter file", "expected the magic 'HINGEPRM', found ''"});
    const std::string text = "PK\x03\x04 this is a zip file";
    expect_rejected(*p, [&](auto& q) { io::load_from_bytes(q, bytes(text.begin(), text.end())); },
                    {"not a hinge parameter file", "found 'PK\\x03\\x04 thi'"});
}

BOOST_AUTO_TEST_CASE(version_and_scalar_type_mismatches_state_expected_and_found) {
    auto p = std::make_unique<hn::parameters<net>>();
    fill_distinct(*p);
    bytes file = io::save_to_bytes(*p);
    bytes future = file;
    poke_u32(future, 8, 3);
    fix_checksum(future);
    expect_rejected(*p, [&](auto& q) { io::load_from_bytes(q, future); },
                    {"unsupported format version: expected 1 to 2, found 3"});
    poke_u32(future, 8, 0);
    fix_checksum(future);
    expect_rejected(*p, [&](auto& q) { io::load_from_bytes(q, future); }, {"expected 1 to 2, found 0"});

    auto d = std::make_unique<hn::parameters<net, double>>();
    fill_distinct(*d);
    const bytes doubles = io::save_to_bytes(*d);
    expect_rejected(*p, [&](auto& q) { io::load_from_bytes(q, doubles); },
                    {"wrong scalar type: expected float32 (parameters<Net, float>), found float64"});
    expect_rejected(*d, [&](auto& q) { io::load_from_bytes(q, file); },
                    {"wrong scalar type: expected float64 (parameters<Net, double>), found float32"});

    bytes unknown = file;
    poke_u32(unknown, 12, 7);
    expect_rejected(*p, [&](auto& q) { io::load_from_bytes(q, unknown); },
                    {"wrong scalar type: expected float32, found unknown scalar type code 7"});
}

BOOST_AUTO_TEST_CASE(another_architecture_names_the_first_stage_that_differs) {
    auto w = std::make_unique<hn::parameters<wider>>();
    fill_distinct(*w);
    auto p = std::make_unique<hn::parameters<net>>();
    fill_distinct(*p);
    expect_rejected(*p, [&](auto& q) { io::load_from_bytes(q, io::save_to_bytes(*w)); },
                    {"different architecture: stage 1 differs: expected 'dense 18->7 identity', found 'dense 18->8 "
                     "identity'",
                     "fingerprint"});
    auto s = std::make_unique<hn::parameters<other_slope>>();
    expect_rejected(*p, [&](auto& q) { io::load_from_bytes(q, io::save_to_bytes(*s)); },
                    {"stage 2 differs", "leaky_relu(slope 0x3e4ccccd)", "leaky_relu(slope 0x3dcccccd)"});
    using shorter = hn::network<hn::input<5>, hn::dense<18>, hn::prelu>;
    auto t = std::make_unique<hn::parameters<shorter>>();
    expect_rejected(*p, [&](auto& q) { io::load_from_bytes(q, io::save_to_bytes(*t)); },
                    {"different architecture: the file has 1 stage, the network has 4; the file ends before stage 1 "
                     "(expected 'dense 18->7 identity')"});
    // A count that differs where the first differing stage is not the missing one: the counts are
    // still named first.
    using longer = hn::network<hn::input<5>, hn::dense<18>, hn::prelu, hn::dense<8>, hn::dense<7>, hn::batch_norm,
                               hn::leaky_relu<0.2f>, hn::dense<3>>;
    auto l = std::make_unique<hn::parameters<longer>>();
    expect_rejected(*p, [&](auto& q) { io::load_from_bytes(q, io::save_to_bytes(*l)); },
                    {"different architecture: the file has 5 stages, the network has 4; stage 1 differs: expected "
                     "'dense 18->7 identity', found 'dense 18->8 identity'"});
}

BOOST_AUTO_TEST_CASE(tensor_table_edits_with_a_valid_checksum_are_caught) {
    auto p = std::make_unique<hn::parameters<net>>();
    fill_distinct(*p);
    bytes file = io::save_to_bytes(*p);
    // Rename the first tensor ("stage0.weight" -> "stage0.weighT").
    const std::size_t name_at = 8 + 4 + 4 + 8 + 4 + io::architecture_description<net>.size() + 4 + 4;
    BOOST_TEST_REQUIRE(file[name_at + 12] == 't');
    file[name_at + 12] = 'T';
    fix_checksum(file);
    expect_rejected(*p, [&](auto& q) { io::load_from_bytes(q, file); },
                    {"tensor 0: expected 'stage0.weight' [18, 5], found 'stage0.weighT' [18, 5]"});
}

BOOST_AUTO_TEST_CASE(every_truncation_is_rejected_and_leaves_parameters_untouched) {
    auto p = std::make_unique<hn::parameters<net>>();
    fill_distinct(*p);
    const bytes file = io::save_to_bytes(*p);
    expect_rejected(*p, [&](auto& q) { io::load_from_bytes(q, std::span(file).first(file.size() - 1), "cut"); },
                    {"cut: truncated: the header declares " + std::to_string(file.size()) + " bytes, the file has " +
                     std::to_string(file.size() - 1)});
    expect_rejected(*p, [&](auto& q) { io::load_from_bytes(q, std::span(file).first(20), "cut"); },
                    {"cut: truncated: the architecture fingerprint needs 8 bytes at offset 16, but the file has 20 "
                     "bytes"});
    for (std::size_t size = 0; size < file.size(); ++size)
        expect_rejected(*p, [&](auto& q) { io::load_from_bytes(q, std::span(file).first(size)); }, {});
}

BOOST_AUTO_TEST_CASE(trailing_bytes_are_rejected) {
    auto p = std::make_unique<hn::parameters<net>>();
    fill_distinct(*p);
    bytes file = io::save_to_bytes(*p);
    file.push_back(0);
    expect_rejected(*p, [&](auto& q) { io::load_from_bytes(q, file); },
                    {"1 trailing bytes: the header declares " + std::to_string(file.size() - 1) + " bytes"});
}

BOOST_AUTO_TEST_CASE(every_single_byte_corruption_is_rejected) {
    auto p = std::make_unique<hn::parameters<net>>();
    fill_distinct(*p);
    const bytes file = io::save_to_bytes(*p);
    bytes corrupt = file;
    corrupt[file.size() - 100] ^= 0x10;  // a value
    expect_rejected(*p, [&](auto& q) { io::load_from_bytes(q, corrupt); },
                    {"checksum mismatch: the file stores CRC-32 0x", ", its contents give 0x", "the file is corrupt"});
    for (std::size_t at = 0; at < file.size(); ++at) {
        corrupt = file;
        corrupt[at] ^= static_cast<unsigned char>(1u << (at % 8));
        expect_rejected(*p, [&](auto& q) { io::load_from_bytes(q, corrupt); }, {});
    }
}

BOOST_AUTO_TEST_CASE(hostile_lengths_fail_fast_without_large_allocations) {
    auto p = std::make_unique<hn::parameters<net>>();
    fill_distinct(*p);
    bytes file = io::save_to_bytes(*p);
    bytes huge_description = file;
    poke_u32(huge_description, 24, 0xFFFFFFF0u);
    expect_rejected(*p, [&](auto& q) { io::load_from_bytes(q, huge_description); },
                    {"the architecture description claims 4294967280 bytes"});
    bytes huge_count = file;
    poke_u32(huge_count, 28 + io::architecture_description<net>.size(), 0xFFFFFFFFu);
    // The loader then reads values as table entries until a length is absurd or the file ends.
    expect_rejected(*p, [&](auto& q) { io::load_from_bytes(q, huge_count); }, {"corrupt header: tensor "});
    bytes huge_extent = file;
    const std::size_t extent_at = 28 + io::architecture_description<net>.size() + 4 + 4 + 13 + 4;
    for (int k = 0; k < 8; ++k) huge_extent[extent_at + k] = 0xFF;
    expect_rejected(*p, [&](auto& q) { io::load_from_bytes(q, huge_extent); }, {"impossible shape"});
}

BOOST_AUTO_TEST_SUITE_END()
