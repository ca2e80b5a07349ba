// Tests of core/: the planner's passes (flatten, group, infer shapes), the storage layout, the
// logical view of a dense stage and He initialisation. Compile-time facts are static_asserts;
// run-time facts are Boost.Test cases. No kernel is involved, so this file does not include xsimd.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <type_traits>
#include <utility>

#include <boost/test/unit_test.hpp>

#include <hinge/activations/identity.hpp>
#include <hinge/activations/relu.hpp>
#include <hinge/core/network.hpp>
#include <hinge/core/sequential.hpp>
#include <hinge/core/stage.hpp>
#include <hinge/core/storage.hpp>
#include <hinge/init/he.hpp>
#include <hinge/layers/dense.hpp>

namespace {

namespace hn = hinge;

// ---- marker types: the planner must work on any layer that satisfies the concepts -------------

// An affine layer whose width depends on its input, so that shape inference is visible. It only
// declares (core/stage.hpp): its shape rule and its tensors, a weight and a bias.
struct doubling_layer {
    static constexpr bool opens_stage = true;
    static constexpr bool reads_network_input = true;
    static constexpr bool affine = true;
    template <class In>
    static constexpr auto output_shape() {
        return hn::shape<2 * In::size>{};
    }
    template <class In>
    static constexpr std::size_t fan_in() {
        return In::size;
    }
    template <class S>
    static constexpr std::array<hn::tensor_spec, 2> tensors() {
        return {hn::weight_matrix("weight", "weight", S::input_width, S::output_width, S::fan_out),
                hn::unit_vector("bias", hn::tensor_role::bias, "bias", S::output_width)};
    }
};

// An element-wise activation that is not one of the library's.
struct marker_activation {
    static constexpr bool elementwise = true;
    static constexpr bool derivative_from_output = true;
    template <class V>
    static constexpr V forward(V z) noexcept {
        return z;
    }
    template <class V>
    static constexpr V derivative(V) noexcept {
        return V(1);
    }
};

static_assert(hn::affine_layer<doubling_layer> && hn::layer<doubling_layer>);
static_assert(hn::elementwise_activation<marker_activation> && hn::layer<marker_activation>);
static_assert(!hn::affine_layer<marker_activation>);
static_assert(hn::affine_layer<hn::dense<3>> && !hn::elementwise_activation<hn::dense<3>>);
static_assert(hn::elementwise_activation<hn::relu> && hn::elementwise_activation<hn::identity>);
static_assert(!hn::layer<int> && !hn::layer<hn::input<3>>);

// ---- pass 1: flattening ------------------------------------------------------------------------

// sequential<> is transparent at any depth, including empty blocks and an activation in an outer
// list that follows a dense inside a block.
using flat = hn::network<hn::input<4>, hn::dense<3>, hn::relu, hn::dense<5>, hn::relu, hn::dense<2>>;
using nested = hn::network<
    hn::input<4>,
    hn::sequential<hn::sequential<hn::dense<3>>, hn::relu, hn::sequential<>>,
    hn::sequential<hn::sequential<hn::sequential<hn::dense<5>, hn::relu>>>,
    hn::dense<2>>;
using nested_across_blocks =
    hn::network<hn::input<4>, hn::sequential<hn::dense<3>>, hn::relu, hn::sequential<hn::dense<5>>,
                hn::sequential<hn::relu, hn::dense<2>>>;
static_assert(std::is_same_v<flat::stages, nested::stages>);
static_assert(std::is_same_v<flat::stages, nested_across_blocks::stages>);
static_assert(std::is_same_v<hn::planned_stages<hn::shape<4>, hn::sequential<hn::dense<3>, hn::relu>, hn::dense<2>>,
                             hn::planned_stages<hn::shape<4>, hn::dense<3>, hn::relu, hn::dense<2>>>);

// ---- pass 2: grouping --------------------------------------------------------------------------

// One stage per affine layer; the activation that follows is fused into it, and an affine layer
// followed by nothing (or by another affine layer) gets identity.
static_assert(std::is_same_v<flat::stages, hn::stage_list<hn::stage<hn::dense<3>, hn::relu, hn::shape<4>, hn::shape<3>>,
                                                          hn::stage<hn::dense<5>, hn::relu, hn::shape<3>, hn::shape<5>>,
                                                          hn::stage<hn::dense<2>, hn::identity, hn::shape<5>, hn::shape<2>>>>);
static_assert(std::is_same_v<hn::planned_stages<hn::shape<6>, hn::dense<3>>,
                             hn::stage_list<hn::stage<hn::dense<3>, hn::identity, hn::shape<6>, hn::shape<3>>>>);
static_assert(std::is_same_v<hn::planned_stages<hn::shape<6>, hn::dense<3>, hn::dense<4>, hn::relu>,
                             hn::stage_list<hn::stage<hn::dense<3>, hn::identity, hn::shape<6>, hn::shape<3>>,
                                            hn::stage<hn::dense<4>, hn::relu, hn::shape<3>, hn::shape<4>>>>);
// An explicit identity is the same plan as no activation.
static_assert(std::is_same_v<hn::planned_stages<hn::shape<6>, hn::dense<3>, hn::identity, hn::dense<4>>,
                             hn::planned_stages<hn::shape<6>, hn::dense<3>, hn::dense<4>>>);

// ---- pass 3: shape inference, on marker types --------------------------------------------------

using markers = hn::network<hn::input<3>, doubling_layer, marker_activation, doubling_layer,
                            hn::sequential<doubling_layer, marker_activation>>;
static_assert(std::is_same_v<markers::stages,
                             hn::stage_list<hn::stage<doubling_layer, marker_activation, hn::shape<3>, hn::shape<6>>,
                                            hn::stage<doubling_layer, hn::identity, hn::shape<6>, hn::shape<12>>,
                                            hn::stage<doubling_layer, marker_activation, hn::shape<12>, hn::shape<24>>>>);
static_assert(markers::stage_count == 3 && markers::input_size == 3 && markers::output_size == 24);
static_assert(markers::parameter_count == (3 * 6 + 6) + (6 * 12 + 12) + (12 * 24 + 24));

// Each stage's input width is the previous stage's output width.
template <class Net>
constexpr bool widths_chain() {
    bool ok = Net::template stage<0>::input_width == Net::input_size;
    hn::for_each_index<Net::stage_count - 1>([&](auto i) {
        constexpr std::size_t k = decltype(i)::value;
        ok = ok && Net::template stage<k>::output_width == Net::template stage<k + 1>::input_width;
    });
    return ok && Net::template stage<Net::stage_count - 1>::output_width == Net::output_size;
}
static_assert(widths_chain<flat>() && widths_chain<markers>());

// dense<Width, In> with the matching In plans to the same shapes as dense<Width>.
static_assert(std::is_same_v<hn::planned_stages<hn::shape<4>, hn::dense<3, 4>, hn::dense<2, 3>>,
                             hn::stage_list<hn::stage<hn::dense<3, 4>, hn::identity, hn::shape<4>, hn::shape<3>>,
                                            hn::stage<hn::dense<2, 3>, hn::identity, hn::shape<3>, hn::shape<2>>>>);

// ---- network members -----------------------------------------------------------------------------

using mlp = hn::network<hn::input<784>, hn::dense<256>, hn::relu, hn::dense<128>, hn::relu, hn::dense<10>>;
static_assert(mlp::parameter_count == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
static_assert(mlp::input_size == 784 && mlp::output_size == 10 && mlp::stage_count == 3);
static_assert(std::is_same_v<mlp::stage<1>, hn::stage<hn::dense<128>, hn::relu, hn::shape<256>, hn::shape<128>>>);
static_assert(std::is_same_v<mlp::stage<2>::activation, hn::identity>);
static_assert(std::is_same_v<mlp::stage<2>::layer_type, hn::dense<10>>);

// ---- layout --------------------------------------------------------------------------------------

// A network with widths below, at and above one panel (16 floats, 8 doubles).
using odd = hn::network<hn::input<5>, hn::dense<7>, hn::relu, hn::dense<17>, hn::dense<1>>;
static_assert(odd::parameter_count == (5 * 7 + 7) + (7 * 17 + 17) + (17 * 1 + 1));

// The largest transposed-weight scratch a dense stage of Net asks a training workspace for, and
// whether the workspace's scratch holds it.
template <class Net, class T>
constexpr std::size_t transposed_weight_size() {
    std::size_t largest = 0;
    hn::for_each_index<Net::stage_count>([&](auto i) {
        using P = typename Net::template placed<decltype(i)::value>;
        using L = typename P::layer_type;
        largest = std::max(largest, L::template buffers<P, T, 1, true>()[L::transposed_weight].size);
    });
    return hn::workspace_layout<Net, T, 1, true>::scratch_size >= largest ? largest : 0;
}

// Laws every layout of a network of dense stages (with relu or identity) must satisfy.
template <class Net, class T>
constexpr bool layout_laws() {
    using L = hn::layout<Net, T>;
    constexpr std::size_t P = hn::panel_width<T>;
    static_assert(P * sizeof(T) == hn::storage_alignment);
    std::size_t end = 0;
    std::size_t activation_end = 0;
    std::size_t widest = 0;
    std::size_t transposed = 0;
    for (const hn::stage_layout& s : L::stages) {
        // Every tensor starts on a 64-byte boundary of a 64-byte aligned block.
        if ((s.weight_offset * sizeof(T)) % 64 != 0 || (s.bias_offset * sizeof(T)) % 64 != 0) return false;
        if ((s.activation_offset * sizeof(T)) % 64 != 0) return false;
        // Padded output: the smallest whole number of panels that holds the output.
        if (s.padded_output % P != 0 || s.padded_output < s.output_width || s.padded_output >= s.output_width + P)
            return false;
        // Tensors are packed in stage order, weights (In x padded) then bias (padded).
        if (s.weight_offset != end || s.bias_offset != s.weight_offset + s.input_width * s.padded_output)
            return false;
        end = s.bias_offset + s.padded_output;
        if (s.activation_offset != activation_end) return false;
        activation_end += s.padded_output;
        widest = std::max(widest, s.padded_output);
        transposed = std::max(transposed, hn::round_up(s.input_width, P) * s.output_width);
    }
    return L::parameter_size == end && L::activation_row_size == activation_end && L::flat_gradient_stride >= widest && L::flat_gradient_stride < widest + 2 * P &&
           L::trainable_size == L::parameter_size &&  // no buffers without batch_norm
           transposed_weight_size<Net, T>() == transposed && L::padded_input % P == 0 &&
           L::padded_input >= Net::input_size && L::padded_input < Net::input_size + P &&
           L::parameter_size >= Net::parameter_count;
}
static_assert(layout_laws<odd, float>() && layout_laws<odd, double>());
static_assert(layout_laws<flat, float>() && layout_laws<flat, double>());
static_assert(layout_laws<mlp, float>() && layout_laws<mlp, double>());
static_assert(layout_laws<hn::network<hn::input<1>, hn::dense<1>>, float>());

// The same laws, worked out by hand for `odd`, so that a wrong law cannot hide a wrong layout.
using odd_float = hn::layout<odd, float>;  // panel 16: pads 7 -> 16, 17 -> 32, 1 -> 16
static_assert(odd_float::stages[0].padded_output == 16 && odd_float::stages[1].padded_output == 32 &&
              odd_float::stages[2].padded_output == 16);
static_assert(odd_float::stages[0].weight_offset == 0 && odd_float::stages[0].bias_offset == 5 * 16);
static_assert(odd_float::stages[1].weight_offset == 96 && odd_float::stages[1].bias_offset == 96 + 7 * 32);
static_assert(odd_float::stages[2].weight_offset == 352 && odd_float::stages[2].bias_offset == 352 + 17 * 16);
static_assert(odd_float::parameter_size == 640 && odd_float::activation_row_size == 64);
static_assert(odd_float::stages[1].activation_offset == 16 && odd_float::stages[2].activation_offset == 48);
static_assert(odd_float::padded_input == 16 && odd_float::flat_gradient_stride == 32);
static_assert(transposed_weight_size<odd, float>() == 16 * 17);
using odd_double = hn::layout<odd, double>;  // panel 8: pads 7 -> 8, 17 -> 24, 1 -> 8
static_assert(odd_double::stages[0].padded_output == 8 && odd_double::stages[1].padded_output == 24 &&
              odd_double::stages[2].padded_output == 8);
static_assert(odd_double::stages[1].weight_offset == 48 && odd_double::stages[2].weight_offset == 240);
static_assert(odd_double::parameter_size == 384 && odd_double::activation_row_size == 40);
static_assert(transposed_weight_size<odd, double>() == 8 * 17);

// ---- storage types -------------------------------------------------------------------------------

template <class Net, class T>
constexpr bool storage_laws() {
    using P = hn::parameters<Net, T>;
    using G = hn::gradients<Net, T>;
    return std::is_trivially_copyable_v<P> && std::is_trivially_copyable_v<G> && alignof(P) == 64 &&
           alignof(G) == 64 && P::storage_size == hn::layout<Net, T>::parameter_size &&
           P::storage_size >= Net::parameter_count && sizeof(P) == hn::round_up(P::storage_size * sizeof(T), 64) &&
           !std::is_same_v<P, G> && !std::is_convertible_v<P&, G&>;
}
static_assert(storage_laws<odd, float>() && storage_laws<odd, double>() && storage_laws<mlp, float>());
static_assert(std::is_trivially_copyable_v<hn::workspace<odd, 3, float>> && alignof(hn::workspace<odd, 3, double>) == 64);
static_assert(std::is_same_v<hn::parameters<odd>, hn::parameters<odd, float>>);

// The documented panel layout of weights: W[j][k][c] = weight(output j*P + c, input k).
template <class T, std::size_t In>
std::size_t documented_weight_index(std::size_t output, std::size_t input) {
    constexpr std::size_t P = hn::panel_width<T>;
    const std::size_t j = output / P;
    const std::size_t c = output % P;
    return j * (In * P) + input * P + c;
}

// Fills every logical weight and bias of every stage with a distinct non-zero value through the
// view, then checks the round trip, that the storage locations are distinct and documented, and
// that exactly parameter_count entries of the block became non-zero (padding stayed zero).
template <class Net, class T>
void check_views_cover_exactly_the_logical_entries() {
    auto p = std::make_unique<hn::parameters<Net, T>>();
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(p->data()) % 64 == 0u);
    T next = T(1);
    std::set<const T*> seen;
    std::size_t out_of_place = 0;
    hn::for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t I = decltype(index)::value;
        constexpr hn::stage_layout s = hn::layout<Net, T>::stages[I];
        auto view = p->template layer<I>();
        static_assert(decltype(view)::input_width == s.input_width && decltype(view)::output_width == s.output_width);
        const T* weights = p->data() + s.weight_offset;
        for (std::size_t o = 0; o < s.output_width; ++o) {
            for (std::size_t i = 0; i < s.input_width; ++i) {
                T& w = view.weight(o, i);
                seen.insert(&w);
                out_of_place += &w != weights + documented_weight_index<T, s.input_width>(o, i);
                w = next++;
            }
            T& b = view.bias(o);
            seen.insert(&b);
            out_of_place += &b != p->data() + s.bias_offset + o;
            b = next++;
        }
        BOOST_TEST(view.weight_storage().data() == weights);
        BOOST_TEST(view.biases().data() == p->data() + s.bias_offset);
    });
    BOOST_TEST(seen.size() == Net::parameter_count);  // distinct locations
    BOOST_TEST(out_of_place == 0u);                     // at the documented panel positions
    BOOST_TEST(*seen.begin() >= p->data());
    BOOST_TEST(*seen.rbegin() < p->data() + p->storage_size);

    // Round trip through the const view, in the same order.
    const hn::parameters<Net, T>& cp = *p;
    T expected = T(1);
    std::size_t mismatches = 0;
    hn::for_each_index<Net::stage_count>([&](auto index) {
        auto view = cp.template layer<decltype(index)::value>();
        for (std::size_t o = 0; o < view.output_width; ++o) {
            for (std::size_t i = 0; i < view.input_width; ++i) mismatches += view.weight(o, i) != expected++;
            mismatches += view.bias(o) != expected++;
        }
    });
    BOOST_TEST(mismatches == 0u);
    const auto storage = cp.storage();
    const auto non_zero = std::count_if(storage.begin(), storage.end(), [](T v) { return v != T(0); });
    BOOST_TEST(static_cast<std::size_t>(non_zero) == Net::parameter_count);  // padding stayed zero

    // Copies compare equal; a change anywhere makes them differ.
    auto q = std::make_unique<hn::parameters<Net, T>>(*p);
    BOOST_TEST((*q == *p));
    q->template layer<Net::stage_count - 1>().bias(0) += T(1);
    BOOST_TEST(!(*q == *p));
}

