#pragma once
// A compiled size's engine: the model's parameters and stream, and what load, reset and process
// do with them. Included by the one translation unit that compiles the size.
#include <algorithm>
#include <cstddef>
#include <span>

#include <hinge/core/storage.hpp>
#include <hinge/nam/prewarm.hpp>
#include <hinge/runtime/stream.hpp>

#include "engines.hpp"

namespace hinge::nam::detail {

template <class Model>
concept nam_lstm = requires { typename Model::initial_state; };

// The state an LSTM file stores (its initial h and c); a WaveNet has none.
struct no_initial_state {};
template <class Model>
struct initial_state_of {
    using type = no_initial_state;
};
template <nam_lstm Model>
struct initial_state_of<Model> {
    using type = typename Model::initial_state;
};

template <class Model>
struct engine {
    using net = typename Model::template network<1>;
    parameters<net> params{};
    stream<net> s{};
    std::size_t prewarm = 0;
    [[no_unique_address]] typename initial_state_of<Model>::type initial{};
};

template <class Model>
engine<Model>* engine_functions<Model>::make(const model_file& f, const player_options& options) {
    engine_ptr<Model> e(new engine<Model>());
    std::size_t samples = 0;
    if constexpr (nam_lstm<Model>) {
        e->initial = Model::load(f, e->params);
        // Half a second at the file's rate; a rate that is no audio rate (NAM writes -1 for
        // "unknown") counts as NAM's 48 kHz.
        const double rate = f.sample_rate.value_or(48000.0);
        samples = Model::prewarm_samples(rate > 0.0 && rate <= 768000.0 ? rate : 48000.0);
    } else {
        Model::load(f, e->params);
        samples = Model::prewarm_samples;
    }
    // NAM feeds its prewarm in whole blocks of the host's (for an LSTM the extra zeros move the
    // state; for a WaveNet any count past the receptive field gives the same outputs).
    const std::size_t block = std::clamp<std::size_t>(options.block_size, 1, 1 << 16);
    e->prewarm = (samples + block - 1) / block * block;
    reset(*e);
    return e.release();
}

template <class Model>
void engine_functions<Model>::destroy(engine<Model>* e) noexcept {
    delete e;
}

template <class Model>
void engine_functions<Model>::process(engine<Model>& e, const float* in, float* out, std::size_t n) noexcept {
    e.s.process(e.params, std::span<const float>(in, n), std::span<float>(out, n));
}

template <class Model>
void engine_functions<Model>::reset(engine<Model>& e) noexcept {
    if constexpr (nam_lstm<Model>) Model::start(e.s, e.initial);
    else e.s.reset();
    nam::prewarm(e.s, e.params, e.prewarm);
}

template <class Model>
std::size_t engine_functions<Model>::prewarm_samples(const engine<Model>& e) noexcept {
    return e.prewarm;
}

}  // namespace hinge::nam::detail
