// Tests of init/: the initialisers are deterministic functions of the seed, draw weights with the
// variance their rule states (including the He gain of leaky_relu and prelu), keep uniform draws
// inside their bounds, leave biases and padding zero, and init::automatic picks the rule of the
// activation after each layer. Statistical checks use fixed seeds and layers large enough that
// the stated tolerance is many standard errors wide.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>

#include <boost/test/unit_test.hpp>

#include <hinge/activations/elu.hpp>
#include <hinge/activations/identity.hpp>
#include <hinge/activations/leaky_relu.hpp>
#include <hinge/activations/prelu.hpp>
#include <hinge/activations/relu.hpp>
#include <hinge/activations/relu6.hpp>
#include <hinge/activations/selu.hpp>
#include <hinge/activations/sigmoid.hpp>
#include <hinge/activations/tanh.hpp>
#include <hinge/core/network.hpp>
#include <hinge/core/storage.hpp>
#include <hinge/init/automatic.hpp>
#include <hinge/init/glorot.hpp>
#include <hinge/init/he.hpp>
#include <hinge/init/lecun.hpp>
#include <hinge/layers/batch_norm.hpp>
#include <hinge/layers/dense.hpp>

namespace {

namespace hn = hinge;
namespace init = hinge::init;

// ---- compile-time facts: what each activation asks for -----------------------------------------

static_assert(init::preferred_scheme<hn::relu> == init::scheme::he);
static_assert(init::preferred_scheme<hn::leaky_relu<>> == init::scheme::he);
static_assert(init::preferred_scheme<hn::relu6> == init::scheme::he);
static_assert(init::preferred_scheme<hn::elu<>> == init::scheme::he);
static_assert(init::preferred_scheme<hn::prelu> == init::scheme::he);
static_assert(init::preferred_scheme<hn::sigmoid> == init::scheme::glorot);
static_assert(init::preferred_scheme<hn::tanh> == init::scheme::glorot);
static_assert(init::preferred_scheme<hn::identity> == init::scheme::glorot);
static_assert(init::preferred_scheme<hn::selu> == init::scheme::lecun);
static_assert(init::negative_slope<hn::relu> == 0.0 && init::negative_slope<hn::tanh> == 0.0);
static_assert(init::negative_slope<hn::leaky_relu<0.5f>> == 0.5);
static_assert(init::negative_slope<hn::prelu> == 0.25);
static_assert(init::variance(init::scheme::he, 100, 7) == 0.02);
static_assert(init::variance(init::scheme::he, 100, 7, 0.5) == 2.0 / 125.0);
static_assert(init::variance(init::scheme::glorot, 100, 60) == 2.0 / 160.0);
static_assert(init::variance(init::scheme::lecun, 100, 60) == 0.01);

// ---- helpers -----------------------------------------------------------------------------------

template <class Net, class T = float>
auto make_parameters() {
    return std::make_unique<hn::parameters<Net, T>>();
}

template <class Net, class T>
bool bit_identical(const hn::parameters<Net, T>& a, const hn::parameters<Net, T>& b) {
    return std::memcmp(a.data(), b.data(), sizeof(T) * hn::parameters<Net, T>::storage_size) == 0;
}

struct moments {
    double mean = 0;
    double variance = 0;  // about the sample mean
    double largest_magnitude = 0;
    std::size_t count = 0;
};

template <std::size_t I, class Net, class T>
moments weight_moments(const hn::parameters<Net, T>& p) {
    const auto view = p.template layer<I>();
    moments m;
    double sum = 0, sum_squares = 0;
    for (std::size_t o = 0; o < view.output_width; ++o)
        for (std::size_t i = 0; i < view.input_width; ++i) {
            const double w = view.weight(o, i);
            sum += w;
            sum_squares += w * w;
            m.largest_magnitude = std::max(m.largest_magnitude, std::fabs(w));
        }
    m.count = view.output_width * view.input_width;
    m.mean = sum / static_cast<double>(m.count);
    m.variance = sum_squares / static_cast<double>(m.count) - m.mean * m.mean;
    return m;
}

// Sample variance within `tolerance` of the target, and the mean within 5 standard errors of 0.
// The standard error of a sample variance is sqrt(2 / n) for normal draws (less for uniform ones):
// 0.28% for a 512 x 512 layer, where 2% is 7 standard errors and still separates gains that
// differ by 6%, as prelu's 1 + 0.25^2 does.
void check_moments(const moments& m, double target_variance, double tolerance = 0.02) {
    BOOST_TEST(std::fabs(m.variance / target_variance - 1.0) < tolerance,
               "variance " << m.variance << ", target " << target_variance << " (ratio " << m.variance / target_variance
                           << ")");
    BOOST_TEST(std::fabs(m.mean) < 5.0 * std::sqrt(target_variance / static_cast<double>(m.count)));
    BOOST_TEST_MESSAGE("variance / target = " << m.variance / target_variance << " over " << m.count << " weights");
}

template <std::size_t I, class Net, class T>
void check_biases_zero(const hn::parameters<Net, T>& p) {
    const auto view = p.template layer<I>();
    for (std::size_t o = 0; o < view.output_width; ++o) BOOST_TEST(view.bias(o) == T(0));
}

using square = hn::network<hn::input<512>, hn::dense<512>, hn::relu>;
using mixed = hn::network<hn::input<64>, hn::dense<48>, hn::relu, hn::dense<40>, hn::tanh, hn::dense<10>>;

using initialiser = void (*)(hn::parameters<mixed>&, std::uint64_t);
constexpr initialiser every_initialiser[] = {
    init::he_normal<mixed, float>,     init::he_uniform<mixed, float>,   init::glorot_normal<mixed, float>,
    init::glorot_uniform<mixed, float>, init::lecun_normal<mixed, float>, init::lecun_uniform<mixed, float>,
    init::automatic<mixed, float>};

}  // namespace

