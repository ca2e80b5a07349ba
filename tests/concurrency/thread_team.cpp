// Thread teams (runtime/threads.hpp): a parallel training step and a parallel forward pass
// against the single-threaded ones, on networks with every stage kind. Part of the
// concurrent_inference executable, so that quickstart.sh runs it under ThreadSanitizer too
// (which then checks that the members of a team never race on a workspace, a gradient block or
// the parameters, step after step).
//
// The laws checked (tolerances stated where a law is not bit-exact):
//   - a parallel forward pass (inference and training semantics) equals the serial one bit for bit;
//   - a parallel step of a network of dense, batch_norm, prelu, gelu, dropout, residual and
//     recurrent stages, with Adam, gives the serial parameters bit for bit, step after step
//     (every value is computed by one member in the serial order);
//   - a parallel step of a CNN (conv, pooling, flatten; and one of grouped and depthwise convs with
//     layer_norm): every weight gradient equals the serial one bit for bit; the bias gradients of
//     the stages before a pooling stage or a convolution (summed per member and then in member
//     order) agree to 1e-5 relative to the largest; the same team size gives the same parameters
//     bit for bit, run after run;
//   - a team larger than the machine's cores works, and a team destroyed while idle (its workers
//     asleep, or never used) joins cleanly.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include <hinge/hinge.hpp>

namespace hn = hinge;

