// The player's LSTMs (standard 1 x 24, lite 2 x 8, feather 1 x 16, nano 1 x 12), in both tanh
// modes (src/nam/engine.hpp): small models, one translation unit.
#include "engine.hpp"

namespace hinge::nam::detail {
template struct engine_functions<standard_lstm::exact>;
template struct engine_functions<standard_lstm::fast>;
template struct engine_functions<lite_lstm::exact>;
template struct engine_functions<lite_lstm::fast>;
template struct engine_functions<feather_lstm::exact>;
template struct engine_functions<feather_lstm::fast>;
template struct engine_functions<nano_lstm::exact>;
template struct engine_functions<nano_lstm::fast>;
}  // namespace hinge::nam::detail
