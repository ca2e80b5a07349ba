// binary_cross_entropy_with_logits applies its own sigmoid: a sigmoid on the last stage would be
// applied twice. Legal C++, so the trainer rejects it unless the loss is wrapped in
// loss::after_activation<Loss> (the twin, one token changed).
// expect-error: Loss applies its own softmax or sigmoid to raw logits
// expect-error-line: stage_index<1>, hinge::dense<3, 0>, hinge::diagnostic::activation<hinge::sigmoid>, hinge::diagnostic::loss_type<hinge::loss::binary_cross_entropy_with_logits>.*squashes the outputs twice
#include <memory>

#include <hinge/hinge.hpp>

namespace hn = hinge;

using model = hn::network<hn::input<4>, hn::dense<8>, hn::relu, hn::dense<3>, hn::sigmoid>;
#ifdef HINGE_EXPECT_FAIL
using loss = hn::loss::binary_cross_entropy_with_logits;
#else
using loss = hn::loss::after_activation<hn::loss::binary_cross_entropy_with_logits>;
#endif

int main() {
    auto params = std::make_unique<hn::parameters<model>>();
    hn::trainer<model, loss, hn::optim::sgd, hn::batch<2>> train(*params, {0.1f});
    const float x[8] = {}, t[6] = {};
    return train.step(x, t, 2) > 0 ? 0 : 1;
}
