// The analysis toolkit on small models, written as CSV for examples/plot_analysis.py
// (./quickstart.sh pictures renders them into docs/img/; docs/analysis.md shows them).
//
//   analysis_pictures [OUT_DIR]     (default: the current directory)
//
//   regions_{before,after}.csv    2-D region map (region id per grid point) of a 2-16-16-16-16-2
//   scores_{before,after}.csv     ReLU classifier before and after training, and its decision
//   regions_meta.csv, circle_data.csv   score; the training points
//   sparsity.csv                  per layer: zero fraction, dead units, before and after training
//   gradient_depth.csv            gradient norm vs depth for sigmoid, tanh, relu (He init)
//   gradient_layers.csv           gradient norm at every layer of the 50-layer networks
//   variance_depth.csv            activation second moment per layer of a 50-layer ReLU network, He vs naive
//   fit_curve.csv, fit_breakpoints.csv   a 1-24-24-1 ReLU fit of sin x and its exact breakpoints
//
// Every number is a function of the fixed seeds. Runs in a few seconds.
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <hinge/hinge.hpp>

namespace hn = hinge;
namespace ha = hinge::analysis;

namespace {

std::string out_dir = ".";

std::FILE* open_csv(const char* name) {
    const std::string path = out_dir + "/" + name;
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) {
        std::fprintf(stderr, "analysis_pictures: cannot write %s\n", path.c_str());
        std::exit(1);
    }
    return f;
}

// ---- 2-D classifier: region map before/after training, sparsity per layer -------------------

using classifier = hn::network<hn::input<2>, hn::repeat<4, hn::sequential<hn::dense<16>, hn::relu>>, hn::dense<2>>;

// Class 0 inside the circle of radius 1, class 1 on the ring 1.35 < r < 2.
struct circle_data {
    static constexpr std::size_t size = 1024;
    std::array<float, 2 * size> points{};
    std::array<std::uint32_t, size> labels{};

    explicit circle_data(std::uint64_t seed) {
        hn::init::random_generator random(seed);
        for (std::size_t i = 0; i < size; ++i) {
            const bool outer = i % 2 == 1;
            const double angle = 6.283185307179586 * random.uniform();
            const double radius = outer ? 1.35 + 0.65 * random.uniform() : std::sqrt(random.uniform());
            points[2 * i] = static_cast<float>(radius * std::cos(angle));
            points[2 * i + 1] = static_cast<float>(radius * std::sin(angle));
            labels[i] = outer ? 1u : 0u;
        }
    }
};

void write_region_map(const hn::parameters<classifier>& params, const char* regions_name, const char* scores_name,
                      std::FILE* meta, const char* label) {
    const ha::plane<float, 2> slice{{0, 0}, {1, 0}, {0, 1}};
    const ha::grid window{-2.5, 2.5, -2.5, 2.5, 400, 400};
    const auto map = ha::region_map(params, slice, window);
    std::FILE* f = open_csv(regions_name);
    std::FILE* s = open_csv(scores_name);
    hn::inference<classifier> run;
    for (std::size_t row = 0; row < window.rows; ++row) {
        for (std::size_t column = 0; column < window.columns; ++column) {
            std::fprintf(f, column ? ",%u" : "%u", map(row, column));
            const std::array<float, 2> x{static_cast<float>(window.u(column)), static_cast<float>(window.v(row))};
            const auto y = run(params, std::span<const float, 2>(x));
            std::fprintf(s, column ? ",%.4g" : "%.4g", static_cast<double>(y[1] - y[0]));
        }
        std::fputc('\n', f);
        std::fputc('\n', s);
    }
    std::fclose(f);
    std::fclose(s);
    std::fprintf(meta, "%s,%zu,%g,%g,%g,%g\n", label, map.region_count, window.u_min, window.u_max, window.v_min, window.v_max);
    std::printf("  region map %-6s: %zu regions in [-2.5, 2.5]^2 (400 x 400 grid)\n", label, map.region_count);
}

