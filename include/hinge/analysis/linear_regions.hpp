#pragma once
// Linear regions of a piecewise-linear network (relu, leaky_relu, prelu, relu6, noisy_relu in
// inference, identity; dense and batch_norm stages, inference semantics).
//
//   segment_regions(params, a, b)      exact 1-D: the breakpoints t in [0, 1] along a + t (b - a)
//                                      where some unit switches branch, and the affine piece
//                                      between each pair (computed, not sampled)
//   region_map(params, plane, grid)    2-D slice: the activation-pattern map over a grid of the
//                                      plane origin + u e1 + v e2, with the number of regions
//   count_activation_patterns(params, ws, x, n)   distinct patterns on a data set
//
// The exact 1-D algorithm. Along the segment the input is affine in t: x(t) = c + t d. Stage by
// stage, for every piece [t0, t1] on which the stage's input is c + t d, each unit's
// pre-activation is z(t) = z0 + t dz with z0 = W c + b and dz = W d. It crosses a kink k of its
// activation at t = (k - z0) / dz; the crossings inside (t0, t1) split the piece. On each
// sub-piece every unit stays on one branch (read at the sub-piece's midpoint), so the output
// y = slope z + offset is again affine in t and is handed to the next stage. No sampling is
// involved; the only rounding is that of evaluating these formulas in double.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include <hinge/analysis/piecewise_linear.hpp>
#include <hinge/core/storage.hpp>
#include <hinge/runtime/passes.hpp>

namespace hinge::analysis {

// ---- exact 1-D -----------------------------------------------------------------------------

// On [t_begin, t_end] the network's output is offset + t slope (t along a + t (b - a)).
template <std::size_t Out>
struct linear_piece {
    double t_begin = 0, t_end = 0;
    std::array<double, Out> offset{}, slope{};

