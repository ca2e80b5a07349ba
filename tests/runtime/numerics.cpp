// The numerics guard (runtime/numerics.hpp): the first non-finite value is found and named by
// stage, tensor and index, in the order a blow-up spreads; softmax cross-entropy stays finite for
// logits of +-1e4.
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include <boost/test/unit_test.hpp>

#include <hinge/hinge.hpp>
#include <hinge/runtime/numerics.hpp>

namespace {
namespace hn = hinge;
using net = hn::network<hn::input<4>, hn::dense<20>, hn::prelu, hn::dense<6>, hn::batch_norm, hn::relu, hn::dense<3>>;
constexpr float not_a_number = std::numeric_limits<float>::quiet_NaN();
constexpr float inf = std::numeric_limits<float>::infinity();
}  // namespace

BOOST_AUTO_TEST_SUITE(runtime_numerics)

BOOST_AUTO_TEST_CASE(finite_blocks_report_nothing) {
    auto p = std::make_unique<hn::parameters<net>>();
    hn::init::he_normal(*p, 3);
    BOOST_TEST(!hn::first_non_finite(*p).has_value());
}

BOOST_AUTO_TEST_CASE(parameters_name_stage_tensor_and_logical_index) {
    auto p = std::make_unique<hn::parameters<net>>();
    hn::init::he_normal(*p, 3);
    p->layer<0>().weight(17, 2) = not_a_number;  // output 17 is in the second panel of 16
    auto bad = hn::first_non_finite(*p);
    BOOST_TEST_REQUIRE(bad.has_value());
    BOOST_TEST(bad->stage == 0u);
    BOOST_TEST(std::string(bad->tensor) == "weight");
    BOOST_TEST(bad->row == 17u);
    BOOST_TEST(bad->column == 2u);
    BOOST_TEST(bad->message() == "non-finite value nan in the parameter of stage 0 (dense 4->20) weight(17, 2) (output, input)");

    p->layer<0>().weight(17, 2) = 0.5f;
    p->layer<2>().running_variance(4) = inf;
    bad = hn::first_non_finite(*p);
    BOOST_TEST_REQUIRE(bad.has_value());
    BOOST_TEST(bad->message() == "non-finite value +inf in the parameter of stage 2 (batch_norm 6->6) running_variance(4)");
    p->layer<1>().bias(5) = -inf;  // an earlier stage wins
    BOOST_TEST(hn::first_non_finite(*p)->message() ==
               "non-finite value -inf in the parameter of stage 1 (dense 20->6) bias(5)");
}

BOOST_AUTO_TEST_CASE(gradients_are_searched_from_the_last_stage_back) {
    auto g = std::make_unique<hn::gradients<net>>();
    g->layer<0>().slope(3) = not_a_number;
    g->layer<3>().bias(1) = not_a_number;
    auto bad = hn::first_non_finite(*g);
    BOOST_TEST_REQUIRE(bad.has_value());
    BOOST_TEST(bad->message() == "non-finite value nan in the gradient of stage 3 (dense 6->3) bias(1)");
}

BOOST_AUTO_TEST_CASE(a_diverging_step_is_traced_to_the_activations_first) {
    auto p = std::make_unique<hn::parameters<net>>();
    hn::init::he_normal(*p, 5);
    p->layer<1>().weight(2, 7) = inf;  // stage 1's unit 2 becomes +-inf or NaN
    auto train = std::make_unique<hn::trainer<net, hn::loss::softmax_cross_entropy, hn::optim::sgd, hn::batch<4>>>(
        *p, hn::optim::sgd{0.01f});
    std::array<float, 16> x{};
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = 1.0f + 0.1f * static_cast<float>(i);
    const std::array<std::uint32_t, 4> labels{0, 1, 2, 0};
    train->step(x, labels);
    auto bad = hn::first_non_finite(*train);
    BOOST_TEST_REQUIRE(bad.has_value());
    BOOST_TEST((bad->site == hn::numeric_site::activations));
    BOOST_TEST(bad->stage == 1u);
    BOOST_TEST(bad->column == 2u);
    BOOST_TEST_MESSAGE(bad->message());
}

BOOST_AUTO_TEST_CASE(softmax_cross_entropy_is_finite_for_logits_of_plus_minus_1e4) {
    using linear = hn::network<hn::input<2>, hn::dense<3>>;
    auto p = std::make_unique<hn::parameters<linear>>();
    p->layer<0>().bias(0) = 1e4f;
    p->layer<0>().bias(1) = -1e4f;
    auto train = std::make_unique<hn::trainer<linear, hn::loss::softmax_cross_entropy, hn::optim::sgd, hn::batch<2>>>(
        *p, hn::optim::sgd{1e-6f});
    const std::array<float, 4> x{0, 0, 0, 0};
    const std::array<std::uint32_t, 2> labels{1, 0};  // wrong by 2e4, and right
    const float loss = train->step(x, labels);
    BOOST_TEST(std::isfinite(loss));
    BOOST_TEST(loss == (2e4f + 0.0f) / 2, boost::test_tools::tolerance(1e-6f));
    BOOST_TEST(!hn::first_non_finite(*train).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
