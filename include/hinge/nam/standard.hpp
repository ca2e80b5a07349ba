#pragma once
// The model sizes NAM's trainer offers, as hinge types: almost every shared .nam capture is one
// of these. The run-time player (nam/player.hpp) compiles each of them in, the benchmarks
// (bench/nam.cpp) measure them, and a program that knows its capture's size can use one directly:
//
//   using model = hinge::nam::standard::wavenet_feather;          // or ::with_activation<nam::fast_tanh>
//   auto params = std::make_unique<hinge::parameters<model::network<1>>>();
//   model::load(hinge::nam::read_model_file("capture.nam"), *params);
//
// The sizes are those of NAM's trainer (neural-amp-modeler, nam/train/core.py): two layer arrays of
// kernel 3 and Tanh, head_scale 0.02, the second with a head bias, and
//
//   standard  16 then 8 channels, heads 8 and 1, dilations 1..512 in both arrays
//   lite      12 then 6, heads 6 and 1, dilations 1..64, then 128, 256, 512, 1..512
//   feather    8 then 4, heads 4 and 1, as lite
//   nano       4 then 2, heads 2 and 1, as lite
//
// and the LSTMs: standard 1 x 24, lite 2 x 8, feather 1 x 16, nano 1 x 12 (layers x hidden units).
#include <cstddef>

#include <hinge/activations/tanh.hpp>
#include <hinge/nam/lstm.hpp>
#include <hinge/nam/wavenet.hpp>

namespace hinge::nam::standard {

using dilations_1_to_512 = dilations<1, 2, 4, 8, 16, 32, 64, 128, 256, 512>;
using dilations_1_to_64 = dilations<1, 2, 4, 8, 16, 32, 64>;
using dilations_128_to_512_then_1_to_512 = dilations<128, 256, 512, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512>;

// NAM's two-array WaveNet of `First` then `Second` channels (heads First / 2 and 1).
template <std::size_t First, std::size_t Second, class FirstDilations, class SecondDilations>
using two_arrays = a1_wavenet<layer_array<First, 3, FirstDilations, First / 2, false, hinge::tanh>,
                              layer_array<Second, 3, SecondDilations, 1, true, hinge::tanh>>;

using wavenet_standard = two_arrays<16, 8, dilations_1_to_512, dilations_1_to_512>;
using wavenet_lite = two_arrays<12, 6, dilations_1_to_64, dilations_128_to_512_then_1_to_512>;
using wavenet_feather = two_arrays<8, 4, dilations_1_to_64, dilations_128_to_512_then_1_to_512>;
using wavenet_nano = two_arrays<4, 2, dilations_1_to_64, dilations_128_to_512_then_1_to_512>;

using lstm_standard = lstm_model<24, 1>;
using lstm_lite = lstm_model<8, 2>;
using lstm_feather = lstm_model<16, 1>;
using lstm_nano = lstm_model<12, 1>;

// NAM's head_scale for every standard WaveNet: the loader takes it from the file, the writer from
// its caller; this is what a freshly trained standard model stores.
inline constexpr float head_scale = 0.02f;

}  // namespace hinge::nam::standard
