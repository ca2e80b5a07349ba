#pragma once
// The finite-difference gradient checker of the test suite: one checker, in double precision,
// used by every test that compares backward() with the function it differentiates.
//
//   check_gradients<Net, Batch>(params, x, {.rows = 3, .input = true, ...})
//
// runs train_forward, seeds dL/dy through hinge::output_gradient (as a trainer does) and runs
// backward, then moves every coordinate it checks by +-h and compares the analytic gradient a
// with the central difference n = (L(v + h) - L(v - h)) / ((v + h) - (v - h)).
//
// Which coordinates. Every logical element of every trainable tensor of every stage, read from
// the layout's tensor table (layout<Net, double>::tensors, tensor_offsets and
// tensor_spec::element), so a layer kind takes part by declaring its tensors, with no view of
// its own; with `.input = true` also every input value of the checked samples.
//
// The objective L. By default the probe loss L = sum_{r,j} c(r, j) y(r, j) over every output row
// r (sample, or sample x step of a sequence output) and channel j, with fixed pseudo-random
// weights c = probe_weight(r, j), so that every output contributes with its own weight. A test
// may pass another objective (a hinge loss on targets): it is called as the losses are, with the
// rows of the last stage's output and a sink for dL/dy.
//
// The tolerance model (gradient_tolerance). A coordinate passes when
//     |a - n| <= relative * max(|a|, |n|) + absolute,      relative = 1e-6, absolute = 1e-7.
// Why these: for h = 1e-6 the central difference has a truncation error h^2 |L'''| / 6, about
// 1e-12 for the smooth activations here, and a rounding error of about eps * S / h, where
// S = sum |c y| is the magnitude of the terms of L (2e-16 * 10 / 1e-6 = 2e-9 for the networks of
// these tests; a few times more after rounding grows through a deep or recurrent network). The
// relative term covers large gradients: far above that noise, and far below a real mistake (a
// gradient off by a factor 1.001 is 1e-3 off); the absolute term is the rounding floor where the
// gradient is near 0. Measured: no network check of the suite comes within 0.03 of this
// tolerance, a margin of 30 (each check logs its worst error as a fraction of its tolerance, and
// where: --log_level=message).
//
// Kinks. A coordinate whose +h or -h evaluation changes the activation pattern (the branch of
// every unit of every piecewise-linear stage: relu, leaky_relu, prelu, relu6, noisy_relu with its
// fixed noise) is skipped and counted: a difference quotient across a kink measures nothing. At
// most `.max_skipped` of the coordinates may be skipped.
//
// Also checked, each by a BOOST_TEST of its own:
//   - the worst coordinate is within the tolerance; the message names it: stage, tensor name and
//     logical (o, i) from the tensor table, or the input (sample, position, channel);
//   - the padding of every gradient tensor (the storage of the trainable prefix that is no
//     logical element) is exactly zero;
//   - with a workspace of the caller's (`.workspace`): its sequence state (a carried initial
//     state) is copied in before every evaluation, and train_forward and backward leave it
//     untouched (values and pass count).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include <hinge/analysis/piecewise_linear.hpp>
#include <hinge/hinge.hpp>
#include <hinge/io/architecture.hpp>

namespace hinge_test {

namespace hn = hinge;

// ---- the tolerance model -------------------------------------------------------------------

// |analytic - numeric| <= relative * max(|analytic|, |numeric|) + absolute. The defaults are the
// network checker's (see the top of this file); the loss and activation checks state their own.
struct gradient_tolerance {
    double relative = 1e-6;
    double absolute = 1e-7;

    double allowed(double analytic, double numeric) const noexcept {
        return relative * std::max(std::fabs(analytic), std::fabs(numeric)) + absolute;
    }
    // The error as a fraction of what is allowed: at most 1 passes; infinite when either value
    // is not finite.
    double ratio(double analytic, double numeric) const noexcept {
        if (!std::isfinite(analytic) || !std::isfinite(numeric)) return std::numeric_limits<double>::infinity();
        return std::fabs(analytic - numeric) / allowed(analytic, numeric);
    }
    bool accepts(double analytic, double numeric) const noexcept { return ratio(analytic, numeric) <= 1.0; }
};

// ---- the objective -------------------------------------------------------------------------

inline double probe_weight(std::size_t r, std::size_t j) {
    return std::sin(1.3 * static_cast<double>(r) + 0.7 * static_cast<double>(j) + 0.2);
}

// Receives dL/dy(r, j).
using output_gradient_sink = std::function<void(std::size_t, std::size_t, double)>;
// L of `rows` output rows of `width` values (row stride `stride`), passing dL/dy to the sink: the
// signature of the losses' evaluate (hinge::loss), with their targets bound.
using objective_function =
    std::function<double(const double* y, std::size_t stride, std::size_t rows, std::size_t width,
                         const output_gradient_sink& gradient)>;

// The probe loss sum_{r,j} probe_weight(r, j) y(r, j).
inline double probe_objective(const double* y, std::size_t stride, std::size_t rows, std::size_t width,
                              const output_gradient_sink& gradient) {
    double loss = 0;
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < width; ++j) {
            loss += probe_weight(r, j) * y[r * stride + j];
            gradient(r, j, probe_weight(r, j));
        }
    return loss;
}

