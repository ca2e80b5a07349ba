// Where the straight-line batch-1 path stops paying: 16 -> W -> W -> 4 ReLU networks of growing
// W, each run with the straight-line path forced (hinge_straight_line) and with the rows path
// forced (hinge_rows), against Eigen fixed-size in the same run. The planner's default limit
// (runtime/batch1_plan.hpp, batch1_straight_line_limit) is set from this program's table:
// docs/performance.md, "Batch-1 latency" (the full table: docs/history/performance-log.md, entry 6).
// Float weights per network: 4 (16 W + W^2 + 4 W) bytes.
#include <limits>

#include "batch1_mlp.hpp"

namespace {

template <std::size_t W>
using shape = hinge_bench::batch1::mlp<16, W, W, 4>;

template <std::size_t W>
void register_shape() {
    using m = shape<W>;
    constexpr std::size_t always = std::numeric_limits<std::size_t>::max();
    const std::string name = "crossover_16_" + std::to_string(W) + "_" + std::to_string(W) + "_4_" +
                             std::to_string(4 * (16 * W + W * W + 4 * W)) + "B";
    hinge_bench::add(name + "/hinge_straight_line", m::flops, m::template bench_batch1<hinge::weight_format::float32, always>);
    hinge_bench::add(name + "/hinge_rows", m::flops, m::template bench_batch1<hinge::weight_format::float32, 0>);
#if HINGE_HAVE_EIGEN
    hinge_bench::add(name + "/eigen", m::flops, m::bench_eigen);
#endif
}

template <std::size_t W>
void verify_shape() {
    using m = shape<W>;
    constexpr std::size_t always = std::numeric_limits<std::size_t>::max();
    static_assert(hinge::batch1_plan<typename m::net, hinge::weight_format::float32, always>::network_path ==
                  hinge::batch1_path::straight_line);
    static_assert(hinge::batch1_plan<typename m::net, hinge::weight_format::float32, 0>::network_path ==
                  hinge::batch1_path::rows);
    auto& f = m::shared();
    auto straight = std::make_unique<hinge::batch1_weights<typename m::net, hinge::weight_format::float32, always>>();
    auto rows = std::make_unique<hinge::batch1_weights<typename m::net, hinge::weight_format::float32, 0>>();
    straight->assign(f.params);
    rows->assign(f.params);
    hinge::batch1_inference<typename m::net, hinge::weight_format::float32, always> a;
    hinge::batch1_inference<typename m::net, hinge::weight_format::float32, 0> b;
    for (std::size_t k = 0; k < m::inputs_count; ++k) {
        const auto ref = m::reference(f, f.inputs[k]);
        m::check("straight_line", k, a(*straight, std::span<const float, 16>(f.inputs[k])), ref);
        m::check("rows", k, b(*rows, std::span<const float, 16>(f.inputs[k])), ref);
    }
}

#define HINGE_CROSSOVER_WIDTHS(X) X(8) X(16) X(24) X(32) X(40) X(48) X(56) X(64) X(80) X(96)

void verify() {
#define HINGE_VERIFY(W) verify_shape<W>();
    HINGE_CROSSOVER_WIDTHS(HINGE_VERIFY)
#undef HINGE_VERIFY
    std::fprintf(stderr, "verified: both paths of every crossover shape match a double reference (1e-4)\n");
}

void register_benchmarks() {
#define HINGE_REGISTER(W) register_shape<W>();
    HINGE_CROSSOVER_WIDTHS(HINGE_REGISTER)
#undef HINGE_REGISTER
}

}  // namespace

HINGE_BENCH_MAIN()
