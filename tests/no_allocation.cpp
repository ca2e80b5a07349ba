// Proof that forward, backward and a training step allocate nothing: every operator new and,
// outside sanitizer builds, every malloc-family call of this test executable is counted.
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

#include <boost/test/unit_test.hpp>

#include <hinge/hinge.hpp>

#include "allocation_counter.hpp"

namespace {
std::atomic<std::size_t> allocations{0};
}

// For the other test files' allocation proofs (tests/training/fit.cpp).
std::size_t hinge_test_allocation_count() { return allocations.load(); }

// ---- operator new: all replaceable forms ----------------------------------------------------
// g++ 12 sees the replaced new and delete inlined into each other and warns that free() meets
// a pointer from operator new; here that pairing is exactly what the replacement intends.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
    ++allocations;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    ++allocations;
    return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void* operator new(std::size_t n, std::align_val_t a) {
    ++allocations;
    const std::size_t alignment = static_cast<std::size_t>(a);
    if (void* p = std::aligned_alloc(alignment, (n + alignment - 1) / alignment * alignment)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    ++allocations;
    const std::size_t alignment = static_cast<std::size_t>(a);
    return std::aligned_alloc(alignment, (n + alignment - 1) / alignment * alignment);
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t& t) noexcept {
    return operator new(n, a, t);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

// ---- malloc family (glibc), which a new-counter cannot see ----------------------------------
// Interposing crashes under AddressSanitizer, which has its own malloc; skip it there.
#if defined(__SANITIZE_ADDRESS__)
#define HINGE_COUNT_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HINGE_COUNT_MALLOC 0
#endif
#endif
#ifndef HINGE_COUNT_MALLOC
#define HINGE_COUNT_MALLOC 1
#endif

#if HINGE_COUNT_MALLOC
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);

void* malloc(std::size_t n) {
    ++allocations;
    return __libc_malloc(n);
}
void* calloc(std::size_t count, std::size_t n) {
    ++allocations;
    return __libc_calloc(count, n);
}
void* realloc(void* p, std::size_t n) {
    ++allocations;
    return __libc_realloc(p, n);
}
void* aligned_alloc(std::size_t alignment, std::size_t n) {
    ++allocations;
    return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t n) {
    ++allocations;
    *out = __libc_memalign(alignment, n);
    return *out ? 0 : 12;  // ENOMEM
}
}
#endif

namespace hn = hinge;

namespace {
// Counts the allocations made while f runs. The check itself happens after the scope, since a
// failing BOOST_TEST allocates.
template <class F>
std::size_t allocations_during(F&& f) {
    const std::size_t before = allocations.load();
    f();
    return allocations.load() - before;
}

using mlp = hn::network<hn::input<20>, hn::dense<33>, hn::relu, hn::dense<17>, hn::relu, hn::dense<5>>;
constexpr std::size_t batch_size = 8;

template <class T>
struct fixture {
    std::unique_ptr<hn::parameters<mlp, T>> params = std::make_unique<hn::parameters<mlp, T>>();
    std::unique_ptr<hn::gradients<mlp, T>> grads = std::make_unique<hn::gradients<mlp, T>>();
    std::unique_ptr<hn::workspace<mlp, batch_size, T>> ws = std::make_unique<hn::workspace<mlp, batch_size, T>>();
    std::array<T, batch_size * mlp::input_size> x{};
    fixture() {
        hn::init::he_normal(*params, 3);
        for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<T>(i % 7) * T(0.1);
    }
};
}  // namespace

BOOST_AUTO_TEST_SUITE(no_allocation)

BOOST_AUTO_TEST_CASE(the_counter_sees_allocations) {
    // Guards against a counter that cannot fail.
    // The pointers escape through a volatile, so the compiler cannot elide the pair.
    static int* volatile escaped_int;
    const std::size_t n = allocations_during([] {
        escaped_int = new int(1);
        delete escaped_int;
    });
    BOOST_TEST(n >= 1u);
#if HINGE_COUNT_MALLOC
    static void* volatile escaped_block;
    const std::size_t m = allocations_during([] {
        escaped_block = std::malloc(16);
        std::free(escaped_block);
    });
    BOOST_TEST(m >= 1u);
#endif
}

BOOST_AUTO_TEST_CASE(batch_one_inference_allocates_nothing) {
    fixture<float> f;
    hn::inference<mlp> run;
    std::span<const float, mlp::input_size> x(f.x.data(), mlp::input_size);
    run(*f.params, x);  // warm-up
    float sink = 0;
    const std::size_t n = allocations_during([&] {
        for (int i = 0; i < 10; ++i) sink += run(*f.params, x)[0];
    });
    BOOST_TEST(n == 0u);
    BOOST_TEST(std::isfinite(sink));
}

