// The analysis toolkit (include/hinge/analysis/), each tool against a brute-force or closed-form
// reference. Fixed seeds; every tolerance is stated where it is used.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <set>
#include <span>
#include <vector>

#include <boost/test/unit_test.hpp>

#include <hinge/analysis/activation_statistics.hpp>
#include <hinge/analysis/gradient_flow.hpp>
#include <hinge/analysis/linear_collapse.hpp>
#include <hinge/analysis/linear_regions.hpp>
#include <hinge/hinge.hpp>

#include "../allocation_counter.hpp"
#include "../support/gradient_check.hpp"

namespace hn = hinge;
namespace ha = hinge::analysis;
namespace tt = boost::test_tools;

namespace {

std::vector<double> normal_samples(std::size_t n, std::uint64_t seed, double scale = 1.0) {
    hn::init::random_generator random(seed);
    std::vector<double> xs(n);
    for (double& x : xs) x = scale * random.normal();
    return xs;
}

// ---- a plain reference: the network evaluated with scalar loops on the logical views -------

// Every stage's pre-activation z and output y of one sample (inference semantics).
template <class Net, class T>
struct reference_pass {
    std::vector<std::vector<double>> z, y;
};

template <class Net, class T>
reference_pass<Net, T> reference_forward(const hn::parameters<Net, T>& p, const T* x) {
    reference_pass<Net, T> pass;
    std::vector<double> in(x, x + Net::input_size);
    hn::for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        using S = typename Net::template stage<i>;
        using A = typename S::activation;
        const auto view = p.template layer<i>();
        std::vector<double> z(S::output_width), y(S::output_width);
        for (std::size_t o = 0; o < S::output_width; ++o) {
            if constexpr (hn::affine_layer<typename S::layer_type>) {
                z[o] = static_cast<double>(view.bias(o));
                for (std::size_t k = 0; k < S::input_width; ++k) z[o] += static_cast<double>(view.weight(o, k)) * in[k];
            } else {
                z[o] = static_cast<double>(view.scale(o)) * (in[o] - static_cast<double>(view.running_mean(o))) /
                           std::sqrt(static_cast<double>(view.running_variance(o)) + static_cast<double>(S::layer_type::epsilon)) +
                       static_cast<double>(view.shift(o));
            }
            if constexpr (hn::has_learned_slope<A>) y[o] = A::forward(z[o], static_cast<double>(view.slope(o)));
            else y[o] = A::forward(z[o]);
        }
        pass.z.push_back(z);
        pass.y.push_back(y);
        in = y;
    });
    return pass;
}

// The branch of every unit (the activation pattern), from the reference's z.
template <class Net, class T>
std::vector<std::size_t> reference_pattern(const hn::parameters<Net, T>& p, const T* x) {
    const auto pass = reference_forward(p, x);
    std::vector<std::size_t> pattern;
    hn::for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        for (const double z : pass.z[i]) pattern.push_back(ha::piecewise_linear_form<typename Net::template stage<i>::activation>::branch(z));
    });
    return pattern;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(analysis)

// ---- activation statistics -------------------------------------------------------------------

