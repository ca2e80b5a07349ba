// The player's "feather" WaveNet, in both tanh modes (src/nam/engine.hpp).
#include "engine.hpp"

namespace hinge::nam::detail {
template struct engine_functions<feather_wavenet::exact>;
template struct engine_functions<feather_wavenet::fast>;
}  // namespace hinge::nam::detail
