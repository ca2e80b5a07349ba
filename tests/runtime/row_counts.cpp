// Run-time row counts (detail::expect_rows): every public pass over the first `rows` samples of a
// batch-B workspace accepts 1..B and stops any other count with a contract violation (message and
// abort) before a kernel runs. Before this check, trainer::step with rows = 40 on a batch<2>
// trainer wrote past the workspace (ASan: stack-buffer-overflow) and rows = 0 returned NaN.
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <hinge/hinge.hpp>
#include <hinge/runtime/numerics.hpp>

#include "../support/contract_test_support.hpp"

// A named namespace, not an anonymous one: the fixture is captured by lambdas inside the
// data-driven test templates (g++ -Wsubobject-linkage).
namespace row_counts_test {
namespace hn = hinge;
namespace bdata = boost::unit_test::data;
using hinge_test::expect_contract_violation;
using hinge_test::expect_no_contract_violation;

constexpr std::size_t B = 2;
using net = hn::network<hn::input<3>, hn::dense<4>, hn::relu, hn::dense<3>>;
using trainer_type = hn::trainer<net, hn::loss::softmax_cross_entropy, hn::optim::sgd, hn::batch<B>>;

// A trainer, its parameters, a full batch of inputs and labels, and the workspaces of the passes.
struct fixture {
    std::unique_ptr<hn::parameters<net>> params = std::make_unique<hn::parameters<net>>();
    std::unique_ptr<trainer_type> trainer;
    std::unique_ptr<hn::workspace<net, B, float, true>> ws = std::make_unique<hn::workspace<net, B, float, true>>();
    std::unique_ptr<hn::gradients<net>> grads = std::make_unique<hn::gradients<net>>();
    std::array<float, B * net::input_size> x{0.5f, -1.0f, 2.0f, 1.5f, 0.25f, -0.75f};
    std::array<std::uint32_t, B> labels{0, 2};
    fixture() {
        hn::init::he_normal(*params, 7);
        trainer = std::make_unique<trainer_type>(*params, hn::optim::sgd{0.1f});
    }
};

// Bad counts: none, one more than the batch, and a huge one (a negative int converted to size_t).
const std::size_t bad_rows[] = {0, B + 1, std::numeric_limits<std::size_t>::max()};

}  // namespace row_counts_test

using namespace row_counts_test;

BOOST_AUTO_TEST_SUITE(runtime_row_counts)

BOOST_AUTO_TEST_CASE(a_full_batch_and_a_partial_one_are_accepted) {
    fixture f;
    for (std::size_t rows : {std::size_t{1}, B}) {
        const float loss = f.trainer->step(f.x.data(), f.labels.data(), rows);
        BOOST_TEST(std::isfinite(loss));
        BOOST_TEST(std::isfinite(f.trainer->evaluate(f.x.data(), f.labels.data(), rows).loss));
        BOOST_TEST(f.trainer->count_correct(f.labels.data(), rows) <= rows);
        expect_no_contract_violation([&] {
            hn::forward(*f.params, *f.ws, f.x.data(), rows);
            hn::train_forward(*f.params, *f.ws, f.x.data(), rows);
            hn::seed_output_gradient(*f.params, *f.ws, *f.grads, rows, [](std::size_t, std::size_t) { return 0.5f; });
            hn::backward(*f.params, *f.ws, f.x.data(), *f.grads, rows);
            (void)hn::first_non_finite(*f.ws, rows);
        });
    }
}

BOOST_DATA_TEST_CASE(trainer_step_rejects_rows_outside_1_to_B, bdata::make(bad_rows), rows) {
    fixture f;
    expect_contract_violation([&] { (void)f.trainer->step(f.x.data(), f.labels.data(), rows); },
                              "trainer::step: rows must be in 1..batch size (got " + std::to_string(rows) +
                                  ", limit 2)");
    // The parent's trainer never ran the step: its parameters are the initial ones.
    BOOST_TEST(f.trainer->params().layer<0>().weight(0, 0) == fixture{}.params->layer<0>().weight(0, 0));
}

BOOST_DATA_TEST_CASE(trainer_evaluate_and_count_correct_reject_rows_outside_1_to_B, bdata::make(bad_rows), rows) {
    fixture f;
    expect_contract_violation([&] { (void)f.trainer->evaluate(f.x.data(), f.labels.data(), rows); },
                              "trainer::evaluate: rows must be in 1..batch size (got " + std::to_string(rows));
    expect_contract_violation([&] { (void)f.trainer->count_correct(f.labels.data(), rows); },
                              "trainer::count_correct: rows must be in 1..batch size (got " + std::to_string(rows));
}

BOOST_DATA_TEST_CASE(passes_reject_rows_outside_1_to_B, bdata::make(bad_rows), rows) {
    fixture f;
    const std::string got = " (got " + std::to_string(rows) + ", limit 2)";
    expect_contract_violation([&] { hn::forward(*f.params, *f.ws, f.x.data(), rows); },
                              "forward: rows must be in 1..batch size" + got);
    expect_contract_violation([&] { hn::train_forward(*f.params, *f.ws, f.x.data(), rows); },
                              "train_forward: rows must be in 1..batch size" + got);
    expect_contract_violation([&] { hn::backward(*f.params, *f.ws, f.x.data(), *f.grads, rows); },
                              "backward: rows must be in 1..batch size" + got);
    expect_contract_violation(
        [&] { hn::seed_output_gradient(*f.params, *f.ws, *f.grads, rows, [](std::size_t, std::size_t) { return 0.f; }); },
        "seed_output_gradient: rows must be in 1..batch size" + got);
    expect_contract_violation([&] { const hn::output_gradient<net, B, float> sink(*f.params, *f.ws, *f.grads, rows); },
                              "output_gradient: rows must be in 1..batch size" + got);
    expect_contract_violation([&] { (void)hn::first_non_finite(*f.ws, rows); },
                              "first_non_finite: rows must be in 1..batch size" + got);
}

BOOST_DATA_TEST_CASE(analysis_tools_reject_rows_outside_1_to_B, bdata::make(bad_rows), rows) {
    fixture f;
    auto d = std::make_unique<hn::parameters<net, double>>();
    hn::init::he_normal(*d, 3);
    const std::array<double, B * net::input_size> x{0.5, -1.0, 2.0, 1.5, 0.25, -0.75};
    auto flow = std::make_unique<hn::analysis::gradient_flow<net, B, double>>();
    expect_contract_violation(
        [&] { (void)flow->measure(*d, x.data(), rows, [](std::size_t, std::size_t) { return 1.0; }); },
        "gradient_flow::measure: rows must be in 1..batch size (got " + std::to_string(rows));
    auto stats = std::make_unique<hn::analysis::activation_statistics<net>>();
    if (rows == 0) {
        expect_no_contract_violation([&] { stats->observe(*f.ws, rows); });  // adds nothing
    } else {
        expect_contract_violation([&] { stats->observe(*f.ws, rows); },
                                  "activation_statistics::observe: rows must be at most the batch size (got " +
                                      std::to_string(rows));
    }
}

BOOST_AUTO_TEST_SUITE_END()