// ---- the checker ---------------------------------------------------------------------------

template <class Net, std::size_t Batch>
struct gradient_check_options {
    std::size_t rows = Batch;  // samples of x checked (1 .. Batch)
    bool input = false;        // also every input coordinate of those samples
    double step = 1e-6;        // h
    gradient_tolerance tolerance{};
    double max_skipped = 0.1;  // the fraction of coordinates that may sit next to a kink
    // Run in this workspace, from its sequence state as it is (carry_state(true) and a state: the
    // gradients of a window given that state); null: a fresh workspace.
    hn::workspace<Net, Batch, double, true>* workspace = nullptr;
    objective_function objective{};  // empty: the probe loss
};

struct gradient_check_result {
    std::size_t checked = 0;
    std::size_t skipped = 0;                // next to a kink
    std::size_t parameter_coordinates = 0;  // checked + skipped = parameter_ + input_coordinates
    std::size_t input_coordinates = 0;
    double worst_ratio = 0;  // the worst |a - n| / tolerance.allowed(a, n): at most 1 passes
    std::string worst;       // the coordinate of worst_ratio, with a, n, |a - n| and the allowed error
    std::size_t nonzero_padding = 0;
    std::size_t state_changes = 0;  // evaluations after which the sequence state differed from the initial one
};

// The fixed noise seed of every training pass of a check: stochastic activations and dropout see
// the same noise in every evaluation.
inline constexpr std::uint64_t check_noise_seed = 1234;

namespace detail {

// The branch of every unit of every piecewise-linear stage (see analysis/piecewise_linear.hpp)
// after a training pass over `rows` samples, written to `pattern`.
template <class Net, std::size_t Batch>
void activation_pattern(hn::workspace<Net, Batch, double, true>& ws, std::size_t rows,
                        std::vector<std::uint8_t>& pattern) {
    pattern.clear();
    hn::for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        using A = typename Net::template stage<i>::activation;
        if constexpr (A::piecewise_linear && !std::is_same_v<A, hn::identity>) {
            constexpr hn::stage_layout s = hn::layout<Net, double>::stages[i];
            const double* u = nullptr;
            if constexpr (hn::keeps_pre_activation<A>) u = ws.template pre_activation<i>();
            else u = ws.template activation<i>();
            for (std::size_t r = 0; r < rows * s.positions; ++r)
                for (std::size_t j = 0; j < s.output_width; ++j) {
                    const double v = u[r * s.padded_output + j];
                    std::size_t branch = v > 0;  // an activation without a form: its kink at 0
                    if constexpr (hn::analysis::piecewise_linear_activation<A>) {
                        using form = hn::analysis::piecewise_linear_form<A>;
                        if constexpr (hn::keeps_pre_activation<A>) branch = form::branch(v);
                        else if constexpr (requires { form::branch_from_output(0.0); }) branch = form::branch_from_output(v);
                    }
                    pattern.push_back(static_cast<std::uint8_t>(branch));
                }
        }
    });
}

template <class Layer>
const char* layer_name() {
    if constexpr (requires { Layer::name; }) return Layer::name;
    else return "";
}

}  // namespace detail

