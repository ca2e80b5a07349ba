#pragma once
// Runtime instruction-set dispatch, opt-in: one binary that runs the AVX2+FMA kernels where the
// CPU has them and the SSE4.2 or SSE2 kernels elsewhere (a plugin built once for every x86-64).
//
// A header-only library cannot compile code for several instruction sets by itself: with xsimd
// 8.1 an arch's batches exist only in a file compiled with that arch's flags. So the program
// names its networks in one small "entries" file, and CMake compiles that file once per arch:
//
//     // my_entries.cpp (no main; compiled once per arch by hinge_add_dispatch)
//     #include "my_network.hpp"                  // using my_net = hinge::network<...>; ...
//     #include <hinge/runtime/dispatch_entries.hpp>
//     HINGE_DISPATCH_INFERENCE(my_net)           // batch-1 inference, float
//     HINGE_DISPATCH_TRAINER(my_trainer)         // trainer<...>::step
//
//     # CMakeLists.txt
//     hinge_add_dispatch(my_app SOURCES my_entries.cpp ARCHS avx512bw fma3_avx2 sse4_2 sse2)
//
//     // anywhere in my_app (built with the baseline flags):
//     hinge::dispatched_inference<my_net> infer;         // picks the best arch the CPU has, once
//     auto y = infer(params, x);                          // one indirect call, then the kernels
//     hinge::dispatched_step<my_trainer> step;            // the same for a training step
//     float loss = step(trainer, inputs, targets, rows);
//
// The choice follows xsimd::dispatch over dispatch_archs (best first); a constructor argument
// forces one arch by name ("avx512bw", "fma3+avx2", "sse4.2", "sse2": xsimd's Arch::name()), for tests and
// for users who know better. Calls allocate nothing and throw nothing; constructors may throw
// (an unknown or unavailable forced arch). A missing entries object for an arch in the list is a
// link error naming dispatched_inference_entry<that arch, ...>.
//
// Why the code of one arch cannot leak into another's path: the kernels, passes and training step
// live in an inline namespace named after the compiled instruction set (kernels/simd.hpp), and
// the entry points are templated on the arch and flattened (every call inlined), so an entries
// object defines no function under a name that another arch's object also defines
// (tests/runtime/dispatch_symbols.sh checks the object files).
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include <hinge/detail/xsimd.hpp>

#include <hinge/runtime/passes.hpp>
#include <hinge/runtime/trainer.hpp>