    constexpr double operator()(std::size_t output, double t) const noexcept { return offset[output] + t * slope[output]; }
};

template <std::size_t Out>
struct segment_partition {
    // Strictly increasing, inside (0, 1): where at least one unit switches branch. The function
    // is continuous; its slope may stay the same across a breakpoint (a unit whose outgoing
    // weights are zero, or coinciding changes that cancel).
    std::vector<double> breakpoints;
    std::vector<linear_piece<Out>> pieces;  // breakpoints.size() + 1 pieces covering [0, 1]
};

namespace detail {

// Two crossings closer than this (in t) are one breakpoint: units that switch at the same input
// (relu(x) and relu(-x) at x = 0) give roots that agree to a few ulps.
inline constexpr double merge_distance = 1e-12;

struct segment_piece {
    double t0, t1;
    std::vector<double> c, d;  // the current stage's input on [t0, t1] is c + t d
};

template <class Net, std::size_t I, class T>
void split_through_stage(const parameters<Net, T>& params, std::vector<segment_piece>& pieces) {
    static_assert(multilayer_perceptron<Net>, "hinge::analysis: this tool works on multilayer perceptrons (dense and batch_norm stages); convolutions, pooling, dropout and residual blocks are not supported by it yet");
    using S = typename Net::template stage<I>;
    using L = typename S::layer_type;
    using A = typename S::activation;
    using form = piecewise_linear_form<A>;
    constexpr std::size_t in_width = S::input_width, out_width = S::output_width;
    const auto view = params.template layer<I>();

    std::vector<segment_piece> next;
    next.reserve(pieces.size() * 2);
    std::vector<double> z0(out_width), dz(out_width), roots;
    for (const segment_piece& piece : pieces) {
        for (std::size_t o = 0; o < out_width; ++o) {
            if constexpr (affine_layer<L>) {
                double a0 = static_cast<double>(view.bias(o)), a1 = 0;
                for (std::size_t k = 0; k < in_width; ++k) {
                    const double w = static_cast<double>(view.weight(o, k));
                    a0 += w * piece.c[k];
                    a1 += w * piece.d[k];
                }
                z0[o] = a0;
                dz[o] = a1;
            } else {
                const double s = static_cast<double>(view.scale(o)) /
                                 std::sqrt(static_cast<double>(view.running_variance(o)) + static_cast<double>(L::epsilon));
                z0[o] = s * (piece.c[o] - static_cast<double>(view.running_mean(o))) + static_cast<double>(view.shift(o));
                dz[o] = s * piece.d[o];
            }
        }
        // Crossings of the kinks strictly inside the piece.
        roots.clear();
        roots.push_back(piece.t0);
        for (std::size_t o = 0; o < out_width; ++o) {
            if (dz[o] == 0.0) continue;
            for (const double kink : form::kinks) {
                const double t = (kink - z0[o]) / dz[o];
                if (t > piece.t0 + merge_distance && t < piece.t1 - merge_distance) roots.push_back(t);
            }
        }
        roots.push_back(piece.t1);
        std::sort(roots.begin() + 1, roots.end() - 1);
        std::size_t kept = 1;
        for (std::size_t r = 1; r < roots.size(); ++r)
            if (roots[r] - roots[kept - 1] > merge_distance) roots[kept++] = roots[r];
        roots[kept - 1] = piece.t1;  // the end stays exact even if the last root merged into it
        roots.resize(kept);
        for (std::size_t r = 0; r + 1 < roots.size(); ++r) {
            segment_piece sub{roots[r], roots[r + 1], std::vector<double>(out_width), std::vector<double>(out_width)};
            const double middle = 0.5 * (sub.t0 + sub.t1);
            for (std::size_t o = 0; o < out_width; ++o) {
                const std::size_t b = form::branch(z0[o] + middle * dz[o]);
                double learned = 0;
                if constexpr (has_learned_slope<A>) learned = static_cast<double>(view.slope(o));
                const double slope = form::slope(b, learned);
                sub.c[o] = slope * z0[o] + form::offset(b);
                sub.d[o] = slope * dz[o];
            }
            next.push_back(std::move(sub));
        }
    }
    pieces = std::move(next);
}

}  // namespace detail

// The exact breakpoints of the network along the segment from a to b (inference semantics),
// and its affine piece between each pair.
template <class Net, class T>
segment_partition<Net::output_size> segment_regions(const parameters<Net, T>& params,
                                                    std::span<const T, Net::input_size> a,
                                                    std::span<const T, Net::input_size> b) {
    static_assert(piecewise_linear_network<Net>,
                  "analysis::segment_regions<Net>: every activation must be piecewise linear (relu, "
                  "leaky_relu, prelu, relu6, noisy_relu, identity), because the breakpoints are computed "
                  "from the kinks of affine pieces");
    std::vector<detail::segment_piece> pieces(1);
    pieces[0].t0 = 0.0;
    pieces[0].t1 = 1.0;
    for (std::size_t k = 0; k < Net::input_size; ++k) {
        pieces[0].c.push_back(static_cast<double>(a[k]));
        pieces[0].d.push_back(static_cast<double>(b[k]) - static_cast<double>(a[k]));
    }
    for_each_index<Net::stage_count>(
        [&](auto index) { detail::split_through_stage<Net, decltype(index)::value>(params, pieces); });

    segment_partition<Net::output_size> result;
    for (const detail::segment_piece& piece : pieces) {
        linear_piece<Net::output_size> out;
        out.t_begin = piece.t0;
        out.t_end = piece.t1;
        for (std::size_t j = 0; j < Net::output_size; ++j) {
            out.offset[j] = piece.c[j];
            out.slope[j] = piece.d[j];
        }
        if (!result.pieces.empty()) result.breakpoints.push_back(piece.t0);
        result.pieces.push_back(out);
    }
    return result;
}

// ---- 2-D slice -----------------------------------------------------------------------------

// A plane through the input space: point(u, v) = origin + u first + v second.
template <class T, std::size_t In>
struct plane {
    std::array<T, In> origin{}, first{}, second{};
};

// A regular grid over [u_min, u_max] x [v_min, v_max] with `columns` x `rows` points (cell
// centres are not used: point (i, j) is at u_min + i (u_max - u_min) / (columns - 1), ...).
struct grid {
    double u_min = -1, u_max = 1, v_min = -1, v_max = 1;
    std::size_t columns = 200, rows = 200;