void add_sparsity(const hn::parameters<classifier>& params, const circle_data& data, std::FILE* f, const char* label) {
    auto stats = std::make_unique<ha::activation_statistics<classifier>>();
    auto ws = std::make_unique<hn::workspace<classifier, 256, float, false>>();
    stats->accumulate(params, *ws, data.points.data(), circle_data::size);
    for (std::size_t i = 0; i + 1 < classifier::stage_count; ++i) {
        const ha::stage_statistics s = stats->layer(i);
        std::fprintf(f, "%s,%zu,%.6f,%zu,%zu\n", label, i + 1, s.zero_fraction(), s.dead_count(), s.width());
    }
}

void classifier_pictures() {
    const circle_data data(2024);
    auto params = std::make_unique<hn::parameters<classifier>>();
    hn::init::he_normal(*params, 7);

    std::FILE* points = open_csv("circle_data.csv");
    std::fprintf(points, "x,y,label\n");
    for (std::size_t i = 0; i < circle_data::size; ++i)
        std::fprintf(points, "%.5f,%.5f,%u\n", static_cast<double>(data.points[2 * i]),
                     static_cast<double>(data.points[2 * i + 1]), data.labels[i]);
    std::fclose(points);

    std::FILE* meta = open_csv("regions_meta.csv");
    std::fprintf(meta, "label,regions,u_min,u_max,v_min,v_max\n");
    std::FILE* sparsity = open_csv("sparsity.csv");
    std::fprintf(sparsity, "when,layer,zero_fraction,dead_units,width\n");

    write_region_map(*params, "regions_before.csv", "scores_before.csv", meta, "before");
    add_sparsity(*params, data, sparsity, "before");

    constexpr std::size_t batch = 32;
    auto train = std::make_unique<hn::trainer<classifier, hn::loss::softmax_cross_entropy, hn::optim::adam, hn::batch<batch>>>(
        *params, hn::optim::adam{0.01f});
    for (int epoch = 0; epoch < 60; ++epoch)
        for (std::size_t first = 0; first < circle_data::size; first += batch)
            train->step(data.points.data() + 2 * first, data.labels.data() + first, batch);
    std::size_t correct = 0;
    for (std::size_t first = 0; first < circle_data::size; first += batch) {
        train->evaluate(data.points.data() + 2 * first, data.labels.data() + first, batch);
        correct += train->count_correct(data.labels.data() + first, batch);
    }
    std::printf("  classifier: %.1f %% of the training points right after 60 epochs\n",
                100.0 * static_cast<double>(correct) / circle_data::size);

    write_region_map(*params, "regions_after.csv", "scores_after.csv", meta, "after");
    add_sparsity(*params, data, sparsity, "after");
    std::fclose(meta);
    std::fclose(sparsity);
}

// ---- gradient norm vs depth ------------------------------------------------------------------

// Depth is a type parameter, so every depth is its own network: compile time grows with the sum
// of the depths (the planner alone takes about 5 s for 50 layers). The per-layer curve reuses the
// deepest network of the sweep.
constexpr std::size_t sweep_width = 64;
constexpr std::size_t deepest = 50;
using sweep_depths = ha::depths<5, 10, 20, deepest>;

inline constexpr auto he_init = [](auto& p, std::uint64_t seed) { hn::init::he_normal(p, seed); };

