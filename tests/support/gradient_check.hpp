#pragma once
// Finite-difference gradient checking in double precision, shared by the test files.
// The probe loss is L = sum_{r,j} c(r, j) * y(r, j) with fixed pseudo-random weights c, so every
// output contributes with its own weight.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <hinge/hinge.hpp>

namespace hinge_test {

namespace hn = hinge;

inline double probe_weight(std::size_t r, std::size_t j) {
    return std::sin(1.3 * static_cast<double>(r) + 0.7 * static_cast<double>(j) + 0.2);
}

template <class Net, std::size_t Batch>
struct gradient_check_result {
    double worst_relative_error = 0;  // over checked coordinates
    std::size_t checked = 0;
    std::size_t skipped = 0;  // coordinates next to a kink, where a finite difference means nothing
};

// Probe loss of a training pass on `rows` samples; noise_seed fixed, so stochastic activations
// see the same noise in every evaluation.
template <class Net, std::size_t Batch>
double probe_loss(hn::parameters<Net, double>& p, hn::workspace<Net, Batch, double>& ws, const double* x,
                  std::size_t rows) {
    hn::train_forward(p, ws, x, rows, 1234);
    // One row per sample, or per (sample, step) of a sequence output, as losses see them.
    constexpr std::size_t last = Net::stage_count - 1;
    const double* y = ws.template activation<last>();
    constexpr std::size_t stride = hn::workspace<Net, Batch, double>::template activation_stride<last>;
    double loss = 0;
    for (std::size_t r = 0; r < rows * Net::output_positions; ++r)
        for (std::size_t j = 0; j < Net::output_channels; ++j) loss += probe_weight(r, j) * y[r * stride + j];
    return loss;
}

// The activation pattern of a training pass: which units of every piecewise-linear stage are on
// the positive side of their kink. A finite difference is meaningful only where the perturbation
// leaves it unchanged.
template <class Net, std::size_t Batch>
std::vector<bool> activation_pattern(hn::parameters<Net, double>& p, hn::workspace<Net, Batch, double>& ws,
                                     const double* x, std::size_t rows) {
    hn::train_forward(p, ws, x, rows, 1234);
    std::vector<bool> pattern;
    hn::for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        using A = typename Net::template stage<i>::activation;
        if constexpr (A::piecewise_linear && !std::is_same_v<A, hn::identity>) {
            constexpr std::size_t width = hn::layout<Net, double>::stages[i].padded_output;
            constexpr std::size_t positions = hn::layout<Net, double>::stages[i].positions;
            for (std::size_t r = 0; r < rows * positions; ++r)
                for (std::size_t j = 0; j < Net::template stage<i>::output_width; ++j) {
                    double u;
                    if constexpr (hn::keeps_pre_activation<A>) u = ws.template pre_activation<i>()[r * width + j];
                    else u = ws.template activation<i>()[r * width + j];
                    pattern.push_back(u > 0);
                }
        }
    });
    return pattern;
}

// Compares backward's gradient of every trainable parameter (and of the input when asked) with
// central differences. Coordinates whose perturbation changes the activation pattern are
// skipped and counted.
template <class Net, std::size_t Batch>
gradient_check_result<Net, Batch> check_gradients(hn::parameters<Net, double>& p, const double* x, std::size_t rows,
                                                  bool check_input = true, double h = 1e-6) {
    auto ws = std::make_unique<hn::workspace<Net, Batch, double>>();
    auto grads = std::make_unique<hn::gradients<Net, double>>();
    hn::train_forward(p, *ws, x, rows, 1234);
    hn::seed_output_gradient(p, *ws, *grads, rows, [](std::size_t r, std::size_t j) { return probe_weight(r, j); });
    hn::backward(p, *ws, x, *grads, rows, hn::input_gradient::compute);
    std::vector<double> input_gradient(rows * Net::input_size);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t k = 0; k < Net::input_size; ++k) input_gradient[r * Net::input_size + k] = ws->input_gradient(r)[k];

    gradient_check_result<Net, Batch> result;
    auto compare = [&](double analytic, double numeric) {
        const double error = std::fabs(analytic - numeric) / std::max(1.0, std::fabs(numeric));
        result.worst_relative_error = std::max(result.worst_relative_error, error);
        ++result.checked;
    };
    const std::vector<bool> pattern = activation_pattern(p, *ws, x, rows);
    double* values = p.data();
    for (std::size_t k = 0; k < hn::parameters<Net, double>::trainable_size; ++k) {
        const double saved = values[k];
        values[k] = saved + h;
        const bool same_plus = activation_pattern(p, *ws, x, rows) == pattern;
        const double plus = probe_loss(p, *ws, x, rows);
        values[k] = saved - h;
        const bool same_minus = activation_pattern(p, *ws, x, rows) == pattern;
        const double minus = probe_loss(p, *ws, x, rows);
        values[k] = saved;
        if (!same_plus || !same_minus) {
            ++result.skipped;
            continue;
        }
        compare(grads->data()[k], (plus - minus) / (2 * h));
    }
    if (check_input) {
        std::vector<double> xs(x, x + rows * Net::input_size);
        for (std::size_t k = 0; k < xs.size(); ++k) {
            const double saved = xs[k];
            xs[k] = saved + h;
            const bool same_plus = activation_pattern(p, *ws, xs.data(), rows) == pattern;
            const double plus = probe_loss(p, *ws, xs.data(), rows);
            xs[k] = saved - h;
            const bool same_minus = activation_pattern(p, *ws, xs.data(), rows) == pattern;
            const double minus = probe_loss(p, *ws, xs.data(), rows);
            xs[k] = saved;
            if (!same_plus || !same_minus) {
                ++result.skipped;
                continue;
            }
            compare(input_gradient[k], (plus - minus) / (2 * h));
        }
    }
    return result;
}

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
                // A layer without a view of its own (layer_norm): its per-unit vectors, by role, as
                // the layout declares them (a scale near 1, a small shift or bias).
                using LT = hn::layout<Net, double>;
                for (std::size_t k = 0; k < view_type::tensor_count; ++k) {
                    const hn::tensor_spec& t = LT::tensors[LT::stages[i].first_tensor + k];
                    if (t.fan_in != 0 || !t.trainable || o >= t.blocks * t.units) continue;
                    double& v = view.tensor(k)[t.template element<double>(o, 0)];
                    v = t.role == hn::tensor_role::scale ? 0.5 + random.uniform() : 0.2 * (2 * random.uniform() - 1);
                }
            }
            if constexpr (requires { view.slope(o); })
                if (view.has_slope()) view.slope(o) = 0.1 + 0.3 * random.uniform();
        }
    });
}

}  // namespace hinge_test