namespace hinge {

// The x86-64 instruction sets hinge_add_dispatch compiles for by default, best first (xsimd 8.1
// takes the first whose version the CPU reaches). AVX-512 (avx512bw, -march=x86-64-v4) comes
// first because it is measured faster than AVX2+FMA on the AVX-512 host for every workload of
// bench/, training and batch 1 (docs/performance.md); xsimd::rsqrt, which does not compile for
// avx512f with xsimd 8.1, is not used by hinge.
using dispatch_archs = xsimd::arch_list<xsimd::avx512bw, xsimd::fma3<xsimd::avx2>, xsimd::sse4_2, xsimd::sse2>;

// The per-arch entry points: declared here, defined in dispatch_entries.hpp, instantiated by the
// HINGE_DISPATCH_* macros in a file compiled for Arch.
template <class Arch, class Net, class T = float>
struct dispatched_inference_entry {
    static void run(const parameters<Net, T>& params, workspace<Net, 1, T, false>& ws, const T* x) noexcept;
};

template <class Arch, class Trainer>
struct dispatched_training_step_entry {
    using value_type = typename Trainer::value_type;
    using target_type = typename Trainer::target_type;
    static value_type run(Trainer& trainer, const value_type* inputs, const target_type* targets,
                          std::size_t rows) noexcept;
};

namespace detail {

template <class Function>
struct chosen_entry {
    Function* function;
    const char* arch_name;
};

inline std::string arch_names(auto... archs) {
    std::string names;
    ((names += (names.empty() ? "" : ", ") + std::string(decltype(archs)::name())), ...);
    return names;
}

// The entry of the best arch of Archs that this CPU runs (xsimd::dispatch's rule), or of the arch
// called `forced`. EntryOf is a generic callable: arch -> pointer to that arch's entry function.
template <class Function, class... Archs, class EntryOf>
chosen_entry<Function> choose_entry(xsimd::arch_list<Archs...>, EntryOf entry_of, std::string_view forced) {
    if (forced.empty())
        return xsimd::dispatch<xsimd::arch_list<Archs...>>([&](auto arch) {
            return chosen_entry<Function>{entry_of(arch), decltype(arch)::name()};
        })();
    const unsigned best = xsimd::available_architectures().best;
    chosen_entry<Function> chosen{nullptr, nullptr};
    bool known = false;
    auto consider = [&](auto arch) {
        using Arch = decltype(arch);
        if (chosen.function || forced != Arch::name()) return;
        known = true;
        if (Arch::version() <= best) chosen = {entry_of(arch), Arch::name()};
    };
    (consider(Archs{}), ...);
    if (!known)
        throw std::invalid_argument("hinge: instruction set '" + std::string(forced) +
                                    "' is not one the program was built for (" + arch_names(Archs{}...) + ")");
    if (!chosen.function)
        throw std::invalid_argument("hinge: this CPU cannot run instruction set '" + std::string(forced) + "'");
    return chosen;
}

}  // namespace detail

// Batch-1 inference like hinge::inference<Net, T>, through the entry of the arch chosen at
// construction. One object per thread: parameters may be shared.
template <class Net, class T = float, class Archs = dispatch_archs>
class dispatched_inference {
public:
    // The best arch of Archs that this CPU runs.
    dispatched_inference() : dispatched_inference(std::string_view{}) {}
    // A named arch ("avx512bw", "fma3+avx2", "sse4.2", "sse2"); throws std::invalid_argument when it is not
    // in Archs or this CPU cannot run it.
    explicit dispatched_inference(std::string_view arch)
        : entry_(detail::choose_entry<entry_function>(
              Archs{}, [](auto a) { return &dispatched_inference_entry<decltype(a), Net, T>::run; }, arch)) {}

    std::span<const T, Net::output_size> operator()(const parameters<Net, T>& params,
                                                    std::span<const T, Net::input_size> x) noexcept {
        entry_.function(params, workspace_, x.data());
        return workspace_.output(0);
    }

    // xsimd's name of the arch in use.
    std::string_view arch_name() const noexcept { return entry_.arch_name; }

private:
    using entry_function = void(const parameters<Net, T>&, workspace<Net, 1, T, false>&, const T*) noexcept;
    detail::chosen_entry<entry_function> entry_;
    workspace<Net, 1, T, false> workspace_{};
};

// trainer.step(...) through the entry of the arch chosen at construction: the same arithmetic,
// the same state (step count, optimizer moments) as calling the trainer directly.
template <class Trainer, class Archs = dispatch_archs>
class dispatched_step {
public:
    using value_type = typename Trainer::value_type;
    using target_type = typename Trainer::target_type;

    dispatched_step() : dispatched_step(std::string_view{}) {}
    explicit dispatched_step(std::string_view arch)
        : entry_(detail::choose_entry<entry_function>(
              Archs{}, [](auto a) { return &dispatched_training_step_entry<decltype(a), Trainer>::run; }, arch)) {}

    // One step on the first `rows` samples (1 <= rows <= the trainer's batch size).
    value_type operator()(Trainer& trainer, const value_type* inputs, const target_type* targets,
                          std::size_t rows) const noexcept {
        detail::expect_rows<Trainer::batch_size>(rows, "dispatched_step: rows must be in 1..batch size");
        return entry_.function(trainer, inputs, targets, rows);
    }
    value_type operator()(Trainer& trainer,
                          std::span<const value_type, Trainer::batch_size * Trainer::network_type::input_size> inputs,
                          std::span<const target_type, Trainer::batch_size * Trainer::targets_per_sample> targets)
        const noexcept {
        return entry_.function(trainer, inputs.data(), targets.data(), Trainer::batch_size);
    }

    std::string_view arch_name() const noexcept { return entry_.arch_name; }

private:
    using entry_function = value_type(Trainer&, const value_type*, const target_type*, std::size_t) noexcept;
    detail::chosen_entry<entry_function> entry_;
};

}  // namespace hinge
