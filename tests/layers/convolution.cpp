// Convolutions, pooling, flatten, dropout and residual blocks: shapes, forward passes against
// naive scalar references, finite-difference gradient checks in double precision.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <vector>

#include <hinge/hinge.hpp>

#include "../support/gradient_check.hpp"

namespace hn = hinge;
using hinge_test::check_gradients;
using hinge_test::fill_random;
using hinge_test::random_values;

namespace {

// The convolution of one sample by definition: y[oy][ox][f] = b[f] + sum over taps and channels.
// x: H x W x C (channels last), the result: Ho x Wo x F.
template <class View>
std::vector<double> naive_convolution(const View& view, const hn::window_geometry& g, std::size_t filters,
                                      const double* x) {
    std::vector<double> y(g.out_height * g.out_width * filters);
    for (std::size_t oy = 0; oy < g.out_height; ++oy)
        for (std::size_t ox = 0; ox < g.out_width; ++ox)
            for (std::size_t f = 0; f < filters; ++f) {
                double sum = view.bias(f);
                for (std::size_t kh = 0; kh < g.kernel_height; ++kh)
                    for (std::size_t kw = 0; kw < g.kernel_width; ++kw) {
                        const long iy = static_cast<long>(oy * g.stride_height + kh * g.dilation_height) -
                                        static_cast<long>(g.pad_top);
                        const long ix = static_cast<long>(ox * g.stride_width + kw * g.dilation_width) -
                                        static_cast<long>(g.pad_left);
                        if (iy < 0 || ix < 0 || iy >= static_cast<long>(g.height) || ix >= static_cast<long>(g.width))
                            continue;
                        for (std::size_t c = 0; c < g.channels; ++c)
                            sum += view.weight(f, (kh * g.kernel_width + kw) * g.channels + c) *
                                   x[(static_cast<std::size_t>(iy) * g.width + static_cast<std::size_t>(ix)) * g.channels + c];
                    }
                y[(oy * g.out_width + ox) * filters + f] = sum;
            }
    return y;
}

// A network of one convolution (no activation), run on 3 samples and compared with the naive
// convolution of each.
template <class Input, class Conv>
void check_convolution_forward() {
    using net = hn::network<Input, Conv>;
    using S = typename net::template stage<0>;
    constexpr hn::window_geometry g = Conv::template geometry<typename S::input_shape>();
    constexpr std::size_t batch = 3;
    auto p = std::make_unique<hn::parameters<net, double>>();
    fill_random(*p, 11);
    auto ws = std::make_unique<hn::workspace<net, batch, double, false>>();
    const std::vector<double> x = random_values<double>(batch * net::input_size, 5);
    hn::forward(*p, *ws, x.data(), batch);
    constexpr std::size_t padded = hn::layout<net, double>::stages[0].padded_output;
    double worst = 0;
    for (std::size_t n = 0; n < batch; ++n) {
        const std::vector<double> expected =
            naive_convolution(p->template layer<0>(), g, Conv::filters, x.data() + n * net::input_size);
        for (std::size_t q = 0; q < S::positions; ++q)
            for (std::size_t f = 0; f < Conv::filters; ++f)
                worst = std::max(worst, std::fabs(ws->template activation<0>()[(n * S::positions + q) * padded + f] -
                                                  expected[q * Conv::filters + f]));
    }
    BOOST_TEST(worst < 1e-12);
}

// Every parameter and input coordinate of Batch random samples, by the suite's checker
// (support/gradient_check.hpp: its tolerance, kink skipping, padding check).
template <class Net, std::size_t Batch = 2>
void check_network_gradients(std::uint64_t seed) {
    auto p = std::make_unique<hn::parameters<Net, double>>();
    fill_random(*p, seed);
    const std::vector<double> x = random_values<double>(Batch * Net::input_size, seed + 1);
    check_gradients<Net, Batch>(*p, x.data(), {.input = true});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(layers)

BOOST_AUTO_TEST_CASE(shapes_are_inferred_through_convolutions_and_pooling) {
    using cnn = hn::network<hn::input<28, 28, 1>, hn::conv2d<32, 3>, hn::relu, hn::max_pool2d<2>, hn::conv2d<64, 3>,
                            hn::relu, hn::max_pool2d<2>, hn::flatten, hn::dense<128>, hn::relu, hn::dense<10>>;
    static_assert(std::is_same_v<cnn::stage<0>::output_shape, hn::shape<28, 28, 32>>);
    static_assert(std::is_same_v<cnn::stage<1>::output_shape, hn::shape<14, 14, 32>>);
    static_assert(std::is_same_v<cnn::stage<3>::output_shape, hn::shape<7, 7, 64>>);
    static_assert(std::is_same_v<cnn::stage<4>::output_shape, hn::shape<3136>>);
    static_assert(cnn::output_size == 10);
    // As PyTorch counts them: 320 + 18496 + 401536 + 1290.
    static_assert(cnn::parameter_count == 421642);

    using strided = hn::network<hn::input<9, 7, 2>, hn::conv2d<4, 3, 2, hn::padding::valid>>;
    static_assert(std::is_same_v<strided::stage<0>::output_shape, hn::shape<4, 3, 4>>);
    using same_strided = hn::network<hn::input<9, 7, 2>, hn::conv2d<4, 3, 2>>;
    static_assert(std::is_same_v<same_strided::stage<0>::output_shape, hn::shape<5, 4, 4>>);
    using dilated = hn::network<hn::input<20, 3>, hn::conv1d<5, 2, 1, hn::padding::valid, 4>>;
    static_assert(std::is_same_v<dilated::stage<0>::output_shape, hn::shape<16, 5>>);
    using pooled = hn::network<hn::input<7, 5, 3>, hn::conv2d<3, 1>, hn::max_pool2d<2>, hn::global_avg_pool>;
    static_assert(std::is_same_v<pooled::stage<1>::output_shape, hn::shape<3, 2, 3>>);
    static_assert(std::is_same_v<pooled::stage<2>::output_shape, hn::shape<3>>);
}

BOOST_AUTO_TEST_CASE(convolution_forward_matches_the_definition) {
    check_convolution_forward<hn::input<6, 5, 3>, hn::conv2d<4, 3>>();
    check_convolution_forward<hn::input<7, 9, 2>, hn::conv2d<5, 3, 2>>();                       // stride, same
    check_convolution_forward<hn::input<8, 7, 3>, hn::conv2d<3, 3, 2, hn::padding::valid>>();  // stride, valid
    check_convolution_forward<hn::input<9, 9, 1>, hn::conv2d<17, 5, 1, hn::padding::same, 2>>(); // dilation, >1 panel
    check_convolution_forward<hn::input<5, 4, 6>, hn::conv2d<2, 1>>();                         // 1x1: no gathering
    check_convolution_forward<hn::input<6, 6, 2>, hn::conv2d<3, 4>>();                         // even kernel, same
    check_convolution_forward<hn::input<13, 3>, hn::conv1d<4, 3>>();
    check_convolution_forward<hn::input<20, 2>, hn::conv1d<3, 2, 1, hn::padding::valid, 4>>();  // dilated, causal-style
    check_convolution_forward<hn::input<11, 4>, hn::conv1d<6, 5, 3>>();
}

BOOST_AUTO_TEST_CASE(float_convolution_matches_double) {
    using net = hn::network<hn::input<10, 9, 5>, hn::conv2d<20, 3, 2>, hn::relu>;
    auto pd = std::make_unique<hn::parameters<net, double>>();
    fill_random(*pd, 3);
    auto pf = std::make_unique<hn::parameters<net, float>>();
    // Logical copy: the panel layouts of float and double differ.
    for (std::size_t f = 0; f < 20; ++f) {
        pf->layer<0>().bias(f) = static_cast<float>(pd->layer<0>().bias(f));
        for (std::size_t k = 0; k < 45; ++k) pf->layer<0>().weight(f, k) = static_cast<float>(pd->layer<0>().weight(f, k));
    }
    const std::vector<double> xd = random_values<double>(4 * net::input_size, 9);
    const std::vector<float> xf(xd.begin(), xd.end());
    auto wd = std::make_unique<hn::workspace<net, 4, double, false>>();
    auto wf = std::make_unique<hn::workspace<net, 4, float, false>>();
    hn::forward(*pd, *wd, xd.data(), 4);
    hn::forward(*pf, *wf, xf.data(), 4);
    double worst = 0;
    // Rows of 20 channels, padded to 24 doubles or 32 floats.
    for (std::size_t r = 0; r < 4 * net::stage<0>::positions; ++r)
        for (std::size_t f = 0; f < 20; ++f)
            worst = std::max(worst, std::fabs(wd->activation<0>()[r * 24 + f] - static_cast<double>(wf->activation<0>()[r * 32 + f])));
    BOOST_TEST(worst < 1e-5);
}

BOOST_AUTO_TEST_CASE(max_and_average_pooling_match_the_definition) {
    using net = hn::network<hn::input<5, 7, 3>, hn::conv2d<3, 1>, hn::max_pool2d<2>>;
    using avg = hn::network<hn::input<5, 7, 3>, hn::conv2d<3, 1>, hn::avg_pool2d<2>>;
    auto p = std::make_unique<hn::parameters<net, double>>();
    fill_random(*p, 4);
    auto pa = std::make_unique<hn::parameters<avg, double>>();
    std::copy(p->data(), p->data() + p->storage().size(), pa->data());
    const std::vector<double> x = random_values<double>(net::input_size, 8);
    auto ws = std::make_unique<hn::workspace<net, 1, double, false>>();
    auto wa = std::make_unique<hn::workspace<avg, 1, double, false>>();
    hn::forward(*p, *ws, x.data(), 1);
    hn::forward(*pa, *wa, x.data(), 1);
    constexpr std::size_t P = hn::panel_width<double>;
    const double* conv = ws->activation<0>();
    for (std::size_t oy = 0; oy < 2; ++oy)
        for (std::size_t ox = 0; ox < 3; ++ox)
            for (std::size_t c = 0; c < 3; ++c) {
                double m = -1e300, s = 0;
                for (std::size_t dy = 0; dy < 2; ++dy)
                    for (std::size_t dx = 0; dx < 2; ++dx) {
                        const double v = conv[((2 * oy + dy) * 7 + 2 * ox + dx) * P + c];
                        m = std::max(m, v);
                        s += v;
                    }
                BOOST_TEST(ws->activation<1>()[(oy * 3 + ox) * P + c] == m);
                BOOST_TEST(std::fabs(wa->activation<1>()[(oy * 3 + ox) * P + c] - s / 4) < 1e-15);
            }
}

// Every layer of this suite, gradient-checked in double against central differences, through
// the whole network (so the fused derivative of each previous stage is checked too).
BOOST_AUTO_TEST_CASE(convolution_gradients) {
    check_network_gradients<hn::network<hn::input<6, 5, 2>, hn::conv2d<3, 3>, hn::tanh, hn::flatten, hn::dense<2>>>(21);
    check_network_gradients<hn::network<hn::input<7, 6, 3>, hn::conv2d<4, 3, 2>, hn::relu, hn::conv2d<3, 3, 1, hn::padding::valid>,
                                        hn::flatten, hn::dense<3>>>(22);
    check_network_gradients<hn::network<hn::input<9, 9, 1>, hn::conv2d<5, 3, 1, hn::padding::same, 2>, hn::elu<>,
                                        hn::conv2d<2, 1>, hn::flatten, hn::dense<2>>>(23);
    check_network_gradients<hn::network<hn::input<6, 6, 2>, hn::conv2d<3, 4, 2>, hn::softplus, hn::flatten, hn::dense<2>>>(24);
}

BOOST_AUTO_TEST_CASE(dilated_conv1d_gradients) {
    check_network_gradients<hn::network<hn::input<16, 2>, hn::conv1d<4, 2, 1, hn::padding::valid, 1>, hn::tanh,
                                        hn::conv1d<4, 2, 1, hn::padding::valid, 2>, hn::tanh,
                                        hn::conv1d<3, 2, 1, hn::padding::valid, 4>, hn::flatten, hn::dense<1>>>(31);
    check_network_gradients<hn::network<hn::input<11, 3>, hn::conv1d<5, 3, 2>, hn::sigmoid, hn::global_avg_pool, hn::dense<2>>>(32);
}

BOOST_AUTO_TEST_CASE(pooling_gradients) {
    check_network_gradients<hn::network<hn::input<6, 7, 2>, hn::conv2d<3, 3>, hn::tanh, hn::max_pool2d<2>, hn::flatten,
                                        hn::dense<2>>>(41);
    check_network_gradients<hn::network<hn::input<6, 7, 2>, hn::conv2d<3, 3>, hn::sigmoid, hn::avg_pool2d<3>, hn::tanh,
                                        hn::flatten, hn::dense<2>>>(42);
    check_network_gradients<hn::network<hn::input<5, 4, 3>, hn::conv2d<18, 3>, hn::relu, hn::global_avg_pool, hn::dense<3>>>(43);
    check_network_gradients<hn::network<hn::input<12, 2>, hn::conv1d<3, 3>, hn::tanh, hn::max_pool1d<3>, hn::flatten,
                                        hn::dense<2>>>(44);
}

BOOST_AUTO_TEST_CASE(per_channel_batch_norm_and_prelu_gradients) {
    check_network_gradients<hn::network<hn::input<5, 5, 2>, hn::conv2d<3, 3>, hn::batch_norm, hn::prelu, hn::flatten,
                                        hn::dense<2>>, 3>(51);
}

BOOST_AUTO_TEST_CASE(dropout_gradients) {
    check_network_gradients<hn::network<hn::input<8>, hn::dense<12>, hn::tanh, hn::dropout<0.3f>, hn::dense<3>>>(61);
    check_network_gradients<hn::network<hn::input<6, 6, 1>, hn::conv2d<4, 3>, hn::tanh, hn::dropout<0.5f>, hn::flatten,
                                        hn::dense<2>>>(62);
}

BOOST_AUTO_TEST_CASE(residual_gradients) {
    // Shortcut from the network input, from a stage's output, nested, and two in a row.
    check_network_gradients<hn::network<hn::input<6>, hn::residual<hn::dense<6>, hn::tanh, hn::dense<6>>, hn::tanh,
                                        hn::dense<2>>>(71);
    check_network_gradients<hn::network<hn::input<6, 5, 2>, hn::conv2d<4, 3>, hn::tanh,
                                        hn::residual<hn::conv2d<4, 3>, hn::tanh, hn::conv2d<4, 3>>, hn::tanh,
                                        hn::residual<hn::residual<hn::conv2d<4, 1>, hn::sigmoid, hn::conv2d<4, 3>>, hn::tanh>,
                                        hn::flatten, hn::dense<2>>>(72);
    check_network_gradients<hn::network<hn::input<5, 5, 3>, hn::residual<hn::conv2d<3, 3>, hn::batch_norm, hn::tanh>,
                                        hn::global_avg_pool, hn::dense<2>>, 3>(73);
}

BOOST_AUTO_TEST_CASE(projection_shortcut_gradients) {
    // A strided block that doubles the channels, with a strided 1x1 projection (ResNet's
    // downsampling block), and a dense projection in an MLP.
    using down = hn::network<hn::input<6, 6, 2>, hn::conv2d<3, 3>, hn::tanh,
                             hn::residual_with<hn::conv2d<5, 1, 2>, hn::conv2d<5, 3, 2>, hn::tanh, hn::conv2d<5, 3>>,
                             hn::tanh, hn::flatten, hn::dense<2>>;
    static_assert(std::is_same_v<down::stage<3>::output_shape, hn::shape<3, 3, 5>>);  // the projection
    check_network_gradients<down>(81);
    check_network_gradients<hn::network<hn::input<5>, hn::dense<7>, hn::sigmoid,
                                        hn::residual_with<hn::dense<4>, hn::dense<6>, hn::tanh, hn::dense<4>>, hn::tanh,
                                        hn::residual<hn::dense<4>, hn::tanh>, hn::dense<2>>>(82);
}

BOOST_AUTO_TEST_CASE(residual_adds_its_input) {
    using net = hn::network<hn::input<4>, hn::dense<4>, hn::residual<hn::dense<4>>>;
    auto p = std::make_unique<hn::parameters<net, double>>();
    fill_random(*p, 1);
    const std::vector<double> x = random_values<double>(4, 2);
    auto ws = std::make_unique<hn::workspace<net, 1, double, false>>();
    hn::forward(*p, *ws, x.data(), 1);
    for (std::size_t j = 0; j < 4; ++j)
        BOOST_TEST(std::fabs(ws->output(0)[j] - (ws->activation<0>()[j] + ws->activation<1>()[j])) < 1e-15);
}

BOOST_AUTO_TEST_CASE(dropout_drops_the_rate_and_keeps_the_mean) {
    using net = hn::network<hn::input<64>, hn::dense<256>, hn::dropout<0.25f>>;
    auto p = std::make_unique<hn::parameters<net, double>>();
    // Zero weights and bias 1: every unit is 1 before dropout.
    for (std::size_t o = 0; o < 256; ++o) p->layer<0>().bias(o) = 1.0;
    const std::vector<double> x(64 * 64, 0.0);
    auto ws = std::make_unique<hn::workspace<net, 64, double>>();
    hn::train_forward(*p, *ws, x.data(), 64, 7);
    std::size_t dropped = 0;
    double sum = 0;
    for (std::size_t r = 0; r < 64; ++r)
        for (std::size_t j = 0; j < 256; ++j) {
            const double y = ws->output(r)[j];
            dropped += y == 0.0;
            sum += y;
            BOOST_TEST((y == 0.0 || std::fabs(y - 1.0 / 0.75) < 1e-12));
        }
    // 16384 Bernoulli(0.25) draws: standard deviation 0.0034 of the fraction; tolerance 4 sigma.
    BOOST_TEST(std::fabs(static_cast<double>(dropped) / 16384.0 - 0.25) < 0.014);
    BOOST_TEST(std::fabs(sum / 16384.0 - 1.0) < 0.02);
    // Inference: the identity.
    hn::forward(*p, *ws, x.data(), 64);
    for (std::size_t j = 0; j < 256; ++j) BOOST_TEST(ws->output(3)[j] == 1.0);
}

// The networks shown in docs/layers.md plan, and run a training step without NaN.
template <std::size_t C>
using basic_block = hn::sequential<hn::residual<hn::conv2d<C, 3>, hn::batch_norm, hn::relu, hn::conv2d<C, 3>, hn::batch_norm>,
                                   hn::relu>;
using documented_resnet = hn::network<hn::input<32, 32, 3>, hn::conv2d<16, 3>, hn::batch_norm, hn::relu,
                                      hn::repeat<3, basic_block<16>>, hn::global_avg_pool, hn::dense<10>>;
using documented_downsample =
    hn::network<hn::input<8, 8, 16>, hn::conv2d<16, 3>, hn::relu,
                hn::residual_with<hn::conv2d<32, 1, 2>, hn::conv2d<32, 3, 2>, hn::batch_norm, hn::relu, hn::conv2d<32, 3>,
                                  hn::batch_norm>,
                hn::relu, hn::global_avg_pool, hn::dense<3>>;
using documented_tcn = hn::network<hn::input<64, 1>, hn::conv1d<16, 2, 1, hn::padding::valid, 1>, hn::relu,
                                   hn::conv1d<16, 2, 1, hn::padding::valid, 2>, hn::relu,
                                   hn::conv1d<16, 2, 1, hn::padding::valid, 4>, hn::relu,
                                   hn::conv1d<16, 2, 1, hn::padding::valid, 8>, hn::relu, hn::global_avg_pool, hn::dense<1>>;

template <class Net>
void one_training_step_is_finite() {
    auto p = std::make_unique<hn::parameters<Net>>();
    hn::init::automatic(*p, 3);
    auto train = std::make_unique<hn::trainer<Net, hn::loss::mean_squared_error, hn::optim::sgd, hn::batch<2>>>(*p, hn::optim::sgd{0.01f});
    const std::vector<float> x = random_values<float>(2 * Net::input_size, 4);
    const std::vector<float> y(2 * Net::output_size, 0.5f);
    const float loss = train->step(x.data(), y.data(), 2);
    BOOST_TEST(std::isfinite(loss));
}

BOOST_AUTO_TEST_CASE(documented_networks_train) {
    static_assert(documented_resnet::stage_count == 2 + 3 * 5 + 2);
    static_assert(std::is_same_v<documented_tcn::stage<3>::output_shape, hn::shape<49, 16>>);
    one_training_step_is_finite<documented_resnet>();
    one_training_step_is_finite<documented_tcn>();
    one_training_step_is_finite<documented_downsample>();
}

BOOST_AUTO_TEST_SUITE_END()