BOOST_AUTO_TEST_CASE(forward_and_backward_allocate_nothing) {
    fixture<double> f;
    const std::size_t n = allocations_during([&] {
        hn::forward(*f.params, *f.ws, f.x.data());
        hn::seed_output_gradient(*f.ws, *f.grads, batch_size, [](std::size_t, std::size_t j) { return double(j) - 2; });
        hn::backward(*f.params, *f.ws, f.x.data(), *f.grads, batch_size, hn::input_gradient::compute);
    });
    BOOST_TEST(n == 0u);
}

BOOST_AUTO_TEST_CASE(training_steps_allocate_nothing) {
    fixture<float> f;
    hn::trainer<mlp, hn::loss::softmax_cross_entropy, hn::optim::sgd, hn::batch<batch_size>> ce(*f.params, {0.01f});
    hn::trainer<mlp, hn::loss::mean_squared_error, hn::optim::sgd, hn::batch<batch_size>> mse(*f.params, {0.01f});
    std::array<std::uint32_t, batch_size> labels{};
    for (std::size_t i = 0; i < batch_size; ++i) labels[i] = static_cast<std::uint32_t>(i % mlp::output_size);
    std::array<float, batch_size * mlp::output_size> targets{};
    float loss = 0;
    const std::size_t n = allocations_during([&] {
        for (int i = 0; i < 5; ++i) {
            loss += ce.step(f.x, labels);
            loss += mse.step(f.x, targets);
            loss += ce.step(f.x.data(), labels.data(), 3);  // a partial batch
        }
    });
    BOOST_TEST(n == 0u);
    BOOST_TEST(std::isfinite(loss));
}

// Every stage kind and activation form: batch norm (training statistics), a learned slope,
// training noise, an activation that keeps z, and Adam's state.
BOOST_AUTO_TEST_CASE(training_steps_of_every_stage_kind_allocate_nothing) {
    using net = hn::network<hn::input<20>, hn::dense<33>, hn::batch_norm, hn::prelu, hn::dense<17>,
                            hn::noisy_relu<0.1f>, hn::dense<9>, hn::gelu, hn::dense<5>>;
    auto params = std::make_unique<hn::parameters<net>>();
    hn::init::automatic(*params, 5);
    auto train = std::make_unique<hn::trainer<net, hn::loss::softmax_cross_entropy, hn::optim::adam, hn::batch<batch_size>>>(
        *params, hn::optim::adam{});
    std::array<float, batch_size * net::input_size> x{};
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 11) * 0.1f - 0.5f;
    std::array<std::uint32_t, batch_size> labels{};
    for (std::size_t i = 0; i < batch_size; ++i) labels[i] = static_cast<std::uint32_t>(i % net::output_size);
    hn::inference<net> run;
    float sink = train->step(x, labels);  // warm-up
    const std::size_t n = allocations_during([&] {
        for (int i = 0; i < 5; ++i) sink += train->step(x, labels);
        sink += train->step(x.data(), labels.data(), 3);
        sink += run(*params, std::span<const float, net::input_size>(x.data(), net::input_size))[0];
    });
    BOOST_TEST(n == 0u);
    BOOST_TEST(std::isfinite(sink));
}

// Convolutional networks: every new stage kind (convolution with and without gathered windows,
// pooling, flatten, dropout, residual addition with and without projection, per-channel
// batch_norm and prelu), through the
// trainer and through batch-1 inference.
BOOST_AUTO_TEST_CASE(convolutional_training_steps_allocate_nothing) {
    using net = hn::network<hn::input<10, 10, 2>, hn::conv2d<8, 3>, hn::batch_norm, hn::prelu, hn::max_pool2d<2>,
                            hn::residual<hn::conv2d<8, 3>, hn::relu, hn::conv2d<8, 1>>, hn::relu,
                            hn::residual_with<hn::conv2d<12, 1>, hn::conv2d<12, 3>>, hn::relu, hn::dropout<0.2f>,
                            hn::avg_pool2d<2>, hn::flatten, hn::dense<16>, hn::relu, hn::dense<4>>;
    using sequence = hn::network<hn::input<16, 3>, hn::conv1d<6, 2, 1, hn::padding::valid, 2>, hn::relu,
                                 hn::global_avg_pool, hn::dense<4>>;
    auto params = std::make_unique<hn::parameters<net>>();
    hn::init::automatic(*params, 5);
    auto train = std::make_unique<hn::trainer<net, hn::loss::softmax_cross_entropy, hn::optim::adam, hn::batch<batch_size>>>(
        *params, hn::optim::adam{});
    auto params_1d = std::make_unique<hn::parameters<sequence>>();
    hn::init::automatic(*params_1d, 6);
    auto train_1d = std::make_unique<hn::trainer<sequence, hn::loss::softmax_cross_entropy, hn::optim::sgd, hn::batch<batch_size>>>(
        *params_1d, hn::optim::sgd{0.01f});
    std::array<float, batch_size * net::input_size> x{};
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 13) * 0.1f - 0.6f;
    std::array<std::uint32_t, batch_size> labels{};
    for (std::size_t i = 0; i < batch_size; ++i) labels[i] = static_cast<std::uint32_t>(i % net::output_size);
    auto run = std::make_unique<hn::inference<net>>();
    float sink = train->step(x, labels) + train_1d->step(x.data(), labels.data(), batch_size);  // warm-up
    const std::size_t n = allocations_during([&] {
        for (int i = 0; i < 3; ++i) sink += train->step(x, labels);
        sink += train->step(x.data(), labels.data(), 3);
        sink += train_1d->step(x.data(), labels.data(), batch_size);
        sink += (*run)(*params, std::span<const float, net::input_size>(x.data(), net::input_size))[0];
    });
    BOOST_TEST(n == 0u);
    BOOST_TEST(std::isfinite(sink));
}

