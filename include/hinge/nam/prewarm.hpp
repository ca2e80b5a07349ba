#pragma once
// NAM's prewarm: after loading (and on every reset), its engine feeds zeros through the model
// until the state is the zero-input state, so that the first real samples do not meet the
// zeros of an empty history. hinge's streams start from zero state; this does the same feeding.
// NAM's counts: a WaveNet's receptive field rounded up to whole blocks of the host's block size
// (more zeros change nothing once the receptive field is covered); an LSTM 0.5 s of samples
// (24,000 at 48 kHz), from its stored initial state.
#include <array>
#include <cstddef>
#include <span>

#include <hinge/core/storage.hpp>
#include <hinge/runtime/stream.hpp>

namespace hinge::nam {

template <class Net, class T>
void prewarm(stream<Net, T>& s, const parameters<Net, T>& params, std::size_t samples) noexcept {
    static_assert(stream<Net, T>::input_frame == 1, "nam::prewarm: NAM models take one input channel");
    constexpr std::size_t block = 64;
    const std::array<T, block> zeros{};
    std::array<T, block * stream<Net, T>::output_frame> ignored{};
    for (std::size_t done = 0; done < samples; done += block) {
        const std::size_t n = samples - done < block ? samples - done : block;
        s.process(params, std::span<const T>(zeros.data(), n),
                  std::span<T>(ignored.data(), n * stream<Net, T>::output_frame));
    }
}

}  // namespace hinge::nam
