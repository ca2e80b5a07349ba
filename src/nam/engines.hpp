#pragma once
// The sizes the player compiles in (src/nam/), and what player.cpp knows of their engines: only
// declarations, so that the player's own translation unit compiles no model. Each size's engine
// is defined in engine.hpp and compiled in its own translation unit (wavenet_*.cpp, lstm.cpp),
// which keeps the library's build parallel and each unit's compile time that of one model.
#include <cstddef>
#include <memory>
#include <variant>

#include <hinge/nam/fast_tanh.hpp>
#include <hinge/nam/file.hpp>
#include <hinge/nam/player.hpp>
#include <hinge/nam/standard.hpp>

namespace hinge::nam::detail {

// A loaded model of type Model (already in its tanh mode): parameters, stream, prewarm length.
template <class Model>
struct engine;

// Explicitly instantiated beside engine<Model>'s definition, once per size.
template <class Model>
struct engine_functions {
    // Checks the file against Model (io::file_error naming the difference), loads, resets and
    // prewarms.
    static engine<Model>* make(const model_file& f, const player_options& options);
    static void destroy(engine<Model>* e) noexcept;
    static void process(engine<Model>& e, const float* in, float* out, std::size_t n) noexcept;
    static void reset(engine<Model>& e) noexcept;
    static std::size_t prewarm_samples(const engine<Model>& e) noexcept;
};

struct engine_deleter {
    template <class Model>
    void operator()(engine<Model>* e) const noexcept {
        engine_functions<Model>::destroy(e);
    }
};
template <class Model>
using engine_ptr = std::unique_ptr<engine<Model>, engine_deleter>;

// One compiled size: its model in both tanh modes (the names are player.cpp's).
template <class Exact, class Fast>
struct compiled_size {
    using exact = Exact;
    using fast = Fast;
};
template <class WaveNet>
using wavenet_size = compiled_size<WaveNet, typename WaveNet::template with_activation<fast_tanh>>;
template <class Lstm>
using lstm_size = compiled_size<Lstm, typename Lstm::fast>;

using standard_wavenet = wavenet_size<standard::wavenet_standard>;
using lite_wavenet = wavenet_size<standard::wavenet_lite>;
using feather_wavenet = wavenet_size<standard::wavenet_feather>;
using nano_wavenet = wavenet_size<standard::wavenet_nano>;
using standard_lstm = lstm_size<standard::lstm_standard>;
using lite_lstm = lstm_size<standard::lstm_lite>;
using feather_lstm = lstm_size<standard::lstm_feather>;
using nano_lstm = lstm_size<standard::lstm_nano>;

}  // namespace hinge::nam::detail