// Mean, variance (two-pass, over the whole data set), zeros, actives and dead units of every unit,
// computed from the reference pass, against the accumulator fed by the fused forward pass in
// batches of 16 with a partial last batch.
template <class Net>
void expect_statistics_match_brute_force(std::uint64_t seed) {
    constexpr std::size_t samples = 203;
    auto p = std::make_unique<hn::parameters<Net, double>>();
    hinge_test::fill_random(*p, seed, 0.8);
    // Two units that are dead by construction: bias far below anything W x can reach.
    p->template layer<0>().bias(1) = -100.0;
    p->template layer<1>().bias(0) = -100.0;
    const std::vector<double> x = normal_samples(samples * Net::input_size, seed + 1);
    auto stats = std::make_unique<ha::activation_statistics<Net>>();
    auto ws = std::make_unique<hn::workspace<Net, 16, double, false>>();
    stats->accumulate(*p, *ws, x.data(), samples);
    BOOST_TEST(stats->samples() == samples);

    std::vector<reference_pass<Net, double>> passes;
    for (std::size_t s = 0; s < samples; ++s) passes.push_back(reference_forward(*p, x.data() + s * Net::input_size));
    std::size_t dead_total = 0;
    hn::for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        const ha::stage_statistics st = stats->template layer<i>();
        for (std::size_t u = 0; u < Net::template stage<i>::output_width; ++u) {
            double sum = 0;
            std::size_t zeros = 0, active = 0;
            for (const auto& pass : passes) {
                sum += pass.y[i][u];
                zeros += pass.y[i][u] == 0.0;
                active += pass.y[i][u] > 0.0;
            }
            const double mean = sum / samples;
            double m2 = 0;
            for (const auto& pass : passes) m2 += (pass.y[i][u] - mean) * (pass.y[i][u] - mean);
            // Same values up to the rounding of different summation orders: 1e-10 absolute on
            // outputs of order 1.
            BOOST_TEST(st.mean(u) == mean, tt::tolerance(1e-10));
            BOOST_TEST(std::fabs(st.variance(u) - m2 / samples) < 1e-10);
            BOOST_TEST(st.zero_fraction(u) == static_cast<double>(zeros) / samples);
            BOOST_TEST(st.active_fraction(u) == static_cast<double>(active) / samples);
            BOOST_TEST(st.dead(u) == (active == 0));
            dead_total += active == 0;
        }
    });
    BOOST_TEST(stats->template layer<0>().dead(1));
    BOOST_TEST(stats->template layer<1>().dead(0));
    std::size_t dead_counted = 0;
    for (std::size_t i = 0; i < Net::stage_count; ++i) dead_counted += stats->layer(i).dead_count();
    BOOST_TEST(dead_counted == dead_total);
}

BOOST_AUTO_TEST_CASE(activation_statistics_equal_a_brute_force_pass_over_the_data_set) {
    expect_statistics_match_brute_force<
        hn::network<hn::input<5>, hn::dense<13>, hn::relu, hn::dense<9>, hn::leaky_relu<0.1f>, hn::dense<20>, hn::relu6, hn::dense<3>>>(61);
    expect_statistics_match_brute_force<
        hn::network<hn::input<4>, hn::dense<17>, hn::prelu, hn::dense<8>, hn::tanh, hn::dense<6>, hn::sigmoid>>(62);
    expect_statistics_match_brute_force<
        hn::network<hn::input<4>, hn::dense<7>, hn::relu, hn::dense<11>, hn::batch_norm, hn::relu, hn::dense<2>>>(63);
}

BOOST_AUTO_TEST_CASE(activation_statistics_merge_batches_exactly_like_one_pass) {
    // The same data in batches of 16 and of 256: Chan's merge gives the one-batch values.
    using net = hn::network<hn::input<3>, hn::dense<24>, hn::relu, hn::dense<5>>;
    auto p = std::make_unique<hn::parameters<net, double>>();
    hinge_test::fill_random(*p, 64);
    const std::vector<double> x = normal_samples(250 * 3, 65, 3.0);
    ha::activation_statistics<net> small, large;
    auto ws16 = std::make_unique<hn::workspace<net, 16, double, false>>();
    auto ws256 = std::make_unique<hn::workspace<net, 256, double, false>>();
    small.accumulate(*p, *ws16, x.data(), 250);
    large.accumulate(*p, *ws256, x.data(), 250);
    for (std::size_t u = 0; u < 24; ++u) {
        BOOST_TEST(small.layer<0>().mean(u) == large.layer<0>().mean(u), tt::tolerance(1e-12));
        BOOST_TEST(std::fabs(small.layer<0>().variance(u) - large.layer<0>().variance(u)) < 1e-12);
    }
}