template <class Act>
void add_sweep(std::FILE* depth_csv, std::FILE* layer_csv, const char* name) {
    const auto curve = ha::sweep_depth<Act, sweep_width>(sweep_depths{}, he_init, 11);
    for (const ha::depth_point& point : curve)
        std::fprintf(depth_csv, "%s,%zu,%.6e,%.6e,%.6e,%.6e\n", name, point.depth, point.first_weight, point.last_weight,
                     point.ratio, point.input);
    // The gradient reaching every layer of the deepest network (the same network as the sweep's
    // last point: same type, seed and inputs).
    using net = ha::deep_network<Act, sweep_width, deepest>;
    auto params = std::make_unique<hn::parameters<net, double>>();
    he_init(*params, 11);
    hn::init::random_generator random(11 ^ 0x5eedu);
    std::array<double, 32 * sweep_width> x{};
    for (double& v : x) v = random.normal();
    auto flow = std::make_unique<ha::gradient_flow<net, 32, double>>();
    const auto& g = flow->measure(*params, x.data(), 32, [](std::size_t, std::size_t) { return 1.0 / 32; });
    for (std::size_t i = 0; i < deepest; ++i)
        std::fprintf(layer_csv, "%s,%zu,%.6e,%.6e\n", name, i + 1, g[i].weight, g[i].input);
    std::printf("  %-7s first/last hidden-layer gradient norm, He init: depth 5 %.3g, depth 50 %.3g\n", name,
                curve.front().ratio, curve.back().ratio);
}

void gradient_pictures() {
    std::FILE* depth_csv = open_csv("gradient_depth.csv");
    std::fprintf(depth_csv, "activation,depth,first_weight,last_weight,ratio,input\n");
    std::FILE* layer_csv = open_csv("gradient_layers.csv");
    std::fprintf(layer_csv, "activation,layer,weight,input\n");
    add_sweep<hn::sigmoid>(depth_csv, layer_csv, "sigmoid");
    add_sweep<hn::tanh>(depth_csv, layer_csv, "tanh");
    add_sweep<hn::relu>(depth_csv, layer_csv, "relu");
    std::fclose(depth_csv);
    std::fclose(layer_csv);
}

// ---- activation variance vs depth: He vs naive initialisation --------------------------------

// The same type as the sweep's deepest ReLU network, so no further planning at compile time.
using deep_relu = ha::deep_network<hn::relu, sweep_width, deepest>;

template <class Initialise>
std::vector<double> second_moments(Initialise initialise) {
    auto params = std::make_unique<hn::parameters<deep_relu, double>>();
    initialise(*params);
    hn::init::random_generator random(5);
    std::vector<double> x(1024 * sweep_width);
    for (double& v : x) v = random.normal();
    auto stats = std::make_unique<ha::activation_statistics<deep_relu>>();
    // The workspace type of the sweep's gradient_flow, so its passes are instantiated once.
    auto ws = std::make_unique<hn::workspace<deep_relu, 32, double, true>>();
    stats->accumulate(*params, *ws, x.data(), 1024);
    std::vector<double> moments;
    for (std::size_t i = 0; i + 1 < deep_relu::stage_count; ++i) moments.push_back(stats->layer(i).mean_second_moment());
    return moments;
}

// Every weight N(0, deviation^2), whatever the width: the "naive" initialisation.
void naive_normal(hn::parameters<deep_relu, double>& p, double deviation, std::uint64_t seed) {
    hn::init::random_generator random(seed);
    p.fill_zero();
    hn::for_each_index<deep_relu::stage_count>([&](auto index) {
        auto view = p.template layer<decltype(index)::value>();
        for (std::size_t o = 0; o < view.output_width; ++o)
            for (std::size_t i = 0; i < view.input_width; ++i) view.weight(o, i) = deviation * random.normal();
    });
}