BOOST_AUTO_TEST_SUITE(initializers)

// ---- determinism -------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(same_seed_gives_bit_identical_parameters_and_another_seed_differs) {
    for (std::size_t k = 0; k < std::size(every_initialiser); ++k) {
        BOOST_TEST_CONTEXT("initialiser " << k) {
            auto a = make_parameters<mixed>(), b = make_parameters<mixed>(), c = make_parameters<mixed>();
            every_initialiser[k](*a, 42);
            // b starts dirty: the result must not depend on what was there before.
            for (float& v : b->storage()) v = 3.0f;
            every_initialiser[k](*b, 42);
            every_initialiser[k](*c, 43);
            BOOST_TEST(bit_identical(*a, *b));
            BOOST_TEST(!bit_identical(*a, *c));
            // Not merely a few values: almost every weight changes with the seed.
            const auto va = a->layer<1>(), vc = c->layer<1>();
            std::size_t same = 0;
            for (std::size_t o = 0; o < va.output_width; ++o)
                for (std::size_t i = 0; i < va.input_width; ++i) same += va.weight(o, i) == vc.weight(o, i);
            BOOST_TEST(same < 10u);
        }
    }
}

// The draws are made in double and rounded once: float parameters are the double ones rounded.
BOOST_AUTO_TEST_CASE(float_parameters_are_the_double_parameters_rounded) {
    auto f = make_parameters<mixed, float>();
    auto d = make_parameters<mixed, double>();
    init::automatic(*f, 9);
    init::automatic(*d, 9);
    const auto vf = f->layer<0>();
    const auto vd = d->layer<0>();
    std::size_t mismatches = 0;
    for (std::size_t o = 0; o < vf.output_width; ++o)
        for (std::size_t i = 0; i < vf.input_width; ++i) mismatches += vf.weight(o, i) != static_cast<float>(vd.weight(o, i));
    BOOST_TEST(mismatches == 0u);
}

// he_normal on a ReLU network is what it was before the other schemes existed: fixed values of
// the first weights for seed 1 pin the generator, the draw order and the variance formula.
BOOST_AUTO_TEST_CASE(he_normal_draws_are_stable_for_a_fixed_seed) {
    using net = hn::network<hn::input<2>, hn::dense<8>, hn::relu, hn::dense<1>>;
    hn::parameters<net, double> p;
    init::he_normal(p, 1);
    hn::init::random_generator g(1);
    const double first = g.normal(), second = g.normal();
    BOOST_TEST(p.layer<0>().weight(0, 0) == first * std::sqrt(2.0 / 2.0));
    BOOST_TEST(p.layer<0>().weight(0, 1) == second * std::sqrt(2.0 / 2.0));
}

// ---- the variance of each rule -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(he_normal_and_he_uniform_have_variance_2_over_fan_in) {
    auto p = make_parameters<square>();
    init::he_normal(*p, 1);
    check_moments(weight_moments<0>(*p), 2.0 / 512);
    check_biases_zero<0>(*p);
    init::he_uniform(*p, 2);
    check_moments(weight_moments<0>(*p), 2.0 / 512);
    check_biases_zero<0>(*p);
}