BOOST_AUTO_TEST_CASE(activation_statistics_allocate_nothing) {
    using net = hn::network<hn::input<8>, hn::dense<32>, hn::relu, hn::dense<16>, hn::relu, hn::dense<4>>;
    auto p = std::make_unique<hn::parameters<net>>();
    hn::init::he_normal(*p, 66);
    const std::vector<double> xd = normal_samples(1000 * 8, 67);
    const std::vector<float> x(xd.begin(), xd.end());
    auto stats = std::make_unique<ha::activation_statistics<net>>();
    auto ws = std::make_unique<hn::workspace<net, 64, float, false>>();
    stats->accumulate(*p, *ws, x.data(), 64);  // warm-up
    const std::size_t n = hinge_test_allocations_during([&] { stats->accumulate(*p, *ws, x.data(), 1000); });
    BOOST_TEST(n == 0u);
    BOOST_TEST(stats->samples() == 1064u);
    // Zero-mean weights and inputs, zero bias: about half of the first layer's outputs are zero
    // (1000 samples x 32 units; binomial spread well inside 0.05).
    BOOST_TEST(stats->layer<0>().zero_fraction() == 0.5, tt::tolerance(0.1));
}

// ---- gradient flow ---------------------------------------------------------------------------

// dL/dz and dL/dx of every stage, and the weight and bias gradients, from a reference backward
// pass (scalar loops) for dense networks of plain activations.
template <class Net>
void expect_gradient_flow_matches_reference(std::uint64_t seed) {
    constexpr std::size_t batch = 8, rows = 7;
    auto p = std::make_unique<hn::parameters<Net, double>>();
    hinge_test::fill_random(*p, seed, 0.7);
    const std::vector<double> x = normal_samples(rows * Net::input_size, seed + 1);
    auto loss_gradient = [](std::size_t r, std::size_t j) { return hinge_test::probe_weight(r, j); };
    auto flow = std::make_unique<ha::gradient_flow<Net, batch, double>>();
    const auto& g = flow->measure(*p, x.data(), rows, loss_gradient);

    constexpr std::size_t n = Net::stage_count;
    std::array<double, n> dz2{}, dx2{}, dw2{}, db2{};
    std::vector<std::vector<std::vector<double>>> dw(n);
    std::vector<std::vector<double>> db(n);
    hn::for_each_index<n>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        using S = typename Net::template stage<i>;
        dw[i].assign(S::output_width, std::vector<double>(S::input_width, 0.0));
        db[i].assign(S::output_width, 0.0);
    });
    for (std::size_t r = 0; r < rows; ++r) {
        const double* xr = x.data() + r * Net::input_size;
        const auto pass = reference_forward(*p, xr);
        std::vector<double> dy(Net::output_size);
        for (std::size_t j = 0; j < Net::output_size; ++j) dy[j] = loss_gradient(r, j);
        hn::for_each_index_reversed<n>([&](auto index) {
            constexpr std::size_t i = decltype(index)::value;
            using S = typename Net::template stage<i>;
            using A = typename S::activation;
            const auto view = p->template layer<i>();
            std::vector<double> dz(S::output_width), dx(S::input_width, 0.0);
            for (std::size_t o = 0; o < S::output_width; ++o) {
                // Derivative at z (or from y), whichever the activation takes.
                const double d = A::derivative_from_output ? A::derivative(pass.y[i][o]) : A::derivative(pass.z[i][o]);
                dz[o] = dy[o] * d;
                dz2[i] += dz[o] * dz[o];
                db[i][o] += dz[o];
                for (std::size_t k = 0; k < S::input_width; ++k) {
                    const double input = i == 0 ? xr[k] : pass.y[i - 1][k];
                    dw[i][o][k] += dz[o] * input;
                    dx[k] += static_cast<double>(view.weight(o, k)) * dz[o];
                }
            }
            for (const double v : dx) dx2[i] += v * v;
            dy = dx;
        });
    }
    for (std::size_t i = 0; i < n; ++i) {
        for (const auto& row : dw[i])
            for (const double v : row) dw2[i] += v * v;
        for (const double v : db[i]) db2[i] += v * v;
        // Same sums in a different order: relative 1e-10.
        BOOST_TEST(g[i].weight == std::sqrt(dw2[i]), tt::tolerance(1e-10));
        BOOST_TEST(g[i].bias == std::sqrt(db2[i]), tt::tolerance(1e-10));
        BOOST_TEST(g[i].parameters == std::sqrt(dw2[i] + db2[i]), tt::tolerance(1e-10));
        BOOST_TEST(g[i].pre_activation == std::sqrt(dz2[i]), tt::tolerance(1e-10));
        BOOST_TEST(g[i].input == std::sqrt(dx2[i]), tt::tolerance(1e-10));
    }
}

