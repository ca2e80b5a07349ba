#pragma once
// The networks of bench/dispatch_batch1.cpp, shared with bench/dispatch/entries.cpp, which
// hinge_add_dispatch compiles once per instruction set (bench/CMakeLists.txt).
#include <hinge/hinge.hpp>

namespace hinge_bench::dispatch {

template <std::size_t In, std::size_t H1, std::size_t H2, std::size_t Out>
using mlp = hinge::network<hinge::input<In>, hinge::dense<H1>, hinge::relu, hinge::dense<H2>, hinge::relu,
                           hinge::dense<Out>>;

}  // namespace hinge_bench::dispatch
