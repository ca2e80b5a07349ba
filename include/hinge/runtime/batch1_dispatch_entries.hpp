#pragma once
// The definitions behind runtime/batch1_dispatch.hpp's entry points; include this only in an
// entries file that hinge_add_dispatch compiles once per instruction set (see
// runtime/dispatch_entries.hpp, whose macros may be used in the same file):
//
//     HINGE_DISPATCH_BATCH1(my_net)                                  // float32 weights
//     HINGE_DISPATCH_BATCH1(my_net, hinge::weight_format::bf16)
#include <hinge/runtime/batch1_dispatch.hpp>
#include <hinge/runtime/dispatch_entries.hpp>

namespace hinge {

// flatten: everything inlined into the entry, so the object defines only arch-named functions.
template <class Arch, class Net, weight_format Format, std::size_t Limit>
[[gnu::flatten]] void dispatched_batch1_entry<Arch, Net, Format, Limit>::run(
    const batch1_weights<Net, Format, Limit>& weights, batch1_state<Net, Format, Limit>& state,
    const float* x) noexcept {
    static_assert(detail::is_compiled_arch<Arch>,
                  "hinge: a dispatch entry is instantiated for another instruction set than this file is compiled "
                  "for; compile the entries file once per arch with that arch's flags (hinge_add_dispatch does)");
    batch1_forward(weights, state, x);
}

}  // namespace hinge

#define HINGE_DISPATCH_BATCH1(...) \
    template struct hinge::dispatched_batch1_entry<hinge::kernels::compiled_arch, __VA_ARGS__>;
