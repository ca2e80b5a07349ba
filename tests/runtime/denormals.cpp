// The denormal guard (runtime/denormals.hpp): inside its scope a product whose exact result is
// denormal comes out as zero, and a denormal input reads as zero; after the scope both are back
// to IEEE, and nested guards restore their own entry state.
#include <limits>

#include <boost/test/unit_test.hpp>

#include <hinge/runtime/denormals.hpp>

namespace {
// volatile: the product must be computed at run time, under the current MXCSR, not folded by the
// compiler (which always rounds as IEEE does, without FTZ).
float product(float a, float b) {
    volatile float x = a;
    volatile float y = b;
    return x * y;
}
// 2^-70 * 2^-70 = 2^-140: below the smallest normal float (2^-126), above the smallest denormal
// (2^-149), so IEEE gives exactly 2^-140 and FTZ gives 0.
constexpr float tiny = 0x1p-70f;
constexpr float denormal_product = 0x1p-140f;
constexpr float denormal = 0x1p-140f;
}  // namespace

BOOST_AUTO_TEST_SUITE(runtime_denormals)

BOOST_AUTO_TEST_CASE(a_denormal_product_is_flushed_inside_the_scope_and_not_after) {
    static_assert(denormal_product < std::numeric_limits<float>::min() && denormal_product > 0);
    BOOST_TEST(product(tiny, tiny) == denormal_product);  // IEEE before
    {
        hinge::flush_denormals_guard guard;
        if constexpr (hinge::flush_denormals_guard::active) {
            BOOST_TEST(product(tiny, tiny) == 0.0f);
        } else {
            BOOST_TEST(product(tiny, tiny) == denormal_product);
        }
    }
    BOOST_TEST(product(tiny, tiny) == denormal_product);  // IEEE after
}

BOOST_AUTO_TEST_CASE(a_denormal_input_reads_as_zero_inside_the_scope_and_not_after) {
    // denormal * 2^100 = 2^-40 under IEEE; with DAZ the denormal input is 0 first.
    BOOST_TEST(product(denormal, 0x1p100f) == 0x1p-40f);
    {
        hinge::flush_denormals_guard guard;
        BOOST_TEST(product(denormal, 0x1p100f) == (hinge::flush_denormals_guard::active ? 0.0f : 0x1p-40f));
    }
    BOOST_TEST(product(denormal, 0x1p100f) == 0x1p-40f);
}

BOOST_AUTO_TEST_CASE(nested_guards_restore_the_state_they_found) {
    {
        hinge::flush_denormals_guard outer;
        {
            hinge::flush_denormals_guard inner;
            BOOST_TEST(product(tiny, tiny) == (hinge::flush_denormals_guard::active ? 0.0f : denormal_product));
        }
        // The inner guard restored the outer guard's mode, not IEEE.
        BOOST_TEST(product(tiny, tiny) == (hinge::flush_denormals_guard::active ? 0.0f : denormal_product));
    }
    BOOST_TEST(product(tiny, tiny) == denormal_product);
}

BOOST_AUTO_TEST_SUITE_END()
