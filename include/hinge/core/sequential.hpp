#pragma once
#include <cstddef>
#include <type_traits>
#include <utility>

namespace hinge {

// sequential<Layers...>: a reusable block. It has no meaning of its own: the planner flattens it
// into the enclosing layer list, so a block is just a type alias that can be nested freely.
//
//   template <int Width>
//   using block = hinge::sequential<hinge::dense<Width>, hinge::relu>;
template <class... Layers>
struct sequential {};

namespace detail {
template <class Block, class Indices>
struct repeated;
template <class Block, std::size_t... I>
struct repeated<Block, std::index_sequence<I...>> {
    template <std::size_t>
    using copy = Block;
    using type = sequential<copy<I>...>;
};
}  // namespace detail

// repeat<N, Block>: N copies of Block in a row, e.g. a deep MLP as
//   network<input<64>, repeat<20, sequential<dense<64>, relu>>, dense<10>>.
template <std::size_t N, class Block>
using repeat = typename detail::repeated<Block, std::make_index_sequence<N>>::type;

}  // namespace hinge