// Thread teams: steps and forward passes split over 2 and 3 threads (3 > the cores of the CI
// machine, so the members block instead of spinning) allocate nothing on any thread; the
// counter sees every thread's allocations. The team is created (and allocates) before.
BOOST_AUTO_TEST_CASE(steps_and_forward_passes_on_thread_teams_allocate_nothing) {
    using net = hn::network<hn::input<10, 10, 2>, hn::conv2d<8, 3>, hn::batch_norm, hn::prelu, hn::max_pool2d<2>,
                            hn::residual<hn::conv2d<8, 3>, hn::relu, hn::conv2d<8, 1>>, hn::relu,
                            hn::dropout<0.2f>, hn::avg_pool2d<2>, hn::flatten, hn::dense<40>, hn::relu,
                            hn::dense<4>>;
    auto params = std::make_unique<hn::parameters<net>>();
    hn::init::automatic(*params, 5);
    using trainer = hn::trainer<net, hn::loss::softmax_cross_entropy, hn::optim::adam, hn::batch<batch_size>>;
    auto train = std::make_unique<trainer>(*params, hn::optim::adam{});
    auto ws = std::make_unique<hn::workspace<net, batch_size, float, false>>();
    std::array<float, batch_size * net::input_size> x{};
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 13) * 0.1f - 0.6f;
    std::array<std::uint32_t, batch_size> labels{};
    for (std::size_t i = 0; i < batch_size; ++i) labels[i] = static_cast<std::uint32_t>(i % net::output_size);
    float sink = 0;
    for (std::size_t threads : {2, 3}) {
        hn::thread_team team(threads);
        train->use(team);
        sink += train->step(x, labels);  // warm-up
        hn::forward(*params, *ws, x.data(), batch_size, team);
        const std::size_t n = allocations_during([&] {
            for (int i = 0; i < 3; ++i) sink += train->step(x, labels);
            sink += train->step(x.data(), labels.data(), 3);
            sink += train->evaluate(x.data(), labels.data(), batch_size).loss;
            hn::forward(*params, *ws, x.data(), batch_size, team);
            hn::forward(*params, *ws, x.data(), 5, team);
            sink += ws->output(0)[0];
        });
        BOOST_TEST(n == 0u);
        train->use(nullptr);
    }
    BOOST_TEST(std::isfinite(sink));
}

// Sequence models: training steps through time (gru, lstm, causal conv1d, per-step dense; with
// Adam, full and partial batches, and truncated BPTT carrying the state), and a stream over a
// million steps, the real-time path.
// A million steps; a tenth of that in the sanitizer build, which runs this at -O0 (36 s for the
// million): the steps take the same path, so the tenth proves the same.
#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t streamed_steps = 100'000;
#else
constexpr std::size_t streamed_steps = 1'000'000;
#endif