// The measurement alone, without assertions: what check_gradients asserts on (and what the
// checker's own tests look at).
template <class Net, std::size_t Batch>
gradient_check_result measure_gradients(hn::parameters<Net, double>& p, const double* x_in,
                                        const gradient_check_options<Net, Batch>& options = {}) {
    using LT = hn::layout<Net, double>;
    using workspace_type = hn::workspace<Net, Batch, double, true>;
    constexpr std::size_t last = Net::stage_count - 1;
    const std::size_t rows = options.rows;
    const double h = options.step;
    const gradient_tolerance& tolerance = options.tolerance;

    std::unique_ptr<workspace_type> own;
    workspace_type* ws = options.workspace;
    if (!ws) {
        own = std::make_unique<workspace_type>();
        ws = own.get();
    }
    const auto initial_state = std::make_unique<hn::sequence_state<Net, Batch, double>>(ws->state());
    const objective_function objective = options.objective ? options.objective : objective_function(probe_objective);
    const output_gradient_sink ignore = [](std::size_t, std::size_t, double) {};
    std::vector<double> x(x_in, x_in + rows * Net::input_size);

    std::array<const char*, Net::stage_count> stage_names{};
    hn::for_each_index<Net::stage_count>([&](auto index) {
        stage_names[index] = detail::layer_name<typename Net::template stage<decltype(index)::value>::layer_type>();
    });

    gradient_check_result result;
    const auto output_loss = [&](const output_gradient_sink& gradient) {
        return objective(ws->template activation<last>(), workspace_type::template activation_stride<last>,
                         rows * Net::output_positions, Net::output_channels, gradient);
    };
    const auto start_pass = [&] { ws->state() = *initial_state; };
    const auto end_pass = [&] { result.state_changes += !(ws->state() == *initial_state); };

    // The analytic gradients: trainer::step's chain without the update.
    std::vector<std::uint8_t> base_pattern, pattern_up, pattern_down;
    const auto grads = std::make_unique<hn::gradients<Net, double>>();
    start_pass();
    hn::train_forward(p, *ws, x.data(), rows, check_noise_seed);
    detail::activation_pattern(*ws, rows, base_pattern);
    {
        const hn::output_gradient<Net, Batch, double> sink(p, *ws, *grads, rows);
        output_loss([&](std::size_t r, std::size_t j, double g) { sink(r, j, g); });
    }
    hn::backward(p, *ws, x.data(), *grads, rows, hn::input_gradient::compute);
    end_pass();
    std::vector<double> input_gradient(rows * Net::input_size);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t k = 0; k < Net::input_size; ++k) input_gradient[r * Net::input_size + k] = ws->input_gradient(r)[k];

    // The objective at the current coordinates, and the activation pattern there.
    const auto evaluate = [&](std::vector<std::uint8_t>& pattern) {
        start_pass();
        hn::train_forward(p, *ws, x.data(), rows, check_noise_seed);
        end_pass();
        detail::activation_pattern(*ws, rows, pattern);
        return output_loss(ignore);
    };
    // Central difference along v; compared with `analytic` unless a kink is crossed. `where`
    // names the coordinate for the report.
    const auto check = [&](double& v, double analytic, const auto& where) {
        const double saved = v;
        const double up = saved + h, down = saved - h;
        v = up;
        const double loss_up = evaluate(pattern_up);
        v = down;
        const double loss_down = evaluate(pattern_down);
        v = saved;
        if (pattern_up != base_pattern || pattern_down != base_pattern) {
            ++result.skipped;
            return;
        }
        ++result.checked;
        const double numeric = (loss_up - loss_down) / (up - down);
        const double ratio = tolerance.ratio(analytic, numeric);
        if (!(ratio <= result.worst_ratio)) {
            result.worst_ratio = ratio;
            std::ostringstream s;
            s.precision(12);
            where(s);
            s << ": analytic " << analytic << ", numeric " << numeric << ", error " << std::fabs(analytic - numeric)
              << ", allowed " << tolerance.allowed(analytic, numeric);
            result.worst = s.str();
        }
    };

    // Every logical element of every trainable tensor, through the tensor table; the storage of
    // the trainable prefix that none of them covers is padding.
    std::vector<bool> logical(LT::trainable_size, false);
    for (std::size_t stage = 0; stage < Net::stage_count; ++stage) {
        const hn::stage_layout& s = LT::stages[stage];
        for (std::size_t k = s.first_tensor; k < s.first_tensor + s.tensor_count; ++k) {
            const hn::tensor_spec& spec = LT::tensors[k];
            if (!spec.trainable) continue;
            const std::size_t offset = LT::tensor_offsets[k];
            for (std::size_t o = 0; o < spec.blocks * spec.units; ++o)
                for (std::size_t i = 0; i < std::max<std::size_t>(spec.fan_in, 1); ++i) {
                    const std::size_t at = offset + spec.template element<double>(o, i);
                    logical[at] = true;
                    ++result.parameter_coordinates;
                    check(p.data()[at], grads->data()[at], [&](std::ostream& out) {
                        out << "stage " << stage << " (" << stage_names[stage] << ") " << spec.name << "(o " << o;
                        if (spec.fan_in > 0) out << ", i " << i;
                        out << ")";
                    });
                }
        }
    }
    for (std::size_t at = 0; at < LT::trainable_size; ++at) result.nonzero_padding += !logical[at] && grads->data()[at] != 0.0;
    if (options.input) {
        constexpr std::size_t C = Net::input_shape::channels;
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t k = 0; k < Net::input_size; ++k) {
                ++result.input_coordinates;
                check(x[r * Net::input_size + k], input_gradient[r * Net::input_size + k], [&](std::ostream& out) {
                    out << "input (sample " << r;
                    if (Net::input_size != C) out << ", position " << k / C << ", channel " << k % C;
                    else out << ", " << k;
                    out << ")";
                });
            }
    }

    return result;
}