BOOST_AUTO_TEST_CASE(gradient_norms_at_every_stage_equal_a_reference_backward_pass) {
    expect_gradient_flow_matches_reference<
        hn::network<hn::input<5>, hn::dense<9>, hn::relu, hn::dense<7>, hn::tanh, hn::dense<6>, hn::leaky_relu<0.1f>, hn::dense<3>>>(71);
    expect_gradient_flow_matches_reference<hn::network<hn::input<3>, hn::dense<12>, hn::sigmoid, hn::dense<4>, hn::gelu>>(72);
}

BOOST_AUTO_TEST_CASE(gradient_flow_reports_only_batch_level_norms_when_rows_interact) {
    using net = hn::network<hn::input<4>, hn::dense<8>, hn::batch_norm, hn::relu, hn::dense<2>>;
    static_assert(!ha::rows_are_independent<net>);
    static_assert(ha::rows_are_independent<hn::network<hn::input<4>, hn::dense<8>, hn::relu>>);
    auto p = std::make_unique<hn::parameters<net, double>>();
    hinge_test::fill_random(*p, 73);
    const std::vector<double> x = normal_samples(6 * 4, 74);
    auto flow = std::make_unique<ha::gradient_flow<net, 6, double>>();
    const auto& g = flow->measure(*p, x.data(), 6, [](std::size_t r, std::size_t j) { return hinge_test::probe_weight(r, j); });
    BOOST_TEST(g[1].parameters > 0.0);  // gamma and beta
    BOOST_TEST(g[0].input > 0.0);
    BOOST_TEST(std::isnan(g[1].pre_activation));
    BOOST_TEST(std::isnan(g[2].input));
}

// Closed form: a deep network of identity activations is the affine map W_c x + b_c
// (collapse_linear), so with dL/dy = 1/B for every sample, dL/dx = W_c^T / B in every row.
BOOST_AUTO_TEST_CASE(depth_sweep_of_a_linear_network_gives_the_closed_form_input_gradient) {
    constexpr std::size_t width = 8, batch = 32;
    auto initialise = [](auto& q, std::uint64_t seed) { hn::init::he_normal(q, seed); };
    const auto curve = ha::sweep_depth<hn::identity, width, batch>(ha::depths<3>{}, initialise, 81);
    using net = ha::deep_network<hn::identity, width, 3>;
    static_assert(ha::is_affine_network<net>);
    auto p = std::make_unique<hn::parameters<net, double>>();
    initialise(*p, 81);
    auto c = std::make_unique<hn::parameters<ha::collapse_linear_t<net>, double>>();
    ha::collapse_linear(*p, *c);
    double row = 0;
    for (std::size_t k = 0; k < width; ++k) {
        const double v = c->layer<0>().weight(0, k) / batch;
        row += v * v;
    }
    BOOST_TEST(curve[0].depth == 3u);
    BOOST_TEST(curve[0].input == std::sqrt(batch * row), tt::tolerance(1e-10));
}