template <class Net, class T>
double sample_mean(const hn::parameters<Net, T>& p, std::size_t stage_index, double* variance) {
    double sum = 0, square_sum = 0;
    std::size_t n = 0;
    hn::for_each_index<Net::stage_count>([&](auto index) {
        if (decltype(index)::value != stage_index) return;
        auto view = p.template layer<decltype(index)::value>();
        for (std::size_t o = 0; o < view.output_width; ++o)
            for (std::size_t i = 0; i < view.input_width; ++i) {
                const double w = static_cast<double>(view.weight(o, i));
                sum += w;
                square_sum += w * w;
                ++n;
            }
    });
    const double mean = sum / static_cast<double>(n);
    *variance = (square_sum - static_cast<double>(n) * mean * mean) / static_cast<double>(n - 1);
    return mean;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(core_network)

BOOST_AUTO_TEST_CASE(dense_view_maps_logical_entries_to_distinct_documented_locations_and_leaves_padding_zero) {
    check_views_cover_exactly_the_logical_entries<odd, float>();
    check_views_cover_exactly_the_logical_entries<odd, double>();
    check_views_cover_exactly_the_logical_entries<flat, float>();
    check_views_cover_exactly_the_logical_entries<hn::network<hn::input<33>, hn::dense<1>>, double>();
}

BOOST_AUTO_TEST_CASE(storage_blocks_are_64_byte_aligned_on_the_heap_and_value_initialised_to_zero) {
    auto p = std::make_unique<hn::parameters<odd, double>>();
    auto g = std::make_unique<hn::gradients<odd, float>>();
    auto ws = std::make_unique<hn::workspace<odd, 3, float>>();
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(p->data()) % 64 == 0u);
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(g->data()) % 64 == 0u);
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(ws->activation<0>()) % 64 == 0u);
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(ws->activation<2>()) % 64 == 0u);
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(ws->pre_activation_gradient<1>()) % 64 == 0u);
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(ws->input_gradient_data()) % 64 == 0u);
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(ws->buffer<1>(hn::dense<17>::transposed_weight)) % 64 == 0u);
    BOOST_TEST(std::all_of(p->storage().begin(), p->storage().end(), [](double v) { return v == 0.0; }));
    // The rows of stage I's activation are activation_stride<I> apart, inside the block.
    BOOST_TEST(ws->activation<1>() - ws->activation<0>() == std::ptrdiff_t(3 * 16));
    BOOST_TEST(ws->output(2).data() == ws->activation<2>() + 2 * ws->activation_stride<2>);
}