BOOST_AUTO_TEST_CASE(sequence_training_and_a_million_streamed_steps_allocate_nothing) {
    using net = hn::network<hn::input<24, 2>, hn::conv1d<8, 2, 1, hn::padding::causal, 2>, hn::tanh, hn::gru<12>,
                            hn::lstm<9>, hn::dense<1>>;
    auto params = std::make_unique<hn::parameters<net>>();
    hn::init::automatic(*params, 7);
    auto train = std::make_unique<hn::trainer<net, hn::loss::mean_squared_error, hn::optim::adam, hn::batch<4>>>(
        *params, hn::optim::adam{});
    std::array<float, 4 * net::input_size> x{};
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 13) * 0.1f - 0.6f;
    std::array<float, 4 * net::output_size> y{};
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<float>(i % 5) * 0.1f;
    auto stream = std::make_unique<hn::stream<net>>();
    float sink = train->step(x, y) + (*stream)(*params, std::span<const float, 2>(x.data(), 2))[0];  // warm-up
    std::array<float, 256 * 2> block{};
    std::array<float, 256> out{};
    const std::size_t n = allocations_during([&] {
        for (int i = 0; i < 3; ++i) sink += train->step(x, y);
        sink += train->step(x.data(), y.data(), 3);
        train->carry_state(true);
        for (int i = 0; i < 3; ++i) sink += train->step(x, y);
        train->reset_state();
        for (std::size_t b = 0; b < streamed_steps / 256; ++b) {
            block[b % block.size()] = static_cast<float>(b % 7) * 0.1f;
            stream->process(*params, block, out);
            sink += out[b % out.size()];
        }
    });
    BOOST_TEST(n == 0u);
    BOOST_TEST(stream->steps() == 1 + streamed_steps / 256 * 256);
    BOOST_TEST(std::isfinite(sink));
}

// The layer kinds written through the stage protocol: grouped and depthwise convolutions (as a
// first stage too) and layer_norm, through the trainer (Adam), batch-1 inference and a thread
// team; and a grouped causal stack with layer_norm trained with carried state and streamed.
BOOST_AUTO_TEST_CASE(grouped_convolution_and_layer_norm_allocate_nothing) {
    using net = hn::network<hn::input<10, 10, 4>, hn::conv2d<8, 3, 1, hn::padding::same, 1, 4>, hn::layer_norm,
                            hn::relu, hn::conv2d<8, 3, 1, hn::padding::same, 1, 8>, hn::prelu,
                            hn::conv2d<16, 3, 2, hn::padding::same, 1, 2>, hn::layer_norm, hn::relu, hn::global_avg_pool,
                            hn::dense<12>, hn::layer_norm, hn::tanh, hn::dense<4>>;
    using sequence = hn::network<hn::input<24, 4>, hn::conv1d<8, 2, 1, hn::padding::causal, 1, 4>, hn::tanh,
                                 hn::conv1d<8, 3, 1, hn::padding::causal, 2, 2>, hn::layer_norm, hn::tanh, hn::gru<6>,
                                 hn::dense<1>>;
    auto params = std::make_unique<hn::parameters<net>>();
    hn::init::automatic(*params, 5);
    auto train = std::make_unique<hn::trainer<net, hn::loss::softmax_cross_entropy, hn::optim::adam, hn::batch<batch_size>>>(
        *params, hn::optim::adam{});
    auto seq_params = std::make_unique<hn::parameters<sequence>>();
    hn::init::automatic(*seq_params, 6);
    auto seq_train = std::make_unique<hn::trainer<sequence, hn::loss::mean_squared_error, hn::optim::adam, hn::batch<4>>>(
        *seq_params, hn::optim::adam{});
    std::array<float, batch_size * net::input_size> x{};
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 13) * 0.1f - 0.6f;
    std::array<std::uint32_t, batch_size> labels{};
    for (std::size_t i = 0; i < batch_size; ++i) labels[i] = static_cast<std::uint32_t>(i % net::output_size);
    std::array<float, 4 * sequence::output_size> y{};
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<float>(i % 5) * 0.1f;
    auto run = std::make_unique<hn::inference<net>>();
    auto stream = std::make_unique<hn::stream<sequence>>();
    std::array<float, 64 * 4> block{};
    std::array<float, 64> out{};
    hn::thread_team team(2);
    float sink = train->step(x, labels) + seq_train->step(x.data(), y.data(), 4);  // warm-up
    const std::size_t n = allocations_during([&] {
        for (int i = 0; i < 2; ++i) sink += train->step(x, labels);
        sink += train->step(x.data(), labels.data(), 3);
        sink += (*run)(*params, std::span<const float, net::input_size>(x.data(), net::input_size))[0];
        train->use(team);
        sink += train->step(x, labels);
        train->use(nullptr);
        for (int i = 0; i < 2; ++i) sink += seq_train->step(x.data(), y.data(), 4);
        seq_train->carry_state(true);
        sink += seq_train->step(x.data(), y.data(), 4);
        seq_train->reset_state();
        for (std::size_t b = 0; b < 100; ++b) {
            block[b % block.size()] = static_cast<float>(b % 7) * 0.1f;
            stream->process(*seq_params, block, out);
            sink += out[b % out.size()];
        }
    });
    BOOST_TEST(n == 0u);
    BOOST_TEST(stream->steps() == 6400u);
    BOOST_TEST(std::isfinite(sink));
}

BOOST_AUTO_TEST_SUITE_END()