BOOST_AUTO_TEST_CASE(depth_sweep_shows_sigmoid_gradients_vanish_and_he_relu_gradients_pass) {
    auto he = [](auto& q, std::uint64_t seed) { hn::init::he_normal(q, seed); };
    const auto sigmoid_curve = ha::sweep_depth<hn::sigmoid, 32>(ha::depths<4, 16>{}, he, 82);
    const auto relu_curve = ha::sweep_depth<hn::relu, 32>(ha::depths<4, 16>{}, he, 82);
    BOOST_TEST_MESSAGE("first/last hidden-layer gradient, depth 4 and 16: sigmoid " << sigmoid_curve[0].ratio << ", "
                                                                                   << sigmoid_curve[1].ratio << "; relu "
                                                                                   << relu_curve[0].ratio << ", " << relu_curve[1].ratio);
    // sigmoid' <= 1/4: 15 layers between first and last shrink the gradient by orders of magnitude.
    BOOST_TEST(sigmoid_curve[1].ratio < 1e-3);
    BOOST_TEST(sigmoid_curve[1].ratio < sigmoid_curve[0].ratio);
    // He keeps the backward signal's scale per layer: within a small factor over 16 layers.
    BOOST_TEST(relu_curve[1].ratio > 0.1);
    BOOST_TEST(relu_curve[1].ratio < 10.0);
}

// ---- linear regions: exact 1-D -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_absolute_value_network_has_exactly_one_breakpoint_at_the_middle) {
    // |x| = relu(x) + relu(-x); along x = -1 + 2t it switches once, at t = 0.5.
    using net = hn::network<hn::input<1>, hn::dense<2>, hn::relu, hn::dense<1>>;
    hn::parameters<net, double> p;
    p.layer<0>().weight(0, 0) = 1;
    p.layer<0>().weight(1, 0) = -1;
    p.layer<1>().weight(0, 0) = 1;
    p.layer<1>().weight(0, 1) = 1;
    const std::array<double, 1> a{-1}, b{1};
    const auto regions = ha::segment_regions(p, std::span<const double, 1>(a), std::span<const double, 1>(b));
    BOOST_TEST_REQUIRE(regions.breakpoints.size() == 1u);
    BOOST_TEST(regions.breakpoints[0] == 0.5);  // exact: (0 - (-1)) / 2
    BOOST_TEST_REQUIRE(regions.pieces.size() == 2u);
    // |-1 + 2t| = 1 - 2t on [0, 1/2] and -1 + 2t on [1/2, 1].
    BOOST_TEST(regions.pieces[0].offset[0] == 1.0);
    BOOST_TEST(regions.pieces[0].slope[0] == -2.0);
    BOOST_TEST(regions.pieces[1].offset[0] == -1.0);
    BOOST_TEST(regions.pieces[1].slope[0] == 2.0);
    BOOST_TEST(regions.pieces[0].t_begin == 0.0);
    BOOST_TEST(regions.pieces[1].t_end == 1.0);
}