BOOST_AUTO_TEST_CASE(he_normal_is_bit_identical_for_a_seed_and_differs_between_seeds) {
    using net = hn::network<hn::input<33>, hn::dense<17>, hn::relu, hn::dense<3>>;
    auto a = std::make_unique<hn::parameters<net>>();
    auto b = std::make_unique<hn::parameters<net>>();
    auto c = std::make_unique<hn::parameters<net>>();
    hn::init::he_normal(*a, 42);
    hn::init::he_normal(*b, 42);
    hn::init::he_normal(*c, 43);
    BOOST_TEST(std::memcmp(a->data(), b->data(), sizeof(float) * a->storage_size) == 0);
    BOOST_TEST(std::memcmp(a->data(), c->data(), sizeof(float) * a->storage_size) != 0);
    // Re-initialising overwrites everything: a block that held other values ends up identical.
    hn::init::he_normal(*c, 42);
    BOOST_TEST(std::memcmp(a->data(), c->data(), sizeof(float) * a->storage_size) == 0);

    auto d = std::make_unique<hn::parameters<net, double>>();
    auto e = std::make_unique<hn::parameters<net, double>>();
    hn::init::he_normal(*d, 42);
    hn::init::he_normal(*e, 42);
    BOOST_TEST(std::memcmp(d->data(), e->data(), sizeof(double) * d->storage_size) == 0);
}

