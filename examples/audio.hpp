#pragma once
// What the audio demos share (examples/audio_effect.cpp, examples/drive_knob.cpp): mono audio
// files through libsndfile, synthetic plucked-string music for runs without recordings, the
// distortion they learn, and the error-to-signal ratio.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <sndfile.h>
#include <time.h>

#include <hinge/hinge.hpp>

namespace audio_demo {

namespace hn = hinge;

// ---- audio files (libsndfile) -----------------------------------------------------------------

struct audio {
    std::vector<float> samples;  // mono
    int rate = 0;
};

inline audio read_audio(const std::string& path) {
    SF_INFO info{};
    SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
    if (!file) {
        std::fprintf(stderr, "cannot read %s: %s\n", path.c_str(), sf_strerror(nullptr));
        std::exit(2);
    }
    std::vector<float> interleaved(static_cast<std::size_t>(info.frames) * info.channels);
    sf_readf_float(file, interleaved.data(), info.frames);
    sf_close(file);
    audio a{std::vector<float>(static_cast<std::size_t>(info.frames)), info.samplerate};
    for (std::size_t t = 0; t < a.samples.size(); ++t) {  // mix down to mono
        float sum = 0;
        for (int c = 0; c < info.channels; ++c) sum += interleaved[t * info.channels + c];
        a.samples[t] = sum / static_cast<float>(info.channels);
    }
    return a;
}

inline void write_audio(const std::string& path, const std::vector<float>& samples, int rate) {
    SF_INFO info{};
    info.samplerate = rate;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
    if (!file) {
        std::fprintf(stderr, "cannot write %s: %s\n", path.c_str(), sf_strerror(nullptr));
        std::exit(2);
    }
    sf_command(file, SFC_SET_CLIPPING, nullptr, SF_TRUE);
    sf_writef_float(file, samples.data(), static_cast<sf_count_t>(samples.size()));
    sf_close(file);
}

// Plucked strings (Karplus-Strong) in a chord progression, for runs without recordings.
inline std::vector<float> synthetic_music(std::size_t length, int rate, std::uint64_t seed) {
    hn::init::random_generator random(seed);
    std::vector<float> out(length, 0.0f);
    const double notes[] = {110.0, 146.83, 164.81, 220.0, 246.94, 329.63, 196.0, 261.63};
    for (std::size_t start = 0; start < length; start += static_cast<std::size_t>(rate) / 4) {
        const double frequency = notes[random.next() % 8] * (random.uniform() < 0.3 ? 2 : 1);
        const std::size_t period = static_cast<std::size_t>(rate / frequency);
        std::vector<double> string(period);
        for (double& v : string) v = 2 * random.uniform() - 1;
        const double loudness = 0.2 + 0.3 * random.uniform();
        for (std::size_t t = start, k = 0; t < length && t < start + static_cast<std::size_t>(rate); ++t, ++k) {
            const std::size_t i = k % period;
            const double next = 0.498 * (string[i] + string[(i + 1) % period]);
            out[t] += static_cast<float>(loudness * string[i]);
            string[i] = next;
        }
    }
    return out;
}

// ---- the effect to learn --------------------------------------------------------------------------

// The "circuit": a pre-emphasis filter, a drive stage into an asymmetric soft clipper (the
// positive half clips harder, as a diode pair of unequal forward voltages does) and a one-pole
// low-pass tone filter at 2.5 kHz. gain(t): the gain into the clipper at sample t (the audio demo
// holds it at 6; the knob demo turns it).
template <class Gain>
std::vector<float> reference_effect(const std::vector<float>& x, int rate, Gain gain) {
    std::vector<float> y(x.size());
    const double tone = 1 - std::exp(-2 * 3.141592653589793 * 2500.0 / rate);
    double previous = 0, lowpass = 0;
    for (std::size_t t = 0; t < x.size(); ++t) {
        const double emphasised = x[t] - 0.7 * previous;  // pre-emphasis
        previous = x[t];
        const double drive = gain(t) * emphasised;
        const double clipped = drive >= 0 ? std::tanh(drive) : 0.6 * std::tanh(drive / 0.6);
        lowpass += tone * (clipped - lowpass);
        y[t] = static_cast<float>(0.5 * lowpass);
    }
    return y;
}
inline std::vector<float> reference_effect(const std::vector<float>& x, int rate) {
    return reference_effect(x, rate, [](std::size_t) { return 6.0; });
}

inline double thread_cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

inline double error_to_signal(const std::vector<float>& target, const std::vector<float>& output) {
    double error = 0, signal = 0;
    for (std::size_t t = 0; t < target.size(); ++t) {
        error += double(target[t] - output[t]) * double(target[t] - output[t]);
        signal += double(target[t]) * double(target[t]);
    }
    return error / signal;
}

}  // namespace audio_demo
