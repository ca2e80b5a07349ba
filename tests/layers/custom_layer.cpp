// A layer defined outside include/hinge/ (examples/rms_norm.hpp, written against the stage
// protocol only) works like hinge's own: its gradients equal central differences (alone, with a
// learned slope fused after it, inside a residual block, on a sequence before a GRU), a training
// step allocates nothing, it streams step by step to the whole-sequence outputs, and it saves and
// loads in both formats under its own name.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include <hinge/hinge.hpp>
#include <hinge/io/safetensors.hpp>
#include <hinge/io/save.hpp>

#include "../../examples/rms_norm.hpp"
#include "../allocation_counter.hpp"
#include "../support/gradient_check.hpp"

namespace {

namespace hn = hinge;
using hinge_test::check_gradients;
using hinge_test::fill_random;
using hinge_test::random_values;

using flat = hn::network<hn::input<6>, hn::dense<9>, my::rms_norm<>, hn::relu, hn::dense<3>>;
using sloped = hn::network<hn::input<5>, hn::dense<17>, my::rms_norm<1e-3f>, hn::prelu, hn::dense<2>>;
using in_block = hn::network<hn::input<4>, hn::dense<7>, hn::tanh,
                             hn::residual<hn::dense<7>, my::rms_norm<>, hn::sigmoid, hn::dense<7>>, hn::relu,
                             hn::dense<2>>;
using sequence = hn::network<hn::input<5, 2>, hn::dense<6>, my::rms_norm<>, hn::tanh, hn::gru<4>, my::rms_norm<>>;

template <class Net, std::size_t Batch>
void gradients_match(std::uint64_t seed) {
    auto p = std::make_unique<hn::parameters<Net, double>>();
    fill_random(*p, seed);
    const std::vector<double> x = random_values<double>(Batch * Net::input_size, seed + 1);
    check_gradients<Net, Batch>(*p, x.data(), {.input = true});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(custom_layer)

BOOST_AUTO_TEST_CASE(the_plan_stores_and_describes_a_layer_hinge_does_not_know) {
    // One gain per channel, after the dense stage's weight and bias; trainable, starting at 1.
    static_assert(flat::parameter_count == 6 * 9 + 9 + 9 + 9 * 3 + 3);
    using L = hn::layout<flat, float>;
    static_assert(L::stages[1].scale_offset == L::stages[0].bias_offset + 16 && L::stages[1].tensor_count == 1);
    static_assert(hn::io::architecture_description<flat> ==
                  "input 6 | dense 6->9 identity | rms_norm 9->9 relu | dense 9->3 identity");
    auto p = std::make_unique<hn::parameters<flat>>();
    hn::init::automatic(*p, 3);
    const float* gain = p->data() + L::stages[1].scale_offset;
    BOOST_TEST(std::all_of(gain, gain + 9, [](float g) { return g == 1.0f; }));
    BOOST_TEST(std::all_of(gain + 9, gain + 16, [](float g) { return g == 0.0f; }));  // padding
    const auto table = hn::io::tensor_table<flat, float>();
    BOOST_TEST(table[2].name == "stage1.gain");
    BOOST_TEST(table[2].torch_name == "1.weight");
}

BOOST_AUTO_TEST_CASE(gradients_equal_central_differences) {
    gradients_match<flat, 3>(11);
    gradients_match<sloped, 2>(12);
    gradients_match<in_block, 3>(13);
    gradients_match<sequence, 2>(14);
}

BOOST_AUTO_TEST_CASE(training_steps_and_stream_steps_allocate_nothing_and_the_stream_is_the_sequence) {
    auto p = std::make_unique<hn::parameters<sequence>>();
    hn::init::automatic(*p, 5);
    auto train = std::make_unique<hn::trainer<sequence, hn::loss::mean_squared_error, hn::optim::adam, hn::batch<4>>>(
        *p, hn::optim::adam{0.01f});
    const std::vector<float> x = random_values<float>(4 * sequence::input_size, 6);
    const std::vector<float> y = random_values<float>(4 * sequence::output_size, 7);
    float loss = train->step(x.data(), y.data(), 4);  // warm-up
    hn::stream<sequence> stream;
    std::vector<float> streamed(sequence::output_size);
    const std::size_t n = hinge_test_allocations_during([&] {
        for (int k = 0; k < 3; ++k) loss += train->step(x.data(), y.data(), 4);
        stream.process(*p, std::span<const float>(x.data(), sequence::input_size), streamed);
    });
    BOOST_TEST(n == 0u);
    BOOST_TEST(std::isfinite(loss));
    auto ws = std::make_unique<hn::workspace<sequence, 1, float, false>>();
    hn::forward(*p, *ws, x.data(), 1);
    double worst = 0;
    for (std::size_t t = 0; t < sequence::output_positions; ++t)
        for (std::size_t c = 0; c < sequence::output_channels; ++c)
            worst = std::max(worst, double(std::fabs(streamed[t * sequence::output_channels + c] - ws->output(0, t)[c])));
    BOOST_TEST(worst < 1e-5);
}

BOOST_AUTO_TEST_CASE(saves_and_loads_in_both_formats_and_refuses_another_layer) {
    auto p = std::make_unique<hn::parameters<sloped>>();
    hn::init::automatic(*p, 8);
    p->data()[hn::layout<sloped, float>::stages[1].scale_offset] = 1.25f;  // a trained gain
    const std::string dir = std::filesystem::temp_directory_path().string();
    hn::io::save(*p, dir + "/custom_layer_test.hinge");
    hn::io::save_safetensors(*p, dir + "/custom_layer_test.safetensors");
    auto a = std::make_unique<hn::parameters<sloped>>();
    auto b = std::make_unique<hn::parameters<sloped>>();
    hn::io::load(*a, dir + "/custom_layer_test.hinge");
    hn::io::load_safetensors(*b, dir + "/custom_layer_test.safetensors");
    BOOST_TEST((*a == *p));
    BOOST_TEST((*b == *p));
    // The same widths with hinge's layer_norm in its place: a different architecture, refused.
    using other = hn::network<hn::input<5>, hn::dense<17>, hn::layer_norm, hn::prelu, hn::dense<2>>;
    auto c = std::make_unique<hn::parameters<other>>();
    BOOST_CHECK_THROW(hn::io::load(*c, dir + "/custom_layer_test.hinge"), std::exception);
    std::filesystem::remove(dir + "/custom_layer_test.hinge");
    std::filesystem::remove(dir + "/custom_layer_test.safetensors");
}

BOOST_AUTO_TEST_SUITE_END()