// Dense sampling (100,001 points, the fused forward pass in double) against the exact partition:
// every sample's output equals its piece's affine function (1e-10), the activation pattern
// changes between two neighbouring samples exactly when a breakpoint lies between them, and the
// breakpoints found by sampling are all found exactly.
template <class Net>
void expect_breakpoints_match_dense_sampling(std::uint64_t seed) {
    auto p = std::make_unique<hn::parameters<Net, double>>();
    hinge_test::fill_random(*p, seed, 0.9);
    hn::for_each_index<Net::stage_count>([&](auto index) {  // biases of order 1: kinks inside the segment
        auto view = p->template layer<decltype(index)::value>();
        hn::init::random_generator random(seed + 7 + decltype(index)::value);
        if constexpr (requires { view.running_variance(0); }) {
            for (std::size_t o = 0; o < view.output_width; ++o) {
                view.shift(o) = 2 * random.uniform() - 1;
                view.running_mean(o) = 0.3 * (2 * random.uniform() - 1);
                view.running_variance(o) = 0.5 + random.uniform();
            }
        } else {
            for (std::size_t o = 0; o < view.output_width; ++o) view.bias(o) = 2 * random.uniform() - 1;
        }
    });
    const std::vector<double> ends = normal_samples(2 * Net::input_size, seed + 2, 4.0);
    const std::span<const double, Net::input_size> a(ends.data(), Net::input_size), b(ends.data() + Net::input_size, Net::input_size);
    const auto regions = ha::segment_regions(*p, a, b);
    BOOST_TEST_REQUIRE(regions.pieces.size() == regions.breakpoints.size() + 1);
    BOOST_TEST(regions.breakpoints.size() >= 5u);  // a test with no kinks proves nothing
    BOOST_TEST_MESSAGE("breakpoints: " << regions.breakpoints.size());

    constexpr std::size_t samples = 100001, batch = 256;
    auto ws = std::make_unique<hn::workspace<Net, batch, double, false>>();
    std::vector<double> x(batch * Net::input_size);
    std::vector<ha::activation_pattern<Net>> patterns(samples);
    std::size_t piece = 0;
    double worst = 0;
    for (std::size_t first = 0; first < samples; first += batch) {
        const std::size_t count = std::min(batch, samples - first);
        for (std::size_t s = 0; s < count; ++s) {
            const double t = static_cast<double>(first + s) / (samples - 1);
            for (std::size_t k = 0; k < Net::input_size; ++k) x[s * Net::input_size + k] = a[k] + t * (b[k] - a[k]);
        }
        hn::forward(*p, *ws, x.data(), count);
        for (std::size_t s = 0; s < count; ++s) {
            const double t = static_cast<double>(first + s) / (samples - 1);
            while (piece + 1 < regions.pieces.size() && t > regions.pieces[piece].t_end) ++piece;
            for (std::size_t j = 0; j < Net::output_size; ++j)
                worst = std::max(worst, std::fabs(ws->output(s)[j] - regions.pieces[piece](j, t)));
            patterns[first + s] = ha::pattern_of(*p, *ws, x.data(), s);
        }
    }
    BOOST_TEST(worst < 1e-10);
    // Pattern changes between neighbours <-> a breakpoint in between.
    std::size_t next = 0, changes = 0;
    const double h = 1.0 / (samples - 1);
    for (std::size_t s = 0; s + 1 < samples; ++s) {
        const double t0 = s * h, t1 = (s + 1) * h;
        std::size_t inside = 0;
        while (next < regions.breakpoints.size() && regions.breakpoints[next] <= t1) {
            inside += regions.breakpoints[next] > t0;
            ++next;
        }
        const bool changed = patterns[s] != patterns[s + 1];
        changes += changed;
        // Two breakpoints in one gap may restore the pattern; one never does.
        if (inside == 1) BOOST_TEST(changed, "breakpoint inside (" << t0 << ", " << t1 << "] but no pattern change");
        if (inside == 0) BOOST_TEST(!changed, "pattern change in (" << t0 << ", " << t1 << "] but no breakpoint");
    }
    BOOST_TEST(changes <= regions.breakpoints.size());
    BOOST_TEST(changes + 2 >= regions.breakpoints.size());  // at most a coincidence or two per 1e5 gaps
}

BOOST_AUTO_TEST_CASE(exact_breakpoints_agree_with_dense_sampling) {
    expect_breakpoints_match_dense_sampling<hn::network<hn::input<2>, hn::dense<12>, hn::relu, hn::dense<10>, hn::relu, hn::dense<2>>>(91);
    expect_breakpoints_match_dense_sampling<
        hn::network<hn::input<3>, hn::dense<9>, hn::leaky_relu<0.2f>, hn::dense<8>, hn::prelu, hn::dense<6>, hn::relu6, hn::dense<1>>>(92);
    expect_breakpoints_match_dense_sampling<
        hn::network<hn::input<2>, hn::dense<10>, hn::batch_norm, hn::relu, hn::dense<7>, hn::noisy_relu<0.3f>, hn::dense<1>>>(93);
}

// ---- linear regions: 2-D slice and data sets ---------------------------------------------------