    constexpr double u(std::size_t column) const noexcept {
        return columns < 2 ? u_min : u_min + (u_max - u_min) * static_cast<double>(column) / static_cast<double>(columns - 1);
    }
    constexpr double v(std::size_t row) const noexcept {
        return rows < 2 ? v_min : v_min + (v_max - v_min) * static_cast<double>(row) / static_cast<double>(rows - 1);
    }
};

struct region_map_result {
    analysis::grid grid;
    // region[row * columns + column]: the id of the grid point's activation pattern, numbered 0, 1,
    // ... in order of first appearance (row-major). Activation regions are convex, so a pattern
    // is one region; region_count is the number of regions that contain a grid point (a lower
    // bound on the regions the window cuts the plane into; small ones can fall between points).
    std::vector<std::uint32_t> region;
    std::size_t region_count = 0;

    std::uint32_t operator()(std::size_t row, std::size_t column) const noexcept { return region[row * grid.columns + column]; }
};

namespace detail {

// Assigns dense ids to patterns in order of first appearance.
template <class Pattern>
class pattern_ids {
public:
    std::uint32_t operator()(const Pattern& pattern) {
        const auto [where, inserted] = ids_.try_emplace(pattern, static_cast<std::uint32_t>(ids_.size()));
        (void)inserted;
        return where->second;
    }
    std::size_t size() const noexcept { return ids_.size(); }

private:
    std::map<Pattern, std::uint32_t> ids_;
};

}  // namespace detail

// The activation-pattern map of the plane over the grid (forward passes in batches of 256).
template <class Net, class T>
region_map_result region_map(const parameters<Net, T>& params, const plane<T, Net::input_size>& slice,
                             const grid& g) {
    static_assert(piecewise_linear_network<Net>,
                  "analysis::region_map<Net>: every activation must be piecewise linear (relu, leaky_relu, "
                  "prelu, relu6, noisy_relu, identity), because only those cut the plane into linear regions");
    constexpr std::size_t batch = 256;
    auto ws = std::make_unique<workspace<Net, batch, T, false>>();
    std::vector<T> x(batch * Net::input_size);
    region_map_result result;
    result.grid = g;
    result.region.resize(g.rows * g.columns);
    detail::pattern_ids<activation_pattern<Net>> ids;
    const std::size_t total = g.rows * g.columns;
    for (std::size_t first = 0; first < total; first += batch) {
        const std::size_t count = std::min(batch, total - first);
        for (std::size_t p = 0; p < count; ++p) {
            const std::size_t row = (first + p) / g.columns, column = (first + p) % g.columns;
            const double u = g.u(column), v = g.v(row);
            for (std::size_t k = 0; k < Net::input_size; ++k)
                x[p * Net::input_size + k] =
                    static_cast<T>(static_cast<double>(slice.origin[k]) + u * static_cast<double>(slice.first[k]) +
                                   v * static_cast<double>(slice.second[k]));
        }
        forward(params, *ws, x.data(), count);
        for (std::size_t p = 0; p < count; ++p) result.region[first + p] = ids(pattern_of(params, *ws, x.data(), p));
    }
    result.region_count = ids.size();
    return result;
}

// ---- patterns on a data set ----------------------------------------------------------------

// The number of distinct activation patterns (= linear regions visited) among `samples` rows of
// x, with forward passes in batches of the workspace's size.
template <class Net, class T, std::size_t Batch, bool ForTraining>
std::size_t count_activation_patterns(const parameters<Net, T>& params, workspace<Net, Batch, T, ForTraining>& ws,
                                      const T* x, std::size_t samples) {
    detail::pattern_ids<activation_pattern<Net>> ids;
    for (std::size_t first = 0; first < samples; first += Batch) {
        const std::size_t rows = std::min(Batch, samples - first);
        const T* batch_x = x + first * Net::input_size;
        forward(params, ws, batch_x, rows);
        for (std::size_t r = 0; r < rows; ++r) ids(pattern_of(params, ws, batch_x, r));
    }
    return ids.size();
}

}  // namespace hinge::analysis
