#pragma once
// The definitions behind runtime/dispatch.hpp's entry points. Include this only in an entries file
// that hinge_add_dispatch compiles once per instruction set, and name the networks there:
//
//     HINGE_DISPATCH_INFERENCE(my_net)           // dispatched_inference<my_net>  (float)
//     HINGE_DISPATCH_INFERENCE(my_net, double)   // dispatched_inference<my_net, double>
//     HINGE_DISPATCH_TRAINER(my_trainer)         // dispatched_step<my_trainer>
//
// Each macro instantiates the entry for the arch this file is compiled for (kernels::compiled_arch)
// and nothing else. The macros are variadic, so a type with commas may be written out in place,
// though an alias shared with the calling code is easier to keep in step.
#include <type_traits>

#include <hinge/runtime/dispatch.hpp>

namespace hinge {

namespace detail {
template <class Arch>
inline constexpr bool is_compiled_arch = std::is_same_v<Arch, kernels::compiled_arch>;
}  // namespace detail

// flatten: every call below is inlined into the entry, so the entries object emits no out-of-line
// copy of a function that other objects also define (see the ODR note in dispatch.hpp). That
// takes an optimised build: at -O0 nothing is inlined.
template <class Arch, class Net, class T>
[[gnu::flatten]] void dispatched_inference_entry<Arch, Net, T>::run(const parameters<Net, T>& params,
                                                                    workspace<Net, 1, T, false>& ws,
                                                                    const T* x) noexcept {
    static_assert(detail::is_compiled_arch<Arch>,
                  "hinge: a dispatch entry is instantiated for another instruction set than this file is compiled "
                  "for; compile the entries file once per arch with that arch's flags (hinge_add_dispatch does)");
    forward(params, ws, x, 1);
}

template <class Arch, class Trainer>
[[gnu::flatten]] auto dispatched_training_step_entry<Arch, Trainer>::run(Trainer& trainer, const value_type* inputs,
                                                                         const target_type* targets,
                                                                         std::size_t rows) noexcept -> value_type {
    static_assert(detail::is_compiled_arch<Arch>,
                  "hinge: a dispatch entry is instantiated for another instruction set than this file is compiled "
                  "for; compile the entries file once per arch with that arch's flags (hinge_add_dispatch does)");
    return detail::training_step(trainer.params_, trainer.workspace_, trainer.gradients_, trainer.optimizer_,
                                 trainer.state_, trainer.loss_, inputs, targets, rows, ++trainer.steps_, trainer.team_);
}

}  // namespace hinge

#define HINGE_DISPATCH_INFERENCE(...) \
    template struct hinge::dispatched_inference_entry<hinge::kernels::compiled_arch, __VA_ARGS__>;
#define HINGE_DISPATCH_TRAINER(...) \
    template struct hinge::dispatched_training_step_entry<hinge::kernels::compiled_arch, __VA_ARGS__>;