// The check: measure_gradients, then one BOOST_TEST per law (see the top of this file).
template <class Net, std::size_t Batch>
gradient_check_result check_gradients(hn::parameters<Net, double>& p, const double* x,
                                      const gradient_check_options<Net, Batch>& options = {}) {
    const std::size_t rows = options.rows;
    const gradient_check_result result = measure_gradients(p, x, options);
    BOOST_TEST_MESSAGE(hn::io::architecture_description<Net>
                       << ", " << rows << " of " << Batch << " samples: " << result.checked << " coordinates checked, "
                       << result.skipped << " skipped, worst error " << result.worst_ratio
                       << " of the tolerance at " << result.worst);
    BOOST_TEST_CONTEXT(hn::io::architecture_description<Net> << ", " << rows << " of " << Batch << " samples") {
        BOOST_TEST(result.checked > 0u);
        BOOST_TEST(result.checked + result.skipped == result.parameter_coordinates + result.input_coordinates);
        BOOST_TEST(result.worst_ratio <= 1.0, "worst coordinate: " << result.worst);
        BOOST_TEST(static_cast<double>(result.skipped) <=
                       options.max_skipped * static_cast<double>(result.checked + result.skipped),
                   result.skipped << " of " << result.checked + result.skipped << " coordinates next to a kink");
        BOOST_TEST(result.nonzero_padding == 0u, "gradient padding values that are not exactly 0");
        BOOST_TEST(result.state_changes == 0u, "passes after which the sequence state had changed");
    }
    return result;
}

// ---- test data -------------------------------------------------------------------------------

// n values uniform in [-scale, scale), seeded: inputs and targets of the tests.
template <class T>
std::vector<T> random_values(std::size_t n, std::uint64_t seed, double scale = 1.0) {
    hn::init::random_generator random(seed);
    std::vector<T> v(n);
    for (T& x : v) x = static_cast<T>(scale * (2 * random.uniform() - 1));
    return v;
}

// Fills every logical weight and bias (and slope, scale, shift) of p with seeded values.
template <class Net>
void fill_random(hn::parameters<Net, double>& p, std::uint64_t seed, double scale = 0.5) {
    hn::init::random_generator random(seed);
    hn::for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        auto view = p.template layer<i>();
        using view_type = decltype(view);
        for (std::size_t o = 0; o < view_type::output_width; ++o) {
            if constexpr (requires { view.weight(o, 0); }) {
                for (std::size_t in = 0; in < view_type::input_width; ++in) view.weight(o, in) = scale * (2 * random.uniform() - 1);
                view.bias(o) = 0.1 * (2 * random.uniform() - 1);
            } else if constexpr (requires { view.weight_ih(o, 0); }) {
                for (std::size_t g = 0; g < view_type::gates; ++g) {
                    const std::size_t row = g * view_type::output_width + o;
                    for (std::size_t in = 0; in < view_type::input_width; ++in)
                        view.weight_ih(row, in) = scale * (2 * random.uniform() - 1);
                    for (std::size_t h = 0; h < view_type::output_width; ++h)
                        view.weight_hh(row, h) = scale * (2 * random.uniform() - 1);
                    view.bias_ih(row) = 0.3 * (2 * random.uniform() - 1);
                    view.bias_hh(row) = 0.3 * (2 * random.uniform() - 1);
                }
            } else if constexpr (requires { view.scale(o); }) {
                view.scale(o) = 0.5 + random.uniform();
                view.shift(o) = 0.2 * (2 * random.uniform() - 1);
                view.running_mean(o) = 0;
                view.running_variance(o) = 1;
            } else if constexpr (requires { view.tensor(0); }) {
                // A layer without a view of its own (layer_norm, a user's layer): each of its
                // tensors by its role, through the layout's table.
                using L = hn::layout<Net, double>;
                constexpr hn::stage_layout s = L::stages[i];
                for (std::size_t k = s.first_tensor; k < s.first_tensor + s.tensor_count; ++k) {
                    const hn::tensor_spec& t = L::tensors[k];
                    if (t.role == hn::tensor_role::slope || o >= t.blocks * t.units) continue;
                    double* values = p.data() + L::tensor_offsets[k];
                    for (std::size_t in = 0; in < (t.fan_in == 0 ? 1 : t.fan_in); ++in) {
                        double& v = values[t.template element<double>(o, in)];
                        v = t.role == hn::tensor_role::scale              ? 0.5 + random.uniform()
                            : t.role == hn::tensor_role::running_variance ? 1.0
                            : t.role == hn::tensor_role::running_mean     ? 0.0
                            : t.role == hn::tensor_role::weight           ? scale * (2 * random.uniform() - 1)
                                                                          : 0.2 * (2 * random.uniform() - 1);
                    }
                }
            }
            if constexpr (requires { view.slope(o); })
                if (view.has_slope()) view.slope(o) = 0.1 + 0.3 * random.uniform();
        }
    });
}

}  // namespace hinge_test