// E[y^2] per layer. He keeps it in expectation; one finite-width network wanders (a random walk
// in log E[y^2]), so five He networks are written, and their mean.
void variance_pictures() {
    constexpr std::size_t he_networks = 5;
    std::vector<std::vector<double>> he;
    for (std::size_t k = 0; k < he_networks; ++k)
        he.push_back(second_moments([k](auto& p) { hn::init::he_normal(p, 13 + k); }));
    const auto small = second_moments([](auto& p) { naive_normal(p, 0.01, 13); });
    const auto unit = second_moments([](auto& p) { naive_normal(p, 1.0, 13); });
    std::FILE* f = open_csv("variance_depth.csv");
    std::fprintf(f, "layer,he_mean");
    for (std::size_t k = 0; k < he_networks; ++k) std::fprintf(f, ",he_%zu", k);
    std::fprintf(f, ",naive_0.01,naive_1\n");
    double he_mean_last = 0;
    for (std::size_t l = 0; l < small.size(); ++l) {
        double mean = 0;
        for (const auto& run : he) mean += run[l] / he_networks;
        std::fprintf(f, "%zu,%.6e", l + 1, mean);
        for (const auto& run : he) std::fprintf(f, ",%.6e", run[l]);
        std::fprintf(f, ",%.6e,%.6e\n", small[l], unit[l]);
        he_mean_last = mean;
    }
    std::fclose(f);
    std::printf("  E[y^2] at layer 50 (input: 1): He %.3g (mean of %zu networks), N(0, 0.01^2) %.3g, N(0, 1) %.3g\n",
                he_mean_last, he_networks, small.back(), unit.back());
}

// ---- 1-D regression: the exact breakpoints of a fit of sin x ---------------------------------

using regressor = hn::network<hn::input<1>, hn::dense<24>, hn::relu, hn::dense<24>, hn::relu, hn::dense<1>>;

void breakpoint_pictures() {
    constexpr double pi = 3.141592653589793;
    constexpr std::size_t samples = 512, batch = 32;
    std::array<float, samples> x{}, y{};
    hn::init::random_generator random(17);
    for (std::size_t i = 0; i < samples; ++i) {
        x[i] = static_cast<float>(-pi + 2 * pi * random.uniform());
        y[i] = static_cast<float>(std::sin(static_cast<double>(x[i])));
    }
    auto params = std::make_unique<hn::parameters<regressor>>();
    hn::init::he_normal(*params, 19);
    auto train = std::make_unique<hn::trainer<regressor, hn::loss::mean_squared_error, hn::optim::adam, hn::batch<batch>>>(
        *params, hn::optim::adam{0.005f});
    float loss = 0;
    for (int epoch = 0; epoch < 400; ++epoch)
        for (std::size_t first = 0; first < samples; first += batch) loss = train->step(x.data() + first, y.data() + first, batch);

    const std::array<float, 1> a{static_cast<float>(-pi)}, b{static_cast<float>(pi)};
    const auto regions = ha::segment_regions(*params, std::span<const float, 1>(a), std::span<const float, 1>(b));
    std::FILE* curve = open_csv("fit_curve.csv");
    std::fprintf(curve, "x,target,fit\n");
    hn::inference<regressor> run;
    for (std::size_t k = 0; k <= 1000; ++k) {
        const float xk = static_cast<float>(-pi + 2 * pi * static_cast<double>(k) / 1000);
        const std::array<float, 1> in{xk};
        std::fprintf(curve, "%.6f,%.6f,%.6f\n", static_cast<double>(xk), std::sin(static_cast<double>(xk)),
                     static_cast<double>(run(*params, std::span<const float, 1>(in))[0]));
    }
    std::fclose(curve);
    std::FILE* points = open_csv("fit_breakpoints.csv");
    std::fprintf(points, "x,fit\n");
    for (std::size_t k = 0; k < regions.breakpoints.size(); ++k) {
        const double t = regions.breakpoints[k];
        std::fprintf(points, "%.6f,%.6f\n", -pi + 2 * pi * t, regions.pieces[k + 1](0, t));
    }
    std::fclose(points);
    std::printf("  sin x fit: last batch loss %.2g, %zu exact breakpoints on [-pi, pi] (%zu affine pieces)\n",
                static_cast<double>(loss), regions.breakpoints.size(), regions.pieces.size());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1) out_dir = argv[1];
    std::printf("analysis_pictures: writing CSV files into %s\n", out_dir.c_str());
    classifier_pictures();
    breakpoint_pictures();
    variance_pictures();
    gradient_pictures();
    return 0;
}