BOOST_AUTO_TEST_CASE(he_with_leaky_relu_has_variance_2_over_1_plus_slope_squared_fan_in) {
    using net = hn::network<hn::input<512>, hn::dense<512>, hn::leaky_relu<0.5f>>;
    auto p = make_parameters<net>();
    init::he_normal(*p, 3);
    check_moments(weight_moments<0>(*p), 2.0 / (1.25 * 512));
    init::he_uniform(*p, 4);
    check_moments(weight_moments<0>(*p), 2.0 / (1.25 * 512));
    init::automatic(*p, 5);
    check_moments(weight_moments<0>(*p), 2.0 / (1.25 * 512));
}

// prelu: the gain uses its initial slope 0.25, and the slopes themselves start at 0.25.
BOOST_AUTO_TEST_CASE(he_with_prelu_uses_the_initial_slope_and_sets_it) {
    using net = hn::network<hn::input<512>, hn::dense<512>, hn::prelu>;
    auto p = make_parameters<net>();
    init::he_normal(*p, 6);
    check_moments(weight_moments<0>(*p), 2.0 / (1.0625 * 512));
    for (std::size_t o = 0; o < 512; ++o) BOOST_TEST(p->layer<0>().slope(o) == 0.25f);
    check_biases_zero<0>(*p);
}

BOOST_AUTO_TEST_CASE(glorot_normal_and_uniform_have_variance_2_over_fan_in_plus_fan_out) {
    using net = hn::network<hn::input<512>, hn::dense<256>, hn::tanh>;
    auto p = make_parameters<net>();
    init::glorot_normal(*p, 7);
    check_moments(weight_moments<0>(*p), 2.0 / (512 + 256));
    init::glorot_uniform(*p, 8);
    check_moments(weight_moments<0>(*p), 2.0 / (512 + 256));
    check_biases_zero<0>(*p);
}

BOOST_AUTO_TEST_CASE(lecun_normal_and_uniform_have_variance_1_over_fan_in) {
    using net = hn::network<hn::input<512>, hn::dense<256>, hn::selu>;
    auto p = make_parameters<net>();
    init::lecun_normal(*p, 9);
    check_moments(weight_moments<0>(*p), 1.0 / 512);
    init::lecun_uniform(*p, 10);
    check_moments(weight_moments<0>(*p), 1.0 / 512);
    check_biases_zero<0>(*p);
}

// U(-r, r) with r = sqrt(3 Var): never outside, and it reaches close to r.
BOOST_AUTO_TEST_CASE(uniform_draws_stay_inside_their_bounds) {
    using net = hn::network<hn::input<512>, hn::dense<256>, hn::leaky_relu<0.5f>>;
    auto p = make_parameters<net>();
    struct bound_case {
        void (*fill)(hn::parameters<net>&, std::uint64_t);
        double bound;
    };
    const bound_case cases[] = {{init::he_uniform<net, float>, std::sqrt(6.0 / (1.25 * 512))},
                                {init::glorot_uniform<net, float>, std::sqrt(6.0 / (512 + 256))},
                                {init::lecun_uniform<net, float>, std::sqrt(3.0 / 512)}};
    for (const bound_case& c : cases) {
        c.fill(*p, 11);
        const moments m = weight_moments<0>(*p);
        BOOST_TEST(m.largest_magnitude <= static_cast<double>(static_cast<float>(c.bound)));
        BOOST_TEST(m.largest_magnitude > 0.999 * c.bound);
    }
}

// Only logical weights are drawn: biases and the padding of the 64-byte panels stay zero
// (10 outputs are stored as 16), even when the block held other values before.
BOOST_AUTO_TEST_CASE(biases_and_padding_stay_zero) {
    using net = hn::network<hn::input<33>, hn::dense<10>, hn::sigmoid, hn::dense<3>>;
    for (std::size_t k = 0; k < 2; ++k) {
        auto p = make_parameters<net>();
        for (float& v : p->storage()) v = 1.0f;
        if (k == 0) init::he_uniform(*p, 12);
        else init::automatic(*p, 12);
        std::size_t non_zero = 0;
        for (float v : p->storage()) non_zero += v != 0.0f;
        BOOST_TEST(non_zero == 33u * 10u + 10u * 3u);  // exactly the logical weights
        check_biases_zero<0>(*p);
        check_biases_zero<1>(*p);
    }
}