// W ~ N(0, 2 / fan_in), b = 0, padding 0. With 512 x 512 = 262144 samples the standard error of
// the sample variance is sqrt(2 / n) = 0.28% of it, so the stated 5% is ~18 standard errors; the
// 512 -> 10 layer has 5120 samples (standard error 2%) and gets 15%. The mean must be within 5
// standard errors, sqrt(variance / n), of 0.
BOOST_AUTO_TEST_CASE(he_normal_weights_have_variance_two_over_fan_in_and_zero_biases_and_padding) {
    using net = hn::network<hn::input<512>, hn::dense<512>, hn::relu, hn::dense<10>>;
    auto p = std::make_unique<hn::parameters<net>>();
    std::fill(p->storage().begin(), p->storage().end(), 7.f);  // he_normal must overwrite all of it
    hn::init::he_normal(*p, 2024);

    const double expected = 2.0 / 512.0;
    double variance0 = 0, variance1 = 0;
    const double mean0 = sample_mean(*p, 0, &variance0);
    const double mean1 = sample_mean(*p, 1, &variance1);
    BOOST_TEST_MESSAGE("he_normal 512x512: variance " << variance0 << " (expected " << expected << "), mean "
                                                      << mean0);
    BOOST_TEST(std::fabs(variance0 / expected - 1.0) < 0.05);
    BOOST_TEST(std::fabs(variance1 / expected - 1.0) < 0.15);
    BOOST_TEST(std::fabs(mean0) < 5.0 * std::sqrt(expected / (512.0 * 512.0)));
    BOOST_TEST(std::fabs(mean1) < 5.0 * std::sqrt(expected / (512.0 * 10.0)));

    // Everything that is not a logical weight is zero: biases and the padding of 10 -> 16.
    std::size_t non_zero = 0;
    for (float v : p->storage()) non_zero += v != 0.f;
    BOOST_TEST(non_zero == std::size_t{512 * 512 + 512 * 10});  // a zero draw has probability ~0
    const auto view = std::as_const(*p).layer<1>();
    BOOST_TEST(std::all_of(view.biases().begin(), view.biases().end(), [](float v) { return v == 0.f; }));
    std::size_t non_zero_padding = 0;
    for (std::size_t i = 0; i < 512; ++i)
        for (std::size_t o = 10; o < 16; ++o) non_zero_padding += view.weight_storage()[i * 16 + o] != 0.f;
    BOOST_TEST(non_zero_padding == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
