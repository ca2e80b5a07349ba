#pragma once
// Neural Amp Modeler models in hinge (docs/nam.md): the .nam reader, the A1 WaveNet and LSTM
// types and their loaders, NAM's fast tanh and prewarm. Link hinge::io (the reader is compiled
// there, with nlohmann_json).
#include <hinge/nam/fast_tanh.hpp>
#include <hinge/nam/file.hpp>
#include <hinge/nam/lstm.hpp>
#include <hinge/nam/prewarm.hpp>
#include <hinge/nam/wavenet.hpp>