// ---- automatic ---------------------------------------------------------------------------------

// Every stage gets the rule of the activation after it; the widths are chosen so that the three
// rules give different variances at every stage (at least 25% apart). The smallest stage has
// 49152 weights (standard error 0.64%), so the tolerance is 4%, over 6 standard errors.
BOOST_AUTO_TEST_CASE(automatic_picks_the_rule_of_the_activation_after_each_layer) {
    using net = hn::network<hn::input<256>,
                            hn::dense<512>, hn::relu,              // He       2 / 256
                            hn::dense<256>, hn::tanh,              // Glorot   2 / (512 + 256)
                            hn::dense<384>, hn::selu,              // LeCun    1 / 256
                            hn::dense<256>, hn::leaky_relu<0.5f>,  // He, gain 2 / (1.25 384)
                            hn::dense<512>, hn::sigmoid,           // Glorot   2 / (256 + 512)
                            hn::dense<128>, hn::elu<>,             // He       2 / 512
                            hn::dense<384>>;                       // identity: Glorot 2 / (128 + 384)
    auto p = make_parameters<net>();
    init::automatic(*p, 2024);
    check_moments(weight_moments<0>(*p), 2.0 / 256, 0.04);
    check_moments(weight_moments<1>(*p), 2.0 / (512 + 256), 0.04);
    check_moments(weight_moments<2>(*p), 1.0 / 256, 0.04);
    check_moments(weight_moments<3>(*p), 2.0 / (1.25 * 384), 0.04);
    check_moments(weight_moments<4>(*p), 2.0 / (256 + 512), 0.04);
    check_moments(weight_moments<5>(*p), 2.0 / 512, 0.04);
    check_moments(weight_moments<6>(*p), 2.0 / (128 + 384), 0.04);
    hn::for_each_index<net::stage_count>([&](auto i) { check_biases_zero<decltype(i)::value>(*p); });
}

// On a network of one rule, automatic is that rule's *_normal initialiser, bit for bit.
BOOST_AUTO_TEST_CASE(automatic_equals_the_single_rule_on_a_uniform_network) {
    using relu_net = hn::network<hn::input<20>, hn::dense<30>, hn::relu, hn::dense<17>, hn::relu6, hn::dense<5>, hn::relu>;
    using tanh_net = hn::network<hn::input<20>, hn::dense<30>, hn::tanh, hn::dense<17>, hn::sigmoid, hn::dense<5>>;
    using selu_net = hn::network<hn::input<20>, hn::dense<30>, hn::selu, hn::dense<17>, hn::selu>;
    auto a = make_parameters<relu_net>(), b = make_parameters<relu_net>();
    init::automatic(*a, 77);
    init::he_normal(*b, 77);
    BOOST_TEST(bit_identical(*a, *b));
    auto c = make_parameters<tanh_net>(), d = make_parameters<tanh_net>();
    init::automatic(*c, 77);
    init::glorot_normal(*d, 77);
    BOOST_TEST(bit_identical(*c, *d));
    auto e = make_parameters<selu_net>(), f = make_parameters<selu_net>();
    init::automatic(*e, 77);
    init::lecun_normal(*f, 77);
    BOOST_TEST(bit_identical(*e, *f));
}

// dense, batch_norm, relu: the dense layer's own stage ends in identity, but its output goes
// through batch_norm into relu, so automatic gives it He; batch_norm starts as the identity map.
BOOST_AUTO_TEST_CASE(automatic_looks_through_batch_norm_and_batch_norm_starts_as_identity) {
    using net = hn::network<hn::input<512>, hn::dense<256>, hn::batch_norm, hn::relu, hn::dense<8>>;
    static_assert(std::is_same_v<net::stage<0>::activation, hn::identity>);
    auto p = make_parameters<net>();
    for (float& v : p->storage()) v = 5.0f;
    init::automatic(*p, 31);
    check_moments(weight_moments<0>(*p), 2.0 / 512);
    const auto bn = p->layer<1>();
    for (std::size_t o = 0; o < bn.output_width; ++o) {
        BOOST_TEST(bn.scale(o) == 1.0f);
        BOOST_TEST(bn.shift(o) == 0.0f);
        BOOST_TEST(bn.running_mean(o) == 0.0f);
        BOOST_TEST(bn.running_variance(o) == 1.0f);
    }
}

BOOST_AUTO_TEST_SUITE_END()