namespace {

int failures = 0;

void check(bool ok, const char* what) {
    std::printf("  %s: %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) ++failures;
}

template <class Block>
bool same_bits(const Block& a, const Block& b) {
    return std::memcmp(a.data(), b.data(), sizeof(a)) == 0;
}

float value(std::size_t i, std::size_t salt) {
    return static_cast<float>((i * 2654435761u + salt * 40503u) % 1000u) / 500.0f - 1.0f;
}

// Every stage kind that has no convolution; the recurrent stage works on a sequence of 6 steps.
using mixed_net = hn::network<hn::input<6, 5>, hn::gru<20>, hn::dense<40>, hn::relu,
                              hn::residual<hn::dense<40>, hn::batch_norm, hn::prelu>, hn::dropout<0.25f>,
                              hn::dense<36>, hn::gelu, hn::dense<3>>;
using mixed_trainer = hn::trainer<mixed_net, hn::loss::mean_squared_error, hn::optim::adam, hn::batch<12>>;

// 784-256-128-10's shape class, smaller: panel split everywhere.
using mlp_net = hn::network<hn::input<100>, hn::dense<96>, hn::relu, hn::dense<64>, hn::leaky_relu<0.01f>,
                            hn::dense<10>>;
using mlp_trainer = hn::trainer<mlp_net, hn::loss::softmax_cross_entropy, hn::optim::momentum, hn::batch<20>>;

using cnn_net = hn::network<hn::input<12, 12, 2>, hn::conv2d<8, 3>, hn::relu, hn::max_pool2d<2>, hn::conv2d<20, 3>,
                            hn::relu, hn::avg_pool2d<2>, hn::flatten, hn::dense<16>, hn::relu, hn::dense<4>>;
using cnn_trainer = hn::trainer<cnn_net, hn::loss::softmax_cross_entropy, hn::optim::sgd, hn::batch<10>>;

// Grouped (depthwise with a multiplier on the input, 2 groups), depthwise, and layer_norm per position.
using grouped_net = hn::network<hn::input<10, 10, 4>, hn::conv2d<8, 3, 1, hn::padding::same, 1, 4>, hn::layer_norm,
                                hn::relu, hn::conv2d<8, 3, 1, hn::padding::same, 1, 8>, hn::relu, hn::max_pool2d<2>,
                                hn::conv2d<16, 3, 1, hn::padding::same, 1, 2>, hn::tanh, hn::flatten, hn::dense<4>>;
using grouped_trainer = hn::trainer<grouped_net, hn::loss::softmax_cross_entropy, hn::optim::sgd, hn::batch<10>>;

template <class Trainer>
struct data {
    using Net = typename Trainer::network_type;
    std::vector<float> inputs;
    std::vector<typename Trainer::target_type> targets;
    explicit data(std::size_t batches) {
        constexpr std::size_t B = Trainer::batch_size;
        inputs.resize(batches * B * Net::input_size);
        targets.resize(batches * B * Trainer::targets_per_sample);
        for (std::size_t i = 0; i < inputs.size(); ++i) inputs[i] = value(i, 1);
        for (std::size_t i = 0; i < targets.size(); ++i) {
            if constexpr (std::is_same_v<typename Trainer::target_type, float>)
                targets[i] = value(i, 2);
            else
                targets[i] = static_cast<typename Trainer::target_type>(i * 7 % Net::output_size);
        }
    }
    const float* x(std::size_t b) const { return inputs.data() + b * Trainer::batch_size * Net::input_size; }
    const typename Trainer::target_type* t(std::size_t b) const {
        return targets.data() + b * Trainer::batch_size * Trainer::targets_per_sample;
    }
};

// Parameters after `steps` steps (the last one on a partial batch) with a team of `threads`
// (0: no team at all).
template <class Trainer, class Init>
std::unique_ptr<hn::parameters<typename Trainer::network_type>> train(std::size_t threads, std::size_t steps,
                                                                      const data<Trainer>& d, Init init,
                                                                      float* last_loss = nullptr) {
    auto params = std::make_unique<hn::parameters<typename Trainer::network_type>>();
    init(*params);
    auto trainer = std::make_unique<Trainer>(*params);
    std::unique_ptr<hn::thread_team> team;
    if (threads > 0) {
        team = std::make_unique<hn::thread_team>(threads);
        trainer->use(*team);
    }
    for (std::size_t s = 0; s < steps; ++s) {
        const std::size_t rows = s + 1 == steps ? Trainer::batch_size - 3 : Trainer::batch_size;
        const float loss = trainer->step(d.x(s % 3), d.t(s % 3), rows);
        if (last_loss) *last_loss = loss;
    }
    return params;
}

template <class Net>
double max_difference(const hn::parameters<Net>& a, const hn::parameters<Net>& b) {
    double worst = 0;
    for (std::size_t i = 0; i < a.storage_size; ++i)
        worst = std::max(worst, std::abs(static_cast<double>(a.data()[i]) - static_cast<double>(b.data()[i])));
    return worst;
}

void mixed_network_steps_equal_serial_steps() {
    std::printf("mixed network (gru, dense, residual, batch_norm, prelu, dropout, gelu), Adam:\n");
    const data<mixed_trainer> d(3);
    const auto init = [](auto& p) { hn::init::he_normal(p, 5); };
    const auto serial = train<mixed_trainer>(0, 7, d, init);
    for (std::size_t threads : {1, 2, 3, 5}) {
        const auto parallel = train<mixed_trainer>(threads, 7, d, init);
        char what[160];
        std::snprintf(what, sizeof what, "%zu-member team, 7 steps: parameters equal the serial ones bit for bit",
                      threads);
        check(same_bits(*parallel, *serial), what);
    }
}

void mlp_steps_equal_serial_steps() {
    std::printf("MLP 100-96-64-10, momentum:\n");
    const data<mlp_trainer> d(3);
    const auto init = [](auto& p) { hn::init::he_normal(p, 9); };
    const auto serial = train<mlp_trainer>(0, 9, d, init);
    for (std::size_t threads : {2, 4}) {
        const auto parallel = train<mlp_trainer>(threads, 9, d, init);
        char what[160];
        std::snprintf(what, sizeof what, "%zu-member team, 9 steps: parameters equal the serial ones bit for bit",
                      threads);
        check(same_bits(*parallel, *serial), what);
    }
}

template <class Trainer>
void steps_are_deterministic_and_close_to_serial(const char* title) {
    using Net = typename Trainer::network_type;
    std::printf("%s, SGD:\n", title);
    const data<Trainer> d(3);
    const auto init = [](auto& p) { hn::init::he_normal(p, 3); };
    // One step's gradients from the same parameters.
    auto params = std::make_unique<hn::parameters<Net>>();
    init(*params);
    auto serial = std::make_unique<Trainer>(*params);
    serial->optimizer().learning_rate = 0.f;  // keep the parameters: both trainers see the same
    serial->step(d.x(0), d.t(0), Trainer::batch_size);
    for (std::size_t threads : {2, 3}) {
        hn::thread_team team(threads);
        auto parallel = std::make_unique<Trainer>(*params);
        parallel->optimizer().learning_rate = 0.f;
        parallel->use(team);
        parallel->step(d.x(0), d.t(0), Trainer::batch_size);
        const auto& gs = serial->last_gradients();
        const auto& gp = parallel->last_gradients();
        bool weights_exact = true;
        double bias_error = 0, bias_scale = 0;
        hn::for_each_index<Net::stage_count>([&](auto index) {
            constexpr std::size_t i = decltype(index)::value;
            constexpr auto s = hn::layout<Net, float>::stages[i];
            if constexpr (s.weight_offset != hn::no_offset) {
                const std::size_t weights = s.bias_offset - s.weight_offset;  // weights precede the bias
                weights_exact = weights_exact && std::memcmp(gs.data() + s.weight_offset, gp.data() + s.weight_offset,
                                                             weights * sizeof(float)) == 0;
                for (std::size_t j = 0; j < s.padded_output; ++j) {
                    const double a = gs.data()[s.bias_offset + j], b = gp.data()[s.bias_offset + j];
                    bias_error = std::max(bias_error, std::abs(a - b));
                    bias_scale = std::max(bias_scale, std::abs(a));
                }
            }
        });
        char what[200];
        std::snprintf(what, sizeof what, "%zu-member team: every weight gradient equals the serial one bit for bit",
                      threads);
        check(weights_exact, what);
        std::snprintf(what, sizeof what,
                      "%zu-member team: bias gradients within 1e-5 of the largest (%.2e relative)", threads,
                      bias_error / bias_scale);
        check(bias_error <= 1e-5 * bias_scale, what);
    }
    // Training: the same team size gives the same parameters; other sizes stay close.
    const auto serial_run = train<Trainer>(0, 6, d, init);
    const auto first = train<Trainer>(2, 6, d, init);
    const auto second = train<Trainer>(2, 6, d, init);
    check(same_bits(*first, *second), "2-member team, 6 steps, twice: the same parameters bit for bit");
    const auto three = train<Trainer>(3, 6, d, init);
    const auto three_again = train<Trainer>(3, 6, d, init);
    check(same_bits(*three, *three_again), "3-member team, 6 steps, twice: the same parameters bit for bit");
    const double difference = std::max(max_difference(*first, *serial_run), max_difference(*three, *serial_run));
    char what[160];
    std::snprintf(what, sizeof what, "2 and 3 members vs serial after 6 steps: parameters within 1e-5 (%.2e)",
                  difference);
    check(difference <= 1e-5, what);
}

template <class Net, std::size_t Batch>
void forward_equals_serial(const char* name, std::size_t threads) {
    auto params = std::make_unique<hn::parameters<Net>>();
    hn::init::he_normal(*params, 21);
    std::vector<float> x(Batch * Net::input_size);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = value(i, 4);
    auto serial = std::make_unique<hn::workspace<Net, Batch, float, false>>();
    auto parallel = std::make_unique<hn::workspace<Net, Batch, float, false>>();
    hn::thread_team team(threads);
    bool same = true;
    for (std::size_t rows : {Batch, Batch - 1, std::size_t{1}}) {
        hn::forward(*params, *serial, x.data(), rows);
        hn::forward(*params, *parallel, x.data(), rows, team);
        constexpr std::size_t last = Net::stage_count - 1;
        constexpr std::size_t size = hn::layout<Net, float>::stages[last].row_size;
        same = same && std::memcmp(serial->template activation<last>(), parallel->template activation<last>(),
                                   rows * size * sizeof(float)) == 0;
    }
    char what[160];
    std::snprintf(what, sizeof what, "%s, %zu-member team, %zu, %zu and 1 rows: outputs equal the serial ones bit for bit",
                  name, threads, Batch, Batch - 1);
    check(same, what);
}

void forward_passes_equal_serial_passes() {
    std::printf("batched inference:\n");
    forward_equals_serial<mixed_net, 12>("mixed network", 2);
    forward_equals_serial<mlp_net, 33>("MLP", 3);
    forward_equals_serial<cnn_net, 10>("CNN", 2);
    forward_equals_serial<grouped_net, 10>("grouped CNN", 3);
}

void more_members_than_cores_and_idle_destruction() {
    std::printf("team lifetime:\n");
    const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
    {
        const data<mlp_trainer> d(3);
        const auto init = [](auto& p) { hn::init::he_normal(p, 9); };
        const auto serial = train<mlp_trainer>(0, 4, d, init);
        const auto crowded = train<mlp_trainer>(4 * cores, 4, d, init);
        char what[160];
        std::snprintf(what, sizeof what, "%zu members on %zu cores: 4 steps equal the serial ones bit for bit",
                      4 * cores, cores);
        check(same_bits(*crowded, *serial), what);
    }
    {
        hn::thread_team never_used(3);
        check(never_used.size() == 3, "a team that never ran a pass is destroyed cleanly (joined below)");
    }
    {
        hn::thread_team team(hn::thread_team_options{3, hn::thread_pinning::cores, 64});
        std::size_t calls[3] = {};
        team.run([&](hn::work_share share) { ++calls[share.part]; });
        // Spin budget of 64 pauses: the workers are blocked in the kernel by now.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        team.run([&](hn::work_share share) { ++calls[share.part]; });
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        check(calls[0] == 2 && calls[1] == 2 && calls[2] == 2,
              "pinned team whose workers went to sleep between passes: every part ran once per pass");
    }
}

}  // namespace

int thread_team_checks() {
    mixed_network_steps_equal_serial_steps();
    mlp_steps_equal_serial_steps();
    steps_are_deterministic_and_close_to_serial<cnn_trainer>("CNN (conv, max and average pooling, flatten, dense)");
    steps_are_deterministic_and_close_to_serial<grouped_trainer>(
        "grouped CNN (grouped and depthwise conv, layer_norm, pooling, flatten, dense)");
    forward_passes_equal_serial_passes();
    more_members_than_cores_and_idle_destruction();
    std::printf("thread teams: %d failed\n", failures);
    return failures;
}