// k lines in general position cut the plane into 1 + k + k(k-1)/2 regions. One relu layer whose
// units are the tangents of the unit circle at the vertices of a regular pentagon, x cos a +
// y sin a = 1: all 10 crossings lie within 3.3 of the origin, inside the window [-5, 5]^2.
BOOST_AUTO_TEST_CASE(a_2d_map_of_five_lines_in_general_position_has_sixteen_regions) {
    using net = hn::network<hn::input<2>, hn::dense<5>, hn::relu, hn::dense<1>>;
    hn::parameters<net, double> p;
    for (std::size_t k = 0; k < 5; ++k) {
        const double angle = 2 * 3.141592653589793 * static_cast<double>(k) / 5 + 0.3;
        p.layer<0>().weight(k, 0) = std::cos(angle);
        p.layer<0>().weight(k, 1) = std::sin(angle);
        p.layer<0>().bias(k) = -1;
        p.layer<1>().weight(0, k) = 1;
    }
    const ha::plane<double, 2> slice{{0, 0}, {1, 0}, {0, 1}};
    const ha::grid window{-5, 5, -5, 5, 301, 301};
    const auto map = ha::region_map(p, slice, window);
    BOOST_TEST(map.region_count == 1u + 5u + 10u);

    // The map is the partition by brute-force patterns: two points share an id iff their
    // reference patterns are equal.
    std::vector<std::vector<std::size_t>> pattern_of_id(map.region_count);
    for (std::size_t row = 0; row < window.rows; ++row)
        for (std::size_t column = 0; column < window.columns; ++column) {
            const std::array<double, 2> x{window.u(column), window.v(row)};
            const auto pattern = reference_pattern(p, x.data());
            auto& known = pattern_of_id[map(row, column)];
            if (known.empty()) known = pattern;
            BOOST_TEST_REQUIRE((known == pattern));
        }
    BOOST_TEST(std::set<std::vector<std::size_t>>(pattern_of_id.begin(), pattern_of_id.end()).size() == map.region_count);
}

BOOST_AUTO_TEST_CASE(distinct_activation_patterns_on_a_data_set_equal_a_brute_force_count) {
    using net = hn::network<hn::input<3>, hn::dense<6>, hn::relu, hn::dense<5>, hn::prelu, hn::dense<2>>;
    auto p = std::make_unique<hn::parameters<net, double>>();
    hinge_test::fill_random(*p, 101, 0.9);
    p->layer<1>().slope(2) = -0.5;  // a negative learned slope: the branch must come from z, not y
    const std::vector<double> x = normal_samples(700 * 3, 102);
    auto ws = std::make_unique<hn::workspace<net, 64, double, false>>();
    const std::size_t counted = ha::count_activation_patterns(*p, *ws, x.data(), 700);
    std::set<std::vector<std::size_t>> brute;
    for (std::size_t s = 0; s < 700; ++s) brute.insert(reference_pattern(*p, x.data() + 3 * s));
    BOOST_TEST(counted == brute.size());
    BOOST_TEST(counted > 20u);
}

// ---- linear collapse ---------------------------------------------------------------------------

using stack_with_one_relu = hn::network<hn::input<6>, hn::dense<9>, hn::dense<7>, hn::relu, hn::dense<5>, hn::dense<4>>;
static_assert(std::is_same_v<ha::collapse_linear_t<stack_with_one_relu>,
                             hn::network<hn::input<6>, hn::dense<7>, hn::relu, hn::dense<4>>>);
static_assert(!ha::is_affine_network<stack_with_one_relu>);
static_assert(ha::is_affine_run<stack_with_one_relu, 0, 1>);
static_assert(!ha::is_affine_run<stack_with_one_relu, 0, 2>);
static_assert(ha::is_affine_run<stack_with_one_relu, 2, 4>);

using linear_stack = hn::network<hn::input<6>, hn::dense<9>, hn::dense<7>, hn::dense<4>>;
static_assert(ha::is_affine_network<linear_stack>);
static_assert(std::is_same_v<ha::collapse_linear_t<linear_stack>, hn::network<hn::input<6>, hn::dense<4>>>);

