#pragma once

namespace hinge {

// sequential<Layers...>: a reusable block. It has no meaning of its own: the planner flattens it
// into the enclosing layer list, so a block is just a type alias that can be nested freely.
//
//   template <int Width>
//   using block = hinge::sequential<hinge::dense<Width>, hinge::relu>;
template <class... Layers>
struct sequential {};

}  // namespace hinge
