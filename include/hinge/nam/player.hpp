#pragma once
// hinge::nam::player: plays a .nam file chosen at run time. A plugin cannot compile a type per
// capture, so the player holds NAM's standard sizes (nam/standard.hpp) compiled in, reads a file,
// picks the compiled type its config matches, loads the weights and streams it:
//
//   hinge::nam::player amp;                                   // plays silence until loaded
//   amp.load("capture.nam", {.fast_tanh = true});             // off the audio thread; throws
//   amp.process(block_in, block_out);                         // in the audio callback
//
// Compiled in the hinge::nam library (src/nam/), one translation unit per WaveNet size and one for
// the LSTMs, so a program that
// plays .nam files compiles none of the models (link hinge::nam). A file whose config is none of
// the compiled sizes, or whose weights do not fit it, is refused with io::file_error naming the
// difference, and the player keeps the model it had.
//
// Threads: load(), move-assignment and destruction must not run while another thread is in
// process() on the same player.
//
// Real time: process(), reset() and swap() allocate and free nothing, throw nothing and make no
// virtual call (reset() replays the prewarm, milliseconds: not inside a callback's deadline); process() dispatches once per call on the compiled size (std::visit), then runs
// the size's compiled stream. load() allocates (the new model's parameters and state) and must
// not run on the audio thread, and neither may the destruction of a loaded player (it frees
// them). To change models while playing: load into a second player off the audio thread, swap()
// it with the playing one on the audio thread (two pointers exchanged), then destroy the second,
// which now holds the old model, off the audio thread again.
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <hinge/nam/file.hpp>

namespace hinge::nam {

struct player_options {
    // NAM's fast tanh (nam/fast_tanh.hpp), as the NAM plugin runs its models; false: hinge::tanh.
    bool fast_tanh = false;
    // The host's block size: NAM feeds its prewarm (a WaveNet's receptive field, an LSTM's half
    // second) rounded up to whole blocks. For a WaveNet any count past the receptive field gives
    // the same outputs; an LSTM's state moves with every zero.
    std::size_t block_size = 64;
};

class player {
public:
    player() noexcept;
    player(player&&) noexcept;
    player& operator=(player&&) noexcept;  // frees the model this player had: not on the audio thread
    ~player();

    // Exchanges the two players' models (and their state): no allocation, no freeing.
    void swap(player& other) noexcept { model_.swap(other.model_); }

    // Reads the file, finds the compiled size whose config it has, loads the weights, resets and
    // prewarms. Throws io::file_error (the message starts with the file name) and leaves *this as
    // it was.
    void load(const std::string& path, const player_options& options = {});
    void load(const model_file& file, const player_options& options = {});

    // One output sample per input sample; in and out should have the same size (the shorter one
    // sets how many samples are played) and may be the same memory. Without a model it writes
    // zeros.
    void process(std::span<const float> in, std::span<float> out) noexcept;

    // Back to the state after load(): zero state (an LSTM: the file's initial state), then NAM's
    // prewarm (prewarm_samples() zeros: about 4 ms for the standard WaveNet, 2 ms for the standard
    // LSTM, so not in an audio callback).
    void reset() noexcept;

    bool loaded() const noexcept;
    // The compiled size playing, e.g. "WaveNet standard" or "LSTM lite (2 x 8)"; "" when empty.
    std::string_view size() const noexcept;
    // The file's sample rate (NAM's models are 48 kHz; older files have none) and metadata.
    std::optional<double> sample_rate() const noexcept;
    const std::string& metadata_json() const noexcept;
    // Zeros fed by load() and reset() before the first real sample.
    std::size_t prewarm_samples() const noexcept;

    // The compiled sizes, in the order load() tries them.
    static std::vector<std::string> sizes();

private:
    struct model;
    std::unique_ptr<model> model_;
};

}  // namespace hinge::nam