// batch_norm stays (its training statistics are not affine per sample), prelu follows its run.
using with_batch_norm = hn::network<hn::input<5>, hn::dense<8>, hn::dense<6>, hn::batch_norm, hn::prelu, hn::dense<7>,
                                    hn::dense<3>, hn::leaky_relu<0.1f>, hn::dense<2>>;
static_assert(std::is_same_v<ha::collapse_linear_t<with_batch_norm>,
                             hn::network<hn::input<5>, hn::dense<6>, hn::batch_norm, hn::prelu, hn::dense<3>,
                                         hn::leaky_relu<0.1f>, hn::dense<2>>>);
static_assert(!ha::is_affine_network<with_batch_norm>);

// Nothing to fold: the type is unchanged.
using mlp = hn::network<hn::input<4>, hn::dense<8>, hn::relu, hn::dense<3>>;
static_assert(std::is_same_v<ha::collapse_linear_t<mlp>, mlp>);

template <class Net>
void expect_collapsed_equals_original(std::uint64_t seed) {
    using collapsed = ha::collapse_linear_t<Net>;
    auto p = std::make_unique<hn::parameters<Net, double>>();
    hinge_test::fill_random(*p, seed);
    auto q = std::make_unique<hn::parameters<collapsed, double>>();
    ha::collapse_linear(*p, *q);
    constexpr std::size_t samples = 200;
    const std::vector<double> x = normal_samples(samples * Net::input_size, seed + 1);
    auto deep = std::make_unique<hn::workspace<Net, samples, double, false>>();
    auto shallow = std::make_unique<hn::workspace<collapsed, samples, double, false>>();
    hn::forward(*p, *deep, x.data());
    hn::forward(*q, *shallow, x.data());
    double worst = 0;
    for (std::size_t s = 0; s < samples; ++s)
        for (std::size_t j = 0; j < Net::output_size; ++j) worst = std::max(worst, std::fabs(deep->output(s)[j] - shallow->output(s)[j]));
    BOOST_TEST_MESSAGE("collapsed vs original, " << Net::stage_count << " -> " << collapsed::stage_count << " stages: " << worst);
    BOOST_TEST(worst < 1e-12);  // the same function; only the order of rounding differs
}

BOOST_AUTO_TEST_CASE(collapsed_network_computes_the_original_function) {
    expect_collapsed_equals_original<linear_stack>(111);
    expect_collapsed_equals_original<stack_with_one_relu>(112);
    expect_collapsed_equals_original<with_batch_norm>(113);
}

BOOST_AUTO_TEST_CASE(collapsing_a_linear_stack_gives_the_product_of_its_weights) {
    // W = W3 W2 W1 and b = W3 (W2 b1 + b2) + b3, written out by hand.
    auto p = std::make_unique<hn::parameters<linear_stack, double>>();
    hinge_test::fill_random(*p, 114);
    auto q = std::make_unique<hn::parameters<ha::collapse_linear_t<linear_stack>, double>>();
    ha::collapse_linear(*p, *q);
    const auto l1 = p->layer<0>();
    const auto l2 = p->layer<1>();
    const auto l3 = p->layer<2>();
    double worst = 0;
    for (std::size_t o = 0; o < 4; ++o) {
        double b = l3.bias(o);
        for (std::size_t m = 0; m < 7; ++m) {
            double inner = l2.bias(m);
            for (std::size_t k = 0; k < 9; ++k) inner += l2.weight(m, k) * l1.bias(k);
            b += l3.weight(o, m) * inner;
        }
        worst = std::max(worst, std::fabs(q->layer<0>().bias(o) - b));
        for (std::size_t i = 0; i < 6; ++i) {
            double w = 0;
            for (std::size_t m = 0; m < 7; ++m)
                for (std::size_t k = 0; k < 9; ++k) w += l3.weight(o, m) * l2.weight(m, k) * l1.weight(k, i);
            worst = std::max(worst, std::fabs(q->layer<0>().weight(o, i) - w));
        }
    }
    BOOST_TEST(worst < 1e-12);
}

BOOST_AUTO_TEST_SUITE_END()
