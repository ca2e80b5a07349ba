// hinge::nam::player (include/hinge/nam/player.hpp): which compiled size a file is, and the
// dispatch to its engine. The engines are compiled elsewhere (src/nam/engine.hpp); this unit sees
// their declarations only.
#include <hinge/nam/player.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "engines.hpp"

namespace hinge::nam {
namespace {

using namespace detail;

// The compiled sizes, in the order load() tries them, with the names size() reports.
using sizes_list = std::tuple<standard_wavenet, lite_wavenet, feather_wavenet, nano_wavenet, standard_lstm,
                              lite_lstm, feather_lstm, nano_lstm>;
constexpr const char* size_names[] = {"WaveNet standard",      "WaveNet lite",          "WaveNet feather",
                                      "WaveNet nano",          "LSTM standard (1 x 24)", "LSTM lite (2 x 8)",
                                      "LSTM feather (1 x 16)", "LSTM nano (1 x 12)"};
static_assert(std::size(size_names) == std::tuple_size_v<sizes_list>);

template <class Sizes>
struct engine_variant;
template <class... Sizes>
struct engine_variant<std::tuple<Sizes...>> {
    using type = std::variant<std::monostate, engine_ptr<typename Sizes::exact>..., engine_ptr<typename Sizes::fast>...>;
};
using any_engine = engine_variant<sizes_list>::type;

// The model of an engine pointer (engine<Model> is incomplete here).
template <class Pointer>
struct model_of;
template <class Model>
struct model_of<engine_ptr<Model>> {
    using type = Model;
};
template <class Pointer>
using functions_of = engine_functions<typename model_of<Pointer>::type>;

template <class Model>
bool config_matches(const model_file& f) {
    if constexpr (requires { typename Model::initial_state; }) return f.lstm && *f.lstm == Model::config();
    else return f.wavenet && f.wavenet->layer_arrays == Model::config();
}

// "WaveNet, layer arrays of 10 then 5 channels, kernel 3, 10 + 10 dilations" for a refusal.
std::string summary(const model_file& f) {
    if (f.lstm)
        return "LSTM, " + std::to_string(f.lstm->num_layers) + " x " + std::to_string(f.lstm->hidden_size) +
               " (layers x hidden units), input size " + std::to_string(f.lstm->input_size);
    if (!f.wavenet) return "architecture " + f.architecture;
    std::string channels, kernels, dilations;
    for (std::size_t k = 0; k < f.wavenet->layer_arrays.size(); ++k) {
        const layer_array_config& a = f.wavenet->layer_arrays[k];
        const char* sep = k == 0 ? "" : " then ";
        channels += sep + std::to_string(a.channels);
        kernels += sep + std::to_string(a.kernel_size);
        dilations += (k == 0 ? "" : " + ") + std::to_string(a.dilations.size());
    }
    return "WaveNet, layer arrays of " + channels + " channels, kernel " + kernels + ", " + dilations +
           " layers";
}

}  // namespace

struct player::model {
    any_engine engine;
    std::size_t size_index = 0;
    std::optional<double> sample_rate;
    std::string metadata_json;
};

player::player() noexcept = default;
player::player(player&&) noexcept = default;
player& player::operator=(player&&) noexcept = default;
player::~player() = default;

void player::load(const std::string& path, const player_options& options) { load(read_model_file(path), options); }

void player::load(const model_file& file, const player_options& options) {
    auto next = std::make_unique<model>();
    bool found = false;
    [&]<class... Sizes>(std::tuple<Sizes...>*) {
        std::size_t index = 0;
        (
            [&] {
                if (!found && config_matches<typename Sizes::exact>(file)) {
                    found = true;
                    next->size_index = index;
                    if (options.fast_tanh)
                        next->engine = engine_ptr<typename Sizes::fast>(
                            engine_functions<typename Sizes::fast>::make(file, options));
                    else
                        next->engine = engine_ptr<typename Sizes::exact>(
                            engine_functions<typename Sizes::exact>::make(file, options));
                }
                ++index;
            }(),
            ...);
    }(static_cast<sizes_list*>(nullptr));
    if (!found) {
        std::string names;
        for (const char* n : size_names) names += (names.empty() ? "" : ", ") + std::string(n);
        refuse(file, "the model (" + summary(file) + ") is none of the sizes this player has compiled in (" + names +
                         "); compile its type (docs/nam.md) to play it");
    }
    next->sample_rate = file.sample_rate;
    next->metadata_json = file.metadata_json;
    model_ = std::move(next);  // only now: a refused file leaves the player as it was
}

void player::process(std::span<const float> in, std::span<float> out) noexcept {
    const std::size_t n = std::min(in.size(), out.size());
    if (!model_ || model_->engine.index() == 0) {
        std::fill(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n), 0.0f);
        return;
    }
    std::visit(
        [&]<class E>(E& e) {
            if constexpr (!std::is_same_v<E, std::monostate>)
                functions_of<E>::process(*e, in.data(), out.data(), n);
        },
        model_->engine);
}

void player::reset() noexcept {
    if (!model_) return;
    std::visit(
        [&]<class E>(E& e) {
            if constexpr (!std::is_same_v<E, std::monostate>)
                functions_of<E>::reset(*e);
        },
        model_->engine);
}

bool player::loaded() const noexcept { return model_ && model_->engine.index() != 0; }

std::string_view player::size() const noexcept { return loaded() ? size_names[model_->size_index] : ""; }

std::optional<double> player::sample_rate() const noexcept {
    return model_ ? model_->sample_rate : std::nullopt;
}

const std::string& player::metadata_json() const noexcept {
    static const std::string none = "null";
    return model_ ? model_->metadata_json : none;
}

std::size_t player::prewarm_samples() const noexcept {
    if (!model_) return 0;
    return std::visit(
        [&]<class E>(const E& e) -> std::size_t {
            if constexpr (std::is_same_v<E, std::monostate>) return 0;
            else return functions_of<E>::prewarm_samples(*e);
        },
        model_->engine);
}

std::vector<std::string> player::sizes() { return {std::begin(size_names), std::end(size_names)}; }

}  // namespace hinge::nam
