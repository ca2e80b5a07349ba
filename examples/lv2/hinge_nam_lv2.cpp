// An LV2 plugin that plays a Neural Amp Modeler capture with hinge::nam::player: mono in, mono
// out, an input and an output gain in dB. The capture is the file model.nam in the plugin's
// bundle, loaded when the host instantiates the plugin (README.md, "A Neural Amp Modeler plugin
// (LV2)"). Only the LV2 C API: no plugin framework.
//
// Threads, as LV2 defines them: instantiate, activate and cleanup may allocate and block; run() is
// the audio thread's, and does what hinge::nam::player::process does: no allocation, no lock, no
// exception (tested under a real host, examples/lv2/alloc_shim.cpp).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <span>
#include <string>

#include <lv2/atom/atom.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/core/lv2.h>
#include <lv2/core/lv2_util.h>
#include <lv2/log/log.h>
#include <lv2/log/logger.h>
#include <lv2/options/options.h>
#include <lv2/urid/urid.h>

#include <hinge/nam/player.hpp>
#include <hinge/runtime/denormals.hpp>

#include "gain.hpp"

// Defined by nothing in a normal host, so the address is null and run() skips it: the
// allocation test's shim (examples/lv2/alloc_shim.cpp, preloaded into the host) defines it to know
// when run() is active. Weak, so that the plugin loads without it.
extern "C" __attribute__((weak)) void hinge_lv2_run_hook(int entering);

namespace {

constexpr const char* plugin_uri = "urn:hinge:nam";

// The port indices of hinge_nam.ttl.
enum port_index : std::uint32_t { port_in = 0, port_out = 1, port_input_gain = 2, port_output_gain = 3 };

// NAM's plugin block when the host does not say: the player's prewarm rounds to whole blocks.
constexpr std::size_t default_block = 64;

struct plugin {
    hinge::nam::player player;
    const float* in = nullptr;
    float* out = nullptr;
    const float* input_gain_db = nullptr;
    const float* output_gain_db = nullptr;
    nam_lv2::gain input_gain, output_gain;
};

// The host's nominal block (buf-size:nominalBlockLength) from the options feature, else 0.
std::size_t nominal_block(const LV2_Options_Option* options, const LV2_URID_Map* map) {
    if (!options || !map) return 0;
    const LV2_URID key = map->map(map->handle, LV2_BUF_SIZE__nominalBlockLength);
    const LV2_URID int_type = map->map(map->handle, LV2_ATOM__Int);
    for (const LV2_Options_Option* o = options; o->key != 0; ++o)
        if (o->key == key && o->type == int_type && o->size == sizeof(std::int32_t) && o->value) {
            const std::int32_t n = *static_cast<const std::int32_t*>(o->value);
            if (n > 0) return static_cast<std::size_t>(n);
        }
    return 0;
}

LV2_Handle instantiate(const LV2_Descriptor*, double rate, const char* bundle_path,
                       const LV2_Feature* const* features) {
    LV2_URID_Map* map = nullptr;
    const LV2_Options_Option* options = nullptr;
    LV2_Log_Log* log = nullptr;
    if (features)
        lv2_features_query(features, LV2_URID__map, &map, false, LV2_OPTIONS__options, &options, false,
                           LV2_LOG__log, &log, false, nullptr);
    // Messages go to the host's log when it offers one, else to stderr.
    LV2_Log_Logger logger{};
    lv2_log_logger_init(&logger, map, log);

    std::string path = bundle_path ? bundle_path : "";
    if (!path.empty() && path.back() != '/') path += '/';
    path += "model.nam";
    const std::size_t block = nominal_block(options, map);
    try {
        auto p = std::make_unique<plugin>();
        // Fast tanh, as NAM's own plugin plays its captures.
        p->player.load(path, {.fast_tanh = true, .block_size = block != 0 ? block : default_block});
        if (const auto file_rate = p->player.sample_rate(); file_rate && std::fabs(*file_rate - rate) > 0.5)
            lv2_log_warning(&logger, "hinge_nam: %s was captured at %.0f Hz and the host runs at %.0f Hz; "
                            "it is played without resampling, so it will sound different\n",
                            path.c_str(), *file_rate, rate);
        lv2_log_note(&logger, "hinge_nam: playing %s (%.*s)\n", path.c_str(),
                     static_cast<int>(p->player.size().size()), p->player.size().data());
        return p.release();
    } catch (const std::exception& e) {
        // io::file_error's message starts with the path and says what is wrong with the file.
        lv2_log_error(&logger, "hinge_nam: cannot play the bundle's model: %s\n", e.what());
    } catch (...) {
        lv2_log_error(&logger, "hinge_nam: cannot play the bundle's model %s\n", path.c_str());
    }
    return nullptr;
}

void connect_port(LV2_Handle handle, std::uint32_t port, void* data) {
    plugin& p = *static_cast<plugin*>(handle);
    switch (port) {
    case port_in: p.in = static_cast<const float*>(data); break;
    case port_out: p.out = static_cast<float*>(data); break;
    case port_input_gain: p.input_gain_db = static_cast<const float*>(data); break;
    case port_output_gain: p.output_gain_db = static_cast<const float*>(data); break;
    default: break;
    }
}

// Back to the state after loading (zeros through the model, as NAM's prewarm): a host activates
// after instantiating and again after a deactivate, e.g. when it restarts its engine.
void activate(LV2_Handle handle) { static_cast<plugin*>(handle)->player.reset(); }

void run(LV2_Handle handle, std::uint32_t n) noexcept {
    if (hinge_lv2_run_hook) hinge_lv2_run_hook(1);
    // Denormals flushed on this thread while run() runs (a decaying tail through the model would
    // otherwise cost microcode assists), restored for the host afterwards (docs/deployment.md).
    const hinge::flush_denormals_guard no_denormals;
    plugin& p = *static_cast<plugin*>(handle);
    if (p.in && p.out) {
        const std::span<float> out(p.out, n);
        const float in_gain = p.input_gain.factor(p.input_gain_db);
        if (in_gain == 1.0f) {
            p.player.process(std::span<const float>(p.in, n), out);
        } else {
            // Through the output buffer: the player may process in place, and the host may give
            // the same buffer for in and out.
            for (std::uint32_t i = 0; i < n; ++i) out[i] = p.in[i] * in_gain;
            p.player.process(out, out);
        }
        const float out_gain = p.output_gain.factor(p.output_gain_db);
        if (out_gain != 1.0f)
            for (float& y : out) y *= out_gain;
    }
    if (hinge_lv2_run_hook) hinge_lv2_run_hook(0);
}

void deactivate(LV2_Handle) {}

void cleanup(LV2_Handle handle) { delete static_cast<plugin*>(handle); }

const void* extension_data(const char*) { return nullptr; }

const LV2_Descriptor descriptor = {plugin_uri, instantiate, connect_port, activate,
                                   run,        deactivate,  cleanup,      extension_data};

}  // namespace

LV2_SYMBOL_EXPORT const LV2_Descriptor* lv2_descriptor(std::uint32_t index) {
    return index == 0 ? &descriptor : nullptr;
}
